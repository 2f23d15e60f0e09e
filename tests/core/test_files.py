"""Opening a file Tandem did not write: a regular file only, and never waiting."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.core.files import NotRegularFileError, open_regular, read_regular

pytestmark = pytest.mark.timeout(10)


def test_a_fifo_is_refused_at_once_without_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "model.gguf"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFileError, match="a pipe"):
        open_regular(fifo)


def test_a_link_to_a_fifo_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "settings.json"
    link.symlink_to(fifo)
    with pytest.raises(NotRegularFileError):
        read_regular(link)


def test_a_folder_and_a_device_are_refused(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError, match="folder"):
        open_regular(tmp_path)
    if Path("/dev/zero").exists():
        with pytest.raises(NotRegularFileError, match="a device"):
            read_regular(Path("/dev/zero"))


def test_a_regular_file_reads_as_usual(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(b"x" * 100_000)
    link = tmp_path / "b.json"
    link.symlink_to(path)
    assert read_regular(link) == b"x" * 100_000
    with open_regular(path) as fh:
        assert not fh.closed
        assert os.get_blocking(fh.fileno())
    with pytest.raises(FileNotFoundError):
        open_regular(tmp_path / "missing")
