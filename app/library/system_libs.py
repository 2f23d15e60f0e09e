"""The system libraries a shared object cannot find, the packages that bring them, and the
one command that installs them on this distribution.

What is missing is read from `ldd` (every library in the tree of dependencies, not a list
kept by hand); which package brings a library follows each distribution's own naming:
Debian's policy (`libfoo.so.N` is in `libfooN`, or `libfoo-N` when foo ends in a digit),
Fedora's `dnf` resolving `libfoo.so.N()(64bit)` itself, Arch's `pacman -F`.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

# Where Debian's naming rule does not give the package's name.
_DEBIAN_EXCEPTIONS = {
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgobject-2.0.so.0": "libglib2.0-0",
    "libgio-2.0.so.0": "libglib2.0-0",
    "libgmodule-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libgdk-3.so.0": "libgtk-3-0",
    "libz.so.1": "zlib1g",
}
_LIBC = re.compile(r"^(libc|libm|libdl|libpthread|librt|libutil|libresolv|ld-linux[\w-]*)\.so")
_NOT_FOUND = re.compile(r"^\s*(\S+) => not found", re.M)
# A library that is there but cannot be loaded (damaged, wrong class) stops ldd at once.
_UNLOADABLE = re.compile(r"error while loading shared libraries: (\S+?): ", re.M)


class Family(StrEnum):
    """The package manager the install command is written for."""

    DEBIAN = "debian"
    FEDORA = "fedora"
    ARCH = "arch"
    OTHER = "other"


def family(os_release: Path = Path("/etc/os-release")) -> Family:
    """This Linux distribution's family, from `/etc/os-release` (ID and ID_LIKE)."""
    try:
        text = os_release.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return Family.OTHER
    ids: list[str] = []
    for key in ("ID", "ID_LIKE"):
        match = re.search(rf"^{key}=(.*)$", text, re.M)
        if match:
            ids.extend(match.group(1).strip().strip("\"'").lower().split())
    for name in ids:
        if name in ("debian", "ubuntu"):
            return Family.DEBIAN
        if name in ("fedora", "rhel", "centos"):
            return Family.FEDORA
        if name in ("arch", "manjaro"):
            return Family.ARCH
    return Family.OTHER


@dataclass(frozen=True, slots=True)
class LddReport:
    """What `ldd` could not resolve: libraries not found, and libraries found but unloadable
    (a damaged or foreign file, which needs reinstalling rather than installing)."""

    not_found: tuple[str, ...] = ()
    damaged: tuple[str, ...] = ()

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(sorted({*self.not_found, *self.damaged}))


def missing_libraries(files: Iterable[Path]) -> LddReport:
    """The sonames `ldd` cannot find or load for any of `files`, sorted, each once."""
    if shutil.which("ldd") is None:
        return LddReport()
    not_found: set[str] = set()
    damaged: set[str] = set()
    for path in files:
        if not path.is_file():
            continue
        done = subprocess.run(
            ["ldd", str(path)], capture_output=True, text=True, timeout=30, check=False
        )
        not_found.update(_NOT_FOUND.findall(done.stdout))
        damaged.update(Path(name).name for name in _UNLOADABLE.findall(done.stdout + done.stderr))
    return LddReport(tuple(sorted(not_found)), tuple(sorted(damaged)))


def debian_package_by_rule(soname: str) -> str | None:
    """The Debian package policy's name for a library's package (None: not a library name)."""
    if _LIBC.match(soname):
        return "libc6"
    if soname in _DEBIAN_EXCEPTIONS:
        return _DEBIAN_EXCEPTIONS[soname]
    match = re.match(r"^lib(.+)\.so\.(\d+)", soname)
    if not match:
        return None
    stem, major = match.group(1).lower().replace("_", "-"), match.group(2)
    return f"lib{stem}-{major}" if stem[-1].isdigit() else f"lib{stem}{major}"


def _dpkg_owner(path: str) -> str | None:
    if shutil.which("dpkg") is None:
        return None
    real = os.path.realpath(path)
    for candidate in dict.fromkeys(
        [path, real, real.replace("/usr/lib/", "/lib/", 1), real.replace("/lib/", "/usr/lib/", 1)]
    ):
        done = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if done.returncode == 0:
            return done.stdout.split(":", 1)[0].split(",")[0].strip()
    return None


def debian_package(soname: str, installed_at: str | None = None) -> str:
    """The Debian package that ships `soname`: the owner of the installed file, else by rule."""
    if installed_at:
        owner = _dpkg_owner(installed_at)
        if owner:
            return owner
    by_rule = debian_package_by_rule(soname)
    if by_rule is None:
        raise ValueError(f"cannot tell which Debian package has {soname}")
    return by_rule


@dataclass(frozen=True, slots=True)
class Fix:
    """What to install for a set of missing libraries on one distribution."""

    family: Family
    sonames: tuple[str, ...]
    packages: tuple[str, ...]  # Debian's names; empty where the package manager resolves them

    def command(self, *, reinstall: bool = False) -> str:
        """One line a person can paste into a terminal."""
        if self.family is Family.DEBIAN:
            flag = " --reinstall" if reinstall else ""
            return f"sudo apt-get install -y{flag} " + " ".join(self.packages)
        if self.family is Family.FEDORA:
            suffix = "()(64bit)" if platform.machine() in ("x86_64", "aarch64") else ""
            provides = " ".join(shlex.quote(f"{s}{suffix}") for s in self.sonames)
            verb = "reinstall" if reinstall else "install"
            return f"sudo dnf {verb} -y {provides}"
        if self.family is Family.ARCH:
            files = " ".join(f"/usr/lib/{s}" for s in self.sonames)
            return f"sudo pacman -Fy && sudo pacman -S --needed $(pacman -Fq {files})"
        return "install the packages that provide " + ", ".join(self.sonames)


def fix_for(sonames: Iterable[str], on: Family | None = None) -> Fix:
    names = tuple(sorted(set(sonames)))
    kind = on if on is not None else family()
    packages: tuple[str, ...] = ()
    if kind is Family.DEBIAN:
        found = (debian_package_by_rule(s) for s in names)
        packages = tuple(sorted({p for p in found if p}))
    return Fix(kind, names, packages)
