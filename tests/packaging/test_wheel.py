"""`pip install .` / `pipx install .`: the wheel works like the checkout, with the catalog,
the prices, the icons and the desktop entry inside it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _listed_packages() -> set[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    return set(config["packages"])


def test_every_package_of_app_is_listed_for_the_wheel() -> None:
    found = {
        ".".join(init.parent.relative_to(REPO).parts)
        for init in (REPO / "app").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    missing = found - _listed_packages()
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"


def test_the_shipped_folders_are_found_through_importlib_resources() -> None:
    from app.core.shipped import shipped_dir
    from app.library.catalog import catalog_file
    from app.store.prices import shipped_prices_file

    assert shipped_dir("models") == REPO / "models"
    assert catalog_file() == REPO / "models" / "catalog.toml"
    assert shipped_prices_file() == REPO / "resources" / "prices.toml"


def _sources(target: Path) -> Path:
    """The files a clone has (what `pip install .` sees), without build outputs."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.mark.packaging
@pytest.mark.timeout(1500)
def test_an_installed_wheel_has_its_data_and_passes_the_self_test(
    default_model: Path, tmp_path: Path
) -> None:
    source = _sources(tmp_path / "src")
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = wheels.glob("tandem-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in (
        "app/shipped/models/catalog.toml",
        "app/shipped/resources/prices.toml",
        "app/shipped/resources/tandem.desktop",
        "app/shipped/resources/icons/tandem.svg",
        "app/shipped/resources/icons/tandem-256.png",
        "app/py.typed",
    ):
        assert shipped in names

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # pip's wheel cache holds llama-cpp-python's build from the set-up: no 8-minute rebuild.
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(wheel)],
        capture_output=True, text=True, timeout=1200,
        env={**os.environ, "CMAKE_ARGS": os.environ.get("CMAKE_ARGS", "")},
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-3000:]

    home = tmp_path / "home"
    (home / "data" / "models").mkdir(parents=True)
    (home / "data" / "models" / default_model.name).symlink_to(default_model)
    env = {
        "PATH": f"{env_dir / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "TANDEM_HOME": str(home),
        "QT_QPA_PLATFORM": "offscreen",
        "LANG": "C.UTF-8",
    }
    catalog = subprocess.run(
        [str(env_dir / "bin" / "tandem-cli"), "models", "catalog", "--json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert catalog.returncode == 0, catalog.stderr
    assert len(json.loads(catalog.stdout)) >= 10

    test = subprocess.run(
        [str(env_dir / "bin" / "tandem"), "--self-test", "--json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    report = json.loads(test.stdout)
    assert test.returncode == 0, test.stdout + test.stderr
    assert report["ok"] is True
    resources = next(c for c in report["checks"] if c["name"] == "resources")
    site = str(env_dir / "lib")
    assert resources["data"]["catalog"].startswith(site), resources["data"]
    assert resources["data"]["prices"].startswith(site), resources["data"]
    assert resources["data"]["icons"] == 8
