"""View > Local API: the switch starts the server on the window's own engine."""

from __future__ import annotations

import openai


def _dialog(qtbot, window):
    from app.ui.dialogs.local_api import LocalApiDialog

    switch = window.dialogs.local_api_switch()
    switch.port = 0  # a free port: another Tandem may hold the default one
    dialog = LocalApiDialog(switch, window)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog, switch


def test_the_switch_serves_the_windows_engine_and_lists_each_request(qtbot, window, tandem_home):
    from PySide6.QtWidgets import QApplication

    dialog, switch = _dialog(qtbot, window)
    assert not switch.on
    assert dialog.url.text() == ""
    dialog.enabled.setChecked(True)
    qtbot.waitUntil(lambda: switch.on, timeout=20_000)
    dialog.refresh()
    assert dialog.url.text().startswith("http://127.0.0.1:")
    assert dialog.key.echoMode() == dialog.key.EchoMode.Password
    dialog.copy_key.click()
    assert QApplication.clipboard().text() == switch.server.key
    assert (tandem_home / "data" / "local-api.json").exists()

    engine_pid = window.engine.pid
    c = openai.OpenAI(base_url=dialog.url.text(), api_key=switch.server.key, max_retries=0)
    model = c.models.list().data[0].id
    answer = c.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Hi"}], max_tokens=4
    )
    assert answer.usage.completion_tokens >= 1
    assert window.engine.pid == engine_pid  # the window's engine answered; none was started
    qtbot.waitUntil(lambda: dialog.table.rowCount() >= 2, timeout=5_000)
    requests = [dialog.table.item(r, 2).text() for r in range(dialog.table.rowCount())]
    assert "POST /v1/chat/completions" in requests
    assert dialog.served.text() == "Requests served: 2"

    dialog.enabled.setChecked(False)
    assert not switch.on
    assert not (tandem_home / "data" / "local-api.json").exists()
    assert window.workspace.settings.local_api_on is False


def test_a_port_in_use_is_said_in_the_dialog(qtbot, window):
    import socket

    dialog, switch = _dialog(qtbot, window)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        switch.port = holder.getsockname()[1]
        dialog.enabled.setChecked(True)
        qtbot.waitUntil(lambda: bool(switch.error), timeout=20_000)
    dialog.refresh()
    assert "in use" in dialog.state.text()
    assert not dialog.enabled.isChecked()
