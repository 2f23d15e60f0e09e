"""The .deb a person installs: built by packaging/build_linux.py, unpacked with `dpkg -x`,
and run from there with no Python, no network and no display.

The first build on a machine takes a few minutes (PyInstaller about 1 minute, stripping and
the zstd-compressed .deb about 1 more on 2 cores); later runs reuse build/package/KEY/ while
app/, resources/, packaging/, the catalog and the installed packages are unchanged.
Deselect with `-m "not packaging"`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from app.library.catalog import load_catalog
from tests.packaging.reports import assert_passed_or_warned_with_a_fix

REPO = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)

pytestmark = [
    pytest.mark.packaging,
    pytest.mark.timeout(1800),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the .deb is for Linux"),
    pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb is not installed"),
]


def _clean_env(home: Path) -> dict[str, str]:
    """What a person's session would have: no venv, no test keyring, no display."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "TANDEM_HOME": str(home / "tandem"),
        "QT_QPA_PLATFORM": "offscreen",
        "LANG": "C.UTF-8",
    }


@pytest.fixture(scope="module")
def built(default_model: Path) -> dict[str, Any]:
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        pytest.skip("PyInstaller is not installed (pip install -e '.[package]')")
    done = subprocess.run(
        [sys.executable, str(REPO / "packaging" / "build_linux.py"), "--only", "deb",
         "--json", "--model", str(default_model)],
        cwd=REPO, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    return dict(json.loads(done.stdout))


@pytest.fixture(scope="module")
def root(built: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("deb-root")
    subprocess.run(["dpkg", "-x", built["deb"], str(target)], check=True, timeout=300)
    return target


def _field(deb: str, name: str) -> str:
    done = subprocess.run(["dpkg-deb", "-f", deb, name], capture_output=True, text=True)
    return done.stdout.strip()


def test_deb_is_named_and_versioned_from_pyproject_and_within_250_mb(
    built: dict[str, Any],
) -> None:
    assert _field(built["deb"], "Package") == "tandem"
    assert _field(built["deb"], "Version") == VERSION
    assert Path(built["deb"]).name == f"tandem_{VERSION}_amd64.deb"
    assert built["deb_bytes"] <= 250_000_000


def test_deb_depends_on_the_libraries_qt_xcb_and_wayland_need(built: dict[str, Any]) -> None:
    depends = [d.strip() for d in _field(built["deb"], "Depends").split(",")]
    names = {d.split()[0] for d in depends}
    for package in ("libxcb-cursor0", "libxkbcommon-x11-0", "libxcb-icccm4", "libx11-xcb1",
                    "libwayland-client0", "libfontconfig1", "libegl1", "libgomp1"):  # fmt: skip
        assert package in names, depends
    assert any(d.startswith("libc6 (>= 2.") for d in depends)
    assert "libgtk-3-0" not in names  # only the optional GTK theme plugin wants it


def test_deb_installs_under_opt_with_commands_desktop_entry_and_icons(root: Path) -> None:
    app = root / "opt" / "tandem"
    assert os.access(app / "tandem", os.X_OK)
    for command in ("tandem", "tandem-cli"):
        link = root / "usr" / "bin" / command
        assert link.is_symlink()
        assert not os.path.isabs(os.readlink(link))
        assert link.resolve() == (app / "tandem").resolve()
    share = root / "usr" / "share"
    desktop = (share / "applications" / "tandem.desktop").read_text()
    assert "Exec=tandem\n" in desktop
    assert "Icon=tandem\n" in desktop
    for size in ICON_SIZES:
        assert (share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "tandem.png").is_file()
    assert (share / "icons" / "hicolor" / "scalable" / "apps" / "tandem.svg").is_file()
    assert "LGPL-3.0" in (share / "doc" / "tandem" / "copyright").read_text()


def _frozen_modules(executable: Path) -> set[str]:
    """The modules PyInstaller compiled into the executable's archive (pure-Python
    packages live there, not as files under _internal/)."""
    from PyInstaller.archive.readers import CArchiveReader

    return set(CArchiveReader(str(executable)).open_embedded_archive("PYZ.pyz").toc)


def test_installed_app_leaves_out_what_it_does_not_use(root: Path) -> None:
    internal = root / "opt" / "tandem" / "_internal"
    modules = _frozen_modules(root / "opt" / "tandem" / "tandem")
    names = {p.name for p in internal.rglob("*")} | {m.split(".")[0] for m in modules}
    assert not {n for n in names if "Qt6Quick" in n or "Qt6Qml" in n or "Qt6Pdf" in n}
    assert "server" not in {p.name for p in (internal / "llama_cpp").iterdir()}
    assert not {m for m in modules if m.startswith("llama_cpp.server")}
    assert not {"pytest", "mypy", "hf_xet"} & names
    assert {"fastapi", "uvicorn", "sse_starlette"} <= names  # the local API is shipped
    assert {"pypdf", "docx", "bs4", "safetensors"} <= names  # and the documents' readers
    assert {"app.server.api", "app.backends.local.embed_engine"} <= modules
    assert not {n for n in names if n.startswith(("libX11.", "libxcb.", "libstdc++."))}


def test_installed_self_test_passes_offline_with_the_bundled_model(
    root: Path, tmp_path: Path
) -> None:
    done = subprocess.run(
        [str(root / "usr" / "bin" / "tandem"), "--self-test", "--json"],
        env=_clean_env(tmp_path), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    report = json.loads(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert report["ok"] is True
    assert report["version"] == VERSION
    assert report["versions"]["frozen"] is True
    checks = {c["name"]: c for c in report["checks"]}
    assert_passed_or_warned_with_a_fix(checks)
    assert checks["model"]["data"]["source"] == "bundle"
    assert checks["model"]["data"]["path"].startswith(str(root / "opt" / "tandem"))
    engine = checks["engine"]["data"]
    assert engine["engine_pid"] != engine["app_pid"]
    assert engine["completion_tokens"] > 0
    assert "keyring.backends.SecretService" in checks["keyring"]["data"]["backends"]
    assert {"xcb", "wayland", "offscreen"} <= set(checks["qt-platform"]["data"]["loaded"]) | set(
        checks["qt-platform"]["data"]["unloadable"]
    )
    assert checks["qt-platform"]["data"]["missing"] == []
    assert checks["window"]["data"]["closed"] is True
    assert not (tmp_path / "tandem").exists()  # the self-test wrote nothing


def test_installed_cli_answers_offline_from_the_bundled_model(root: Path, tmp_path: Path) -> None:
    env = _clean_env(tmp_path)
    done = subprocess.run(
        [str(root / "usr" / "bin" / "tandem-cli"), "chat", "--json", "--temperature", "0",
         "--max-tokens", "8", "--ctx", "512", "Say hello."],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    answer = json.loads(done.stdout)
    assert answer["text"].strip()
    assert answer["completion_tokens"] > 0
    assert answer["privacy"] == "on this device"
    model = tmp_path / "tandem" / "data" / "models" / load_catalog().default.file
    assert model.is_symlink()
    assert model.resolve().is_relative_to((root / "opt" / "tandem").resolve())


def test_apt_installs_the_deb_on_a_minimal_debian_and_it_runs_offline(
    built: dict[str, Any],
) -> None:
    """A debootstrap root (cached outside the clone): `apt-get install ./tandem_*.deb`
    resolves Depends from the mirror, and then the window's platform plugin loads, the
    self-test passes with no warning and the CLI answers, all with no network."""
    sys.path.insert(0, str(REPO / "packaging"))
    try:
        import debian_root
    finally:
        sys.path.pop(0)
    reason = debian_root.why_not()
    if reason:
        pytest.skip(f"no Debian root here: {reason}")
    done = subprocess.run(
        [sys.executable, str(REPO / "packaging" / "debian_root.py"), "--json", "install-deb",
         built["deb"]],
        capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    result = json.loads(done.stdout)
    assert result["install_rc"] == 0, done.stderr[-4000:]
    assert result["self_test_rc"] == 0, done.stderr[-4000:]
    report = result["self_test"]
    checks = {c["name"]: c for c in report["checks"]}
    assert all(c["status"] == "passed" for c in checks.values()), checks
    assert "xcb" in checks["qt-platform"]["data"]["loaded"]
    assert checks["model"]["data"]["source"] == "bundle"
    assert result["chat_rc"] == 0, done.stderr[-4000:]
    assert result["chat"]["text"].strip()
    assert result["chat"]["privacy"] == "on this device"
