"""The Qt part of `tandem --self-test`: platform plugins, the icon, the real window offscreen."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import PySide6
from PySide6.QtCore import QLibraryInfo, QPluginLoader, qVersion
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from app.library.bundled import ICON_SIZES, icon_file
from app.selftest import Check, timed
from app.store.paths import HOME_ENV, AppPaths
from app.ui.platform_check import desktop_platforms, one_line, probe, requested_platforms

_WINDOW_TIMEOUT_S = 10.0


def _wanted_platforms() -> list[str]:
    if sys.platform.startswith("linux"):
        return ["xcb", "wayland", "offscreen"]
    if sys.platform == "win32":
        return ["windows", "offscreen"]
    if sys.platform == "darwin":
        return ["cocoa", "offscreen"]
    return ["offscreen"]


def _plugin_file(folder: Path, name: str) -> Path | None:
    for candidate in folder.glob(f"*q{name}.*"):
        if candidate.suffix in (".so", ".dll", ".dylib"):
            return candidate
    return None


def app_icon() -> QIcon:
    """The window icon, from the PNGs rendered at each size."""
    icon = QIcon()
    for size in ICON_SIZES:
        path = icon_file(size)
        if path.is_file():
            icon.addFile(str(path))
    return icon


def check_qt_platform(app: QApplication, asked: str | None = None) -> Check:
    """The platform plugins are all there, and a desktop one loads with the system's libraries.

    On Linux, X11 (xcb) or Wayland is enough. When none loads, the report names the missing
    system libraries and the command that installs them: a failure when the person asked
    for a window (`asked` is a desktop platform, or None on a desktop), a warning when they
    asked for offscreen, since this computer then need not show windows at all.
    """
    check = Check("qt-platform")
    with timed(check):
        folder = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
        missing: list[str] = []
        unloadable: dict[str, str] = {}
        loaded: list[str] = []
        for name in _wanted_platforms():
            plugin = _plugin_file(folder, name)
            if plugin is None:
                missing.append(name)
                continue
            loader = QPluginLoader(str(plugin))
            if loader.load():
                loaded.append(name)
            else:
                unloadable[name] = loader.errorString()
        icon = app_icon()
        # Without the forced offscreen: the platforms Qt would try for this person's window.
        env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
        if asked:
            env["QT_QPA_PLATFORM"] = asked
        window_platforms = [p for p in requested_platforms(env) if p in desktop_platforms()]
        # The window needs one of those to load (Wayland's plugin is no use on X11).
        needed = window_platforms or list(desktop_platforms()[:1])
        desktop = [name for name in loaded if name in needed]
        # Only when none of them loaded: what the window lacks, read with ldd.
        unloaded = [] if desktop else [probe(p) for p in needed]
        fix = one_line(unloaded) if unloaded else ""
        check.data = {
            "platform": app.platformName(),
            "asked": asked,
            "plugins_dir": str(folder.parent),
            "loaded": loaded,
            "missing": missing,
            "unloadable": unloadable,
            "missing_libraries": sorted({lib for p in unloaded for lib in p.missing}),
            "fix": fix,
            "icon_sizes": [s.width() for s in icon.availableSizes()],
        }
        problems = [f"plugin missing from {folder}: {', '.join(missing)}"] if missing else []
        if app.platformName() != "offscreen":
            problems.append(f"started on {app.platformName()!r}, not offscreen")
        if icon.isNull():
            problems.append("the app icon did not load")
        if problems:
            return check.fail("; ".join(problems))
        if desktop_platforms() and not desktop:
            on_desktop = bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))
            if window_platforms and (asked or on_desktop):
                return check.fail(fix)
            return check.warn(f"fine offscreen, but the window cannot open here: {fix}")
        check.detail = f"running on {app.platformName()}; plugins load: {', '.join(loaded)}"
        if unloadable:
            check.detail += "; cannot load " + "; ".join(
                f"{name} ({error.split(': ', 1)[-1]})" for name, error in unloadable.items()
            )
    return check


def check_window(app: QApplication, home: Path) -> Check:
    """Open the real main window on an empty home, draw it, close it."""
    check = Check("window")
    with timed(check):
        from app.services.workspace import Workspace
        from app.ui.window.main_window import MainWindow

        previous = os.environ.get(HOME_ENV)
        os.environ[HOME_ENV] = str(home)  # nothing the window saves reaches the user's folders
        try:
            paths = AppPaths(home / "config", home / "data", home / "cache", home / "logs")
            window = MainWindow(Workspace(paths))
            window.setWindowIcon(app_icon())
            window.show()
            deadline = time.monotonic() + _WINDOW_TIMEOUT_S
            handle = window.windowHandle()
            while time.monotonic() < deadline and not (handle and handle.isExposed()):
                app.processEvents()
                handle = window.windowHandle()
            exposed = bool(handle and handle.isExposed())
            picture = window.grab()
            menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
            title = window.windowTitle()
            window.close()
            app.processEvents()
            closed = not window.isVisible()
            window.deleteLater()
            app.processEvents()
        finally:
            if previous is None:
                os.environ.pop(HOME_ENV, None)
            else:
                os.environ[HOME_ENV] = previous
        check.data = {
            "title": title,
            "exposed": exposed,
            "size": [picture.width(), picture.height()],
            "menus": menus,
            "closed": closed,
        }
        if not exposed or picture.isNull():
            return check.fail("the window did not appear")
        if not closed:
            return check.fail("the window did not close")
        check.detail = (
            f"{title!r} opened at {picture.width()}x{picture.height()}, menus "
            f"{', '.join(menus)}; closed"
        )
    return check


def qt_checks(home: Path, asked: str | None = None) -> tuple[dict[str, str], list[Check]]:
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "tandem"])
    assert isinstance(app, QApplication)
    app.setApplicationName("Tandem")
    versions = {"qt": qVersion(), "pyside6": PySide6.__version__}
    return versions, [check_qt_platform(app, asked), check_window(app, home)]
