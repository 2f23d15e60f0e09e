"""The window with a cloud provider (a real HTTP server on loopback) beside the local model."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.core.messages import MessageStatus
from tests.ui.conftest import wait_until_done

KEY = "sk-test-abcdefghijklmnopqrstuvwxyz0123"


@pytest.fixture
def cloud_window(qtbot, installed_default, fault_server):
    from app.services.workspace import Workspace
    from app.ui.window.main_window import MainWindow

    setup = Workspace()
    setup.add_provider("fake", "openai", fault_server.url, "ok", key=KEY)
    setup.add_provider("remote", "openai", None, "gpt-4o-mini", key=KEY)
    win = MainWindow(Workspace())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.state_label.text() == "Engine: ready", timeout=60_000)
    yield win
    win.close()


def _send(qtbot, window, text):
    window.composer.set_text(text)
    qtbot.keyClick(window.composer.editor, Qt.Key.Key_Return)
    wait_until_done(qtbot, window)


def test_private_mode_greys_out_models_that_would_leave_the_device(cloud_window):
    picker = cloud_window.model_picker
    assert cloud_window.private_action.isChecked()  # on by default
    assert picker.is_enabled_spec("fake:ok")  # loopback stays on the device
    assert not picker.is_enabled_spec("remote:gpt-4o-mini")
    cloud_window.private_action.trigger()
    assert picker.is_enabled_spec("remote:gpt-4o-mini")
    assert cloud_window.workspace.settings.private_mode is False
    cloud_window.private_action.trigger()
    assert not picker.is_enabled_spec("remote:gpt-4o-mini")


def test_compare_streams_two_columns_and_shows_the_verdict(qtbot, cloud_window):
    cloud_window.params_panel.max_tokens.setValue(16)
    cloud_window.compare_action.trigger()
    assert cloud_window.pane_b.isVisible()
    cloud_window.choose_model("b", "fake:ok")
    _send(qtbot, cloud_window, "Say hello")
    a = cloud_window.pane_a.view.messages[-1]
    b = cloud_window.pane_b.view.messages[-1]
    assert a.status is MessageStatus.COMPLETE
    assert b.status is MessageStatus.COMPLETE
    assert b.text == "Hello from the fault server, one two three."
    assert "on this device" in a.stats_label.text()
    assert "would have cost" in a.stats_label.text()
    assert a.chips.privacy.text() == "on this device"
    assert a.chips.cost.text().startswith("free · saved $")
    verdict = cloud_window.verdict_label.text()
    assert cloud_window.verdict_label.isVisible()
    assert "answered first" in verdict
    assert "generated faster" in verdict
    table = cloud_window.verdict_label.table
    names = [table.horizontalHeaderItem(i).text() for i in range(2)]
    assert names == [cloud_window.pane_a.service.backend.name, "fake:ok"]
    rows = [table.verticalHeaderItem(r).text() for r in range(table.rowCount())]
    assert rows == ["First token", "Speed", "Tokens", "Cost", "Privacy"]
    assert table.item(3, 0).text().startswith("free")
    assert "e-" not in verdict

    cloud_window.send_to.setCurrentIndex(2)  # the follow-up goes to B only
    before_a = len(cloud_window.pane_a.view.messages)
    _send(qtbot, cloud_window, "And again")
    assert len(cloud_window.pane_a.view.messages) == before_a
    assert cloud_window.pane_b.view.messages[-1].status is MessageStatus.COMPLETE


def test_wrong_key_shows_its_message_and_keeps_the_text(qtbot, cloud_window, fault_server):
    cloud_window.workspace.add_provider("badkey", "openai", fault_server.url, "auth", key=KEY)
    cloud_window.refresh_models()
    cloud_window.choose_model("a", "badkey:auth")
    _send(qtbot, cloud_window, "Hello there")
    reply = cloud_window.chat_view.messages[-1]
    assert reply.status is MessageStatus.ERROR
    assert "refused the API key (401)" in reply.error_label.text()
    assert cloud_window.composer.text() == "Hello there"


def test_the_providers_dialog_lists_the_models_a_server_offers(qtbot, cloud_window, fault_server):
    from app.ui.dialogs.providers import ProvidersDialog

    dialog = ProvidersDialog(cloud_window.workspace, cloud_window)
    qtbot.addWidget(dialog)
    dialog.preset.setCurrentIndex(dialog.preset.findData("custom"))
    dialog.name.setText("box")
    dialog.base_url.setText(fault_server.url)
    dialog.key.setText(KEY)
    dialog.model.setText("")
    with qtbot.waitSignal(dialog.models_listed, timeout=10_000):
        dialog.list_button.click()
    assert [dialog.models.itemText(i) for i in range(dialog.models.count())] == ["cut", "ok"]
    assert dialog.model.text() == "cut"
    dialog.models.activated.emit(1)
    assert dialog.model.text() == "ok"
    assert dialog.list_button.isEnabled()
    assert any(r.outcome == "model list" for r in cloud_window.workspace.ledger.records())


def test_listing_models_in_private_mode_asks_nobody(qtbot, cloud_window):
    from app.ui.dialogs.providers import ProvidersDialog

    cloud_window.set_private_mode(True)
    dialog = ProvidersDialog(cloud_window.workspace, cloud_window)
    qtbot.addWidget(dialog)
    dialog.preset.setCurrentIndex(dialog.preset.findData("openai"))
    dialog.key.setText(KEY)
    with qtbot.waitSignal(dialog.models_listed, timeout=10_000):
        dialog.list_button.click()
    assert "Private mode" in dialog.error.text()
    assert dialog.models.isHidden()


def test_the_providers_list_tests_replaces_the_key_and_removes(
    qtbot, cloud_window, monkeypatch, fault_server
):
    from PySide6.QtWidgets import QInputDialog

    from app.ui.dialogs.provider_list import ProviderList

    workspace = cloud_window.workspace
    dialog = ProviderList(workspace, cloud_window)
    qtbot.addWidget(dialog)
    rows = [dialog.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(dialog.list.count())]
    assert rows == ["fake", "remote"]
    dialog.list.setCurrentRow(0)
    with qtbot.waitSignal(dialog.tested, timeout=10_000):
        dialog.test_button.click()
    assert dialog.outcome.text() == "Connected to 127.0.0.1: 2 models offered."

    new_key = "sk-test-zyxwvutsrqponmlkjihgfedcba9876"
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: (new_key, True))
    dialog.key_button.click()
    assert workspace.key_for(workspace.provider("fake")) == new_key
    assert new_key not in dialog.outcome.text()

    dialog.list.setCurrentRow(1)  # api.openai.com, in private mode: nothing is sent
    with qtbot.waitSignal(dialog.tested, timeout=10_000):
        dialog.test_button.click()
    assert "rivate mode" in dialog.outcome.text()

    dialog.remove_button.click()  # the question is answered yes
    assert [p.name for p in workspace.providers()] == ["fake"]


def test_editing_a_provider_keeps_its_name_and_key(qtbot, cloud_window):
    from app.ui.dialogs.providers import ProvidersDialog

    workspace = cloud_window.workspace
    dialog = ProvidersDialog(workspace, cloud_window)
    qtbot.addWidget(dialog)
    dialog.load(workspace.provider("fake"))
    assert dialog.name.isReadOnly()
    dialog.model.setText("cut")
    dialog.save_button.click()
    assert workspace.provider("fake").default_model == "cut"
    assert workspace.key_for(workspace.provider("fake")) == KEY
