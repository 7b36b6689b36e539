"""speechlab.files: writable locations and text files in a stated encoding."""

from __future__ import annotations

import errno
import os

import pytest

from speechlab import files
from speechlab.errors import DatasetError, OutputError, TextEncodingError


def test_writable_folder_creates_parents_and_leaves_no_probe(tmp_path):
    folder = files.writable_folder(tmp_path / "a" / "b")
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_writable_file_creates_nothing(tmp_path):
    assert files.writable_file(tmp_path / "x.wav") == tmp_path / "x.wav"
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(OutputError, match=r"the folder .*missing does not exist"):
        files.writable_file(tmp_path / "missing" / "x.wav")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (errno.EROFS, "read-only file system"),
        (errno.EACCES, "permission denied"),
        (errno.EPERM, "permission denied"),
        (errno.ENOSPC, "no space left"),
        (errno.EDQUOT, "no space left"),
        (errno.EIO, "Input/output error. Choose another location"),
    ],
)
def test_each_errno_is_named(tmp_path, code, message):
    exc = OSError(code, os.strerror(code))
    error = files.output_error(exc, tmp_path / "x", "results folder", hint="Use --out.")
    assert isinstance(error, OutputError)
    assert str(error).startswith(f"Cannot write the results folder {tmp_path / 'x'}: ")
    assert message in str(error) and str(error).endswith("Use --out.")


def test_name_max_answers_for_paths_that_do_not_exist(tmp_path):
    limit = files.name_max(tmp_path)
    assert limit >= 14  # POSIX minimum; 255 on ext4, tmpfs, overlayfs
    assert files.name_max(tmp_path / "not" / "yet") == limit
    assert files.name_max(tmp_path / ("x" * 400) / "y") == limit


def test_read_text_names_the_line_the_byte_and_the_encoding(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes("pierwsza\ndruga: żółw\n".encode("iso-8859-2"))
    with pytest.raises(TextEncodingError, match=r"not utf-8 text: byte 0xbf at line 2, column 8"):
        files.read_text(path)
    assert files.read_text(path, encoding="iso-8859-2").endswith("żółw\n")
    with pytest.raises(DatasetError, match="not utf-8"):  # the caller's error type
        files.read_text(path, error=DatasetError)
    with pytest.raises(TextEncodingError, match=r"Cannot read the text file .*nope"):
        files.read_text(tmp_path / "nope")
