"""`tandem-cli presets` and `chat --preset`: a real process, the real model."""

from __future__ import annotations

import json

from tests.cli.test_cli import cli

LONG_SYSTEM = "You are a patient assistant who answers in plain words. " * 12


def test_presets_save_list_delete_and_refusals():
    assert "No presets yet" in cli("presets", "list").stdout
    saved = cli("presets", "save", "Brief <b>one</b>", "--system", "Be brief.",
                "--max-tokens", "3", "--json")  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    assert json.loads(saved.stdout)["generation"]["max_tokens"] == 3
    changed = cli("presets", "save", "Brief <b>one</b>", "--temperature", "0.1")
    assert changed.returncode == 0, changed.stderr
    listed = json.loads(cli("presets", "list", "--json").stdout)
    assert [(p["name"], p["generation"]["max_tokens"], p["generation"]["temperature"],
             p["generation"]["system_prompt"]) for p in listed] == [
        ("Brief <b>one</b>", 3, 0.1, "Be brief.")]  # fmt: skip
    assert cli("presets", "save", " ").returncode == 2
    hot = cli("presets", "save", "hot", "--temperature", "nan")
    assert hot.returncode == 2
    assert "temperature" in hot.stderr
    unknown = cli("presets", "delete", "nope")
    assert unknown.returncode == 2
    assert "No preset is called 'nope'" in unknown.stderr
    assert cli("presets", "delete", "Brief <b>one</b>").returncode == 0
    assert json.loads(cli("presets", "list", "--json").stdout) == []


def test_chat_with_a_preset_uses_its_system_prompt_params_and_model(installed_default):
    assert cli("chat", "--preset", "missing", "Hi").returncode == 2
    plain = cli("chat", "--json", "--temperature", "0", "--max-tokens", "3", "Hi")
    assert plain.returncode == 0, plain.stderr
    save = cli("presets", "save", "patient", "--system", LONG_SYSTEM, "--max-tokens", "2",
               "--temperature", "0", "--model", "smollm2-135m-instruct-q4_1")  # fmt: skip
    assert save.returncode == 0, save.stderr
    used = cli("chat", "--json", "--preset", "patient", "Hi")
    assert used.returncode == 0, used.stderr
    data, before = json.loads(used.stdout), json.loads(plain.stdout)
    assert data["completion_tokens"] <= 2
    assert data["model"] == "smollm2-135m-instruct-q4_1"
    assert data["prompt_tokens"] > before["prompt_tokens"] + 100  # the system prompt went
    over = cli("chat", "--json", "--preset", "patient", "--max-tokens", "4", "--system", "", "Hi")
    assert over.returncode == 0, over.stderr
    data = json.loads(over.stdout)
    assert data["prompt_tokens"] == before["prompt_tokens"]  # an option given wins
