"""Cloud providers: the presets Tandem knows and one configured provider."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from app.core.privacy import is_loopback_host
from app.core.reach import may_reach


@dataclass(frozen=True, slots=True)
class Preset:
    id: str
    name: str
    base_url: str
    needs_key: bool
    key_env: str = ""
    example_model: str = ""


PRESETS: dict[str, Preset] = {
    p.id: p
    for p in (
        Preset("openai", "OpenAI", "https://api.openai.com/v1", True, "OPENAI_API_KEY",
               "gpt-4o-mini"),
        Preset("anthropic", "Anthropic", "https://api.anthropic.com/v1/", True,
               "ANTHROPIC_API_KEY", "claude-sonnet-4-0"),
        Preset("gemini", "Google Gemini",
               "https://generativelanguage.googleapis.com/v1beta/openai/", True,
               "GEMINI_API_KEY", "gemini-2.5-flash"),
        Preset("groq", "Groq", "https://api.groq.com/openai/v1", True, "GROQ_API_KEY",
               "llama-3.3-70b-versatile"),
        Preset("mistral", "Mistral", "https://api.mistral.ai/v1", True, "MISTRAL_API_KEY",
               "mistral-small-latest"),
        Preset("openrouter", "OpenRouter", "https://openrouter.ai/api/v1", True,
               "OPENROUTER_API_KEY", "openai/gpt-4o"),
        Preset("together", "Together", "https://api.together.xyz/v1", True,
               "TOGETHER_API_KEY", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
        Preset("deepseek", "DeepSeek", "https://api.deepseek.com/v1", True,
               "DEEPSEEK_API_KEY", "deepseek-chat"),
        Preset("ollama", "Ollama", "http://localhost:11434/v1", False),
        Preset("lmstudio", "LM Studio", "http://localhost:1234/v1", False),
        Preset("llamacpp", "llama.cpp server", "http://localhost:8080/v1", False),
        Preset("custom", "Custom base URL", "", False),
    )
}  # fmt: skip


def check_base_url(url: str) -> str:
    """A usable base URL: http(s), and https for anything that is not loopback."""
    may_reach(url, private_mode=False).enforce()
    return url.strip().rstrip("/")


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """A provider as the user set it up. The API key lives in the keychain, not here."""

    name: str
    preset: str
    base_url: str
    trusted: bool = False
    default_model: str | None = None

    @property
    def host(self) -> str:
        return urlparse(self.base_url).hostname or ""

    @property
    def display_name(self) -> str:
        preset = PRESETS.get(self.preset)
        return preset.name if preset and self.name == self.preset else self.name

    @property
    def needs_key(self) -> bool:
        preset = PRESETS.get(self.preset)
        return bool(preset and preset.needs_key)

    @property
    def on_device(self) -> bool:
        return is_loopback_host(self.host)

    @property
    def price_key(self) -> str:
        """The provider's name in the price table."""
        return self.preset if self.preset != "custom" else self.name
