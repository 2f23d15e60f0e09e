"""What the local API decides, for the server, the window and the CLI alike: its key, the
models it offers, and which backend a request's model id means.

A request names a model by id only: an installed model (`smollm2-135m-instruct`) or
`PROVIDER:MODEL` of a configured provider. A path, or an id nobody listed, is refused,
so a client cannot make the engine open an arbitrary file.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.backends.base import Backend
from app.core.errors import ModelFileError
from app.core.reach import Reach
from app.library.installed import list_installed
from app.services.models import default_model_spec
from app.store.secrets import NoKeyringError, SecretStore

if TYPE_CHECKING:
    from app.services.workspace import Workspace

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
# No peer uses it (LM Studio 1234, Jan 1337, GPT4All 4891, Ollama 11434, and 8000/8080).
DEFAULT_PORT = 8263
KEY_ENV = "TANDEM_API_KEY"
# The keychain entry the key is kept under (a name no provider can take: it has spaces).
KEY_ENTRY = "tandem local API"
# A client that owns its conversation (tandem-cli) sends this; the server keeps no copy.
NO_HISTORY_HEADER = "X-Tandem-No-History"
_session_key: str | None = None


def api_key(store: SecretStore | None = None) -> str:
    """The key clients must send: TANDEM_API_KEY if set, else the one in the keychain,
    made on first use. Without a keychain, one key for this run only."""
    global _session_key
    from_env = os.environ.get(KEY_ENV, "").strip()
    if from_env:
        return from_env
    store = store or SecretStore()
    try:
        found = store.get_key(KEY_ENTRY)
        if found:
            return found
        key = "tandem-" + secrets.token_urlsafe(24)
        store.set_key(KEY_ENTRY, key)
        logger.info("local API: made a new key and kept it in the keychain")
        return key
    except NoKeyringError:
        if _session_key is None:
            _session_key = "tandem-" + secrets.token_urlsafe(24)
            logger.warning("local API: no keychain, so the key lasts for this run only")
        return _session_key


def keys_match(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


@dataclass(frozen=True, slots=True)
class ApiModel:
    """One entry of GET /v1/models."""

    id: str
    owned_by: str  # "local", or the provider's name
    local: bool
    reach: Reach | None = None  # for a cloud model: whether it may be reached now
    kind: str = "chat"  # or "embedding" (POST /v1/embeddings)

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "id": self.id,
            "object": "model",
            "created": 0,
            "owned_by": self.owned_by,
            "tandem": {"local": self.local, "kind": self.kind},
        }
        if self.reach is not None:
            tandem = data["tandem"]
            assert isinstance(tandem, dict)
            tandem["available"] = self.reach.allowed
            if not self.reach.allowed:
                tandem["reason"] = self.reach.reason
        return data


def api_models(workspace: Workspace) -> list[ApiModel]:
    """Installed local models, then each configured provider's default model (a listing of
    a provider's whole catalogue would be a network call for every GET)."""
    found = [
        ApiModel(m.id, "local", True)
        for m in list_installed(workspace.paths.models_dir)
        if m.problem is None
    ]
    embedder = workspace.documents.embedding_model(fetch=False)
    if embedder is not None:
        found.append(ApiModel(embedder.entry.id, "local", True, kind="embedding"))
    policy = workspace.network_policy()
    for provider in workspace.providers():
        if provider.default_model:
            found.append(
                ApiModel(
                    f"{provider.name}:{provider.default_model}",
                    provider.name,
                    False,
                    policy.may_reach(provider.base_url),
                )
            )
    return found


class UnknownModel(ModelFileError):
    kind = "model_not_found"


def default_api_model(workspace: Workspace, preferred: str | None = None) -> str | None:
    """The model a request without one gets: `serve --model`, else the app's default."""
    if preferred:
        return preferred
    spec = default_model_spec(workspace.settings, workspace.paths.models_dir)
    if spec is None:
        return None
    if spec.startswith("local:"):
        from pathlib import Path

        from app.library.installed import model_id_for

        return model_id_for(Path(spec.removeprefix("local:")))
    return spec


def backend_for_api(workspace: Workspace, model_id: str) -> Backend:
    """The backend for a model id a client sent; UnknownModel for an id not listed, the
    reach's error (PrivacyBlocked in private mode) for a cloud model that may not be
    reached, before anything connects."""
    provider_name, sep, cloud_model = model_id.partition(":")
    names = {p.name for p in workspace.providers()}
    if sep and provider_name in names and cloud_model:
        provider = workspace.provider(provider_name)
        reach = workspace.network_policy().may_reach(provider.base_url)
        if not reach.allowed:
            raise reach.error()
        return workspace.backend_for(model_id)
    for model in list_installed(workspace.paths.models_dir):
        if model.problem is None and model_id == model.id:
            return workspace.backend_for(str(model.path))
    listed = ", ".join(m.id for m in api_models(workspace)) or "none"
    raise UnknownModel(
        f"There is no model {model_id!r} here (available: {listed}). GET /v1/models lists them."
    )


def exposure_warning(host: str) -> str | None:
    """What to tell the person when the API listens beyond this computer."""
    from app.core.privacy import is_loopback_host

    if is_loopback_host(host):
        return None
    return (
        f"The local API listens on {host}, so other computers on the network can reach it "
        "(anyone with the key can use your models, and what they send is answered here). "
        "Use --host 127.0.0.1 to keep it on this computer."
    )


def embedding_model_id(workspace: Workspace, asked: str | None) -> None:
    """Check the model an embeddings request names: none, or the embedding model's id
    (UnknownModel otherwise). Finding or fetching the model is the documents service's."""
    if asked is None:
        return
    embedder = workspace.documents.embedding_model(fetch=False)
    if embedder is not None and asked == embedder.entry.id:
        return
    name = embedder.entry.id if embedder is not None else "none installed yet"
    raise UnknownModel(
        f"There is no embedding model {asked!r} here (the embedding model: {name}). "
        "Leave `model` out to use it."
    )
