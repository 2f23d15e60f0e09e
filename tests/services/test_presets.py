"""Presets and saved prompts: kept in the settings file, validated on load, applied."""

from __future__ import annotations

import json

import pytest

from app.core.errors import UsageError
from app.core.messages import GenerationParams
from app.services.chat import ChatService
from app.services.presets import NAME_MAX_CHARS, Presets
from app.store.paths import app_paths
from app.store.settings import Preset, SavedPrompt, Settings, load_settings, save_settings


def _presets() -> tuple[Presets, list[Settings]]:
    state = [Settings()]

    def save(settings: Settings) -> None:
        save_settings(settings)
        state[0] = settings

    return Presets(lambda: state[0], save), state


def test_a_settings_file_from_before_presets_still_loads() -> None:
    old = {"version": 2, "theme": "dark", "generation": {"temperature": 0.3}, "providers": []}
    app_paths().settings_file.parent.mkdir(parents=True, exist_ok=True)
    app_paths().settings_file.write_text(json.dumps(old), encoding="utf-8")
    settings, notice = load_settings()
    assert notice is None
    assert settings.presets == ()
    assert settings.saved_prompts == ()
    assert settings.generation.temperature == 0.3


def test_saved_presets_and_prompts_survive_a_reload_and_bad_entries_are_reset() -> None:
    presets, _ = _presets()
    presets.save("  Pirate\n captain ", GenerationParams(system_prompt="Arr", temperature=0.2))
    presets.save_prompt("Summary", "Summarise this in <b>three</b> lines:\n")
    settings, notice = load_settings()
    assert notice is None
    assert settings.presets == (
        Preset("Pirate captain", "", GenerationParams(system_prompt="Arr", temperature=0.2)),
    )
    assert settings.saved_prompts == (
        SavedPrompt("Summary", "Summarise this in <b>three</b> lines:\n"),
    )

    path = app_paths().settings_file
    data = json.loads(path.read_text(encoding="utf-8"))
    data["presets"] += [
        {"name": "", "model": "x"},  # no name
        {"name": "Hot", "generation": {"temperature": 99}},  # out of range: default kept
        {"name": "Pirate captain"},  # the same name again
        "not an object",
    ]
    data["saved_prompts"] = [{"name": "empty", "text": "  "}, {"name": "ok", "text": "hi"}, 7]
    path.write_text(json.dumps(data), encoding="utf-8")
    settings, notice = load_settings()
    assert [p.name for p in settings.presets] == ["Pirate captain", "Hot"]
    assert settings.presets[1].generation.temperature == GenerationParams().temperature
    assert [p.name for p in settings.saved_prompts] == ["ok"]
    assert notice is not None
    for where in ("presets[1]", "presets[2].generation.temperature", "presets (two had",
                  "saved_prompts[0]", "saved_prompts[2]"):  # fmt: skip
        assert where in notice


def test_save_replaces_in_place_delete_and_bad_names_are_refused() -> None:
    presets, state = _presets()
    presets.save("a", GenerationParams(max_tokens=5))
    presets.save("b", GenerationParams())
    presets.save("a", GenerationParams(max_tokens=7), "local:/m.gguf")
    assert [(p.name, p.generation.max_tokens) for p in presets.all()] == [("a", 7), ("b", 512)]
    assert presets.delete("a").model == "local:/m.gguf"
    assert [p.name for p in presets.all()] == ["b"]
    with pytest.raises(UsageError, match="No preset is called 'a'"):
        presets.delete("a")
    for bad in ("", " \n\t ", "x" * (NAME_MAX_CHARS + 1)):
        with pytest.raises(UsageError):
            presets.save(bad, GenerationParams())
    with pytest.raises(UsageError, match="temperature"):
        presets.save("hot", GenerationParams(temperature=50.0))
    with pytest.raises(UsageError, match="needs some text"):
        presets.save_prompt("blank", "   ")
    assert [p.name for p in state[0].presets] == ["b"]  # nothing refused was kept


def test_apply_sets_the_params_and_a_model_that_cannot_be_made_changes_nothing() -> None:
    presets, _ = _presets()
    service = ChatService(None)
    preset = presets.save("short", GenerationParams(system_prompt="Be brief.", max_tokens=9))
    presets.apply(preset, service)
    assert service.params.system_prompt == "Be brief."
    assert service.params.max_tokens == 9

    def refuse(spec: str):
        raise UsageError(f"no model {spec}")

    other = presets.save("cloud", GenerationParams(max_tokens=3), "nowhere:model")
    with pytest.raises(UsageError):
        presets.apply(other, service, refuse)
    assert service.params.max_tokens == 9


def test_matching_prompts_filter_by_name_then_text() -> None:
    presets, _ = _presets()
    presets.save_prompt("Translate", "Translate into French:")
    presets.save_prompt("Fix", "Fix the grammar, keep the French words.")
    presets.save_prompt("Summary", "Summarise:")
    assert [p.name for p in presets.matching("")] == ["Translate", "Fix", "Summary"]
    assert [p.name for p in presets.matching("fr")] == ["Translate", "Fix"]
    assert [p.name for p in presets.matching("TRANS")] == ["Translate"]
    assert presets.matching("nothing like it") == []
