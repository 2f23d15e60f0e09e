"""Before Qt can abort, `tandem` and the set-up ask whether its platform plugin loads.

Libraries are hidden the way a fresh machine lacks them: in a mount namespace of the child
process, a bind mount of /dev/null over the library file (needs root and `unshare`).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from app.ui.platform_check import Probe, explain, probe, requested_platforms

REPO = Path(__file__).resolve().parents[2]
TANDEM = Path(sys.executable).with_name("tandem")
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")


def _library(soname: str) -> str | None:
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    match = re.search(rf"^\s*{re.escape(soname)} \([^)]*x86-64[^)]*\) => (\S+)$", out, re.M)
    return os.path.realpath(match.group(1)) if match else None


def _hiding(*paths: str) -> list[str]:
    """A command prefix that runs its command with `paths` unreadable as libraries."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("hiding a library needs root and unshare")
    mounts = " && ".join(f"mount --bind /dev/null {p}" for p in paths) or "true"
    return ["unshare", "-m", "sh", "-c", f'{mounts} && exec "$@"', "sh"]


def _hidden_xcb_library() -> str:
    """A library the xcb plugin needs; hidden, the plugin cannot load whatever else is here."""
    found = _library("libxcb-cursor.so.0") or _library("libxcb.so.1")
    if found is None:
        pytest.skip("no xcb library installed to hide")
    return found


def test_qt_is_asked_for_the_platforms_it_would_try() -> None:
    assert requested_platforms({"QT_QPA_PLATFORM": "offscreen"}) == ["offscreen"]
    assert requested_platforms({"QT_QPA_PLATFORM": "wayland;xcb"}) == ["wayland", "xcb"]
    assert requested_platforms({"QT_QPA_PLATFORM": "xcb:display=:1"}) == ["xcb"]
    assert requested_platforms({"DISPLAY": ":0"}) == ["xcb"]
    assert requested_platforms({"WAYLAND_DISPLAY": "wayland-0"}) == ["wayland", "xcb"]


def test_the_offscreen_plugin_loads_with_what_the_tests_need() -> None:
    found = probe("offscreen", child=True)
    assert found.loads, found
    assert found.missing == ()


def test_the_message_names_the_libraries_and_the_one_command() -> None:
    from app.library.system_libs import Family

    text = explain([Probe("xcb", False, "x", ("libxcb-icccm.so.4",))], Family.DEBIAN)
    assert "libxcb-icccm.so.4" in text
    assert "    sudo apt-get install -y libxcb-icccm4\n" in text
    assert text.endswith("QT_QPA_PLATFORM=offscreen tandem --self-test")


def _run_tandem(prefix: list[str], home: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "TANDEM_HOME": str(home / "t")}
    env.update(extra)
    return subprocess.run(
        [*prefix, str(TANDEM)], env=env, capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_tandem_explains_a_missing_library_and_exits_without_aborting(tmp_path: Path) -> None:
    hidden = _hidden_xcb_library()
    done = _run_tandem(_hiding(hidden), tmp_path, DISPLAY=":99")
    assert done.returncode == 3, (done.returncode, done.stderr)  # not -6 (SIGABRT)
    assert "Tandem cannot open its window" in done.stderr
    assert Path(hidden).name.split(".so")[0] in done.stderr
    assert re.search(r"^    sudo apt-get install -y \S", done.stderr, re.M)
    assert "QT_QPA_PLATFORM=offscreen tandem --self-test" in done.stderr
    assert "could not load the Qt platform plugin" not in done.stderr
    log = (tmp_path / "t" / "logs" / "tandem.log").read_text()
    assert "the window cannot open" in log
    assert "apt-get install" in log


def test_started_without_a_terminal_the_message_is_shown_in_a_desktop_dialog(
    tmp_path: Path,
) -> None:
    hidden = _hidden_xcb_library()
    tools = tmp_path / "bin"
    tools.mkdir()
    said = tmp_path / "zenity-args"
    fake = tools / "zenity"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {said}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    done = _run_tandem(
        _hiding(hidden), tmp_path, DISPLAY=":99", PATH=f"{tools}:{os.environ['PATH']}"
    )
    assert done.returncode == 3
    args = said.read_text()
    assert "--error" in args
    assert "--no-markup" in args
    assert "Tandem cannot open its window" in args


def test_with_no_display_at_all_tandem_says_so(tmp_path: Path) -> None:
    done = _run_tandem([], tmp_path)  # no DISPLAY, no WAYLAND_DISPLAY
    assert done.returncode == 3
    assert "Tandem cannot open its window" in done.stderr


def _setup(prefix: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, sys.executable, "-m", "app.ui.platform_check", *args],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_setup_for_the_window_stops_with_the_command_that_installs_what_is_missing() -> None:
    hidden = _hidden_xcb_library()
    done = _setup(_hiding(hidden), "--need", "display")
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("setup: error: Qt's xcb platform plugin cannot find ")
    assert Path(hidden).name.split(".so")[0] in line
    assert "run: sudo apt-get install -y " in line


def test_setup_for_the_tests_only_warns_about_the_desktop_plugin() -> None:
    hidden = _hidden_xcb_library()
    done = _setup(_hiding(hidden), "--need", "offscreen")
    assert done.returncode == 0, done.stderr
    assert "setup: warning: the window will not open on this computer" in done.stdout
    assert "setup: Qt's offscreen platform plugin loads" in done.stdout


def test_setup_notices_when_installed_packages_still_do_not_load() -> None:
    """As root apt-get takes the hidden library's package for installed; the set-up checks
    again after installing and names the command instead of claiming success."""
    hidden = _hidden_xcb_library()
    if shutil.which("apt-get") is None:
        pytest.skip("not a Debian system")
    done = _setup(_hiding(hidden), "--need", "display", "--install")
    assert done.returncode == 1
    assert "setup: installing them: apt-get install -y" in done.stdout
    assert "platform plugin still cannot find" in done.stderr
    assert "run: sudo apt-get install -y --reinstall " in done.stderr
