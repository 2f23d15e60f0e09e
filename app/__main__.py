"""`python -m app` and the `tandem` command: start the window, or `--self-test [--json]`."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import subprocess
import sys

logger = logging.getLogger(__name__)

# Exit status when the window cannot open on this computer (Qt would abort with SIGABRT).
EXIT_NO_WINDOW = 3


def _has_terminal() -> bool:
    return any(stream is not None and stream.isatty() for stream in (sys.stderr, sys.stdin))


def _show_without_terminal(message: str) -> bool:
    """Show `message` in the desktop's own dialog or notification; False if none is there."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    title = "Tandem cannot start"
    for command in (
        ["zenity", "--error", "--no-markup", f"--title={title}", f"--text={message}"],
        ["kdialog", "--title", title, "--error", message],
        ["notify-send", "--urgency=critical", title, message],
    ):
        if shutil.which(command[0]) is None:
            continue
        try:
            subprocess.run(command, check=False, timeout=600, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            continue
        return True
    return False


def explain_no_window(message: str) -> int:
    """Say why the window cannot open: stderr, the log and, with no terminal, a dialog."""
    logger.error("the window cannot open: %s", message)
    try:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    except (AttributeError, OSError):
        pass
    if not _has_terminal():
        _show_without_terminal(message)
    return EXIT_NO_WINDOW


def main() -> int:
    multiprocessing.freeze_support()  # the engine process, when frozen by PyInstaller
    if "--self-test" in sys.argv[1:]:
        from app.selftest import main as self_test
        from app.ui.selftest_window import qt_checks

        return self_test(sys.argv[1:], qt_checks)
    from app.store.logs import setup_logging
    from app.store.paths import app_paths
    from app.ui.platform_check import window_problem

    setup_logging(app_paths().ensure().log_file)
    problem = window_problem()
    if problem is not None:
        return explain_no_window(problem)
    from app.ui.app import run_gui

    return run_gui(sys.argv)


if __name__ == "__main__":
    sys.exit(main())
