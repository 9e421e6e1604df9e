"""Build ``train_extra``: more lossless training photos from Debian wallpaper packages.

The base training set (``data_cache/train``, listed in ``/work/shared/datasets/photos/SOURCES.tsv``)
already holds every photograph of lomiri-wallpapers-16.04/-20.04, mate-backgrounds and
plasma-workspace-wallpapers except the five validation photos. This script adds the photographs
left in those packages (two mate-backgrounds ``nature/`` JPEGs) and those of ``lxqt-themes``
(LXQt's wallpapers: butterflies, flowers, clouds, mountains, fog, a water drop). ukui-wallpapers,
gnome-backgrounds, xfdesktop4-data, sway-backgrounds, the rest of lomiri-wallpapers and the rest of
mate/plasma were looked at and hold only vector art, 3D renders, gradients or logos.

The photos are picked by an explicit allow-list (:data:`SELECTION`), chosen by looking at every
image of the packages. ``palapeli-data`` (the held-out ``eval2`` set) is never read; the five
validation photos and every file of the base train set are refused by name, and any output that
looks like an image of ``--exclude-dir`` (a difference hash of the down-scaled picture) is
dropped as a near-copy (close difference hash and close 32x32 colour thumbnail).

Down-scaling (antialiased, Pillow LANCZOS): a JPEG source is reduced by
``max(2, long_side / max_side)`` to wash out its own compression; a PNG source only so that its long
side is at most ``max_side`` (1280 px, like the base train set). Output: RGB PNGs named
``<package>__<stem>.png``, plus ``SOURCES.tsv`` and each package's copyright file.

Usage::

    python -m explorable_jpeg_train.prepare_extra [--out data_cache/train_extra] [--debs DIR]

Without ``--debs`` (a folder holding the ``<package>_*.deb`` files) the script runs
``apt-get download`` in a temporary folder (needs the Debian bookworm archive, no root).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import Image

log = logging.getLogger(__name__)

MAX_SIDE = 1280
JPEG_MIN_FACTOR = 2.0
#: Outputs above this total are an error: the folder travels to the GPU machine with ``train``.
BUDGET_BYTES = 22_000_000
#: Packages that must never feed training (``palapeli-data`` is the held-out ``eval2`` set).
FORBIDDEN_PACKAGES = frozenset({"palapeli-data", "palapeli"})
#: The validation photos (``split == val`` in the shared SOURCES.tsv), by package and stem.
VAL_PHOTOS = frozenset(
    {
        ("lomiri-wallpapers-16.04", "aitzgorri_by_Aitzol_Berasategi"),
        ("mate-backgrounds", "RainDrops"),
        ("plasma-workspace-wallpapers", "ColorfulCups"),
        ("plasma-workspace-wallpapers", "Grey"),
        ("plasma-workspace-wallpapers", "Path"),
    }
)
SHARED_SOURCES = Path("/work/shared/datasets/photos/SOURCES.tsv")
DEFAULT_EXCLUDE_DIRS = (
    Path("data_cache/train"),
    Path("data_cache/eval2"),
    Path("/work/shared/datasets/photos/train"),
    Path("/work/shared/datasets/photos/val"),
)
#: Hamming distance (of 64 bits) at or under which two difference hashes may be one photo ...
NEAR_COPY_BITS = 10
#: ... confirmed when their 32x32 RGB thumbnails differ by at most this mean absolute level.
NEAR_COPY_MAD = 16.0


@dataclass(frozen=True)
class Pick:
    """One allow-listed photograph: its binary package, path inside it and what it shows."""

    package: str
    path: str
    subject: str
    max_side: int = MAX_SIDE

    @property
    def stem(self) -> str:
        return PurePosixPath(self.path).stem

    @property
    def output_name(self) -> str:
        return output_name(self.package, self.path)


LXQT = "usr/share/lxqt/wallpapers"
MATE = "usr/share/backgrounds/mate/nature"
SELECTION: tuple[Pick, ...] = (
    Pick("lxqt-themes", f"{LXQT}/Butterfly-Kenneth-Wimer.jpg", "butterfly on dry flower heads"),
    Pick("lxqt-themes", f"{LXQT}/butterfly.png", "swallowtail on a thistle, dark bokeh"),
    Pick("lxqt-themes", f"{LXQT}/appleflower.png", "apple blossom twig, green bokeh"),
    Pick("lxqt-themes", f"{LXQT}/flowers.png", "meadow of wild flowers"),
    Pick("lxqt-themes", f"{LXQT}/drop.png", "water drop on a grass blade"),
    Pick("lxqt-themes", f"{LXQT}/Valendas.png", "mountain ridge under clouds"),
    Pick("lxqt-themes", f"{LXQT}/after-the-rain.jpg", "sunset clouds over a dark ridge"),
    Pick("lxqt-themes", f"{LXQT}/beam.png", "sun beams through storm clouds"),
    Pick("lxqt-themes", f"{LXQT}/cloud.png", "altocumulus sky"),
    Pick("lxqt-themes", f"{LXQT}/fog.jpg", "fog over a ploughed field"),
    Pick("lxqt-themes", f"{LXQT}/this-is-not-windows.jpg", "green hills, blue sky"),
    Pick("mate-backgrounds", f"{MATE}/FreshFlower.jpg", "orange flower close-up"),
    Pick("mate-backgrounds", f"{MATE}/GreenMeadow.jpg", "young grass close-up"),
)


def output_name(package: str, path: str) -> str:
    """``<package>__<stem>.png`` for a file ``path`` of ``package``."""
    return f"{package}__{PurePosixPath(path).stem}.png"


def is_jpeg_path(path: str) -> bool:
    """Whether ``path`` names a JPEG file (by its extension)."""
    return PurePosixPath(path).suffix.lower() in {".jpg", ".jpeg"}


def scale_factor(width: int, height: int, jpeg: bool, max_side: int = MAX_SIDE) -> float:
    """Down-scale factor (>= 1): ``max(2, long / max_side)`` for a JPEG, else
    ``max(1, long / max_side)`` so that the long side ends at most ``max_side``."""
    floor = JPEG_MIN_FACTOR if jpeg else 1.0
    return max(floor, max(width, height) / max_side)


def target_size(width: int, height: int, factor: float) -> tuple[int, int]:
    """Size divided by ``factor`` (truncated, at least 1 px); unchanged if ``factor <= 1``."""
    if factor <= 1.0:
        return width, height
    # floor-ish rounding so that long / factor == max_side never rounds to max_side + 1
    return max(1, int(width / factor + 1e-6)), max(1, int(height / factor + 1e-6))


def downscale(im: Image.Image, factor: float) -> Image.Image:
    """Antialiased (LANCZOS) down-scale of ``im`` by ``factor`` (a copy when ``factor <= 1``)."""
    size = target_size(im.width, im.height, factor)
    if size == im.size:
        return im.copy()
    return im.resize(size, Image.Resampling.LANCZOS)


def dhash(im: Image.Image) -> int:
    """64-bit difference hash (9x8 grey thumbnail, left/right comparisons) of ``im``."""
    small = im.convert("L").resize((9, 8), Image.Resampling.LANCZOS)
    px = small.tobytes()
    bits = 0
    for y in range(8):
        for x in range(8):
            bits = (bits << 1) | int(px[y * 9 + x] > px[y * 9 + x + 1])
    return bits


def thumb(im: Image.Image) -> bytes:
    """32x32 RGB thumbnail bytes of ``im`` (aspect ignored), for :func:`thumb_mad`."""
    return im.convert("RGB").resize((32, 32), Image.Resampling.BOX).tobytes()


def thumb_mad(a: bytes, b: bytes) -> float:
    """Mean absolute difference (0-255) of two :func:`thumb` thumbnails."""
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)


def hamming(a: int, b: int) -> int:
    """Number of differing bits of two hashes."""
    return bin(a ^ b).count("1")


def known_sources(tsv: Path = SHARED_SOURCES) -> set[tuple[str, str]]:
    """(package, stem) of every base train/val photo; :data:`VAL_PHOTOS` when ``tsv`` is absent."""
    known = set(VAL_PHOTOS)
    if not tsv.exists():
        log.warning("%s not found: only the hard-coded val photos are refused by name", tsv)
        return known
    lines = tsv.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    i_file, i_pkg = header.index("file"), header.index("debian_package")
    for line in lines[1:]:
        cols = line.split("\t")
        if len(cols) > max(i_file, i_pkg):
            known.add((cols[i_pkg], PurePosixPath(cols[i_file]).stem))
    return known


def check_selection(selection: tuple[Pick, ...], known: set[tuple[str, str]]) -> None:
    """Raise ``ValueError`` if the allow-list names a forbidden package, a known train/val
    photo, or twice the same output."""
    names = [p.output_name for p in selection]
    if len(set(names)) != len(names):
        raise ValueError("duplicate output names in the selection")
    for p in selection:
        if p.package in FORBIDDEN_PACKAGES:
            raise ValueError(f"{p.package} is held out for evaluation: {p.path}")
        if (p.package, p.stem) in known or (p.package, p.stem) in VAL_PHOTOS:
            raise ValueError(f"{p.package} {p.path} is already in the train/val sets")


def reference_hashes(dirs: list[Path]) -> dict[str, tuple[int, bytes]]:
    """(difference hash, thumbnail) of every PNG/JPEG under ``dirs`` (missing folders skipped)."""
    hashes: dict[str, tuple[int, bytes]] = {}
    for d in dirs:
        if not d.is_dir():
            continue
        for f in sorted(d.iterdir()):
            if f.suffix.lower() in {".png", ".jpg", ".jpeg"}:
                with Image.open(f) as im:
                    hashes[str(f)] = (dhash(im), thumb(im))
    return hashes


def deb_version(deb: Path) -> str:
    """The ``Version`` field of a ``.deb``."""
    return subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Version"], check=True, capture_output=True, text=True
    ).stdout.strip()


def find_or_download(package: str, debs: Path | None, workdir: Path) -> Path:
    """The newest ``<package>_*.deb`` of ``debs``, else ``apt-get download`` it into ``workdir``."""
    if debs is not None:
        found = sorted(debs.glob(f"{package}_*.deb"))
        if found:
            return found[-1]
        log.info("no %s_*.deb in %s: downloading", package, debs)
    subprocess.run(["apt-get", "download", package], cwd=workdir, check=True)
    found = sorted(workdir.glob(f"{package}_*.deb"))
    if not found:
        raise FileNotFoundError(f"apt-get download left no {package}_*.deb in {workdir}")
    return found[-1]


def extract(deb: Path, root: Path) -> Path:
    """``dpkg-deb -x`` the package into ``root`` and return it."""
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


def prepare(
    roots: dict[str, tuple[Path, str]],
    out: Path,
    selection: tuple[Pick, ...] = SELECTION,
    exclude_dirs: list[Path] | None = None,
    known: set[tuple[str, str]] | None = None,
) -> list[dict[str, str]]:
    """Write the allow-listed photos of the extracted packages ``roots`` (package -> (root,
    version)) to ``out`` with ``SOURCES.tsv`` and the copyright files; return the rows."""
    check_selection(selection, known if known is not None else known_sources())
    refs = reference_hashes(list(exclude_dirs or []))
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, str]] = []
    for pick in selection:
        root, version = roots[pick.package]
        src = root / pick.path
        with Image.open(src) as im:
            fmt = im.format or src.suffix.lstrip(".").upper()
            rgb = im.convert("RGB")
        jpeg = fmt == "JPEG" or is_jpeg_path(pick.path)
        factor = scale_factor(rgb.width, rgb.height, jpeg, pick.max_side)
        small = downscale(rgb, factor)
        h, t = dhash(small), thumb(small)
        twins = [
            f
            for f, (rh, rt) in refs.items()
            if hamming(h, rh) <= NEAR_COPY_BITS and thumb_mad(t, rt) <= NEAR_COPY_MAD
        ]
        if twins:
            log.warning("skip %s: looks like %s", pick.output_name, ", ".join(twins))
            continue
        small.save(out / pick.output_name, optimize=True)
        rows.append(
            {
                "file": pick.output_name,
                "package": pick.package,
                "version": version,
                "original_path": "/" + pick.path,
                "format": fmt,
                "original_size": f"{rgb.width}x{rgb.height}",
                "factor": f"{factor:.3f}",
                "stored_size": f"{small.width}x{small.height}",
                "subject": pick.subject,
            }
        )
        log.info(
            "%s: %s %dx%d /%.2f -> %dx%d",
            pick.output_name,
            fmt,
            rgb.width,
            rgb.height,
            factor,
            small.width,
            small.height,
        )
    if rows:
        cols = list(rows[0])
        lines = ["\t".join(cols)] + ["\t".join(r[c] for c in cols) for r in rows]
        (out / "SOURCES.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for package, (root, _) in roots.items():
        cr = root / "usr/share/doc" / package / "copyright"
        if cr.exists():
            shutil.copyfile(cr, out / f"{package}.copyright")
    total = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    log.info("%d photos, %.1f MB in %s", len(rows), total / 1e6, out)
    if total > BUDGET_BYTES:
        raise RuntimeError(f"{out} holds {total} bytes, over the {BUDGET_BYTES} budget")
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("data_cache/train_extra"))
    ap.add_argument(
        "--debs",
        type=Path,
        default=None,
        help="folder with already downloaded <package>_*.deb files (else apt-get download)",
    )
    ap.add_argument(
        "--exclude-dir",
        type=Path,
        action="append",
        default=None,
        help="folder of images no output may resemble (repeatable; default: train, val, eval2)",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    exclude = args.exclude_dir if args.exclude_dir is not None else list(DEFAULT_EXCLUDE_DIRS)
    packages = sorted({p.package for p in SELECTION})
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        roots: dict[str, tuple[Path, str]] = {}
        for package in packages:
            deb = find_or_download(package, args.debs, work)
            roots[package] = (extract(deb, work / "x" / package), deb_version(deb))
            log.info("%s %s from %s", package, roots[package][1], deb.name)
        prepare(roots, args.out, exclude_dirs=exclude)


if __name__ == "__main__":
    main()
