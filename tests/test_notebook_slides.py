"""The slides ``scripts/export_slides.py`` writes: self-contained, recordings kept.

Exports every notebook once into a temporary folder (from the stored outputs; nothing is
re-run) and reads the HTML. Opening a deck in a browser with the network cut off is
``tests/browser/test_slides_offline.py``. The export needs ``npm`` once, to fill the
asset cache.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: Every address a page loads a script, a style sheet or a module from.
LOADED = re.compile(
    r"""<script\b[^>]*?\bsrc\s*=\s*["']([^"']+)["']"""
    r"""|<link\b[^>]*?\bhref\s*=\s*["']([^"']+)["']"""
    r"""|\bimport\s[^;]*?\bfrom\s*["']([^"']+)["']"""
    r"""|\brequire\(\s*\{[^}]*\}\s*,\s*\[([^\]]*)\]""",
    re.IGNORECASE,
)
CSS_IMPORT = re.compile(r"""@import\s+url\(\s*["']?([^"')]+)""")

pytestmark = pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks in notebooks/")


@pytest.fixture(scope="module")
def slides(tmp_path_factory) -> Path:
    """The folder with every notebook's deck and the shared assets."""
    out = tmp_path_factory.mktemp("slides")
    subprocess.run(
        [sys.executable, str(ROOT / "scripts/export_slides.py"), str(out)],
        check=True,
        timeout=600,
    )
    return out


def _addresses(page: str) -> list[str]:
    found = []
    for match in LOADED.finditer(page):
        group = next(value for value in match.groups() if value is not None)
        found += re.findall(r'"([^"]+)"', group) if match.group(4) else [group]
    return found


def _is_remote(address: str) -> bool:
    return bool(
        urlsplit(address).scheme in ("http", "https") or address.startswith("//")
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_deck_loads_nothing_from_the_network(slides, notebook):
    """Scripts, styles and modules are local files next to the deck, by relative path."""
    deck = slides / f"{notebook.stem}.slides.html"
    addresses = _addresses(deck.read_text(encoding="utf-8"))
    assert any("reveal.js" in address for address in addresses), addresses
    assert any("MathJax.js" in address for address in addresses), addresses
    for address in addresses:
        assert not _is_remote(address), f"{deck.name} loads {address}"
        path = unquote(urlsplit(address).path)
        assert not Path(path).is_absolute(), f"{deck.name}: absolute path {address}"
        assert (slides / path).is_file(), f"{deck.name}: {address} is not in the folder"


def test_style_sheets_import_only_local_files(slides):
    """The copied style sheets (the reveal theme's fonts) import no web address."""
    sheets = list((slides / "assets").rglob("*.css"))
    assert sheets
    for sheet in sheets:
        for address in CSS_IMPORT.findall(sheet.read_text(encoding="utf-8")):
            assert not _is_remote(address), f"{sheet.name} imports {address}"
            assert (
                sheet.parent / address
            ).is_file(), f"{sheet.name}: {address} missing"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_recordings_and_widgets_have_a_form_in_the_deck(slides, notebook):
    """Each stored recording is an <img> in the deck; no widget shows as its repr."""
    stored = json.loads(notebook.read_text(encoding="utf-8"))
    recordings = sum(
        "".join(output.get("data", {}).get("text/html", "")).count("data:image/gif")
        for cell in stored["cells"]
        for output in cell.get("outputs", [])
    )
    page = (slides / f"{notebook.stem}.slides.html").read_text(encoding="utf-8")
    images = re.findall(r"<img\b[^>]*\bsrc=[\"']data:image/gif;base64,", page)
    assert len(images) == recordings
    assert "IPython.core.display.Image object" not in page
    assert "children=(" not in page, "a widget is shown as its repr"
    assert "application/vnd.jupyter.widget-view+json" not in page
