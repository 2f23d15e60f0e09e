"""The window's toolbar: new chat, the model of each column, compare and where a message
goes while comparing, the parameters, and the private-mode badge."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QLabel, QSizePolicy, QToolBar, QToolButton, QWidget

from app.ui.icons import icon
from app.ui.theme import is_dark
from app.ui.widgets.model_picker import ModelPicker
from app.ui.window.main_menu import MainMenu

SEND_TO = (("to both", ("a", "b")), ("to A only", ("a",)), ("to B only", ("b",)))

PRIVATE_TEXT = "Private — nothing leaves this computer"
CLOUD_TEXT = "Cloud allowed"
# (text, background) of the badge: green while private, amber while cloud is allowed.
_BADGE = {
    (True, False): ("#1c6b34", "#e2f3e7"), (True, True): ("#a3e6b5", "#1b3a25"),
    (False, False): ("#8a4b00", "#fff1d6"), (False, True): ("#ffd28a", "#47320f"),
}  # fmt: skip

_ICONS = {
    "new_chat": "message-square-plus", "open_file": "file-up", "compare": "columns-2",
    "params": "sliders-horizontal",
}  # fmt: skip


class MainToolbar(QToolBar):
    def __init__(self, menu: MainMenu, parent: QWidget | None = None) -> None:
        super().__init__("Main", parent)
        self.setObjectName("mainToolbar")
        self.setMovable(False)
        self.setIconSize(QSize(18, 18))
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._menu = menu
        self._iconed: list[tuple[QAction, str]] = []
        self._add(menu.new_chat, "new_chat")
        self.addSeparator()
        self.model_picker = ModelPicker("Model")
        self.addWidget(self.model_picker)
        self._add(menu.open_file, "open_file", text_too=False)
        self.addSeparator()
        self._add(menu.compare, "compare")
        self.model_picker_b = ModelPicker("Second model")
        self.send_to = QComboBox()
        self.send_to.setAccessibleName("Send to")
        for label, sides in SEND_TO:
            self.send_to.addItem(label, sides)
        self._compare_widgets = [
            self.addWidget(QLabel(" B ")),
            self.addWidget(self.model_picker_b),
            self.addWidget(self.send_to),
        ]
        self._params_at = self.addSeparator()
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.addWidget(spacer)
        self.private_badge = QToolButton()
        self.private_badge.setObjectName("privateBadge")
        self.private_badge.setAccessibleName("Private mode")
        self.private_badge.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.private_badge.setCursor(Qt.CursorShape.PointingHandCursor)
        self.private_badge.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.private_badge.clicked.connect(menu.private.trigger)
        menu.private.toggled.connect(self.show_private)
        self.addWidget(self.private_badge)
        self.show_private(menu.private.isChecked())

    def add_params(self, toggle: QAction) -> None:
        """The Parameters dock's toggle, after compare."""
        toggle.setText("&Parameters")
        toggle.setToolTip(f"Show or hide the parameters ({toggle.shortcut().toString()})")
        self._add(toggle, "params", before=self._params_at)

    def _add(
        self, action: QAction, name: str, *, text_too: bool = True, before: QAction | None = None
    ) -> None:
        if before is None:
            self.addAction(action)
        else:
            self.insertAction(before, action)
        self._iconed.append((action, _ICONS[name]))
        action.setIcon(icon(_ICONS[name]))
        button = self.widgetForAction(action)
        if isinstance(button, QToolButton):
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # the toolbar is reachable by Tab
            button.setAccessibleName(action.text().replace("&", ""))
            if not text_too:
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)

    def restyle(self) -> None:
        """Icons and badge in the current theme's colours."""
        for action, name in self._iconed:
            action.setIcon(icon(name))
        self.show_private(self._menu.private.isChecked())

    def show_private(self, private: bool) -> None:
        fg, bg = _BADGE[(private, is_dark())]
        shortcut = self._menu.private.shortcut().toString()
        self.private_badge.setText(PRIVATE_TEXT if private else CLOUD_TEXT)
        self.private_badge.setIcon(icon("lock" if private else "lock-open", fg))
        self.private_badge.setToolTip(
            ("Private mode is on: Tandem connects to nothing but this computer. "
             if private else "Private mode is off: cloud models may be used. ")
            + f"Click or press {shortcut} to switch."
        )  # fmt: skip
        self.private_badge.setStyleSheet(
            f"QToolButton#privateBadge {{ color: {fg}; background: {bg}; border: none; "
            "border-radius: 11px; padding: 3px 10px; font-weight: 600; }"
            f"QToolButton#privateBadge:focus {{ border: 1px solid {fg}; }}"
        )

    def picker(self, side: str) -> ModelPicker:
        return self.model_picker if side == "a" else self.model_picker_b

    def sides(self) -> tuple[str, ...]:
        """The columns a message goes to while comparing."""
        return tuple(self.send_to.currentData())

    def set_comparing(self, on: bool) -> None:
        for action in self._compare_widgets:
            action.setVisible(on)
