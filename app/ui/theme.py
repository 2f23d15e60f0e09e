"""Light, dark, or the system's colours: the palette every widget reads its colours from."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from app.store.settings import Theme

_system_palette: QPalette | None = None
_system_style: str | None = None

# (window, base, alternate base, text, mid, link, placeholder) for the dark palette.
_DARK = ("#2b2b2b", "#1f1f1f", "#2a2d33", "#e6e6e6", "#555555", "#7cb7ff", "#9a9a9a")


def _dark_palette() -> QPalette:
    window, base, alternate, text, mid, link, muted = (QColor(c) for c in _DARK)
    palette = QPalette()
    role = QPalette.ColorRole
    for r, colour in (
        (role.Window, window), (role.WindowText, text), (role.Base, base),
        (role.AlternateBase, alternate), (role.Text, text), (role.Button, window),
        (role.ButtonText, text), (role.ToolTipBase, base), (role.ToolTipText, text),
        (role.Mid, mid), (role.Link, link), (role.PlaceholderText, muted),
        (role.Highlight, QColor("#3d6fb4")), (role.HighlightedText, QColor("#ffffff")),
        (role.BrightText, QColor("#ff6b6b")),
    ):  # fmt: skip
        palette.setColor(r, colour)
    disabled = QPalette.ColorGroup.Disabled
    for r in (role.Text, role.WindowText, role.ButtonText):
        palette.setColor(disabled, r, muted)
    return palette


def apply_theme(app: QApplication, theme: Theme) -> None:
    """Colour the whole application. The system theme restores what Qt started with."""
    global _system_palette, _system_style
    if _system_palette is None:
        _system_palette = QPalette(app.palette())
        _system_style = app.style().name()
    if theme is Theme.SYSTEM:
        if _system_style and app.style().name() != _system_style:
            app.setStyle(_system_style)
        app.setPalette(_system_palette)
        return
    app.setStyle("Fusion")  # honours a palette on every platform
    app.setPalette(_dark_palette() if theme is Theme.DARK else app.style().standardPalette())


# What a colour means, with its shade on a light and on a dark window.
_MEANINGS: dict[str, tuple[str, str]] = {
    "error": ("#c0392b", "#ff6b6b"),
    "good": ("#1e7d32", "#7bd88f"),
    "caution": ("#b26a00", "#ffb74d"),
}


def is_dark() -> bool:
    """Whether the application's window colour is dark (the dark theme, or a dark system)."""
    app = QApplication.instance()
    return isinstance(app, QApplication) and app.palette().window().color().lightness() < 128


def colour(meaning: str) -> str:
    """The colour for `error`, `good` or `caution`, readable on the current palette."""
    light_shade, dark_shade = _MEANINGS[meaning]
    return dark_shade if is_dark() else light_shade


def text_style(meaning: str | None) -> str:
    """A style sheet that colours a label's text, or none."""
    return "" if meaning is None else f"color: {colour(meaning)};"
