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


def check_qt_platform(app: QApplication) -> Check:
    """The platform plugins are all there, and a desktop one loads with the system's libraries.

    On Linux, X11 (xcb) or Wayland is enough; one that cannot load names the missing
    system library in the report (the .deb's Depends bring them).
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
        check.data = {
            "platform": app.platformName(),
            "plugins_dir": str(folder.parent),
            "loaded": loaded,
            "missing": missing,
            "unloadable": unloadable,
            "icon_sizes": [s.width() for s in icon.availableSizes()],
        }
        problems = [f"plugin missing from {folder}: {', '.join(missing)}"] if missing else []
        if not [name for name in loaded if name != "offscreen"]:
            problems.append("no desktop platform plugin loads")
        if app.platformName() != "offscreen":
            problems.append(f"started on {app.platformName()!r}, not offscreen")
        if icon.isNull():
            problems.append("the app icon did not load")
        problems.extend(f"{name}: {error}" for name, error in unloadable.items())
        if missing or len(problems) > len(unloadable):
            return check.fail("; ".join(problems))
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


def qt_checks(home: Path) -> tuple[dict[str, str], list[Check]]:
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "tandem"])
    assert isinstance(app, QApplication)
    app.setApplicationName("Tandem")
    versions = {"qt": qVersion(), "pyside6": PySide6.__version__}
    return versions, [check_qt_platform(app), check_window(app, home)]
