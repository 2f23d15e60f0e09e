"""The window's toolbar: the model of each column, private mode, compare, and where a
message goes while comparing."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QLabel, QToolBar, QWidget

from app.ui.widgets.model_picker import ModelPicker
from app.ui.window.main_menu import MainMenu

SEND_TO = (("to both", ("a", "b")), ("to A only", ("a",)), ("to B only", ("b",)))


class MainToolbar(QToolBar):
    def __init__(self, menu: MainMenu, parent: QWidget | None = None) -> None:
        super().__init__("Main", parent)
        self.setObjectName("mainToolbar")
        self.setMovable(False)
        self.addAction(menu.new_chat)
        self.addSeparator()
        self.addWidget(QLabel(" Model: "))
        self.model_picker = ModelPicker("Model")
        self.addWidget(self.model_picker)
        self.addAction(menu.open_file)
        self.addSeparator()
        self.addAction(menu.private)
        self.addAction(menu.compare)
        self.model_picker_b = ModelPicker("Second model")
        self.send_to = QComboBox()
        self.send_to.setAccessibleName("Send to")
        for label, sides in SEND_TO:
            self.send_to.addItem(label, sides)
        self._compare_widgets = [
            self.addWidget(QLabel(" B: ")),
            self.addWidget(self.model_picker_b),
            self.addWidget(self.send_to),
        ]

    def picker(self, side: str) -> ModelPicker:
        return self.model_picker if side == "a" else self.model_picker_b

    def sides(self) -> tuple[str, ...]:
        """The columns a message goes to while comparing."""
        return tuple(self.send_to.currentData())

    def set_comparing(self, on: bool) -> None:
        for action in self._compare_widgets:
            action.setVisible(on)
