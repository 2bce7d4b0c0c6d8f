"""Notebook 03's slides, exported and opened in headless Chromium with the network cut off.

``scripts/export_slides.py`` writes the deck and its assets into a temporary folder, which
is then moved (as a user would unzip it elsewhere) and opened from ``file://``. Every
request that is not for a local file is aborted and recorded; Chromium also resolves no
host name. The page must initialise reveal.js, typeset its math with MathJax and show
every recording as a loaded ``<img>``, having asked the network for nothing.
A screenshot of the first recording's slide goes to ``$RLTUTORIAL_SLIDES_SCREENSHOT``
(default ``build/screenshots/slides-03.png``).

Needs Debian's ``chromium`` at /usr/bin/chromium and the ``playwright`` Python package
(no browser download); skipped otherwise. The export needs ``npm`` once, to fill the
asset cache.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from chromium import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "03_pretrained_agents.ipynb"
#: Chromium resolves no host name at all: a request that escaped the route would fail too.
OFFLINE_ARGS = [*CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND"]
READY_TIMEOUT_MS = 20_000
#: reveal.js is loaded by require.js, so ask require.js for the same module.
REVEAL_READY = """([url]) => new Promise(resolve =>
    require([url], Reveal => resolve(Reveal.isReady())))"""
MATH_DONE = """() => window.MathJax && MathJax.Hub && MathJax.Hub.queue
    && MathJax.Hub.queue.pending === 0 && !MathJax.Hub.queue.running
    && document.querySelectorAll('.MathJax_CHTML').length > 0"""
GIFS = "img[src^='data:image/gif;base64,']"
SHOW_SLIDE_OF = """([url, selector]) => new Promise(resolve => require([url], Reveal => {
    const slide = document.querySelector(selector).closest('section');
    const indices = Reveal.getIndices(slide);
    Reveal.slide(indices.h, indices.v);
    setTimeout(resolve, 1000);
}))"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed at /usr/bin/chromium "
        "(apt-get install -y chromium)",
    ),
]
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright Python package is not installed"
)


def _stored_recordings() -> int:
    """How many recordings notebook 03 stores as HTML images."""
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    return sum(
        "".join(output.get("data", {}).get("text/html", "")).count("data:image/gif")
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
    )


@pytest.fixture(scope="module")
def deck(tmp_path_factory) -> Path:
    """Notebook 03's exported deck, moved away from where it was written."""
    written = tmp_path_factory.mktemp("export") / "slides"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts/export_slides.py"),
            str(written),
            "--notebook",
            str(NOTEBOOK),
        ],
        check=True,
        timeout=300,
    )
    moved = tmp_path_factory.mktemp("elsewhere") / "deck"
    shutil.move(written, moved)
    return moved / f"{NOTEBOOK.stem}.slides.html"


def test_deck_works_offline(deck):
    """reveal.js ready, math typeset, every recording a loaded image, no network request."""
    recordings = _stored_recordings()
    assert recordings > 0, f"{NOTEBOOK.name} stores no recordings as HTML images"
    reveal_url = re.search(r'"([^"]+/dist/reveal\.js)"', deck.read_text()).group(1)
    assert not reveal_url.startswith(("http:", "https:", "//")), reveal_url
    screenshot = Path(
        os.environ.get(
            "RLTUTORIAL_SLIDES_SCREENSHOT", ROOT / "build/screenshots/slides-03.png"
        )
    )
    blocked, failed, errors = [], [], []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=OFFLINE_ARGS
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})

            def block(route):
                if route.request.url.startswith(("file:", "data:")):
                    route.continue_()
                else:
                    blocked.append(route.request.url)
                    route.abort("internetdisconnected")

            context.route("**/*", block)
            page = context.new_page()
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(deck.as_uri())

            page.wait_for_function(MATH_DONE, timeout=READY_TIMEOUT_MS)
            assert page.evaluate(REVEAL_READY, [reveal_url]) is True
            assert page.locator(".reveal.ready .slides section").count() > 5
            assert page.locator(".MathJax_Error, .mjx-merror").count() == 0

            images = page.locator(GIFS)
            assert images.count() == recordings
            page.wait_for_function(
                f'() => [...document.querySelectorAll("{GIFS}")].every(i => i.complete)'
            )
            sizes = images.evaluate_all(
                "images => images.map(i => [i.naturalWidth, i.naturalHeight])"
            )
            assert all(width > 0 and height > 0 for width, height in sizes), sizes
            assert "IPython.core.display.Image object" not in page.content()

            page.evaluate(SHOW_SLIDE_OF, [reveal_url, GIFS])
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot))
            assert blocked == [] and failed == [] and errors == [], (
                blocked,
                failed,
                errors,
            )

            # The block is real: a script from a CDN fails to load and is recorded.
            probe = page.evaluate("""() => new Promise(resolve => {
                    const script = document.createElement('script');
                    script.src = 'https://unpkg.com/reveal.js@4.0.2/dist/reveal.js';
                    script.onload = () => resolve('loaded');
                    script.onerror = () => resolve('failed');
                    document.head.appendChild(script);
                })""")
            assert probe == "failed" and blocked == [
                "https://unpkg.com/reveal.js@4.0.2/dist/reveal.js"
            ]
        finally:
            browser.close()
    assert screenshot.stat().st_size > 10_000
