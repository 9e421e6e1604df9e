"""Build the second evaluation set ``eval2``: photos unlike the training wallpapers.

The training/validation photos come from Debian wallpaper packages (lomiri-wallpapers,
mate-backgrounds, plasma-workspace-wallpapers). ``eval2`` takes the photographs of a different
Debian source package, ``palapeli`` (binary ``palapeli-data``, KDE's jigsaw game): a castle, a
bridge at night, backlit citrus slices, a honey bee on an aster and a panther chameleon — each
with its author and licence in the ``.desktop`` file beside it.

The sources are JPEGs, so each is down-scaled at least 2x (Pillow LANCZOS, antialiased) to wash
out its own compression, to at most ``--max-side`` pixels on the long side, centre-cropped to a
multiple of 16 and written as PNG, with ``SOURCES.tsv`` and the package's copyright file.

Usage::

    python -m explorable_jpeg_train.prepare_eval2 [--out data_cache/eval2] [--extracted DIR]

Without ``--extracted`` the script runs ``apt-get download palapeli-data`` and ``dpkg -x`` in a
temporary folder (needs a Debian/Ubuntu system with the bookworm archive, no root).
"""

from __future__ import annotations

import argparse
import configparser
import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

from PIL import Image

log = logging.getLogger(__name__)

PACKAGE = "palapeli-data"
SOURCE_PACKAGE = "palapeli"
COLLECTION = Path("usr/share/palapeli/collection")
COPYRIGHT = Path("usr/share/doc/palapeli-data/copyright")
MAX_IMAGES = 8


def download_and_extract(workdir: Path) -> tuple[Path, str]:
    """``apt-get download`` the package into ``workdir`` and ``dpkg -x`` it; (root, version)."""
    subprocess.run(["apt-get", "download", PACKAGE], cwd=workdir, check=True)
    debs = sorted(workdir.glob(f"{PACKAGE}_*.deb"))
    if not debs:
        raise FileNotFoundError(f"apt-get download left no {PACKAGE}_*.deb in {workdir}")
    deb = debs[-1]
    version = subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Version"], check=True, capture_output=True, text=True
    ).stdout.strip()
    root = workdir / "extracted"
    subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    return root, version


def desktop_info(jpg: Path) -> dict[str, str]:
    """Name, author and licence from the puzzle's ``.desktop`` file (empty strings if absent)."""
    info = {"name": "", "author": "", "licence": ""}
    desk = jpg.with_suffix(".desktop")
    if not desk.exists():
        return info
    cp = configparser.ConfigParser(interpolation=None, strict=False)
    cp.optionxform = str  # keep key case
    cp.read(desk, encoding="utf-8")
    if cp.has_section("Desktop Entry"):
        sec = cp["Desktop Entry"]
        info["name"] = sec.get("Name", "")
        info["author"] = sec.get("X-KDE-PluginInfo-Author", "")
        info["licence"] = sec.get("X-KDE-PluginInfo-License", "")
    return info


def downscale(im: Image.Image, max_side: int, min_factor: float = 2.0) -> Image.Image:
    """Antialiased (LANCZOS) down-scale by ``max(min_factor, long_side / max_side)``, then a
    centre crop to multiples of 16."""
    w, h = im.size
    factor = max(min_factor, max(w, h) / max_side)
    nw, nh = max(16, round(w / factor)), max(16, round(h / factor))
    small = im.resize((nw, nh), Image.Resampling.LANCZOS)
    cw, ch = nw - nw % 16, nh - nh % 16
    x0, y0 = (nw - cw) // 2, (nh - ch) // 2
    return small.crop((x0, y0, x0 + cw, y0 + ch))


def prepare(root: Path, out: Path, version: str, max_side: int = 768) -> list[dict[str, str]]:
    """Write the PNGs, ``SOURCES.tsv`` and ``copyright`` of the extracted package to ``out``."""
    jpgs = sorted((root / COLLECTION).glob("*.jpg"))[:MAX_IMAGES]
    if not jpgs:
        raise FileNotFoundError(f"no photos under {root / COLLECTION}")
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for jpg in jpgs:
        with Image.open(jpg) as im:
            rgb = im.convert("RGB")
        small = downscale(rgb, max_side)
        name = jpg.stem + ".png"
        small.save(out / name)
        info = desktop_info(jpg)
        rows.append(
            {
                "file": name,
                "package": f"{PACKAGE} (source {SOURCE_PACKAGE}) {version}",
                "original_path": "/" + str(jpg.relative_to(root)),
                "original_size": f"{rgb.width}x{rgb.height}",
                "stored_size": f"{small.width}x{small.height}",
                "title": info["name"],
                "author": info["author"],
                "licence": info["licence"] or "see copyright",
            }
        )
        log.info("%s: %dx%d -> %dx%d", name, rgb.width, rgb.height, small.width, small.height)
    cols = list(rows[0])
    lines = ["\t".join(cols)] + ["\t".join(r[c] for c in cols) for r in rows]
    (out / "SOURCES.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if (root / COPYRIGHT).exists():
        shutil.copyfile(root / COPYRIGHT, out / f"{PACKAGE}.copyright")
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("data_cache/eval2"))
    ap.add_argument(
        "--extracted",
        type=Path,
        default=None,
        help="root of an already `dpkg -x`-extracted palapeli-data (skips apt-get download)",
    )
    ap.add_argument("--version", default="", help="package version (with --extracted)")
    ap.add_argument("--max-side", type=int, default=768)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.extracted is not None:
        prepare(args.extracted, args.out, args.version or "unknown", args.max_side)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root, version = download_and_extract(Path(tmp))
        prepare(root, args.out, version, args.max_side)
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
