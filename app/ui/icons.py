"""The window's icons: Lucide SVGs (ISC, resources/icons/LICENSE-lucide.txt) drawn in the
colour of the text around them, sharp at any screen scale."""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QGuiApplication, QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from app.library.bundled import resources_dir

_SIZES = (16, 24, 32, 48)


@lru_cache(maxsize=64)
def _svg(name: str) -> bytes:
    path = resources_dir() / "icons" / f"{name}.svg"
    return path.read_bytes() if path.is_file() else b""


@lru_cache(maxsize=256)
def _icon(name: str, colour: str, ratio: float) -> QIcon:
    data = _svg(name).replace(b"currentColor", colour.encode("ascii"))
    result = QIcon()
    if not data:
        return result
    renderer = QSvgRenderer(QByteArray(data))
    for size in _SIZES:
        pixmap = QPixmap(round(size * ratio), round(size * ratio))
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter, QRectF(0, 0, pixmap.width(), pixmap.height()))
        painter.end()
        pixmap.setDevicePixelRatio(ratio)
        result.addPixmap(pixmap)
    return result


def icon(name: str, colour: str | None = None) -> QIcon:
    """The icon `name` (a file in resources/icons) in `colour` (the text colour if None);
    an empty icon for a name that is not shipped."""
    if not name:
        return QIcon()
    if colour is None:
        colour = QGuiApplication.palette().windowText().color().name()
    screen = QGuiApplication.primaryScreen()
    ratio = screen.devicePixelRatio() if screen is not None else 1.0
    return _icon(name, colour, ratio)
