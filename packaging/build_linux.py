"""Build Tandem's Linux artefacts: the frozen folder, a .deb, a .tar.gz, and an AppImage.

    .venv/bin/python packaging/build_linux.py [--dist dist] [--only deb] [--json] [--force]

`make package` runs it with `--dist dist`. Everything is cached under build/package/KEY/,
KEY being a hash of what goes in (app/, resources/, models/catalog.toml, packaging/,
pyproject.toml, the installed packages and llama.cpp's libraries, the default model): a
second run with the same inputs reuses the frozen app and the artefacts, so tests can call
this cheaply. The version comes from pyproject.toml; the llama.cpp backend (CPU, CUDA,
Vulkan) is whatever llama-cpp-python in this environment was built with.

Needs: PyInstaller (pip install -e '.[package]'), dpkg-deb, binutils (readelf, strip).
The AppImage is made only where `appimagetool` is on PATH (no registry ships it); the
AppDir it would pack is always left in build/package/KEY/ (see packaging/README.md).
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path

from app.library.system_libs import debian_package

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
CACHE = ROOT / "build" / "package"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)
MAINTAINER = "Tandem maintainers <maintainers@tandem.invalid>"
KEEP_CACHED_BUILDS = 1
# zstd -12 packs nearly as tight as xz -6 in a fraction of the time; `make package` prints the size.
# Every system the app runs on (glibc >= 2.35: Debian 12, Ubuntu 22.04 and later) has a
# dpkg that reads zstd.
DEB_COMPRESSION = ("-Zzstd", "-z12")

# ----- small helpers


def log(message: str) -> None:
    sys.stderr.write(f"[package] {message}\n")
    sys.stderr.flush()


def human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit in ("B", "KB") else f"{size:,.1f} {unit}"
        size /= 1000
    return f"{size} B"


def tree_size(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_symlink() or p.is_file())


def project() -> dict[str, object]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return dict(data["project"])


def default_model_entry() -> dict[str, object]:
    catalog = tomllib.loads((ROOT / "models" / "catalog.toml").read_text())
    return next(m for m in catalog["model"] if m["id"] == catalog["default"]["id"])


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a tool; its output goes to stderr, keeping stdout for the report."""
    return subprocess.run(cmd, check=True, text=True, stdout=sys.stderr, **kwargs)  # type: ignore[call-overload,no-any-return]


# ----- inputs


def find_model(explicit: str | None) -> Path:
    """The default model to embed: --model, $TANDEM_BUNDLE_MODEL, or fetched into .test-home."""
    entry = default_model_entry()
    name = str(entry["file"])
    candidates = [explicit, os.environ.get("TANDEM_BUNDLE_MODEL")]
    if os.environ.get("TANDEM_HOME"):
        candidates.append(str(Path(os.environ["TANDEM_HOME"]) / "data" / "models" / name))
    candidates.append(str(ROOT / ".test-home" / "data" / "models" / name))
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            path = Path(candidate).resolve()
            break
    else:
        log("the default model is not here yet; fetching it (once) into .test-home")
        env = {**os.environ, "TANDEM_HOME": str(ROOT / ".test-home")}
        run([sys.executable, "-m", "app.cli", "models", "fetch-default"], cwd=ROOT, env=env)
        path = ROOT / ".test-home" / "data" / "models" / name
    if path.name != name or path.stat().st_size != entry["size_bytes"]:
        sys.exit(f"{path} is not the catalog's default model {name}")
    if entry.get("sha256") and sha256_file(path) != entry["sha256"]:
        sys.exit(f"{path} does not match the catalog's sha256; fetch it again")
    return path


def llama_lib_dir() -> Path:
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or spec.origin is None:
        sys.exit("llama-cpp-python is not installed in this environment")
    return Path(spec.origin).parent / "lib"


def llama_backend() -> str:
    """Which GPU backend llama.cpp was built with, from the libraries it installed."""
    names = " ".join(p.name for p in llama_lib_dir().iterdir())
    for backend in ("cuda", "vulkan", "metal", "hip", "sycl"):
        if f"ggml-{backend}" in names:
            return backend
    return "cpu"


def _input_files() -> Iterator[Path]:
    for folder in ("app", "resources", "packaging"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                yield path
    yield ROOT / "models" / "catalog.toml"
    yield ROOT / "pyproject.toml"


def input_key(model: Path) -> str:
    digest = hashlib.sha256()
    for path in _input_files():
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    dists = sorted(f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions())
    digest.update("\n".join(dists).encode())
    for lib in sorted(llama_lib_dir().iterdir()):
        digest.update(f"{lib.name}:{lib.stat().st_size}".encode())
    digest.update(
        f"{sys.version}|{platform.machine()}|{model.name}:{model.stat().st_size}".encode()
    )
    return digest.hexdigest()[:16]


# ----- the frozen folder


def freeze(work: Path, model: Path) -> Path:
    """Run PyInstaller into work/tandem (reused when it is already complete)."""
    frozen = work / "tandem"
    if (work / ".frozen").is_file() and frozen.is_dir():
        log(f"reusing the frozen app in {frozen.relative_to(ROOT)}")
        return frozen
    try:
        import PyInstaller  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        sys.exit("PyInstaller is missing: .venv/bin/pip install -e '.[package]'")
    shutil.rmtree(frozen, ignore_errors=True)
    log("freezing with PyInstaller (about a minute on 2 cores)")
    started = time.perf_counter()
    env = {**os.environ, "TANDEM_BUNDLE_MODEL": str(model)}
    run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(work), "--workpath", str(CACHE / "pyinstaller-work"),
         str(PACKAGING / "tandem.spec")],
        cwd=ROOT, env=env,
    )  # fmt: skip
    saved = strip_binaries(frozen)
    log(f"froze in {time.perf_counter() - started:.0f} s; stripping saved {human(saved)}")
    (work / ".frozen").write_text(time.strftime("%Y-%m-%d %H:%M:%S\n"))
    return frozen


def elf_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as fh:
                if fh.read(4) == b"\x7fELF":
                    yield path


def _has_symbols(path: Path) -> bool:
    out = subprocess.run(["readelf", "-S", "-W", str(path)], capture_output=True, text=True)
    return ".symtab" in out.stdout


def strip_binaries(folder: Path) -> int:
    """Strip debugging symbols, except from libraries auditwheel patched (stripping breaks
    their program headers: numpy's OpenBLAS then fails with "ELF load command ... not
    page-aligned")."""
    if shutil.which("strip") is None or shutil.which("readelf") is None:
        log("binutils missing; not stripping")
        return 0
    saved = 0
    for path in elf_files(folder):
        parts = path.relative_to(folder).parts
        if any(p.endswith(".libs") or p == "numpy" for p in parts) or not _has_symbols(path):
            continue
        before = path.stat().st_size
        subprocess.run(["strip", "--strip-unneeded", str(path)], check=False)
        saved += before - path.stat().st_size
    return saved


# ----- what the frozen app needs from the system


# Libraries that come with the app, never from the system: one missing from the bundle is a
# broken build, not a dependency.
_BUNDLED = re.compile(r"^lib(Qt6\w+|pyside6[\w.]*|shiboken6[\w.]*|llama|ggml[\w-]*)\.so")
# Plugins whose system libraries are optional: Qt skips a plugin that cannot load.
_OPTIONAL = re.compile(r"plugins/(platformthemes/\w*gtk3\.|wayland-graphics-integration-client/)")
# GLIBCXX_3.4.N -> the GCC release whose libstdc++ first had it.
_GLIBCXX_GCC = {28: "10", 29: "11", 30: "12", 31: "13", 32: "14", 33: "15"}


def _needed(path: Path) -> tuple[list[str], list[str]]:
    """(DT_NEEDED sonames, symbol versions required) of one ELF file."""
    dynamic = subprocess.run(["readelf", "-d", "-W", str(path)], capture_output=True, text=True)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic.stdout)
    versions = subprocess.run(["readelf", "-V", "-W", str(path)], capture_output=True, text=True)
    return needed, re.findall(r"Name: ((?:GLIBC|GLIBCXX)_[\d.]+)", versions.stdout)


def _ldconfig() -> dict[str, str]:
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    found: dict[str, str] = {}
    for name, flags, path in re.findall(r"^\s*(\S+) \(([^)]*)\) => (\S+)$", out, re.M):
        if platform.machine() != "x86_64" or "x86-64" in flags:
            found.setdefault(name, path)
    return found


def _package_of(soname: str, system: dict[str, str]) -> str:
    package = debian_package(soname, system.get(soname))
    if soname not in system and package != "libc6":
        log(f"taking {soname} to be in {package} (not installed here to check)")
    return package


def system_dependencies(frozen: Path) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """(Depends, Recommends, {package: [sonames]}) for the frozen folder."""
    inside = {p.name for p in frozen.rglob("*")}
    core: set[str] = set()
    optional: set[str] = set()
    glibc, glibcxx = (2, 17), 0
    left_out: dict[str, str] = {}
    for path in elf_files(frozen):
        needed, versions = _needed(path)
        missing = {n for n in needed if n not in inside}
        left_out.update({n: path.name for n in missing if _BUNDLED.match(n)})
        (optional if _OPTIONAL.search(str(path)) else core).update(missing)
        for version in versions:
            kind, _, number = version.partition("_")
            parts = tuple(int(x) for x in number.split("."))
            if kind == "GLIBC":
                glibc = max(glibc, (parts[0], parts[1] if len(parts) > 1 else 0))
            elif len(parts) == 3:
                glibcxx = max(glibcxx, parts[2])
    if left_out:
        (frozen.parent / ".frozen").unlink(missing_ok=True)  # freeze again next time
        names = ", ".join(f"{lib} (needed by {user})" for lib, user in sorted(left_out.items()))
        raise SystemExit(
            f"the frozen app lacks {names}: PyInstaller leaves out a library whose own "
            "system libraries do not load here. Run `make setup` (it installs what Qt "
            "needs), then build again."
        )
    system = _ldconfig()
    by_package: dict[str, list[str]] = {}
    for soname in sorted(core | optional):
        by_package.setdefault(_package_of(soname, system), []).append(soname)
    core_packages = {_package_of(s, system) for s in core}
    depends = []
    for package in sorted(core_packages):
        if package == "libc6":
            package += f" (>= {glibc[0]}.{glibc[1]})"
        elif package == "libstdc++6" and glibcxx in _GLIBCXX_GCC:
            package += f" (>= {_GLIBCXX_GCC[glibcxx]})"
        depends.append(package)
    recommends = sorted({_package_of(s, system) for s in optional} - core_packages)
    return depends, recommends, by_package


# ----- artefacts


def _copy_tree(source: Path, target: Path) -> None:
    """Hard links where the file system allows (fast, no extra space), else copies."""

    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, symlinks=True, copy_function=link_or_copy)


def _desktop_files(share: Path) -> None:
    """The .desktop entry and the icons, laid out under a `share/` folder."""
    (share / "applications").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "resources" / "tandem.desktop", share / "applications" / "tandem.desktop")
    icons = ROOT / "resources" / "icons"
    for size in ICON_SIZES:
        folder = share / "icons" / "hicolor" / f"{size}x{size}" / "apps"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(icons / f"tandem-{size}.png", folder / "tandem.png")
    scalable = share / "icons" / "hicolor" / "scalable" / "apps"
    scalable.mkdir(parents=True, exist_ok=True)
    shutil.copy(icons / "tandem.svg", scalable / "tandem.svg")


def build_deb(
    frozen: Path, out: Path, version: str, backend: str
) -> tuple[Path, dict[str, object]]:
    package = "tandem" if backend == "cpu" else f"tandem-{backend}"
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    target = out / f"{package}_{version}_{arch}.deb"
    saved = out / "deb-dependencies.json"
    if target.is_file() and saved.is_file():
        return target, dict(json.loads(saved.read_text()))
    depends, recommends, by_package = system_dependencies(frozen)
    info: dict[str, object] = {
        "depends": depends,
        "recommends": recommends,
        "libraries": by_package,
    }
    root = out / "deb-root"
    shutil.rmtree(root, ignore_errors=True)
    _copy_tree(frozen, root / "opt" / "tandem")
    (root / "usr" / "bin").mkdir(parents=True)
    for name in ("tandem", "tandem-cli"):
        (root / "usr" / "bin" / name).symlink_to(f"../../opt/tandem/{name}")
    _desktop_files(root / "usr" / "share")
    doc = root / "usr" / "share" / "doc" / package
    doc.mkdir(parents=True)
    shutil.copy(PACKAGING / "THIRD-PARTY-NOTICES.txt", doc / "copyright")
    extra = "" if backend == "cpu" else "Provides: tandem\nConflicts: tandem\nReplaces: tandem\n"
    fields = {
        "PACKAGE": package,
        "VERSION": version,
        "ARCH": arch,
        "MAINTAINER": MAINTAINER,
        "INSTALLED_SIZE": str(tree_size(root) // 1024),
        "DEPENDS": ", ".join(depends),
        "RECOMMENDS": ", ".join(recommends),
        "EXTRA": extra,
        "BACKEND": "CPU" if backend == "cpu" else backend.upper(),
    }
    control = (PACKAGING / "linux" / "control.in").read_text()
    for key, value in fields.items():
        control = control.replace(f"@{key}@", value)
    if not recommends:
        control = control.replace("Recommends: \n", "")
    (root / "DEBIAN").mkdir(mode=0o755)
    (root / "DEBIAN" / "control").write_text(control)
    for path in root.rglob("*"):
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    log(f"building {target.name} ({' '.join(DEB_COMPRESSION)})")
    partial = target.with_suffix(".part")
    run(["dpkg-deb", "--root-owner-group", *DEB_COMPRESSION, "--build", str(root), str(partial)])
    partial.rename(target)
    saved.write_text(json.dumps(info, indent=2))
    shutil.rmtree(root)
    return target, info


def build_tarball(frozen: Path, out: Path, version: str, backend: str) -> Path:
    suffix = "" if backend == "cpu" else f"-{backend}"
    name = f"tandem{suffix}-{version}-linux-{platform.machine()}"
    target = out / f"{name}.tar.gz"
    if target.is_file():
        return target
    extras = out / "tar-extras"
    shutil.rmtree(extras, ignore_errors=True)
    _desktop_files(extras / "share")
    shutil.copy(PACKAGING / "linux" / "install-desktop-entry.sh", extras)
    log(f"building {target.name}")
    partial = target.with_suffix(".part")
    with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
        tar.add(frozen, arcname=name)
        for item in sorted(extras.iterdir()):
            tar.add(item, arcname=f"{name}/{item.name}")
    partial.rename(target)
    shutil.rmtree(extras)
    return target


def build_appimage(frozen: Path, out: Path, version: str) -> Path | None:
    """Lay out Tandem.AppDir; pack it where appimagetool is on PATH."""
    appdir = out / "Tandem.AppDir"
    target = out / f"Tandem-{version}-{platform.machine()}.AppImage"
    if target.is_file():
        return target
    shutil.rmtree(appdir, ignore_errors=True)
    _copy_tree(frozen, appdir / "usr" / "lib" / "tandem")
    _desktop_files(appdir / "usr" / "share")
    shutil.copy(PACKAGING / "linux" / "appimage" / "AppRun", appdir / "AppRun")
    (appdir / "AppRun").chmod(0o755)
    shutil.copy(ROOT / "resources" / "tandem.desktop", appdir / "tandem.desktop")
    shutil.copy(ROOT / "resources" / "icons" / "tandem-256.png", appdir / "tandem.png")
    (appdir / ".DirIcon").symlink_to("tandem.png")
    tool = os.environ.get("APPIMAGETOOL") or shutil.which("appimagetool")
    if tool is None:
        log(f"AppImage skipped: no appimagetool; the AppDir is in {appdir.relative_to(ROOT)}")
        return None
    env = {**os.environ, "ARCH": platform.machine()}
    run([tool, "--no-appstream", str(appdir), str(target)], env=env)
    return target


# ----- the whole build


def _prune_cache(keep: str) -> None:
    builds = sorted(
        (p for p in CACHE.iterdir() if p.is_dir() and re.fullmatch(r"[0-9a-f]{16}", p.name)),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in [p for p in builds if p.name != keep][KEEP_CACHED_BUILDS - 1 :]:
        shutil.rmtree(old, ignore_errors=True)


def top_items(frozen: Path, count: int = 12) -> list[tuple[str, int]]:
    internal = frozen / "_internal"
    items = [(p.name, tree_size(p)) for p in internal.iterdir()]
    items += [(p.name, tree_size(p)) for p in frozen.iterdir() if p.name != "_internal"]
    return sorted(items, key=lambda item: -item[1])[:count]


def build(only: Iterable[str], model_arg: str | None, force: bool) -> dict[str, object]:
    started = time.perf_counter()
    version = str(project()["version"])
    installed = importlib.metadata.version("tandem")
    if installed != version:
        sys.exit(
            f"pyproject.toml says {version} but the installed tandem is {installed}: "
            "reinstall it (make setup) so the app reports the same version"
        )
    model = find_model(model_arg)
    backend = llama_backend()
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        key = input_key(model)
        work = CACHE / key
        if force:
            shutil.rmtree(work, ignore_errors=True)
        work.mkdir(exist_ok=True)
        reused = (work / ".frozen").is_file()
        frozen = freeze(work, model)
        out = work / "out"
        out.mkdir(exist_ok=True)
        result: dict[str, object] = {
            "version": version,
            "backend": backend,
            "key": key,
            "reused": reused,
            "frozen": str(frozen),
            "frozen_bytes": tree_size(frozen),
            "top_items": top_items(frozen),
        }
        only = set(only)
        if "deb" in only:
            deb, info = build_deb(frozen, out, version, backend)
            result.update(deb=str(deb), deb_bytes=deb.stat().st_size, **info)
        if "tar" in only:
            tarball = build_tarball(frozen, out, version, backend)
            result.update(tar=str(tarball), tar_bytes=tarball.stat().st_size)
        if "appimage" in only:
            image = build_appimage(frozen, out, version)
            result.update(appimage=str(image) if image else None)
        _prune_cache(key)
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def copy_to_dist(result: dict[str, object], dist: Path) -> None:
    dist.mkdir(parents=True, exist_ok=True)
    for kind in ("deb", "tar", "appimage"):
        if result.get(kind):
            source = Path(str(result[kind]))
            shutil.copy2(source, dist / source.name)
            result[kind] = str(dist / source.name)


def report(result: dict[str, object]) -> None:
    cached = " (frozen app reused)" if result["reused"] else ""
    print(f"Tandem {result['version']}, {result['backend']} build, inputs {result['key']}{cached}, "
          f"{result['seconds']} s")  # fmt: skip
    print(f"  frozen folder {human(int(str(result['frozen_bytes'])))}: {result['frozen']}")
    for name, size in result["top_items"]:  # type: ignore[attr-defined]
        print(f"    {human(size):>10}  {name}")
    for kind in ("deb", "tar", "appimage"):
        if result.get(kind):
            path = Path(str(result[kind]))
            print(f"  {kind:<8} {human(path.stat().st_size):>10}  {path}")
    if result.get("depends"):
        print("  Depends: " + ", ".join(result["depends"]))  # type: ignore[arg-type]
    if result.get("recommends"):
        print("  Recommends: " + ", ".join(result["recommends"]))  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", choices=("deb", "tar", "appimage"),
                        help="build only these artefacts (repeatable); default: all")  # fmt: skip
    parser.add_argument("--dist", type=Path, help="copy the artefacts into this folder")
    parser.add_argument("--model", help="the default model's .gguf to embed")
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    if not sys.platform.startswith("linux"):
        sys.exit("build_linux.py builds Linux artefacts; see packaging/README.md for the others")
    result = build(args.only or ("deb", "tar", "appimage"), args.model, args.force)
    if args.dist is not None:
        copy_to_dist(result, args.dist)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        report(result)


if __name__ == "__main__":
    main()
