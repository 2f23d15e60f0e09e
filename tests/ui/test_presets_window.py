"""Presets chosen from the composer, and saved prompts behind a "/", in the real window."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog

from app.store.settings import load_settings
from tests.ui.conftest import wait_until_done


def _action(menu, text):
    """The menu entry called `text`, in the menu or one of its submenus."""
    menu.aboutToShow.emit()  # the menu is rebuilt as it opens
    for action in menu.actions():
        if action.text().replace("&", "") == text:
            return action
        sub = action.menu()
        if sub is not None:
            for inner in sub.actions():
                if f"{action.text()}/{inner.text()}".replace("&", "") == text:
                    return inner
    raise AssertionError(f"no entry {text!r} in {[a.text() for a in menu.actions()]}")


@pytest.fixture
def names(monkeypatch):
    """What the name dialogs answer, in turn (the last one again and again)."""
    answers: list[tuple[str, bool]] = []
    monkeypatch.setattr(
        QInputDialog, "getText", lambda *a, **k: answers.pop(0) if len(answers) > 1 else answers[0]
    )
    return answers


def test_a_preset_is_saved_chosen_from_the_composer_and_deleted(qtbot, window, names):
    menu = window.presets_menu
    assert menu.button.accessibleName() == "Preset"
    assert menu.button.parent() is window.composer  # beside Send
    panel = window.params_panel
    panel.system_prompt.setPlainText("Answer like a <b>pirate</b>.")
    panel.max_tokens.setValue(3)
    names.append(("Pirate", True))
    _action(menu.menu, "Save current settings as preset…").trigger()
    saved = load_settings()[0].presets
    assert [(p.name, p.generation.max_tokens) for p in saved] == [("Pirate", 3)]
    assert saved[0].model == window.model_picker.current_spec()

    panel.system_prompt.setPlainText("")
    panel.max_tokens.setValue(200)
    assert window.service.params.max_tokens == 200
    _action(menu.menu, "Pirate").trigger()
    assert panel.system_prompt.toPlainText() == "Answer like a <b>pirate</b>."
    assert panel.max_tokens.value() == 3
    for pane in (window.pane_a, window.pane_b):
        assert pane.service.params.max_tokens == 3
        assert pane.service.params.system_prompt == "Answer like a <b>pirate</b>."
    assert menu.button.text() == "Pirate"
    assert menu.button.accessibleName() == "Preset: Pirate"
    assert _action(menu.menu, "Pirate").isChecked()

    window.composer.set_text("Tell me a long story about the sea.")
    qtbot.keyClick(window.composer.editor, Qt.Key.Key_Return)
    wait_until_done(qtbot, window)
    answer = window.service.conversation.messages[-1]
    assert answer.stats is not None
    assert 0 < answer.stats.completion_tokens <= 3

    names.append(("", True))  # an empty name is refused, nothing is kept
    _action(menu.menu, "Save current settings as preset…").trigger()
    assert [p.name for p in load_settings()[0].presets] == ["Pirate"]
    _action(menu.menu, "Delete preset/Pirate").trigger()
    assert load_settings()[0].presets == ()
    assert menu.button.text() == "Preset"
    assert not _action(menu.menu, "No presets yet").isEnabled()


def test_slash_in_an_empty_composer_lists_saved_prompts(qtbot, window, names):
    editor, prompts = window.composer.editor, window.composer.prompt_list
    menu = window.presets_menu
    assert not _action(menu.menu, "Save message as prompt…").isEnabled()  # nothing written
    window.composer.set_text("Translate into French, keeping <tags> & names:\n")
    names.append(("French", True))
    _action(menu.menu, "Save message as prompt…").trigger()
    window.workspace.presets.save_prompt("Summary", "Summarise in three lines:")
    window.composer.set_text("")
    editor.setFocus()

    qtbot.keyClicks(editor, "/")
    assert prompts.isVisible()
    assert prompts.accessibleName() == "Saved prompts"
    assert [prompts.item(i).data(Qt.ItemDataRole.AccessibleTextRole)
            for i in range(prompts.count())] == ["French", "Summary"]  # fmt: skip
    qtbot.keyClicks(editor, "sum")
    assert prompts.count() == 1
    qtbot.keyClick(editor, Qt.Key.Key_Backspace)
    qtbot.keyClick(editor, Qt.Key.Key_Backspace)
    qtbot.keyClick(editor, Qt.Key.Key_Backspace)
    qtbot.keyClick(editor, Qt.Key.Key_Down)
    assert prompts.currentRow() == 1
    qtbot.keyClick(editor, Qt.Key.Key_Up)
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # inserts; does not send
    assert window.composer.text() == "Translate into French, keeping <tags> & names:\n"
    assert not prompts.isVisible()
    assert not window.generating
    assert editor.hasFocus()

    window.composer.set_text("")
    qtbot.keyClicks(editor, "/zzz")
    assert prompts.isVisible()
    assert prompts.chosen_text() is None
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # nothing matches: nothing happens
    assert window.composer.text() == "/zzz"
    assert not window.generating
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert not prompts.isVisible()
    assert window.composer.text() == "/zzz"

    window.composer.set_text("not empty /")  # only at the start of an empty composer
    assert not prompts.isVisible()
    _action(menu.menu, "Delete saved prompt/French").trigger()
    window.composer.set_text("/")
    assert prompts.count() == 1
    assert [p.name for p in load_settings()[0].saved_prompts] == ["Summary"]
