"""Settings: one typed schema with defaults, validated on load, written atomically.

Preferences and saved window state live in one file but apart (`Settings.window`).
API keys never live here; they go to the system keychain (app/store/secrets.py).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import tempfile
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from app.core.errors import TandemError
from app.core.files import read_regular
from app.core.messages import GENERATION_RANGES, GenerationParams
from app.store.paths import app_paths

logger = logging.getLogger(__name__)

SETTINGS_VERSION = 2
_SECRET_NAMES = frozenset({"api_key", "apikey", "key", "token", "secret", "password"})

D = TypeVar("D")


class SettingsError(TandemError):
    kind = "settings"


class Theme(StrEnum):
    SYSTEM = "system"
    LIGHT = "light"
    DARK = "dark"


def _about(text: str, low: float | None = None, high: float | None = None) -> dict[str, Any]:
    """Field metadata: a description, and the allowed range for numbers."""
    return {"help": text, "range": (low, high)}


@dataclass(frozen=True, slots=True)
class ProviderEntry:
    """A cloud provider the user added. Its key is in the keychain, under `name`."""

    name: str = field(default="", metadata=_about("The name shown in the app; unique."))
    preset: str = field(default="custom", metadata=_about("openai, openrouter, groq, custom…"))
    base_url: str = field(default="", metadata=_about("The OpenAI-compatible API address."))
    model: str = field(default="", metadata=_about("The model to ask by default."))
    trusted: bool = field(
        default=False, metadata=_about("Allowed in private mode (for example a LAN server).")
    )


@dataclass(frozen=True, slots=True)
class Preset:
    """A named way to chat ("an assistant"): a system prompt, parameters and a model."""

    name: str = field(default="", metadata=_about("The name shown in the app; unique."))
    model: str = field(
        default="", metadata=_about("The model to answer with (empty: keep the column's).")
    )
    generation: GenerationParams = field(
        default_factory=GenerationParams,
        metadata=_about("The system prompt and generation parameters."),
    )


@dataclass(frozen=True, slots=True)
class SavedPrompt:
    """A message kept to be sent again ("/" in an empty composer)."""

    name: str = field(default="", metadata=_about("The name shown in the list; unique."))
    text: str = field(default="", metadata=_about("The text put into the composer."))


@dataclass(frozen=True, slots=True)
class WindowState:
    """Where the window was left: saved by the GUI, never a preference."""

    geometry: str | None = field(default=None, metadata=_about("base64 of saveGeometry()."))
    state: str | None = field(default=None, metadata=_about("base64 of saveState()."))


@dataclass(frozen=True, slots=True)
class Settings:
    version: int = field(default=SETTINGS_VERSION, metadata=_about("Schema version."))
    theme: Theme = field(default=Theme.SYSTEM, metadata=_about("system, light or dark."))
    default_model: str | None = field(
        default=None, metadata=_about("The model a new conversation starts with.")
    )
    generation: GenerationParams = field(
        default_factory=GenerationParams, metadata=_about("Default generation parameters.")
    )
    private_mode: bool = field(
        default=True, metadata=_about("Refuse every connection that leaves this device.")
    )
    speculative_models: tuple[str, ...] = field(
        default=(),
        metadata=_about(
            "Local models (by id) that draft tokens from the prompt (prompt lookup): faster "
            "when an answer repeats its prompt, as in a rewrite or an edit."
        ),
    )
    reference_cloud_model: str = field(
        default="openai:gpt-4o",
        metadata=_about("The cloud model whose price a local answer is compared with."),
    )
    electricity_usd_per_kwh: float = field(
        default=0.15, metadata=_about("Electricity price, for the cost of local answers.", 0, 10)
    )
    cpu_watts: float = field(
        default=15.0, metadata=_about("Extra power the computer draws while generating.", 0, 5000)
    )
    cloud_connect_timeout_s: float = field(
        default=5.0, metadata=_about("Seconds to wait for a cloud provider to connect.", 1, 120)
    )
    cloud_first_token_timeout_s: float = field(
        default=60.0,
        metadata=_about("Seconds to wait for a cloud model's first words.", 5, 1800),
    )
    monthly_budget_usd: float | None = field(
        default=None,
        metadata=_about("Ask before a cloud answer would take the month over it (USD).", 0, 1e6),
    )
    local_api_on: bool = field(
        default=False,
        metadata=_about("Serve the local API while the window is open."),
    )
    api_save_chats: bool = field(
        default=False,
        metadata=_about("Keep the chats that arrive through the local API in the history."),
    )
    providers: tuple[ProviderEntry, ...] = field(
        default=(), metadata=_about("Cloud providers, without their keys.")
    )
    presets: tuple[Preset, ...] = field(
        default=(), metadata=_about("Named system prompts, parameters and models.")
    )
    saved_prompts: tuple[SavedPrompt, ...] = field(
        default=(), metadata=_about('Messages kept to be inserted with "/".')
    )
    window: WindowState = field(
        default_factory=WindowState, metadata=_about("Saved window geometry and layout.")
    )


# --- upgrade steps: each turns the raw JSON of version N into version N + 1 --------

_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def _upgrade(from_version: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(step: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[..., Any]:
        _UPGRADES[from_version] = step
        return step

    return register


@_upgrade(from_version=1)
def _generation_moves_into_its_own_section(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 kept generation parameters at the top level and a `dark_mode` flag."""
    data = dict(data)
    section = data.get("generation")
    # A section of the wrong type is left for validation to reset, and to say so.
    if section is None or isinstance(section, dict):
        generation = dict(section or {})
        for name in (f.name for f in dataclasses.fields(GenerationParams)):
            if name in data:
                generation.setdefault(name, data.pop(name))
        data["generation"] = generation
    dark = data.pop("dark_mode", None)
    if isinstance(dark, bool):
        data.setdefault("theme", "dark" if dark else "light")
    return data


def upgrade(data: dict[str, Any]) -> dict[str, Any]:
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        version = 1
    while version < SETTINGS_VERSION:
        step = _UPGRADES[version]
        logger.info("settings: upgrading %d -> %d (%s)", version, version + 1, step.__name__)
        data = step(data)
        version += 1
    if version > SETTINGS_VERSION:
        logger.warning(
            "settings: written by a newer Tandem (version %d); reading what fits", version
        )
    return data


# --- validation: a wrong value falls back to the default of its field --------------


class _Invalid(Exception):
    pass


def _convert(raw: Any, hint: Any, where: str, problems: list[str]) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        args = get_args(hint)
        if raw is None and type(None) in args:
            return None
        (kind,) = [a for a in args if a is not type(None)]
        return _convert(raw, kind, where, problems)
    if origin is tuple:
        if not isinstance(raw, list):
            raise _Invalid
        kind = get_args(hint)[0]
        kept = []
        for n, item in enumerate(raw):
            try:
                kept.append(_convert(item, kind, f"{where}[{n}]", problems))
            except _Invalid:
                problems.append(f"{where}[{n}]")
        return tuple(kept)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if not isinstance(raw, dict):
            raise _Invalid
        return _build(hint, raw, where, problems)
    if hint is bool:
        if not isinstance(raw, bool):
            raise _Invalid
        return raw
    if hint is int:
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise _Invalid
        return raw
    if hint is float:
        if not isinstance(raw, int | float) or isinstance(raw, bool) or not math.isfinite(raw):
            raise _Invalid
        return float(raw)
    if hint is str:
        if not isinstance(raw, str):
            raise _Invalid
        return raw
    if isinstance(hint, type) and issubclass(hint, Enum):
        try:
            return hint(raw)
        except ValueError:
            raise _Invalid from None
    raise _Invalid


def _in_range(value: Any, low: float | None, high: float | None) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return True
    return (low is None or value >= low) and (high is None or value <= high)


def _build(cls: type[D], raw: dict[str, Any], prefix: str, problems: list[str]) -> D:
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        where = f"{prefix}.{f.name}" if prefix else f.name
        if f.name not in raw:
            continue
        try:
            value = _convert(raw[f.name], hints[f.name], where, problems)
        except _Invalid:
            problems.append(where)
            continue
        if cls is GenerationParams:
            low, high = GENERATION_RANGES.get(f.name, (None, None))
        else:
            low, high = f.metadata.get("range", (None, None))
        if not _in_range(value, low, high):
            problems.append(where)
            continue
        values[f.name] = value
    for name in sorted(raw.keys() & _SECRET_NAMES):
        where = f"{prefix}.{name}" if prefix else name
        problems.append(f"{where} (a key was ignored: keys belong in the system keychain)")
    built = cls(**values)
    if isinstance(built, ProviderEntry) and not _usable_provider(built):
        raise _Invalid
    if isinstance(built, Preset | SavedPrompt) and not built.name.strip():
        raise _Invalid
    if isinstance(built, SavedPrompt) and not built.text.strip():
        raise _Invalid
    return built


def _usable_provider(entry: ProviderEntry) -> bool:
    return bool(entry.name.strip()) and entry.base_url.startswith(("http://", "https://"))


def settings_from_dict(data: dict[str, Any]) -> tuple[Settings, list[str]]:
    """Settings from parsed JSON, and the names of the fields that were reset."""
    problems: list[str] = []
    settings = _build(Settings, upgrade(data), "", problems)
    for section in ("providers", "presets", "saved_prompts"):
        entries = getattr(settings, section)
        names = [entry.name for entry in entries]
        if len(set(names)) != len(names):
            problems.append(f"{section} (two had the same name; the first was kept)")
            unique: dict[str, Any] = {}
            for entry in entries:
                unique.setdefault(entry.name, entry)
            changes: dict[str, Any] = {section: tuple(unique.values())}
            settings = dataclasses.replace(settings, **changes)
    return dataclasses.replace(settings, version=SETTINGS_VERSION), problems


def settings_to_dict(settings: Settings) -> dict[str, Any]:
    data = dataclasses.asdict(settings)
    data["theme"] = str(settings.theme)
    return data


# --- the file ------------------------------------------------------------------------


def _move_aside(path: Path) -> Path:
    target = path.with_name(f"{path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}")
    n = 2
    while target.exists():
        target = path.with_name(f"{path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
        n += 1
    path.replace(target)
    return target


def _parse(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    """The settings file's object, or None and what is wrong with it."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except RecursionError:
        return None, "it nests deeper than the JSON reader goes"
    except ValueError as exc:  # not JSON, or not UTF-8
        return None, str(exc)
    if not isinstance(data, dict):
        return None, "not a JSON object"
    return data, ""


def load_settings(path: Path | None = None) -> tuple[Settings, str | None]:
    """The settings, and a notice for the user when something had to be repaired.

    A file that is not valid JSON is moved aside (`settings.json.broken-<time>`) and
    the defaults are used; a field with a wrong value gets its default.
    """
    path = path if path is not None else app_paths().settings_file
    try:
        raw = read_regular(path)
    except FileNotFoundError:
        return Settings(), None
    except OSError as exc:
        logger.warning("settings: cannot read %s: %s", path, exc)
        return Settings(), (
            f"Tandem could not read its settings file {path} ({exc.strerror or exc}), so it "
            "is using the default settings for now. Check the file's permissions."
        )
    data, problem = _parse(raw)
    if data is None:
        try:
            moved = _move_aside(path)
        except OSError as move_error:
            logger.warning("settings: %s is broken (%s) and cannot be moved", path, move_error)
            return Settings(), (
                f"Your settings file {path} could not be read, so Tandem is using the default "
                "settings. Saving settings will replace it."
            )
        logger.warning("settings: %s is broken (%s); moved it to %s", path, problem, moved)
        return Settings(), (
            f"Your settings file could not be read, so Tandem started with the default "
            f"settings. The old file was moved to {moved}."
        )
    settings, problems = settings_from_dict(data)
    if not problems:
        return settings, None
    logger.warning("settings: reset to defaults: %s", ", ".join(problems))
    return settings, (
        f"Some settings in {path} had values Tandem cannot use and were reset to their "
        f"defaults: {', '.join(problems)}."
    )


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write atomically: a temp file in the same folder, fsync, then os.replace."""
    path = path if path is not None else app_paths().settings_file
    text = json.dumps(settings_to_dict(settings), indent=2, ensure_ascii=False) + "\n"
    temp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
        temp = None
        _fsync_folder(path.parent)
    except OSError as exc:
        raise SettingsError(
            f"Could not save the settings to {path}: {exc.strerror or exc}. Check that the "
            "disk has free space and the folder can be written to; your changes apply to "
            "this session only."
        ) from exc
    finally:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; Windows has no directory handles)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
