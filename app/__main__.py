"""`python -m app` and the `tandem` command: start the window, or `--self-test [--json]`."""

from __future__ import annotations

import multiprocessing
import sys


def main() -> int:
    multiprocessing.freeze_support()  # the engine process, when frozen by PyInstaller
    if "--self-test" in sys.argv[1:]:
        from app.selftest import main as self_test
        from app.ui.selftest_window import qt_checks

        return self_test(sys.argv[1:], qt_checks)
    from app.ui.app import run_gui

    return run_gui(sys.argv)


if __name__ == "__main__":
    sys.exit(main())
