"""Presets ("assistants": a named system prompt, parameters and model) and saved prompts.

Both live in the settings; the window and `tandem-cli` list, save, delete and apply them
through this one module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

from app.core.errors import UsageError
from app.core.messages import GENERATION_RANGES, GenerationParams
from app.store.settings import Preset, SavedPrompt, Settings

if TYPE_CHECKING:
    from app.backends.base import Backend
    from app.services.chat import ChatService

NAME_MAX_CHARS = 80
PROMPT_MAX_CHARS = 100_000


def _clean_name(name: str, what: str) -> str:
    """A name as stored: one line, trimmed, not empty, not too long."""
    cleaned = " ".join(str(name).split())
    if not cleaned:
        raise UsageError(f"Give the {what} a name.")
    if len(cleaned) > NAME_MAX_CHARS:
        raise UsageError(
            f"A {what}'s name is at most {NAME_MAX_CHARS} characters; this one has "
            f"{len(cleaned):,}."
        )
    return cleaned


def _check_params(params: GenerationParams) -> None:
    for name, (low, high) in GENERATION_RANGES.items():
        value = getattr(params, name)
        if value is not None and not low <= value <= high:
            raise UsageError(f"The preset's {name} must be between {low:g} and {high:g}.")


class Presets:
    """The presets and saved prompts in the settings (`settings()`), changed with `save`."""

    def __init__(self, settings: Callable[[], Settings], save: Callable[[Settings], None]) -> None:
        self._settings = settings
        self._save = save

    # ----- presets

    def all(self) -> tuple[Preset, ...]:
        return self._settings().presets

    def get(self, name: str) -> Preset:
        for preset in self.all():
            if preset.name == name:
                return preset
        known = ", ".join(p.name for p in self.all()) or "none yet"
        raise UsageError(
            f"No preset is called {name!r} (saved: {known}). Save one with "
            "`tandem-cli presets save NAME`."
        )

    def save(self, name: str, params: GenerationParams, model: str = "") -> Preset:
        """Keep `params` and `model` under `name`; one of the same name is replaced."""
        name = _clean_name(name, "preset")
        _check_params(params)
        preset = Preset(name=name, model=model.strip(), generation=params)
        kept = [p for p in self.all() if p.name != name]
        index = next((n for n, p in enumerate(self.all()) if p.name == name), len(kept))
        kept.insert(index, preset)
        self._save(dataclasses.replace(self._settings(), presets=tuple(kept)))
        return preset

    def delete(self, name: str) -> Preset:
        preset = self.get(name)
        left = tuple(p for p in self.all() if p.name != name)
        self._save(dataclasses.replace(self._settings(), presets=left))
        return preset

    @staticmethod
    def apply(
        preset: Preset,
        service: ChatService,
        backend_for: Callable[[str], Backend] | None = None,
    ) -> None:
        """The service answers with the preset's system prompt, parameters and (when it
        names one and `backend_for` can make it) model. A model that cannot be made
        raises, and nothing changes."""
        backend = None
        if preset.model and backend_for is not None:
            backend = backend_for(preset.model)
        service.params = preset.generation
        if backend is not None:
            service.backend = backend

    # ----- saved prompts

    def prompts(self) -> tuple[SavedPrompt, ...]:
        return self._settings().saved_prompts

    def matching(self, query: str) -> list[SavedPrompt]:
        """The saved prompts whose name or text holds every word of `query`, names first."""
        words = query.casefold().split()

        def holds(where: str) -> bool:
            folded = where.casefold()
            return all(w in folded for w in words)

        by_name = [p for p in self.prompts() if holds(p.name)]
        by_text = [p for p in self.prompts() if p not in by_name and holds(p.text)]
        return by_name + by_text

    def save_prompt(self, name: str, text: str) -> SavedPrompt:
        name = _clean_name(name, "saved prompt")
        if not text.strip():
            raise UsageError("A saved prompt needs some text.")
        if len(text) > PROMPT_MAX_CHARS:
            raise UsageError(
                f"A saved prompt is at most {PROMPT_MAX_CHARS:,} characters; this one has "
                f"{len(text):,}."
            )
        prompt = SavedPrompt(name=name, text=text)
        kept = [p for p in self.prompts() if p.name != name]
        index = next((n for n, p in enumerate(self.prompts()) if p.name == name), len(kept))
        kept.insert(index, prompt)
        self._save(dataclasses.replace(self._settings(), saved_prompts=tuple(kept)))
        return prompt

    def delete_prompt(self, name: str) -> SavedPrompt:
        found = next((p for p in self.prompts() if p.name == name), None)
        if found is None:
            raise UsageError(f"No saved prompt is called {name!r}.")
        left = tuple(p for p in self.prompts() if p.name != name)
        self._save(dataclasses.replace(self._settings(), saved_prompts=left))
        return found
