"""Render Tandem's icon for every platform from resources/icons/tandem.svg.

    python packaging/make_icons.py          # needs rsvg-convert (Debian: librsvg2-bin)

Writes resources/icons/tandem-{16..512}.png, packaging/windows/tandem.ico and
packaging/macos/tandem.icns. ICO and ICNS both hold PNG images, so they are written
here directly, with no imaging library. The outputs are committed; run this only when the
SVG changes.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ICONS = ROOT / "resources" / "icons"
SIZES = (16, 32, 48, 64, 128, 256, 512)
# ICNS entry types holding PNG data, by pixel size (the @2x types reuse larger images).
ICNS_TYPES = {16: [b"icp4"], 32: [b"icp5", b"ic11"], 64: [b"icp6", b"ic12"],
              128: [b"ic07"], 256: [b"ic08", b"ic13"], 512: [b"ic09", b"ic14"]}  # fmt: skip


def render_pngs() -> dict[int, bytes]:
    tool = shutil.which("rsvg-convert")
    if tool is None:
        sys.exit("rsvg-convert is missing: apt-get install librsvg2-bin")
    for size in SIZES:
        out = ICONS / f"tandem-{size}.png"
        subprocess.run(
            [tool, "-w", str(size), "-h", str(size), str(ICONS / "tandem.svg"), "-o", str(out)],
            check=True,
        )
    return {size: (ICONS / f"tandem-{size}.png").read_bytes() for size in SIZES}


def write_ico(pngs: dict[int, bytes], path: Path) -> None:
    sizes = [s for s in (16, 32, 48, 64, 128, 256) if s in pngs]
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, blobs = b"", b""
    for size in sizes:
        data = pngs[size]
        dim = 0 if size >= 256 else size  # 0 means 256 in the ICO directory
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
        blobs += data
    path.write_bytes(header + entries + blobs)


def write_icns(pngs: dict[int, bytes], path: Path) -> None:
    body = b""
    for size, kinds in ICNS_TYPES.items():
        for kind in kinds:
            body += kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size]
    path.write_bytes(b"icns" + struct.pack(">I", 8 + len(body)) + body)


def main() -> None:
    pngs = render_pngs()
    write_ico(pngs, ROOT / "packaging" / "windows" / "tandem.ico")
    write_icns(pngs, ROOT / "packaging" / "macos" / "tandem.icns")
    print("icons written")


if __name__ == "__main__":
    main()
