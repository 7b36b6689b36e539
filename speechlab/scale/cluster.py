"""Where a Ray job runs: an existing cluster (``address``) or a local one started here.

``ray`` is imported inside these functions only (the ``scale`` extra installs it).

A local cluster is a ``ray start --head --block`` child process with its own ports, no
dashboard and a small object store; leaving :func:`local_cluster` stops it (SIGTERM to
that process, which takes its Ray helpers with it), so nothing is left running.

Ray's helper processes import ``jsonschema``, whose optional IRI checker
(``rfc3987_syntax``, pulled in by Jupyter) builds a grammar at import: 3 s of CPU per
process, enough on a loaded 2-core machine to miss the raylet's fixed 15 s wait for its
agent (``Timed out waiting for file .../dashboard_agent_listen_port``). Local clusters
started here hide that module from Ray's processes (``skip_slow_imports``); Ray never
checks IRIs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from speechlab.scale.errors import ScaleError

__all__ = ["connect", "local_cluster", "require_ray"]

#: What a local cluster gets unless told otherwise: small, for a shared laptop.
OBJECT_STORE_BYTES = 256 * 1024**2
_START_TIMEOUT_S = 240.0
_SLOW_MODULES = ("rfc3987_syntax",)
_READY = "Ray runtime started"
_AUTH_MODE = "RAY_AUTH_MODE"
_ATTEMPTS = 5
_log = logging.getLogger(__name__)


def require_ray() -> Any:
    """The ``ray`` module, or a ScaleError that says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ScaleError(
            "engine='ray' needs Ray: pip install 'speechlab[scale]' (ray[data]==2.60.0), "
            "or use engine='local'."
        ) from exc
    return ray


def connect(address: str) -> None:
    """Join the running cluster at ``address`` (``auto`` or ``HOST:PORT``) as its driver."""
    ray = require_ray()
    if ray.is_initialized():
        return
    try:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ScaleError(
            f"Cannot reach a Ray cluster at {address!r} ({exc}). Start one with "
            "`ray start --head`, pass its HOST:PORT, or leave --address out to run a local one."
        ) from exc


@contextlib.contextmanager
def local_cluster(
    num_cpus: int | None = None,
    *,
    object_store_bytes: int = OBJECT_STORE_BYTES,
    skip_slow_imports: bool = True,
    timeout_s: float = _START_TIMEOUT_S,
) -> Iterator[str]:
    """Start a one-node Ray cluster here, connect to it, yield its address, stop it after.

    ``num_cpus``: the CPUs Ray may schedule on (default: all). No dashboard.
    """
    with _token_auth():
        yield from _run_local_cluster(num_cpus, object_store_bytes, skip_slow_imports, timeout_s)


@contextlib.contextmanager
def _token_auth() -> Iterator[None]:
    """Token authentication (Ray's default for new clusters, the token in ~/.ray, made on
    first use), said explicitly to the head and to this driver (Ray reads it when first
    imported)."""
    before = os.environ.get(_AUTH_MODE)
    os.environ[_AUTH_MODE] = before or "token"
    if before is None and "ray" in sys.modules:  # imported already: make it read the mode again
        from ray._raylet import AuthenticationTokenLoader, Config

        Config.initialize("")
        AuthenticationTokenLoader.instance().reset_cache()
    try:
        require_ray()
        from ray._private.authentication.authentication_token_setup import (
            ensure_token_if_auth_enabled,
        )

        # `ray start` only reads a token; on a machine that never ran Ray there is none yet
        ensure_token_if_auth_enabled(create_token_if_missing=True)
        yield
    finally:
        if before is None:
            os.environ.pop(_AUTH_MODE, None)


def _run_local_cluster(
    num_cpus: int | None, object_store_bytes: int, skip_slow_imports: bool, timeout_s: float
) -> Iterator[str]:
    ray = require_ray()
    if ray.is_initialized():
        raise ScaleError("This process is already connected to Ray; call ray.shutdown() first.")
    ports = _free_ports(5)
    address = f"127.0.0.1:{ports[0]}"
    ray_cli = Path(sys.executable).with_name("ray")
    command = [
        str(ray_cli) if ray_cli.is_file() else "ray",
        "start", "--head", "--block", "--disable-usage-stats",
        "--port", str(ports[0]),
        "--include-dashboard", "false",
        "--dashboard-agent-listen-port", str(ports[1]),
        "--dashboard-agent-grpc-port", str(ports[2]),
        "--runtime-env-agent-port", str(ports[3]),
        "--metrics-export-port", str(ports[4]),
        "--object-store-memory", str(object_store_bytes),
    ]  # fmt: skip
    if num_cpus is not None:
        command += ["--num-cpus", str(num_cpus)]
    with tempfile.TemporaryDirectory(prefix="speechlab-ray-") as scratch:
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
        if skip_slow_imports:
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (_stub_folder(Path(scratch)), env.get("PYTHONPATH")) if p
            )
        head = _start_head(ray, command, env, Path(scratch), address, timeout_s)
        try:
            yield address
        finally:
            if ray.is_initialized():
                ray.shutdown()
            _stop(head)


def _start_head(
    ray: Any, command: list[str], env: dict[str, str], scratch: Path, address: str, timeout_s: float
) -> subprocess.Popen:
    """``ray start`` (again, up to ``_ATTEMPTS`` times, if it gives up while starting: on a
    loaded machine Ray's fixed startup waits can run out), then connect to it."""
    for attempt in range(1, _ATTEMPTS + 1):
        log = scratch / f"ray-start-{attempt}.log"
        with log.open("wb") as sink:
            head = subprocess.Popen(
                command, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            _wait_and_connect(ray, head, address, log, timeout_s)
            return head
        except ScaleError:
            _stop(head)
            if attempt == _ATTEMPTS:
                raise
            log_exit = log.read_text(errors="replace")[-300:]
            _log.warning("Ray did not start (attempt %d): %s; retrying.", attempt, log_exit)
        except BaseException:
            _stop(head)
            raise
    raise ScaleError("Ray did not start.")  # not reached: the last attempt raised


def _wait_and_connect(
    ray: Any, head: subprocess.Popen, address: str, log: Path, timeout_s: float
) -> None:
    """Wait for ``ray start`` to report the node up (its log says so), then connect."""
    started = time.monotonic()
    while _READY not in log.read_text(errors="replace"):
        if head.poll() is not None:
            raise ScaleError(
                f"The local Ray cluster stopped while starting (exit {head.returncode}): "
                f"{log.read_text(errors='replace')[-1500:]} Free some CPU or memory and retry."
            )
        if time.monotonic() - started > timeout_s:
            raise ScaleError(
                f"The local Ray cluster did not come up within {timeout_s:.0f} s. The machine "
                "may be overloaded; retry, or start one with `ray start --head` and pass --address."
            )
        time.sleep(0.5)
    ray.init(address=address, log_to_driver=False, configure_logging=False)


def _stop(head: subprocess.Popen) -> None:
    """SIGTERM the ``ray start --block`` process: it stops every Ray process it started."""
    if head.poll() is None:
        head.send_signal(signal.SIGTERM)
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)  # its own session: only Ray's processes
            head.wait(timeout=30)


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _stub_folder(scratch: Path) -> str:
    folder = scratch / "skipped-modules"
    folder.mkdir()
    for name in _SLOW_MODULES:
        (folder / f"{name}.py").write_text(
            f"raise ImportError(\"{name} is skipped in speechlab's local Ray cluster "
            '(slow to import, never used by Ray)")\n',
            encoding="utf-8",
        )
    return str(folder)
