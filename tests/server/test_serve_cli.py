"""`tandem-cli serve` as a person runs it, and `tandem-cli chat` through a running instance."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time

import openai
import pytest

from app.core.errors import ExitCode


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ}, check=False)  # fmt: skip


def test_serve_exits_13_when_the_port_is_taken(tandem_home):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = cli("serve", "--port", str(port), timeout=60)
    assert done.returncode == ExitCode.SERVER == 13
    assert "in use" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_prints_url_and_key_serves_and_cleans_up(installed_default, tandem_home):
    env = {**os.environ, "TANDEM_API_KEY": "script-key-1"}
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env)  # fmt: skip
    try:
        first = process.stdout.readline()
        key_line = process.stdout.readline()
        assert first.startswith("Tandem local API on http://127.0.0.1:")
        url = first.split(" on ", 1)[1].strip()
        assert key_line.strip() == "API key: script-key-1"
        instance = tandem_home / "data" / "local-api.json"
        assert stat.S_IMODE(instance.stat().st_mode) == 0o600
        saved = json.loads(instance.read_text())
        assert saved["key"] == "script-key-1"
        assert saved["pid"] == process.pid
        models = openai.OpenAI(base_url=url, api_key="script-key-1").models.list()
        assert models.data
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert process.returncode == 0
    assert not instance.exists()


def test_a_non_loopback_host_is_warned_about(tandem_home):
    with socket.socket() as holder:  # held, so nothing really listens on the network
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        done = cli("serve", "--host", "0.0.0.0", "--port", str(holder.getsockname()[1]))
    assert "other computers on the network can reach it" in done.stderr
    assert done.returncode == ExitCode.SERVER


def test_chat_goes_through_a_running_instance_and_continues_its_cached_prefix(
    installed_default, tandem_home
):
    from app.server import start_server
    from app.services.workspace import Workspace

    own = cli("chat", "--json", "--max-tokens", "8", "Hello there")
    assert own.returncode == 0, own.stderr
    assert json.loads(own.stdout)["engine"] == "own"

    workspace = Workspace()
    server = start_server(workspace, port=0)
    try:
        first = cli("chat", "--json", "--max-tokens", "8", "--temperature", "0", "Name a bird.")
        assert first.returncode == 0, first.stderr
        answer = json.loads(first.stdout)
        assert answer["engine"] == "shared"
        assert answer["text"].strip()
        assert answer["completion_tokens"] >= 1
        served = server.served
        again = cli("chat", "--json", "-c", "--max-tokens", "8", "And a fish?")
        assert again.returncode == 0, again.stderr
        second = json.loads(again.stdout)
        assert second["engine"] == "shared"
        assert second["conversation_id"] == answer["conversation_id"]
        assert second["prompt_tokens_cached"] >= answer["prompt_tokens"]  # not evaluated again
        assert server.served == served + 2  # the check for the instance, then the answer
    finally:
        server.stop()
        workspace.shutdown()
    # The conversation is written once, by the CLI that owns it; the server kept no copy.
    history = Workspace().history()
    conversation = history.get_conversation(answer["conversation_id"])
    assert [m.role for m in conversation.messages] == ["user", "assistant"] * 2
    assert len(history.list_conversations()) == 2


def test_a_stale_instance_file_is_removed_and_the_cli_uses_its_own_engine(
    installed_default, tandem_home
):
    instance = tandem_home / "data" / "local-api.json"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    instance.parent.mkdir(parents=True, exist_ok=True)
    instance.write_text(json.dumps({"pid": int(dead.stdout), "host": "127.0.0.1",
                                    "port": 9, "key": "k"}))  # fmt: skip
    instance.chmod(0o600)
    done = cli("chat", "--json", "--max-tokens", "4", "Hi")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["engine"] == "own"
    assert not instance.exists()


def test_private_mode_refuses_a_cloud_model_with_403_and_sends_nothing(installed_default):
    from app.server import start_server
    from app.services.workspace import Workspace

    workspace = Workspace()
    workspace.add_provider("faraway", "custom", "https://api.faraway.example/v1", "big-model")
    workspace.set_private_mode(True)
    server = start_server(workspace, port=0, key="k", write_instance=False)
    try:
        c = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        listed = {m.id: m.model_extra["tandem"] for m in c.models.list().data}
        assert listed["faraway:big-model"]["available"] is False
        started = time.monotonic()
        with pytest.raises(openai.PermissionDeniedError) as refused:
            c.chat.completions.create(
                model="faraway:big-model", messages=[{"role": "user", "content": "secret"}]
            )
        assert time.monotonic() - started < 5
        assert "Private mode is on" in refused.value.message
    finally:
        server.stop()
        workspace.shutdown()
    records = workspace.ledger.records()
    assert all(r.host != "api.faraway.example" for r in records)
    assert [r.outcome for r in records if r.model == "faraway:big-model"] == ["403"]
