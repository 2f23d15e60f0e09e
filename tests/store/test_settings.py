from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest

from app.core.messages import GenerationParams
from app.store import settings as settings_module
from app.store.paths import app_paths
from app.store.settings import (
    GENERATION_RANGES,
    SETTINGS_VERSION,
    ProviderEntry,
    Settings,
    SettingsError,
    Theme,
    WindowState,
    load_settings,
    save_settings,
    settings_to_dict,
)


def _write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_no_file_means_the_defaults_and_no_notice() -> None:
    settings, notice = load_settings()
    assert notice is None
    assert settings == Settings()
    assert settings.theme is Theme.SYSTEM
    assert settings.private_mode is True
    assert settings.reference_cloud_model == "openai:gpt-4o"
    assert (settings.electricity_usd_per_kwh, settings.cpu_watts) == (0.15, 15.0)
    assert settings.generation == GenerationParams()
    assert settings.providers == ()
    assert settings.window == WindowState()


def test_every_setting_has_a_description_and_every_number_a_range() -> None:
    for cls in (Settings, ProviderEntry, WindowState):
        for field in dataclasses.fields(cls):
            assert field.metadata.get("help"), f"{cls.__name__}.{field.name}"
    numeric = {
        f.name
        for f in dataclasses.fields(GenerationParams)
        # annotations are strings under `from __future__`; choices and switches have no range
        if f.type not in ("str", str, "KVCacheType", "FlashAttention", "bool | None")
    }
    assert numeric <= GENERATION_RANGES.keys()


def test_saved_settings_come_back_the_same() -> None:
    settings = dataclasses.replace(
        Settings(),
        theme=Theme.DARK,
        default_model="SmolLM2-135M-Instruct-Q4_1.gguf",
        generation=GenerationParams(temperature=0.2, seed=42, threads=4, system_prompt="Be brief."),
        private_mode=False,
        electricity_usd_per_kwh=0.32,
        providers=(
            ProviderEntry("OpenAI", "openai", "https://api.openai.com/v1", "gpt-4o-mini"),
            ProviderEntry("LAN box", "custom", "http://192.168.1.20:8080/v1", "qwen", trusted=True),
        ),
        window=WindowState(geometry="AdnQywADAAA=", state="AAAA/wAAAAD9"),
    )
    save_settings(settings)
    path = app_paths().settings_file
    assert json.loads(path.read_text())["version"] == SETTINGS_VERSION
    assert load_settings() == (settings, None)


def test_preferences_and_window_state_are_kept_apart() -> None:
    data = settings_to_dict(Settings(window=WindowState(geometry="g", state="s")))
    assert data["window"] == {"geometry": "g", "state": "s"}
    assert "geometry" not in data
    assert "state" not in data


def test_a_broken_file_is_moved_aside_and_the_user_told_once() -> None:
    path = app_paths().settings_file
    path.parent.mkdir(parents=True)
    path.write_text('{"theme": "dark", oops', encoding="utf-8")
    settings, notice = load_settings()
    assert settings == Settings()
    moved = list(path.parent.glob("settings.json.broken-*"))
    assert len(moved) == 1
    assert moved[0].read_text() == '{"theme": "dark", oops'
    assert notice is not None
    assert str(moved[0]) in notice
    assert not path.exists()
    assert load_settings() == (Settings(), None)  # told once


@pytest.mark.parametrize("content", [b"\xff\xfe\x00garbage", b"[1, 2, 3]", b"null", b""])
def test_files_that_are_not_a_settings_object_are_moved_aside(content: bytes) -> None:
    path = app_paths().settings_file
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    settings, notice = load_settings()
    assert settings == Settings()
    assert notice is not None
    assert "settings.json.broken-" in notice


def test_wrong_values_fall_back_to_their_own_default() -> None:
    path = app_paths().settings_file
    _write(
        path,
        {
            "version": SETTINGS_VERSION,
            "theme": "purple",
            "default_model": 42,
            "private_mode": "yes",
            "reference_cloud_model": "anthropic:claude",
            "electricity_usd_per_kwh": -1,
            "cpu_watts": 25,
            "generation": {"temperature": 9.5, "top_p": 0.5, "max_tokens": "many", "seed": 7},
            "providers": [
                {"name": "Good", "base_url": "https://example.com/v1", "model": "m"},
                {"name": "", "base_url": "https://nameless.example/v1"},
                {"name": "NoScheme", "base_url": "example.com"},
                "not an object",
            ],
            "window": {"geometry": 5, "state": "kept"},
            "unknown_future_thing": True,
        },
    )
    settings, notice = load_settings()
    defaults = Settings()
    assert settings.theme is defaults.theme
    assert settings.default_model is None
    assert settings.private_mode is True
    assert settings.reference_cloud_model == "anthropic:claude"
    assert settings.electricity_usd_per_kwh == defaults.electricity_usd_per_kwh
    assert settings.cpu_watts == 25.0
    assert isinstance(settings.cpu_watts, float)
    assert settings.generation == GenerationParams(top_p=0.5, seed=7)
    assert [p.name for p in settings.providers] == ["Good"]
    assert settings.window == WindowState(geometry=None, state="kept")
    assert notice is not None
    for name in ("theme", "generation.temperature", "providers[1]", "window.geometry"):
        assert name in notice
    assert path.exists()  # a file with a few bad values is repaired, not moved


def test_a_key_found_in_the_file_is_dropped_and_never_shown() -> None:
    secret = "sk-proj-abcdefghijklmnopqrstuvwxyz123456"
    _write(
        app_paths().settings_file,
        {
            "providers": [
                {"name": "OpenAI", "base_url": "https://api.openai.com/v1", "api_key": secret}
            ]
        },
    )
    settings, notice = load_settings()
    assert [p.name for p in settings.providers] == ["OpenAI"]
    assert notice is not None
    assert "keychain" in notice
    assert secret not in notice
    save_settings(settings)
    assert secret not in app_paths().settings_file.read_text()


def test_duplicate_provider_names_keep_the_first() -> None:
    entry = {"base_url": "https://a.example/v1"}
    _write(
        app_paths().settings_file,
        {"providers": [{**entry, "name": "A", "model": "1"}, {**entry, "name": "A", "model": "2"}]},
    )
    settings, notice = load_settings()
    assert [(p.name, p.model) for p in settings.providers] == [("A", "1")]
    assert notice is not None


def test_a_version_1_file_is_upgraded_by_its_named_step() -> None:
    _write(
        app_paths().settings_file,
        {"version": 1, "temperature": 0.3, "max_tokens": 256, "dark_mode": True, "cpu_watts": 20},
    )
    settings, notice = load_settings()
    assert notice is None
    assert settings.generation == GenerationParams(temperature=0.3, max_tokens=256)
    assert settings.theme is Theme.DARK
    assert settings.cpu_watts == 20.0
    assert settings.version == SETTINGS_VERSION
    assert settings_module._UPGRADES[1].__name__ == "_generation_moves_into_its_own_section"


def test_save_is_atomic_and_leaves_no_temp_files(monkeypatch: pytest.MonkeyPatch) -> None:
    path = app_paths().settings_file
    save_settings(Settings(theme=Theme.LIGHT))
    original = path.read_bytes()

    def fail_replace(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail_replace)
    with pytest.raises(SettingsError, match="No space left on device") as caught:
        save_settings(Settings(theme=Theme.DARK))
    assert "this session only" in str(caught.value)
    assert path.read_bytes() == original  # the old file is whole
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]


def test_save_writes_through_a_temp_file_in_the_same_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = app_paths().settings_file
    seen: list[tuple[Path, Path]] = []
    real_replace = os.replace

    def spy(src: Any, dst: Any) -> None:
        seen.append((Path(src), Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    save_settings(Settings())
    [(src, dst)] = seen
    assert dst == path
    assert src.parent == path.parent
    assert src != path


def test_a_prices_file_in_the_config_folder_overrides_the_shipped_entries(tandem_home):
    from app.services.workspace import Workspace

    shipped = Workspace().prices.lookup("openai", "gpt-4o-mini")
    assert shipped is not None
    user = tandem_home / "config" / "prices.toml"
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text(
        '[openai."gpt-4o-mini"]\ninput = 0.10\noutput = 0.40\ndate = "2026-11-01"\n'
        'source = "my contract"\n\n'
        '[box."qwen-32b"]\ninput = 0.05\noutput = 0.05\ndate = "2026-11-01"\n'
        'source = "our own server"\n'
    )
    prices = Workspace().prices
    assert prices.cost_usd("openai", "gpt-4o-mini", 1_000_000, 1_000_000) == 0.50
    assert prices.cost_usd("box", "qwen-32b", 1_000_000, 0) == 0.05
    assert prices.lookup("openai", "gpt-4o") is not None  # the rest still come from the app


def test_load_settings_and_speculative_models_come_back_and_a_bad_choice_is_reset() -> None:
    from app.core.messages import FlashAttention, KVCacheType
    from app.store.settings import settings_from_dict, settings_to_dict

    chosen = dataclasses.replace(
        Settings(),
        generation=GenerationParams(
            kv_cache_type=KVCacheType.Q8_0, flash_attention=FlashAttention.ON, speculative=True
        ),
        speculative_models=("smollm2-135m-instruct-q4_1",),
    )
    data = json.loads(json.dumps(settings_to_dict(chosen)))
    assert data["generation"]["kv_cache_type"] == "q8_0"
    back, problems = settings_from_dict(data)
    assert (back, problems) == (chosen, [])
    data["generation"]["kv_cache_type"] = "q3_weird"
    data["generation"]["flash_attention"] = None
    back, problems = settings_from_dict(data)
    assert back.generation.kv_cache_type is KVCacheType.F16
    assert back.generation.flash_attention is FlashAttention.AUTO
    assert set(problems) == {"generation.kv_cache_type", "generation.flash_attention"}
