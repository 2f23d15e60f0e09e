from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

KEY = "test-key-123"


def _home_with_default(root: Path, default_model: Path) -> Path:
    models = root / "data" / "models"
    models.mkdir(parents=True, exist_ok=True)
    (models / default_model.name).symlink_to(default_model)
    return root


@pytest.fixture(scope="module")
def api_home(tmp_path_factory: pytest.TempPathFactory, default_model: Path) -> Path:
    return _home_with_default(tmp_path_factory.mktemp("api-home"), default_model)


@pytest.fixture(scope="module")
def api(api_home: Path) -> Iterator[Any]:
    """The real server on loopback (a free port), on a workspace of its own with the
    default model installed; one engine for the whole module."""
    from app.server import start_server
    from app.services.workspace import Workspace
    from app.store.paths import AppPaths

    root = api_home
    paths = AppPaths(root / "config", root / "data", root / "cache", root / "logs")
    workspace = Workspace(paths)
    server = start_server(workspace, port=0, key=KEY)
    yield server
    server.stop()
    workspace.shutdown()


@pytest.fixture(scope="module")
def model_id(api: Any) -> str:
    return str(api.state.default_model)


def post(url: str, body: object, key: str | None = KEY, raw: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    """A raw HTTP POST: status, headers, body (no client library in between)."""
    data = raw if raw is not None else json.dumps(body).encode()
    sent = {"Content-Type": "application/json", **(headers or {})}
    if key is not None:
        sent["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, data=data, headers=sent, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()
