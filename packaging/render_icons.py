"""Render the app icon from resources/*.svg: PNGs for Linux and the window, .ico for Windows, .icns for macOS.

A maintainer's step, run when the SVG changes (the results are committed):
    python packaging/render_icons.py
Needs rsvg-convert (Debian: librsvg2-bin) and Pillow; neither is a dependency of the app.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_ID = "io.github.longwriter.LongWriterDesktop"
SVG = ROOT / "resources" / f"{APP_ID}.svg"
# The window icon ships inside the package, so it is found from source and in a bundle alike.
PACKAGE_ICONS = ROOT / "longwriter_desktop" / "resources"
SIZES = (16, 32, 48, 64, 128, 256, 512)


def render_png(size: int, out: Path) -> None:
    """One square PNG of the SVG at ``size`` pixels."""
    subprocess.run(["rsvg-convert", "-w", str(size), "-h", str(size), str(SVG), "-o", str(out)], check=True)


def main() -> int:
    """Write every icon file next to the SVG and into the package."""
    if shutil.which("rsvg-convert") is None:
        print("rsvg-convert is missing: sudo apt-get install librsvg2-bin", file=sys.stderr)
        return 1
    try:
        from PIL import Image
    except ImportError:
        print("Pillow is missing: pip install pillow (a build-time tool only)", file=sys.stderr)
        return 1
    PACKAGE_ICONS.mkdir(parents=True, exist_ok=True)
    pngs: dict[int, Path] = {}
    for size in SIZES:
        pngs[size] = PACKAGE_ICONS / f"longwriter-desktop-{size}.png"
        render_png(size, pngs[size])
    largest = Image.open(pngs[512]).convert("RGBA")
    largest.save(ROOT / "resources" / f"{APP_ID}.ico",
                 sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])
    # ICNS takes its sizes from the image: Pillow writes 16 to 512 (and 1024 when given) from one picture.
    largest.save(ROOT / "resources" / f"{APP_ID}.icns")
    print(f"Wrote {len(pngs)} PNGs to {PACKAGE_ICONS.relative_to(ROOT)}, .ico and .icns to resources/.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
