"""The cloud providers the person set up, their keys, and the models they offer."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from app.core.errors import ProviderError
from app.core.providers import PRESETS, ProviderConfig, check_base_url
from app.store.ledger import Ledger
from app.store.secrets import NoKeyringError, SecretStore
from app.store.settings import ProviderEntry, Settings

if TYPE_CHECKING:
    from app.backends.cloud.client import CloudBackend


class Providers:
    """Providers live in the settings, keys in the keychain (or, for this session only,
    in memory), with the preset's environment variable as the last resort."""

    def __init__(
        self,
        settings: Callable[[], Settings],
        save: Callable[[Settings], None],
        secrets: SecretStore | None = None,
    ) -> None:
        self._settings = settings
        self._save = save
        self.secrets = secrets or SecretStore()
        self._session_secrets = SecretStore(session_only=True)

    def all(self) -> list[ProviderConfig]:
        return [
            ProviderConfig(p.name, p.preset, p.base_url, p.trusted, p.model or None)
            for p in self._settings().providers
        ]

    def get(self, name: str) -> ProviderConfig:
        for provider in self.all():
            if provider.name == name:
                return provider
        known = ", ".join(p.name for p in self.all()) or "none yet"
        raise ProviderError(
            f"No provider is called {name!r} (configured: {known}). Add it with "
            f"`tandem-cli providers add {name} --preset {name if name in PRESETS else 'custom'}`."
        )

    def add(
        self,
        name: str,
        preset: str,
        base_url: str | None = None,
        model: str | None = None,
        trusted: bool = False,
        key: str | None = None,
    ) -> ProviderConfig:
        if preset not in PRESETS:
            raise ProviderError(f"Unknown preset {preset!r}. Choose one of: {', '.join(PRESETS)}.")
        url = check_base_url(base_url or PRESETS[preset].base_url)
        entry = ProviderEntry(
            name=name, preset=preset, base_url=url, model=model or "", trusted=trusted
        )
        settings = self._settings()
        others = tuple(p for p in settings.providers if p.name != name)
        self._save(dataclasses.replace(settings, providers=(*others, entry)))
        if key:
            self.set_key(name, key)
        return self.get(name)

    def remove(self, name: str) -> None:
        self.get(name)
        settings = self._settings()
        others = tuple(p for p in settings.providers if p.name != name)
        self._save(dataclasses.replace(settings, providers=others))
        for store in (self.secrets, self._session_secrets):
            with contextlib.suppress(NoKeyringError):  # nothing stored, nothing to delete
                store.delete_key(name)

    def set_key(self, provider: str, key: str, *, session_only: bool = False) -> None:
        (self._session_secrets if session_only else self.secrets).set_key(provider, key)

    def key_for(self, provider: ProviderConfig) -> str | None:
        key = self._session_secrets.get_key(provider.name)
        if key:
            return key
        try:
            key = self.secrets.get_key(provider.name)
        except NoKeyringError:
            key = None
        if key:
            return key
        preset = PRESETS.get(provider.preset)
        return os.environ.get(preset.key_env) if preset and preset.key_env else None

    def usable_key(self, provider: ProviderConfig, typed: str | None = None) -> str | None:
        """The key to send: `typed` (not saved yet) or the stored one; ProviderError when
        the provider needs a key and there is none."""
        key = typed or self.key_for(provider)
        if provider.needs_key and not key:
            raise ProviderError(
                f"No API key is set for {provider.display_name}. Add one with "
                f"`tandem-cli providers add {provider.name} --preset {provider.preset} "
                "--key-stdin`, or in the window's Providers dialog."
            )
        return key


def list_models(backend: CloudBackend, ledger: Ledger) -> list[str]:
    """The models a provider offers; the request is recorded in the ledger, failed or not."""
    listing = backend.fetch_models()
    if listing.requested is not None:
        ledger.append(listing.requested.record())
    if listing.error is not None:
        raise listing.error
    return listing.names
