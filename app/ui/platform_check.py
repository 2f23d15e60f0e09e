"""Can Qt open a window here? Asked before a `QApplication` exists, so that a missing system
library becomes a message that names it and the command that installs it, instead of Qt's
"could not load the Qt platform plugin" and an abort.

Also the set-up's check (`python -m app.ui.platform_check --need display|offscreen
--install`): it loads each platform plugin in a child process, reads `ldd` of the plugin
and of the Qt libraries it loads, and installs what is missing where it may.

Nothing here imports a Qt module at import time: the point is to ask before Qt can abort.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from app.library.system_libs import (
    Family,
    Fix,
    LddReport,
    family,
    fix_for,
    missing_libraries,
)

# The platforms that show a window on a desktop; Qt's default order on each system.
_DESKTOP = {"linux": ("xcb", "wayland"), "win32": ("windows",), "darwin": ("cocoa",)}
# The Qt libraries a platform plugin loads besides the ones every Qt program needs.
_PLUGIN_LIBS = {"xcb": ("Qt6XcbQpa",), "wayland": ("Qt6WaylandClient",)}
_QT_LIBS = ("Qt6Core", "Qt6Gui", "Qt6Widgets", "Qt6DBus")
_SELF_TEST = "QT_QPA_PLATFORM=offscreen tandem --self-test"
_LOADER = """
import json, sys
from PySide6.QtCore import QPluginLoader
loader = QPluginLoader(sys.argv[1])
print(json.dumps({"loads": loader.load(), "error": loader.errorString()}))
"""


def _system() -> str:
    return "linux" if sys.platform.startswith("linux") else sys.platform


def desktop_platforms() -> tuple[str, ...]:
    return _DESKTOP.get(_system(), ())


def qt_folder() -> Path | None:
    """PySide6's `Qt` folder (its libraries and plugins), found without loading Qt."""
    try:
        import PySide6
    except ImportError:
        return None
    folder = Path(PySide6.__file__).resolve().parent / "Qt"
    return folder if folder.is_dir() else None


@dataclass(frozen=True, slots=True)
class Probe:
    """Whether one platform plugin loads, and the system libraries it lacks."""

    platform: str
    loads: bool
    error: str = ""
    missing: tuple[str, ...] = ()
    files: tuple[str, ...] = field(default=(), compare=False)
    damaged: tuple[str, ...] = ()  # among `missing`: there, but not loadable

    def fix(self, on: Family | None = None) -> Fix:
        return fix_for(self.missing, on)


def _plugin_file(platform: str) -> Path | None:
    qt = qt_folder()
    if qt is None:
        return None
    for candidate in sorted((qt / "plugins" / "platforms").glob(f"*q{platform}.*")):
        if candidate.suffix in (".so", ".dll", ".dylib"):
            return candidate
    return None


def _libraries_for(platform: str) -> list[Path]:
    qt = qt_folder()
    if qt is None:
        return []
    found: list[Path] = []
    for name in _QT_LIBS + _PLUGIN_LIBS.get(platform, ()):
        found.extend(sorted((qt / "lib").glob(f"lib{name}.so*"))[:1])
    return found


def _load_in_process(plugin: Path) -> tuple[bool, str]:
    try:
        from PySide6.QtCore import QPluginLoader
    except ImportError as exc:
        return False, f"Qt's core library does not load: {exc}"
    loader = QPluginLoader(str(plugin))
    return bool(loader.load()), str(loader.errorString())


def _load_in_child(plugin: Path) -> tuple[bool, str]:
    try:
        done = subprocess.run(
            [sys.executable, "-c", _LOADER, str(plugin)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"the plugin check did not finish: {exc}"
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
        return bool(answer["loads"]), str(answer["error"])
    except (IndexError, ValueError, KeyError):
        tail = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return False, tail


def probe(platform: str, *, child: bool = False) -> Probe:
    """Load `platform`'s plugin (in a child process when asked) and list what `ldd` lacks."""
    plugin = _plugin_file(platform)
    if plugin is None:
        where = qt_folder()
        return Probe(platform, False, f"Qt has no {platform!r} platform plugin in {where}")
    files = [plugin, *_libraries_for(platform)]
    can_spawn = child and not getattr(sys, "frozen", False)
    loads, error = _load_in_child(plugin) if can_spawn else _load_in_process(plugin)
    if loads:
        return Probe(platform, True, files=tuple(map(str, files)))
    found = missing_libraries(files) if _system() == "linux" else LddReport()
    return Probe(platform, False, error, found.missing, tuple(map(str, files)), found.damaged)


def requested_platforms(env: Mapping[str, str]) -> list[str]:
    """The platforms Qt will try, in order: `QT_QPA_PLATFORM`'s, else this desktop's."""
    asked = env.get("QT_QPA_PLATFORM", "").strip()
    if asked:
        return [part.split(":", 1)[0].strip() for part in asked.split(";") if part.strip()]
    platforms = list(desktop_platforms())
    wayland = env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE") == "wayland"
    if "wayland" in platforms:
        # Qt tries Wayland first in a Wayland session, and only xcb anywhere else.
        platforms.remove("wayland")
        if wayland:
            platforms.insert(0, "wayland")
    return platforms


def _no_display(platform: str, env: Mapping[str, str]) -> str | None:
    if platform == "xcb" and not env.get("DISPLAY"):
        return "$DISPLAY is not set"
    if platform == "wayland" and not env.get("WAYLAND_DISPLAY"):
        return "$WAYLAND_DISPLAY is not set"
    return None


def explain(probes: list[Probe], on: Family | None = None) -> str:
    """The message for platforms none of which loads: what is missing and the one fix."""
    missing = sorted({name for p in probes for name in p.missing})
    names = " or ".join(p.platform for p in probes)
    damaged = sorted({name for p in probes for name in p.damaged})
    if missing:
        fix = fix_for(missing, on)
        what = ", ".join(missing)
        lines = [
            f"Tandem cannot open its window: Qt's {names} platform plugin needs system "
            f"libraries this computer does not have ({what}).",
            "Install them with:",
            f"    {fix.command(reinstall=bool(damaged))}",
        ]
        if damaged:
            lines[0] = lines[0].replace(
                "this computer does not have", "that are missing or damaged here"
            )
    else:
        errors = "; ".join(f"{p.platform}: {p.error}" for p in probes if p.error)
        lines = [f"Tandem cannot open its window: no Qt platform plugin loads ({errors})."]
    lines += [
        "Then start Tandem again. To check the rest of this installation without a window:",
        f"    {_SELF_TEST}",
    ]
    return "\n".join(lines)


def window_problem(env: Mapping[str, str] | None = None) -> str | None:
    """None when Qt can open a window here; else the message to show instead of aborting."""
    env = os.environ if env is None else env
    desktop = set(desktop_platforms())
    wanted = [p for p in requested_platforms(env) if p in desktop]
    if not wanted or _system() != "linux":
        return None  # offscreen, vnc, or a system where Qt ships everything it needs
    probes = [probe(p) for p in wanted]
    usable = [p for p in probes if p.loads]
    if not usable:
        return explain(probes)
    reasons = [_no_display(p.platform, env) for p in usable]
    if all(reasons):
        return (
            "Tandem cannot open its window: there is no display to show it on "
            f"({'; '.join(r for r in reasons if r)}). Start it from a desktop session, or "
            f"check this installation without a window:\n    {_SELF_TEST}"
        )
    return None


# ----- the set-up's check


def _can_install() -> list[str] | None:
    """The prefix that runs apt-get as root here (`[]` or `["sudo", "-n"]`), else None."""
    if shutil.which("apt-get") is None:
        return None
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") is None:
        return None
    done = subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False)
    return ["sudo", "-n"] if done.returncode == 0 else None


def _apt_install(prefix: list[str], packages: tuple[str, ...]) -> bool:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = [*prefix, "apt-get", "install", "-y", "--no-install-recommends", *packages]
    if subprocess.run(command, env=env, check=False).returncode == 0:
        return True
    print("setup: apt-get could not install them; refreshing its package lists", flush=True)
    subprocess.run([*prefix, "apt-get", "update"], env=env, check=False)
    return subprocess.run(command, env=env, check=False).returncode == 0


def _needed_probes(need: str) -> tuple[list[Probe], list[Probe]]:
    """(what must load, what should load) for `need`."""
    desktop = [probe(p, child=True) for p in desktop_platforms()[:1]]
    if need == "offscreen":
        return [probe("offscreen", child=True)], desktop
    return desktop, []


def _missing(probes: list[Probe]) -> list[str]:
    return sorted({name for p in probes if not p.loads for name in p.missing})


def setup(need: str, install: bool) -> int:
    """Make sure Qt's platform plugin for `need` loads; 0 when it does."""
    purpose = {"display": "the window", "offscreen": "the tests (offscreen)"}[need]
    if qt_folder() is None:
        print("setup: PySide6 is not installed in this environment", file=sys.stderr)
        return 1
    required, wanted = _needed_probes(need)
    missing = _missing(required)
    prefix = _can_install() if install else None
    installed = bool(missing) and family() is Family.DEBIAN and prefix is not None
    if installed and prefix is not None:
        fix = fix_for(missing)
        print(
            f"setup: Qt needs these system packages for {purpose}: {' '.join(fix.packages)}",
            flush=True,
        )
        print(
            f"setup: installing them: {' '.join([*prefix, 'apt-get', 'install', '-y'])} …",
            flush=True,
        )
        _apt_install(prefix, fix.packages)
        required, wanted = _needed_probes(need)
    failed = [p for p in required if not p.loads]
    if failed:
        print(f"setup: error: {one_line(failed, reinstall=installed)}", file=sys.stderr)
        return 1
    if [p for p in wanted if not p.loads]:
        line = one_line([p for p in wanted if not p.loads], reinstall=False)
        print(f"setup: warning: the window will not open on this computer: {line}")
    names = ", ".join(p.platform for p in required if p.loads)
    print(f"setup: Qt's {names} platform plugin loads")
    return 0


def one_line(probes: list[Probe], *, reinstall: bool = False) -> str:
    """What does not load and the command that fixes it, in one line."""
    missing = _missing(probes)
    names = "/".join(p.platform for p in probes)
    if not missing:
        errors = "; ".join(p.error for p in probes)
        return f"Qt's {names} platform plugin does not load ({errors})"
    fix = fix_for(missing)
    still = " still" if reinstall else ""
    damaged = any(p.damaged for p in probes)
    return (
        f"Qt's {names} platform plugin{still} cannot find {', '.join(missing)}; "
        f"run: {fix.command(reinstall=reinstall or damaged)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.ui.platform_check")
    parser.add_argument("--need", choices=("display", "offscreen"), default="display")
    parser.add_argument("--install", action="store_true", help="install what is missing")
    args = parser.parse_args(argv)
    if _system() != "linux":
        return 0
    return setup(args.need, args.install)


if __name__ == "__main__":
    sys.exit(main())
