"""`python -m app` and the `tandem` command: start the window."""

from __future__ import annotations

import multiprocessing
import sys


def main() -> int:
    multiprocessing.freeze_support()  # the engine process, when frozen by PyInstaller
    from app.ui.app import run_gui

    return run_gui(sys.argv)


if __name__ == "__main__":
    sys.exit(main())
