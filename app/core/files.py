"""The one way Tandem opens a file it did not write: only a regular file, never blocking.

A name like `model.gguf` or `settings.json` may be a FIFO (opening it for reading waits
for a writer, forever), a device (`/dev/zero` never ends) or a folder. The file is
opened without blocking and checked on the open descriptor, so a name swapped for a FIFO
between a check and the open cannot make Tandem wait either.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_FLAGS |= getattr(os, "O_CLOEXEC", 0)


class NotRegularFileError(OSError):
    """The path names something other than a regular file (a pipe, a device, a socket)."""


def what_it_is(mode: int) -> str:
    """A special file's kind, in a person's words."""
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_regular(path: Path) -> BinaryIO:
    """`path` opened for reading in binary, when it is a regular file (or a link to one).

    Raises IsADirectoryError for a folder, NotRegularFileError for anything else that is
    not a regular file, and the usual OSError when it cannot be opened; never waits.
    """
    fd = os.open(path, _FLAGS)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "it is a folder, not a file", str(path))
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(
                errno.EINVAL, f"it is {what_it_is(mode)}, not a regular file", str(path)
            )
        if _FLAGS & getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)  # a regular file: reads behave as usual
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path) -> bytes:
    """The whole of a regular file (see `open_regular`)."""
    with open_regular(path) as fh:
        return fh.read()
