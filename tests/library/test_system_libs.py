"""Which package brings a missing system library, and the one command that installs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.library.system_libs import (
    Family,
    debian_package_by_rule,
    family,
    fix_for,
    missing_libraries,
)


@pytest.mark.parametrize(
    ("soname", "package"),
    [
        ("libxcb-icccm.so.4", "libxcb-icccm4"),
        ("libxcb-cursor.so.0", "libxcb-cursor0"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libEGL.so.1", "libegl1"),
        ("libdbus-1.so.3", "libdbus-1-3"),
        ("libgcc_s.so.1", "libgcc-s1"),
        ("libglib-2.0.so.0", "libglib2.0-0"),
        ("libz.so.1", "zlib1g"),
        ("libc.so.6", "libc6"),
        ("not-a-library", None),
    ],
)
def test_debian_names_follow_the_policy_rule_and_its_few_exceptions(
    soname: str, package: str | None
) -> None:
    assert debian_package_by_rule(soname) == package


def test_each_distribution_gets_one_line_it_can_paste() -> None:
    missing = ["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-icccm.so.4"]
    debian = fix_for(missing, Family.DEBIAN)
    assert debian.command() == "sudo apt-get install -y libxcb-icccm4 libxcb-keysyms1"
    assert debian.command(reinstall=True).startswith("sudo apt-get install -y --reinstall ")
    fedora = fix_for(missing, Family.FEDORA).command()
    assert fedora.startswith("sudo dnf install -y 'libxcb-icccm.so.4")
    assert "libxcb-keysyms.so.1" in fedora
    arch = fix_for(missing, Family.ARCH).command()
    assert arch.startswith("sudo pacman -Fy && sudo pacman -S --needed $(pacman -Fq ")
    assert "/usr/lib/libxcb-icccm.so.4 /usr/lib/libxcb-keysyms.so.1)" in arch
    assert "libxcb-icccm.so.4" in fix_for(missing, Family.OTHER).command()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('ID=debian\nVERSION_ID="12"\n', Family.DEBIAN),
        ('ID=linuxmint\nID_LIKE="ubuntu debian"\n', Family.DEBIAN),
        ('ID="fedora"\n', Family.FEDORA),
        ('ID=rocky\nID_LIKE="rhel centos fedora"\n', Family.FEDORA),
        ("ID=endeavouros\nID_LIKE=arch\n", Family.ARCH),
        ("ID=alpine\n", Family.OTHER),
        ("", Family.OTHER),
    ],
)
def test_the_distribution_is_read_from_os_release(
    tmp_path: Path, text: str, expected: Family
) -> None:
    release = tmp_path / "os-release"
    release.write_text(text)
    assert family(release) is expected
    assert family(tmp_path / "absent") is Family.OTHER


def test_ldd_reports_nothing_missing_for_python_itself() -> None:
    import sys

    found = missing_libraries([Path(sys.executable).resolve()])
    assert found.missing == ()
