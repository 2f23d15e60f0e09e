"""The composer's preset chooser: pick a preset (its system prompt, parameters and
model), keep the current settings as one, and keep or drop saved prompts."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QInputDialog, QMenu, QToolButton, QWidget

from app.core.errors import TandemError
from app.core.messages import GenerationParams
from app.services.presets import Presets
from app.store.settings import Preset
from app.ui import alerts


class PresetsMenu(QObject):
    """Signals:
    chosen(object): the Preset chosen; the window applies it to column A.
    """

    chosen = Signal(object)

    def __init__(
        self,
        presets: Presets,
        params: Callable[[], GenerationParams],
        model: Callable[[], str],
        message: Callable[[], str],
        parent: QWidget,
    ) -> None:
        """`params()`, `model()` and `message()` are what the window shows now: what a
        new preset or saved prompt keeps."""
        super().__init__(parent)
        self._parent = parent
        self.presets = presets
        self._params, self._model, self._message = params, model, message
        self.current: str | None = None
        self.button = QToolButton()
        self.button.setObjectName("presetButton")
        self.button.setText("Preset")
        self.button.setAccessibleName("Preset")
        self.button.setToolTip("Choose a preset: a system prompt, parameters and a model")
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.button.setStyleSheet(
            "QToolButton#presetButton { padding: 6px 18px 6px 10px; border-radius: 10px; "
            "border: 1px solid palette(mid); }"
            "QToolButton#presetButton::menu-indicator { subcontrol-position: right center; "
            "right: 6px; }"
        )
        self.menu = QMenu(self.button)
        self.menu.setAccessibleName("Presets")
        self.menu.aboutToShow.connect(self.rebuild)
        self.button.setMenu(self.menu)
        self.rebuild()

    # ----- the menu

    def rebuild(self) -> None:
        self.menu.clear()
        presets = self.presets.all()
        for preset in presets:
            action = self.menu.addAction(preset.name)
            action.setCheckable(True)
            action.setChecked(preset.name == self.current)
            action.setToolTip(_summary(preset))
            action.triggered.connect(lambda _c=False, name=preset.name: self.choose(name))
        if not presets:
            self.menu.addAction("No presets yet").setEnabled(False)
        self.menu.addSeparator()
        self.save_action = self.menu.addAction("&Save current settings as preset…")
        self.save_action.triggered.connect(lambda _c=False: self.save_current())
        self._delete_menu("&Delete preset", [p.name for p in presets], self.delete)
        self.menu.addSeparator()
        self.save_prompt_action = self.menu.addAction("Save &message as prompt…")
        self.save_prompt_action.setEnabled(bool(self._message().strip()))
        self.save_prompt_action.triggered.connect(lambda _c=False: self.save_prompt())
        names = [p.name for p in self.presets.prompts()]
        self._delete_menu("Delete saved &prompt", names, self.delete_prompt)
        self.menu.setToolTipsVisible(True)

    def _delete_menu(self, title: str, names: list[str], delete: Callable[[str], None]) -> None:
        sub = self.menu.addMenu(title)
        sub.setEnabled(bool(names))
        for name in names:
            action: QAction = sub.addAction(name)
            action.triggered.connect(lambda _c=False, n=name: delete(n))

    # ----- what its entries do

    def choose(self, name: str) -> Preset | None:
        try:
            preset = self.presets.get(name)
        except TandemError as exc:
            alerts.warning(self._parent, exc.message)
            return None
        self.current = preset.name
        self.button.setText(preset.name)
        self.button.setAccessibleName(f"Preset: {preset.name}")
        self.chosen.emit(preset)
        return preset

    def save_current(self, name: str | None = None) -> Preset | None:
        if name is None:
            name = self._ask("Save as preset", "Name of the preset:", self.current or "")
            if name is None:
                return None
        done = self._do(lambda: self.presets.save(name, self._params(), self._model()),
                        "Saved the preset “{}”.")  # fmt: skip
        return done if isinstance(done, Preset) else None

    def delete(self, name: str) -> None:
        done = self._do(lambda: self.presets.delete(name), "Deleted the preset “{}”.")
        if done is not None and self.current == name:
            self.current = None
            self.button.setText("Preset")
            self.button.setAccessibleName("Preset")

    def save_prompt(self, name: str | None = None) -> None:
        text = self._message()
        if name is None:
            first = " ".join(text.split())[:40]
            name = self._ask("Save prompt", "Name of the saved prompt:", first)
            if name is None:
                return
        self._do(lambda: self.presets.save_prompt(name, text), "Saved the prompt “{}”.")

    def delete_prompt(self, name: str) -> None:
        self._do(lambda: self.presets.delete_prompt(name), "Deleted the saved prompt “{}”.")

    def _ask(self, title: str, label: str, text: str) -> str | None:
        name, ok = QInputDialog.getText(self._parent, title, label, text=text)
        return name if ok else None

    def _do(self, change: Callable[[], object], said: str) -> object:
        try:
            done = change()
        except TandemError as exc:
            alerts.warning(self._parent, exc.message)
            return None
        alerts.info(self._parent, said.format(getattr(done, "name", "")))
        self.rebuild()
        return done


def _summary(preset: Preset) -> str:
    params = preset.generation
    system = " ".join(params.system_prompt.split())[:80] or "no system prompt"
    model = preset.model.rpartition("/")[2] if preset.model else "the column's model"
    return f"{model} · temperature {params.temperature:g} · {system}"
