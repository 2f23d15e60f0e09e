"""The CLI's cloud side: providers and keys, cloud chats, compare, private mode, ledger."""

from __future__ import annotations

import json

from tests.cli.test_cli import CHAT_KEYS, cli

KEY = "sk-test-abcdefghijklmnopqrstuvwxyz0123"


def _add(url, name="fake", *extra):
    result = cli("providers", "add", name, "--preset", "openai", "--base-url", url,
                 "--model", "ok", "--key-stdin", *extra, stdin=KEY + "\n")  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result


def test_key_goes_to_the_keychain_never_to_a_file_or_output(fault_server, tandem_home):
    added = _add(fault_server.url)
    assert KEY not in added.stdout + added.stderr
    listing = cli("providers", "list", "--json")
    (row,) = json.loads(listing.stdout)
    assert row["key"] is True
    assert row["host"] == "127.0.0.1"
    assert KEY not in listing.stdout
    settings = (tandem_home / "config" / "settings.json").read_text()
    assert KEY not in settings
    assert "fake" in settings
    assert KEY in (tandem_home / "test-keychain.json").read_text()


def test_cloud_chat_json_has_backend_host_privacy_and_cost(fault_server):
    _add(fault_server.url)
    result = cli("chat", "--provider", "fake", "--json", "Hello")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert CHAT_KEYS <= set(data)
    assert data["backend"] == "cloud"
    assert data["host"] == "127.0.0.1"
    assert data["privacy"] == "on this device"
    assert data["estimated"] is False
    assert data["cost_usd"] is None  # the test model "ok" has no price: unknown, not zero
    assert data["text"] == "Hello from the fault server, one two three."
    sent = json.loads(fault_server.bodies[-1])
    assert sent["messages"][-1] == {"role": "user", "content": "Hello"}

    ledger = json.loads(cli("privacy", "--json").stdout)
    (record,) = ledger["ledger"]
    assert record["bytes_sent"] == len(fault_server.bodies[-1])
    assert record["bytes_received"] == fault_server.sent_bytes[-1]
    assert record["left_device"] is False


def test_private_mode_refuses_a_remote_provider_and_sends_nothing():
    added = cli("providers", "add", "oai", "--preset", "openai", "--key-stdin", stdin=KEY)
    assert added.returncode == 0, added.stderr
    result = cli("chat", "--provider", "oai", "--model", "gpt-4o-mini", "--json", "Hi")
    assert result.returncode == 4
    error = json.loads(result.stdout)["error"]
    assert error["kind"] == "privacy_blocked"
    assert "api.openai.com" in error["message"]
    assert json.loads(cli("privacy", "--json").stdout)["ledger"] == []


def test_secrets_in_the_prompt_are_refused_before_anything_is_sent():
    cli("providers", "add", "oai", "--preset", "openai", "--key-stdin", stdin=KEY)
    result = cli(
        "chat", "--provider", "oai", "--model", "gpt-4o-mini", "--no-private", "--json",
        "--on-sensitive", "refuse", f"my key is {KEY}, mail bob@example.com",
    )  # fmt: skip
    assert result.returncode == 4
    error = json.loads(result.stdout)["error"]
    assert error["kind"] == "sensitive_content"
    assert "an API key" in error["message"]
    assert "an e-mail address" in error["message"]
    assert KEY not in result.stdout + result.stderr
    assert json.loads(cli("privacy", "--json").stdout)["ledger"] == []


def test_a_secret_in_the_system_prompt_is_caught_too():
    cli("providers", "add", "oai", "--preset", "openai", "--key-stdin", stdin=KEY)
    result = cli(
        "chat", "--provider", "oai", "--model", "gpt-4o-mini", "--no-private", "--json",
        "--on-sensitive", "refuse", "--system", f"Use the key {KEY} when asked.", "Hello",
    )  # fmt: skip
    assert result.returncode == 4
    assert json.loads(result.stdout)["error"]["kind"] == "sensitive_content"
    assert KEY not in result.stdout + result.stderr
    assert json.loads(cli("privacy", "--json").stdout)["ledger"] == []


def test_plain_http_to_a_remote_host_is_refused():
    result = cli("providers", "add", "lan", "--base-url", "http://192.0.2.10:8000/v1")
    assert result.returncode == 4
    assert "https" in result.stderr


def test_plain_http_written_into_the_settings_file_is_refused_too(tandem_home):
    _add("https://models.example.net/v1", "lan")
    from app.store.paths import app_paths

    settings = app_paths().settings_file
    edited = settings.read_text().replace("https://models.example.net", "http://192.0.2.10")
    settings.write_text(edited)
    result = cli("chat", "--provider", "lan", "--model", "m", "--no-private", "Hi")
    assert result.returncode == 4
    assert "https" in result.stderr
    assert json.loads(cli("privacy", "--json").stdout)["ledger"] == []


def test_compare_local_and_cloud_gives_both_answers_and_a_verdict(fault_server, installed_default):
    _add(fault_server.url)
    result = cli(
        "compare", "--a", "local:smollm2-135m-instruct-q4_1", "--b", "fake:ok",
        "--max-tokens", "16", "--json", "Say hello",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["a"]["backend"] == "local"
    assert data["b"]["backend"] == "cloud"
    assert data["a"]["text"]
    assert data["b"]["text"] == "Hello from the fault server, one two three."
    assert data["a"]["cloud_equivalent_usd"] is not None  # priced on the reference model
    verdict = data["verdict"]
    assert verdict["first_to_answer"] in ("a", "b")
    assert verdict["faster"] in ("a", "b")
    assert verdict["stayed_on_device"] == {"a": True, "b": True}


def test_local_chat_shows_what_it_would_have_cost_and_its_energy(installed_default):
    result = cli("chat", "--max-tokens", "8", "--json", "Hi")
    data = json.loads(result.stdout)
    assert data["cost_usd"] == 0.0
    assert data["cloud_equivalent_usd"] > 0
    assert data["cloud_equivalent_model"] == "gpt-4o"
    assert data["energy_wh"] > 0
    assert data["energy_estimated"] in (True, False)


def test_providers_models_lists_what_the_server_offers(fault_server):
    _add(fault_server.url)
    result = cli("providers", "models", "fake", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["cut", "ok"]


def test_a_key_from_an_environment_variable_and_removing_the_provider(
    fault_server, tandem_home, monkeypatch
):
    monkeypatch.setenv("MY_GATEWAY_KEY", KEY)
    added = cli("providers", "add", "gw", "--preset", "openai", "--base-url", fault_server.url,
                "--model", "ok", "--key-env", "MY_GATEWAY_KEY")  # fmt: skip
    assert added.returncode == 0, added.stderr
    keychain = tandem_home / "test-keychain.json"
    assert KEY in keychain.read_text()
    monkeypatch.delenv("MY_GATEWAY_KEY")
    chat = cli("chat", "--provider", "gw", "--no-private", "--json", "Hi")
    assert chat.returncode == 0, chat.stderr
    assert fault_server.authorizations[-1] == f"Bearer {KEY}"  # from the keychain now

    removed = cli("providers", "remove", "gw")
    assert removed.returncode == 0, removed.stderr
    assert json.loads(cli("providers", "list", "--json").stdout) == []
    assert KEY not in keychain.read_text()
