"""The app's wiring, shared by the window and the command line.

Paths, settings, keys, the price table, the privacy ledger, the one local engine,
and the backend for a model spec: `local:ID`, an installed model id or a .gguf path,
or `PROVIDER:MODEL` for a configured cloud provider.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from app.backends import netguard
from app.backends.base import Backend
from app.backends.local.supervisor import EngineState, LocalBackend, LocalEngine
from app.core.messages import GenerationParams
from app.core.pricing import EnergyModel, PriceTable
from app.core.providers import ProviderConfig, check_base_url
from app.core.reach import NetworkPolicy
from app.library.gguf_file import GGUFInfo, inspect_gguf
from app.library.hardware import check_memory_for_load, gpu_layers_for_load
from app.library.installed import model_id_for, resolve_model
from app.services.chat import ChatService, CostReference
from app.services.documents import DocumentsService
from app.services.presets import Presets
from app.services.providers import Providers, list_models
from app.services.usage import MonthlyBudget
from app.store.history.store import HistoryStore
from app.store.ledger import Ledger
from app.store.paths import AppPaths, app_paths
from app.store.prices import load_prices
from app.store.settings import Settings, load_settings, save_settings

if TYPE_CHECKING:
    # The openai client costs ~0.5 s and ~35 MB to import: only a cloud answer pays it.
    from app.backends.cloud.client import CloudBackend

logger = logging.getLogger(__name__)


def _check_memory(info: object, params: GenerationParams) -> str:
    """Before each load: refuse a context beyond the memory free now (the same estimate
    the model manager shows), and say what was expected."""
    if not isinstance(info, GGUFInfo):
        return ""
    return check_memory_for_load(
        info, params.context_length, kv_cache_type=str(params.kv_cache_type)
    )


def _gpu_layers(info: object, params: GenerationParams) -> int:
    """GPU layers on auto: the fit estimate's count when the model does not fit whole."""
    if not isinstance(info, GGUFInfo):
        return params.gpu_layers
    return gpu_layers_for_load(info, params)


class Workspace:
    def __init__(self, paths: AppPaths | None = None, settings: Settings | None = None) -> None:
        netguard.install_resolver()  # .localhost names never reach the network's DNS
        self.paths = (paths or app_paths()).ensure()
        if settings is None:
            settings, self.settings_notice = load_settings(self.paths.settings_file)
        else:
            self.settings_notice = None
        self.settings = settings
        self.prices: PriceTable = load_prices(self.paths.config_dir / "prices.toml")
        self.ledger = Ledger(self.paths.ledger_file)
        self.provider_service = Providers(lambda: self.settings, self.save)
        self.presets = Presets(lambda: self.settings, self.save)
        self._engine: LocalEngine | None = None
        self._history: HistoryStore | None = None
        self._documents: DocumentsService | None = None
        self.private_mode = settings.private_mode

    # ----- privacy

    def set_private_mode(self, private: bool) -> None:
        """Apply private mode to this process's network guard (the engine always has it)."""
        self.private_mode = private
        netguard.install(private, self.network_policy().trusted_hosts)

    def network_policy(self) -> NetworkPolicy:
        """Private mode and the trusted hosts, for whoever is about to connect."""
        trusted = frozenset(p.host for p in self.providers() if p.trusted)
        return NetworkPolicy(private_mode=self.private_mode, trusted_hosts=trusted)

    # ----- the local engine

    def engine(self, on_state: Callable[[EngineState], None] | None = None) -> LocalEngine:
        if self._engine is None:
            self._engine = LocalEngine(
                on_state=on_state,
                log_file=self.paths.log_dir / "engine.log",
                check_file=inspect_gguf,
                check_memory=_check_memory,
                choose_gpu_layers=_gpu_layers,
            )
            self._engine.energy = EnergyModel(
                cpu_watts=self.settings.cpu_watts,
                usd_per_kwh=self.settings.electricity_usd_per_kwh,
            )
        return self._engine

    @property
    def documents(self) -> DocumentsService:
        """Embeddings, collections and retrieval over the person's own files."""
        if self._documents is None:
            self._documents = DocumentsService(self.paths, self.network_policy, self.ledger)
        return self._documents

    def shutdown(self) -> None:
        if self._engine is not None:
            self._engine.shutdown()
        if self._documents is not None:
            self._documents.shutdown()
        if self._history is not None:
            self._history.close()
            self._history = None

    # ----- providers (kept by services.providers; these are the names callers know)

    def providers(self) -> list[ProviderConfig]:
        return self.provider_service.all()

    def provider(self, name: str) -> ProviderConfig:
        return self.provider_service.get(name)

    def add_provider(
        self,
        name: str,
        preset: str,
        base_url: str | None = None,
        model: str | None = None,
        trusted: bool = False,
        key: str | None = None,
    ) -> ProviderConfig:
        return self.provider_service.add(name, preset, base_url, model, trusted, key)

    def remove_provider(self, name: str) -> None:
        self.provider_service.remove(name)

    def set_key(self, provider: str, key: str, *, session_only: bool = False) -> None:
        self.provider_service.set_key(provider, key, session_only=session_only)

    def key_for(self, provider: ProviderConfig) -> str | None:
        return self.provider_service.key_for(provider)

    def has_key(self, provider: ProviderConfig) -> bool:
        return bool(self.key_for(provider))

    def list_models(self, backend: CloudBackend) -> list[str]:
        """The models a provider offers, the request recorded in the one ledger."""
        return list_models(backend, self.ledger)

    def save(self, settings: Settings) -> None:
        save_settings(settings, self.paths.settings_file)
        self.settings = settings

    # ----- backends

    def backend_for(self, spec: str) -> Backend:
        """The backend for a model spec; raises ModelFileError or ProviderError."""
        kind, _, rest = spec.partition(":")
        names = {p.name for p in self.providers()}
        if kind in names and rest:
            return self.cloud_backend(self.provider(kind), rest)
        if kind == "local" and rest:
            spec = rest
        path = resolve_model(spec, self.paths.models_dir)
        model_id = model_id_for(path)
        speculative = model_id in self.settings.speculative_models
        return LocalBackend(self.engine(), path, model_id, speculative=speculative)

    def cloud_backend(
        self, provider: ProviderConfig, model: str, key: str | None = None
    ) -> CloudBackend:
        """`key` overrides the stored one (a key typed but not saved yet)."""
        from app.backends.cloud.client import CloudBackend, CloudTimeouts

        check_base_url(provider.base_url)  # also when settings.json was edited by hand
        key = self.provider_service.usable_key(provider, key)
        return CloudBackend(
            provider,
            model,
            key,
            self.prices,
            private_mode=self.private_mode,
            timeouts=CloudTimeouts(
                connect_s=self.settings.cloud_connect_timeout_s,
                first_token_s=self.settings.cloud_first_token_timeout_s,
            ),
        )

    def history(self) -> HistoryStore:
        """The conversation history (opened on first use; a damaged file is set aside)."""
        if self._history is None:
            self._history = HistoryStore(self.paths.history_db)
        return self._history

    def chat_service(self, backend: Backend | None = None, *, save: bool = True) -> ChatService:
        return ChatService(
            backend,
            self.settings.generation,
            reference=CostReference(self.prices, self.settings.reference_cloud_model),
            history=self.history() if save else None,
            ledger=self.ledger,
            budget=self.budget(),
        )

    def budget(self) -> MonthlyBudget:
        return MonthlyBudget(self.paths.history_db, self.settings.monthly_budget_usd, self.prices)
