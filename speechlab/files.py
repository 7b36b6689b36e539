"""Files speechlab writes and text files it reads, checked with errors that name the problem.

Every command that writes results checks its output location here *before* the expensive
work starts (a model load, a synthesis, a training run), so a read-only disk, a file where a
folder should be or a name longer than the file system allows is an
:class:`~speechlab.errors.OutputError` at once, never a raw ``OSError`` an hour later.
Text files given by a person (``say @file``, manifests, transcripts) are read with
:func:`read_text`, whose :class:`~speechlab.errors.TextEncodingError` names the encoding
that was expected and how to pass another.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

from speechlab.errors import OutputError, SpeechlabError, TextEncodingError

__all__ = [
    "ASIDE_SUFFIX",
    "decode_text",
    "name_max",
    "output_error",
    "read_text",
    "replace_folder",
    "writable_file",
    "writable_folder",
]

#: A finished folder moved aside while its replacement is renamed in (see replace_folder).
ASIDE_SUFFIX = ".old"
_DEFAULT_NAME_MAX = 255
_SHOWN_NAME = 60  # characters of an over-long name shown in a message
_READ_ONLY = "it is on a read-only file system. Choose a location on a writable disk."
_DENIED = "permission denied. Choose a folder you can write in, or fix its permissions."
_FULL = "no space left on its device. Free some space or choose another disk."
#: What an errno means for a place speechlab wanted to write in.
_REASONS = {
    errno.EROFS: _READ_ONLY,
    errno.EACCES: _DENIED,
    errno.EPERM: _DENIED,
    errno.EISDIR: "it is a folder. Give a file name inside it.",
    errno.ENOSPC: _FULL,
    getattr(errno, "EDQUOT", errno.ENOSPC): _FULL,
}


def writable_folder(
    path: str | os.PathLike[str], *, what: str = "output folder", hint: str = ""
) -> Path:
    """``path`` as a folder speechlab can write in, created (with its parents) if missing.

    Checked by creating and removing a small probe file, so a read-only file system,
    missing permissions, a file in the way or an over-long name raise
    :class:`OutputError` here. ``what`` names the folder in messages ("results folder");
    ``hint`` is added to them (e.g. which setting chose the folder).
    """
    folder = Path(path).expanduser()
    _check_name_lengths(folder, what, hint)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _probe(folder)
    except OSError as exc:
        raise output_error(exc, folder, what, hint) from exc
    return folder


def writable_file(
    path: str | os.PathLike[str], *, what: str = "output file", hint: str = ""
) -> Path:
    """Check that ``path`` can be written (created or replaced) without creating anything
    but a probe: its folder exists and takes new files, it is not a folder itself, and its
    name fits the file system. Raises :class:`OutputError` (``hint`` added to its message)."""
    target = Path(path).expanduser()
    _check_name_lengths(target, what, hint)
    where = f"Cannot write the {what} {_shorten(target)}"
    if target.is_dir():
        raise _error(f"{where}: it is a folder. Give a file name inside it.", hint)
    folder = target.parent
    if not folder.is_dir():
        blocker = _file_in_the_way(folder)
        if blocker is not None:
            raise _not_a_folder(blocker, target, what, hint)
        raise _error(
            f"{where}: the folder {folder} does not exist. Create it first or choose another "
            "location.",
            hint,
        )
    try:
        _probe(folder)
    except OSError as exc:
        raise output_error(exc, target, what, hint) from exc
    return target


def output_error(
    exc: OSError, path: str | os.PathLike[str], what: str, hint: str = ""
) -> OutputError:
    """An ``OSError`` met while writing ``path`` as an :class:`OutputError` naming the problem."""
    path = Path(path)
    code = exc.errno
    where = f"Cannot write the {what} {_shorten(path)}"
    if code in (errno.ENOTDIR, errno.EEXIST):
        return _not_a_folder(_file_in_the_way(path) or path, path, what, hint)
    if code == errno.ENAMETOOLONG:
        return _error(f"{where}: {_long_name_reason(path)}", hint)
    reason = _REASONS.get(code) or f"{exc.strerror or exc}. Choose another location."
    return _error(f"{where}: {reason}", hint)


def name_max(folder: str | os.PathLike[str]) -> int:
    """The longest file name (in bytes) the file system holding ``folder`` allows (asked of
    its nearest existing ancestor; 255 where the system cannot say)."""
    probe = Path(folder)
    while True:
        try:
            return int(os.pathconf(probe, "PC_NAME_MAX"))
        except OSError:  # not there (yet), a name too long, a file on the way: ask higher up
            if probe == probe.parent:
                return _DEFAULT_NAME_MAX
            probe = probe.parent
        except (ValueError, AttributeError):  # no pathconf (Windows) or no such setting
            return _DEFAULT_NAME_MAX


def read_text(
    path: str | os.PathLike[str],
    *,
    encoding: str = "utf-8",
    what: str = "text file",
    error: type[SpeechlabError] = TextEncodingError,
) -> str:
    """The text of ``path`` decoded as ``encoding`` (see :func:`decode_text`); an unreadable
    file raises ``error`` too."""
    path = Path(path).expanduser()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise error(f"Cannot read the {what} {path}: {exc.strerror or exc}.") from exc
    return decode_text(data, encoding=encoding, what=f"{what} {path}", error=error)


def decode_text(
    data: bytes,
    *,
    encoding: str = "utf-8",
    what: str = "text",
    error: type[SpeechlabError] = TextEncodingError,
) -> str:
    """``data`` decoded as ``encoding``, a UTF-8 byte-order mark dropped.

    Bytes that are not ``encoding`` raise ``error`` (default :class:`TextEncodingError`)
    saying where (line and column), which encoding was expected, and how to pass another;
    so does an unknown encoding name. ``what`` names the text in the message.
    """
    codec = _codec(encoding, error)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise error(
            f"The {what} is not {encoding} text: byte 0x{data[exc.start]:02x} at line {line}, "
            f"column {column} cannot be decoded. Save it as UTF-8, or pass its encoding "
            "(command line: --encoding cp1250; Python: encoding='cp1250'; Polish Windows "
            "files are usually cp1250, older Unix ones iso-8859-2)."
        ) from exc
    return text.removeprefix("\ufeff") if codec == "utf-8" else text


def _codec(encoding: str, error: type[SpeechlabError]) -> str:
    import codecs

    try:
        return codecs.lookup(encoding).name
    except (LookupError, TypeError) as exc:
        raise error(
            f"Unknown text encoding {encoding!r}; use a Python codec name such as utf-8, "
            "cp1250 or iso-8859-2."
        ) from exc


def _probe(folder: Path) -> None:
    """Create and remove a small file in ``folder``: the one sure test that it takes files
    (permissions, read-only mounts, quotas and ACLs all answer here)."""
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".speechlab-probe-"):
        pass


def _check_name_lengths(path: Path, what: str, hint: str) -> None:
    """ENAMETOOLONG before anything is created, with the name and the limit."""
    limit = name_max(path.parent)
    if any(len(os.fsencode(part)) > limit for part in path.parts):
        raise _error(f"Cannot write the {what} {_shorten(path)}: {_long_name_reason(path)}", hint)


def _long_name_reason(path: Path) -> str:
    limit = name_max(path.parent)
    longest = max(path.parts, key=lambda p: len(os.fsencode(p)))
    return (
        f"the name {_shorten(Path(longest))} is {len(os.fsencode(longest))} bytes long, more "
        f"than this file system allows ({limit} bytes). Choose a shorter name."
    )


def _shorten(path: Path) -> str:
    text = str(path)
    return text if len(text) <= 2 * _SHOWN_NAME else f"{text[:_SHOWN_NAME]}…{text[-20:]}"


def _file_in_the_way(path: Path) -> Path | None:
    """The first existing non-folder among ``path`` and its parents (None if there is none)."""
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return None if candidate.is_dir() else candidate
    return None


def _not_a_folder(blocker: Path, target: Path, what: str, hint: str) -> OutputError:
    inside = "" if blocker == target else f" (it would go inside {blocker})"
    return _error(
        f"Cannot write the {what} {_shorten(target)}{inside}: {blocker} is a file, not a "
        "folder. Choose another location, or move that file away.",
        hint,
    )


def _error(message: str, hint: str) -> OutputError:
    return OutputError(f"{message} {hint}".strip())


def replace_folder(new: Path, final: Path) -> None:
    """Rename the finished folder ``new`` to ``final`` so that a crash at any moment leaves a
    complete folder: ``new``'s files and ``new`` itself are fsynced first; an existing
    ``final`` is renamed aside (``final.old``), ``new`` renamed in, the parent fsynced, and
    only then is the old folder deleted."""
    for path in sorted(new.rglob("*")):
        if path.is_file():
            _fsync(path)
    _fsync(new)
    aside = final.with_name(final.name + ASIDE_SUFFIX)
    if aside.exists():  # left by an earlier crash; ``final`` is complete or ``new`` replaces it
        shutil.rmtree(aside)
    if final.exists():
        final.rename(aside)
    new.rename(final)
    _fsync(final.parent)
    if aside.exists():
        shutil.rmtree(aside)


def _fsync(path: Path) -> None:
    """Flush a file's or a folder's entries to disk (folders: where the OS allows it)."""
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() and hasattr(os, "O_DIRECTORY") else 0)
    try:
        fd = os.open(path, flags)
    except (IsADirectoryError, PermissionError):  # Windows cannot open folders
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
