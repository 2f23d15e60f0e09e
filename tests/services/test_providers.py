"""Providers, their keys, and which key a request would carry."""

from __future__ import annotations

import pytest

from app.core.errors import ProviderError
from app.services.providers import Providers
from app.store.settings import Settings


@pytest.fixture
def providers():
    state = {"settings": Settings()}

    def save(settings):
        state["settings"] = settings

    return Providers(lambda: state["settings"], save)


def test_a_provider_that_needs_a_key_is_refused_without_one_and_says_how(providers, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    openai = providers.add("openai", "openai")
    with pytest.raises(ProviderError, match="No API key is set for OpenAI"):
        providers.usable_key(openai)
    assert providers.usable_key(openai, "sk-typed-not-saved") == "sk-typed-not-saved"
    providers.set_key("openai", "sk-stored-for-this-run", session_only=True)
    assert providers.usable_key(openai) == "sk-stored-for-this-run"


def test_a_local_server_needs_no_key(providers):
    box = providers.add("box", "ollama")
    assert providers.usable_key(box) is None
    assert [p.name for p in providers.all()] == ["box"]
