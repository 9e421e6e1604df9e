"""The Space template (``packages/app/space/``): what its README shows exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "packages" / "app" / "space"


def test_the_space_readme_embeds_screenshots_that_nox_space_copies() -> None:
    """Every ``![…](screenshots/NAME)`` in the Space README is a PNG in ``docs/`` that
    ``nox -s space`` copies into the Space folder, and the front matter names app.py."""
    readme = (TEMPLATE / "README.md").read_text()
    shots = re.findall(r"!\[[^\]]+\]\(screenshots/([^)]+)\)", readme)
    assert shots, "the Space README shows no screenshot"
    noxfile = (ROOT / "noxfile.py").read_text()
    for name in shots:
        png = ROOT / "docs" / name
        assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert f'"{name}"' in noxfile, f"nox -s space does not copy {name}"
    assert re.search(r"^app_file: app\.py$", readme, re.M)
    assert (TEMPLATE / "app.py").is_file()
