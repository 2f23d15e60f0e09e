"""The house rules of docs/architecture.md, checked on the source of every module.

Who may import whom: `core` imports nothing of ours; `backends`, `store`, `library`
only `core`; `services` those four; `ui`, `cli` and `server` sit on top of the services
(and may use what is below them); `ui` and `cli` never import each other, and reach the
server only through its one entry function; `server` never imports `ui` or `cli`. Only
`app/ui` imports Qt; only the engine process imports llama.cpp.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"

BELOW_SERVICES = {"core", "backends", "store", "library"}
MAY_IMPORT: dict[str, set[str]] = {
    "core": set(),
    "backends": {"core"},
    "store": {"core"},
    "library": {"core"},
    "services": BELOW_SERVICES,
    "ui": BELOW_SERVICES | {"services", "server"},
    "cli": BELOW_SERVICES | {"services", "server"},
    "server": BELOW_SERVICES | {"services"},
    "shipped": set(),  # data that ships with the code (the catalog, resources), no code
}
# The front ends start the server through this one module, and nothing else of it.
SERVER_ENTRY = "app.server"
QT_PACKAGES = {"PySide6", "shiboken6"}
QT_ROOM = "ui"
LLAMA_PACKAGES = {"llama_cpp"}
# The engine process: the engine loop, the adapter over llama-cpp-python, and the
# prompt builder (which uses llama-cpp-python's sandboxed Jinja formatter).
ENGINE_PROCESS = {
    "backends/local/engine.py",
    "backends/local/llama_adapter.py",
    "backends/local/prompt.py",
    "backends/local/embed_engine.py",  # the embedding model's own process
}


@dataclass(frozen=True, slots=True)
class Violation:
    module: str  # path under app/
    imported: str
    rule: str


def imported_modules(source: str, module_name: str = "app") -> list[str]:
    """Every module a source imports, absolute (relative imports resolved), at any depth
    (inside functions and TYPE_CHECKING blocks too)."""
    tree = ast.parse(source)
    package = module_name.rsplit(".", 1)[0] if "." in module_name else module_name
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base)
                module = f"{prefix}.{node.module}" if node.module else prefix
            else:
                module = node.module or ""
            found.append(module)
            if module == "app" or module.startswith("app."):
                # `from app.store import settings`: a name that is a module counts as one
                folder = APP.parent.joinpath(*module.split("."))
                found.extend(
                    f"{module}.{alias.name}"
                    for alias in node.names
                    if (folder / f"{alias.name}.py").exists() or (folder / alias.name).is_dir()
                )
    return found


def _room(path: str) -> str | None:
    """The room a module lives in (`core`, `ui`, ...), None for the top-level entries."""
    parts = path.split("/")
    return parts[0] if len(parts) > 1 else None


def violations(path: str, source: str) -> list[Violation]:
    """What the module at `path` (relative to app/, e.g. `store/ledger.py`) breaks."""
    name = "app." + path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
    room = _room(path)
    found: list[Violation] = []
    for module in imported_modules(source, name):
        top = module.split(".")[0]
        if top in QT_PACKAGES and room != QT_ROOM:
            found.append(Violation(path, module, "only app/ui imports Qt"))
        if top in LLAMA_PACKAGES and path not in ENGINE_PROCESS:
            found.append(Violation(path, module, "only the engine process imports llama.cpp"))
        if top != "app" or room is None:
            continue
        parts = module.split(".")
        if len(parts) < 2:
            continue
        target = parts[1]
        if target == room or target not in MAY_IMPORT:
            continue  # its own room, or a top-level module such as app.__init__
        if target not in MAY_IMPORT.get(room, set()):
            found.append(Violation(path, module, f"{room} may not import {target}"))
        elif target == "server" and module != SERVER_ENTRY:
            found.append(Violation(path, module, "the server is started only through app.server"))
    return found


def all_modules() -> list[tuple[str, str]]:
    return [
        (p.relative_to(APP).as_posix(), p.read_text(encoding="utf-8"))
        for p in sorted(APP.rglob("*.py"))
    ]


def test_every_module_keeps_the_import_rules():
    broken = [v for path, source in all_modules() for v in violations(path, source)]
    assert broken == []


def test_every_room_of_the_house_is_checked():
    rooms = {p.name for p in APP.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert rooms <= set(MAY_IMPORT)


@pytest.mark.parametrize(
    ("path", "source", "rule"),
    [
        ("core/units.py", "from app.store.paths import app_paths\n", "core may not import store"),
        ("store/ledger.py", "import app.backends.netguard\n", "store may not import backends"),
        ("library/hub.py", "from app.services import chat\n", "library may not import services"),
        ("backends/base.py", "from app.library.catalog import load_catalog\n",
         "backends may not import library"),
        ("services/chat.py", "from app.ui.bridge import Bridge\n", "services may not import ui"),
        ("ui/window/main_window.py", "def f():\n    from app.cli.output import fail\n",
         "ui may not import cli"),
        ("cli/main.py", "from app.ui import alerts\n", "cli may not import ui"),
        ("server/api.py", "from app.cli import main\n", "server may not import cli"),
        ("server/api.py", "from app.ui.bridge import Bridge\n", "server may not import ui"),
        ("cli/main.py", "from app.server.routes import app\n",
         "the server is started only through app.server"),
        ("services/chat.py", "from PySide6.QtCore import QObject\n", "only app/ui imports Qt"),
        ("cli/main.py", "import llama_cpp\n", "only the engine process imports llama.cpp"),
        ("backends/local/supervisor.py", "from llama_cpp import Llama\n",
         "only the engine process imports llama.cpp"),
        ("core/stats.py", "from ..store import paths\n", "core may not import store"),
        ("core/stats.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
         "    from app.services.workspace import Workspace\n", "core may not import services"),
    ],
)  # fmt: skip
def test_a_violation_is_caught(path, source, rule):
    assert rule in [v.rule for v in violations(path, source)]


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("core/stats.py", "from app.core.pricing import format_usd\n"),
        ("services/chat.py", "from app.store.history.store import HistoryStore\n"),
        ("ui/window/main_window.py", "from PySide6.QtWidgets import QMainWindow\n"),
        ("cli/main.py", "from app.server import serve\n"),
        ("backends/local/engine.py", "import llama_cpp\n"),
        ("selftest.py", "from app.ui.bridge import Bridge\n"),
    ],
)
def test_what_the_rules_allow_passes(path, source):
    assert violations(path, source) == []
