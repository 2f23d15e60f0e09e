"""`tandem --self-test [--json]`: prove that this installation works, without a display.

It checks the shipped resources and keyring's backends, loads the default model in the
engine process and generates a few tokens, then (through a Qt part that `app/ui` supplies)
checks Qt's platform plugins and opens and closes the real window offscreen. The report
gives versions, timings and what passed; the exit code is 0 only if every check passed.

The same code runs from a source tree and from the frozen app, and it never writes to the
user's own folders: the window and the engine log use a temporary home.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from app import __version__
from app.store.paths import app_paths

_PROMPT = "Say hello in five words."
_MAX_TOKENS = 12
_ENGINE_DEADLINE_S = 180.0


class Status(StrEnum):
    PASSED = "passed"
    WARNING = "warning"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(slots=True)
class Check:
    """One line of the report. A skipped check counts as not passed; a warning (something
    this computer lacks that the person did not ask for, with its fix) counts as passed."""

    name: str
    status: Status = Status.PASSED
    detail: str = ""
    seconds: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status in (Status.PASSED, Status.WARNING)

    def fail(self, detail: str) -> Check:
        self.status, self.detail = Status.FAILED, detail
        return self

    def warn(self, detail: str) -> Check:
        self.status, self.detail = Status.WARNING, detail
        return self


@contextmanager
def timed(check: Check) -> Iterator[Check]:
    """Time the block; an unexpected exception fails the check instead of the self-test."""
    started = time.perf_counter()
    try:
        yield check
    except Exception as exc:  # noqa: BLE001 - every failure belongs in the report
        check.fail(f"{type(exc).__name__}: {exc}")
    finally:
        check.seconds = round(time.perf_counter() - started, 3)


# The Qt part gets a temporary home and the platform the person asked for (None: the desktop's).
QtPart = Callable[[Path, str | None], tuple[dict[str, str], list[Check]]]


@dataclass(slots=True)
class Report:
    versions: dict[str, Any]
    checks: list[Check]
    total_s: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "version": __version__,
            "versions": self.versions,
            "checks": [{**asdict(c), "status": str(c.status)} for c in self.checks],
            "total_s": round(self.total_s, 3),
        }

    def to_text(self) -> str:
        v = self.versions
        lines = [
            f"Tandem {__version__} self-test ({'frozen' if v['frozen'] else 'from source'}, "
            f"{v['platform']}, Python {v['python']}, llama-cpp-python {v['llama_cpp_python']}, "
            f"Qt {v.get('qt', '?')})"
        ]
        for c in self.checks:
            mark = {"passed": "PASS", "warning": "WARN", "failed": "FAIL", "skipped": "SKIP"}[
                c.status
            ]
            lines.append(f"  {mark}  {c.name:<12} {c.seconds:7.2f} s  {c.detail}")
        failed = [c.name for c in self.checks if not c.passed]
        warned = [c.name for c in self.checks if c.status is Status.WARNING]
        warnings = f" (warnings: {', '.join(warned)})" if warned else ""
        lines.append(
            f"All {len(self.checks)} checks passed in {self.total_s:.1f} s{warnings}."
            if not failed
            else f"Not passed: {', '.join(failed)} ({self.total_s:.1f} s){warnings}."
        )
        return "\n".join(lines)


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not found"


def _versions() -> dict[str, Any]:
    from app.library.bundled import bundle_dir

    bundle = bundle_dir()
    return {
        "tandem": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
        "frozen": bundle is not None,
        "bundle": str(bundle) if bundle else None,
        "executable": sys.executable,
        "llama_cpp_python": _package_version("llama_cpp_python"),
        "keyring": _package_version("keyring"),
        "openai": _package_version("openai"),
    }


# ----- checks


def check_resources() -> Check:
    from app.library.bundled import ICON_SIZES, icon_file, resources_dir
    from app.library.catalog import catalog_file, load_catalog
    from app.store.prices import load_prices, shipped_prices_file

    check = Check("resources")
    with timed(check):
        catalog = load_catalog()
        prices_file = shipped_prices_file()
        prices = load_prices()
        icons = [icon_file()] + [icon_file(size) for size in ICON_SIZES]
        missing = [str(p) for p in [*icons, prices_file] if not p.is_file()]
        themes = sorted(p.name for p in resources_dir().glob("**/*.qss"))
        check.data = {
            "catalog": str(catalog_file()),
            "catalog_models": len(catalog.models),
            "default_model": catalog.default.id,
            "prices": str(prices_file),
            "priced_models": sum(len(m) for m in prices.prices.values()),
            "icons": len(icons) - sum(1 for p in icons if not p.is_file()),
            "themes": themes,
        }
        if missing:
            return check.fail("missing: " + ", ".join(missing))
        if not prices.prices:
            return check.fail(f"the price table {prices_file} has no prices")
        check.detail = (
            f"catalog ({len(catalog.models)} models), {check.data['priced_models']} prices, "
            f"{len(icons)} icons"
        )
    return check


def _keyring_module() -> str | None:
    if sys.platform.startswith("linux"):
        return "keyring.backends.SecretService"
    if sys.platform == "win32":
        return "keyring.backends.Windows"
    if sys.platform == "darwin":
        return "keyring.backends.macOS"
    return None


def check_keyring() -> Check:
    """keyring finds its backends (entry points survive freezing); a keychain is optional."""
    import importlib

    check = Check("keyring")
    with timed(check):
        found = sorted(ep.value for ep in importlib.metadata.entry_points(group="keyring.backends"))
        wanted = _keyring_module()
        if wanted is not None:
            importlib.import_module(wanted)
        from app.store.secrets import keychain_available

        try:
            import keyring

            backend = type(keyring.get_keyring())
            active = f"{backend.__module__}.{backend.__name__}".removeprefix("keyring.backends.")
        except Exception as exc:  # noqa: BLE001 - a broken keychain is reported, not fatal
            active = f"none ({type(exc).__name__})"
        available = keychain_available()
        check.data = {"backends": found, "active": active, "keychain_available": available}
        if not found:
            return check.fail("keyring found no backends (its package metadata is missing)")
        if wanted is not None and wanted not in found:
            return check.fail(f"keyring does not list {wanted}")
        check.detail = f"{len(found)} backends, active {active}; system keychain " + (
            "available" if available else "not available here (keys stay in memory)"
        )
    return check


def find_default_model(models_dir: Path) -> tuple[Path | None, str]:
    """The default model to test with: the models folder's, else the bundle's copy."""
    from app.library.bundled import bundled_default_model
    from app.library.catalog import load_catalog

    entry = load_catalog().default
    installed = models_dir / entry.file
    if installed.is_file() and installed.stat().st_size == entry.size_bytes:
        return installed, "models folder"
    bundled = bundled_default_model()
    if bundled is not None:
        return bundled, "bundle"
    return None, ""


def check_model(models_dir: Path) -> tuple[Check, Path | None]:
    from app.library.catalog import load_catalog

    check = Check("model")
    path: Path | None = None
    with timed(check):
        entry = load_catalog().default
        path, source = find_default_model(models_dir)
        if path is None:
            check.fail(
                f"The default model {entry.file} is not in {models_dir}, and this build "
                "carries no copy. Run `tandem-cli models fetch-default` (it needs the network "
                "once), or set TANDEM_HOME to a folder whose data/models has it."
            )
            return check, None
        check.data = {"path": str(path), "source": source, "size_bytes": path.stat().st_size}
        check.detail = f"{entry.file} ({source})"
    return check, path


def check_engine(model: Path | None, work_dir: Path) -> Check:
    """Load the model in the engine process and generate a few tokens."""
    from app.backends.local.supervisor import LocalEngine
    from app.core.events import CancelToken, Delta, Failed, Finished
    from app.core.messages import ChatMessage, GenerationParams, Role

    check = Check("engine")
    if model is None:
        check.status, check.detail = Status.SKIPPED, "no model to load"
        return check
    with timed(check):
        engine = LocalEngine(log_file=work_dir / "engine.log")
        # A hung engine is killed; the supervisor then reports a crash instead of waiting.
        watchdog = threading.Timer(_ENGINE_DEADLINE_S, engine.kill)
        watchdog.daemon = True
        watchdog.start()
        try:
            params = GenerationParams(
                context_length=512, max_tokens=_MAX_TOKENS, temperature=0.0, seed=42
            )
            loaded = engine.load(model, params)
            engine_pid = engine.pid
            text, finished, failed = "", None, None
            messages = [ChatMessage(Role.USER, _PROMPT)]
            for event in engine.generate("self-test", messages, params, CancelToken()):
                if isinstance(event, Delta):
                    text += event.text
                elif isinstance(event, Finished):
                    finished = event.stats
                elif isinstance(event, Failed):
                    failed = event.error
        finally:
            watchdog.cancel()
            engine.shutdown()
        check.data = {
            "engine_pid": engine_pid,
            "app_pid": os.getpid(),
            "load_s": round(loaded.load_s, 3),
            "threads": loaded.threads,
            "context_length": loaded.context_length,
            "gpu_offload_supported": loaded.gpu_offload_supported,
            "gpu_layers": loaded.gpu_layers,
            "chat_template": loaded.chat_template,
            "text": text,
        }
        if failed is not None:
            return check.fail(f"generation failed: {failed}")
        if finished is None or finished.completion_tokens == 0 or not text.strip():
            return check.fail("the engine finished without generating any text")
        if engine_pid is None or engine_pid == os.getpid():
            return check.fail("the engine did not run in its own process")
        check.data.update(
            completion_tokens=finished.completion_tokens,
            time_to_first_token_s=finished.time_to_first_token_s,
            tokens_per_s=round(finished.tokens_per_s, 1),
        )
        offload = "GPU offload available" if loaded.gpu_offload_supported else "CPU only"
        check.detail = (
            f"loaded in {loaded.load_s:.2f} s (engine pid {engine_pid}, {offload}); "
            f"{finished.completion_tokens} tokens at {finished.tokens_per_s:.0f} tok/s: "
            f"{text.strip()[:40]!r}"
        )
    return check


# ----- running


def run_self_test(
    qt_part: QtPart | None = None,
    models_dir: Path | None = None,
    asked_platform: str | None = None,
) -> Report:
    started = time.perf_counter()
    versions = _versions()
    models_dir = models_dir if models_dir is not None else app_paths().models_dir
    checks = [check_resources(), check_keyring()]
    model_check, model = check_model(models_dir)
    checks.append(model_check)
    with tempfile.TemporaryDirectory(prefix="tandem-selftest-") as work:
        checks.append(check_engine(model, Path(work)))
        if qt_part is not None:
            qt_versions, qt_checks = qt_part(Path(work) / "home", asked_platform)
            versions.update(qt_versions)
            checks.extend(qt_checks)
    return Report(versions, checks, time.perf_counter() - started)


def main(argv: list[str], qt_part: QtPart | None = None) -> int:
    """Print the report (JSON with `--json`); 0 only if every check passed (or warned)."""
    # What the person asked for decides whether a desktop plugin that cannot load is a
    # failure or a warning; the self-test's own window is offscreen whatever the desktop is.
    asked_platform = os.environ.get("QT_QPA_PLATFORM") or None
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    report = run_self_test(qt_part, asked_platform=asked_platform)
    if "--json" in argv:
        sys.stdout.write(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        sys.stdout.write(report.to_text() + "\n")
    sys.stdout.flush()
    return 0 if report.ok else 1
