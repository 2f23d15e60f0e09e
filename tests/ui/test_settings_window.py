"""Settings that survive a restart, and keys that only ever reach the keychain."""

from __future__ import annotations

import keyring
from keyring.backends import fail

KEY = "sk-test-abcdefghijklmnopqrstuvwxyz0123"


def test_parameters_and_window_layout_survive_a_restart(qtbot, window, tandem_home):
    from app.services.workspace import Workspace

    window.params_panel.temperature.setValue(0.25)
    window.params_panel.system_prompt.setPlainText("Answer in French.")
    window.close()
    settings = Workspace().settings
    assert settings.generation.temperature == 0.25
    assert settings.generation.system_prompt == "Answer in French."
    assert settings.window.geometry


def test_providers_dialog_keeps_the_key_in_the_keychain(qtbot, window, tandem_home):
    from app.ui.dialogs.providers import ProvidersDialog

    dialog = ProvidersDialog(window.workspace, window)
    qtbot.addWidget(dialog)
    dialog.preset.setCurrentIndex(dialog.preset.findData("groq"))
    dialog.key.setText(KEY)
    dialog._save()
    provider = window.workspace.provider("groq")
    assert provider.base_url == "https://api.groq.com/openai/v1"
    assert window.workspace.key_for(provider) == KEY
    assert KEY not in (tandem_home / "config" / "settings.json").read_text()


def test_without_a_keychain_the_key_is_kept_for_this_run_only(qtbot, window, tandem_home):
    from app.ui.dialogs.providers import ProvidersDialog

    keyring.set_keyring(fail.Keyring())
    dialog = ProvidersDialog(window.workspace, window)
    qtbot.addWidget(dialog)
    asked = []
    dialog.keep_for_this_run = lambda message: asked.append(message) or True
    dialog.preset.setCurrentIndex(dialog.preset.findData("mistral"))
    dialog.key.setText(KEY)
    dialog._save()
    assert "No system keychain" in asked[0]
    assert window.workspace.key_for(window.workspace.provider("mistral")) == KEY
    assert not (tandem_home / "test-keychain.json").exists()
    for path in tandem_home.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def test_broken_settings_and_history_are_set_aside_and_the_user_told(qtbot, installed_default,
                                                                      tandem_home):  # fmt: skip
    from app.services.workspace import Workspace
    from app.ui.window.main_window import MainWindow

    (tandem_home / "config").mkdir(parents=True, exist_ok=True)
    (tandem_home / "config" / "settings.json").write_text("{ this is not json")
    (tandem_home / "data" / "history.sqlite3").write_bytes(b"not a database\n" * 500)
    win = MainWindow(Workspace())
    qtbot.addWidget(win)
    notices = [m.error_label.text() for m in win.chat_view.messages]
    assert any("settings.json.broken-" in n for n in notices), notices
    assert any("history.sqlite3.broken-" in n for n in notices), notices
    assert list((tandem_home / "config").glob("settings.json.broken-*"))
    assert win.sidebar is not None
    win.close()


def test_dark_theme_colours_the_window_and_its_messages_and_is_remembered(qtbot, window):
    from PySide6.QtGui import QGuiApplication, QPalette

    from app.services.workspace import Workspace
    from app.store.settings import Theme

    message = window.chat_view.add_message("assistant", "model", "Some **bold** text")
    base = QPalette.ColorRole.Base
    window.theme_actions[Theme.DARK].trigger()
    try:
        assert QGuiApplication.palette().color(base).lightness() < 60
        assert QGuiApplication.palette().color(base).name() in message.styleSheet()
        assert Workspace().settings.theme is Theme.DARK
        window.theme_actions[Theme.LIGHT].trigger()
        assert QGuiApplication.palette().color(base).lightness() > 200
        assert QGuiApplication.palette().color(base).name() in message.styleSheet()
    finally:
        window.set_theme(Theme.SYSTEM)
    assert Workspace().settings.theme is Theme.SYSTEM
