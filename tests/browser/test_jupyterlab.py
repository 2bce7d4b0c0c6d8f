"""Notebook 01 in a real JupyterLab, driven by headless Chromium.

Starts JupyterLab on 127.0.0.1 (free port, random token, throw-away config, runtime,
settings and workspace folders), opens a copy of ``notebooks/01_problem_formulation.ipynb``,
checks that the saved slider cell shows a picture (not the widget's text), clears its
outputs, runs all cells from the Run menu and checks that the kernel finishes,
that the screen images and the five magnet sliders render, that moving a slider redraws the
screen, and that no cell shows an error.
A screenshot of the sliders goes to ``$RLTUTORIAL_SCREENSHOT`` (default
``build/screenshots/01.png``).

Needs Debian's ``chromium`` at /usr/bin/chromium and the ``playwright`` Python package
(no browser download); skipped otherwise. Select or deselect with ``-m browser``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from chromium import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "01_problem_formulation.ipynb"
#: JupyterLab settings for a deterministic page: every cell in the DOM, no news pop-ups.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none"
    },
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}
SERVER_START_TIMEOUT = 60
RUN_TIMEOUT = 90
#: True once every code cell shows an execution count like "[12]:" (none queued "[*]:").
ALL_CELLS_RAN = """() => {
    const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')];
    return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}"""

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_serving(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(
        f"JupyterLab did not answer within {SERVER_START_TIMEOUT} s:\n{log.read_text()[-3000:]}"
    )


def _stop(process: subprocess.Popen, shutdown_url: str) -> None:
    """Shut the server (and its kernels) down via the API, then by signal if needed."""
    try:
        request = urllib.request.Request(shutdown_url, method="POST")
        urllib.request.urlopen(request, timeout=5).close()
        process.wait(timeout=15)
    except (OSError, subprocess.TimeoutExpired):
        pass
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def jupyterlab(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A JupyterLab server on a copy of notebook 01; yields (base URL with token, folder)."""
    work = tmp_path / "work"
    settings = tmp_path / "settings"
    work.mkdir()
    shutil.copy(NOTEBOOK, work / NOTEBOOK.name)
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
    }
    env.pop("RLTUTORIAL_FAST", None)
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={work}",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
        "--LabApp.extension_manager=readonly",
    ]
    log = tmp_path / "jupyterlab.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            command,
            cwd=work,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(f"{base}/api/status?token={token}", process, log)
        yield f"{base}/lab/tree/{NOTEBOOK.name}?token={token}", work
    finally:
        _stop(process, f"{base}/api/shutdown?token={token}")


def _click_menu(page, menu: str, item: str) -> None:
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=menu).first.click()
    page.get_by_role("menuitem", name=item, exact=True).click()


def _wait_for_idle_kernel(page, timeout_ms: int) -> None:
    page.locator("#jp-main-statusbar", has_text="Idle").wait_for(timeout=timeout_ms)


def _move_first_slider(page, widget_output) -> None:
    """Type a new Q1 value into its slider and wait for the screen read-out to change."""
    before = widget_output.inner_text()
    readout = page.locator(".jp-Notebook .widget-slider .widget-readout").first
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("20")
    page.keyboard.press("Enter")
    deadline = time.monotonic() + 30
    while widget_output.inner_text() == before:
        assert time.monotonic() < deadline, "moving Q1 did not update the screen"
        time.sleep(0.2)
    widget_output.locator("img").first.wait_for(timeout=10_000)


def _check_stored_slider_output(page) -> None:
    """Before running: the saved slider cell shows its picture and caption, no widget repr."""
    stored = page.locator(
        ".jp-Notebook .jp-OutputArea-output", has_text="Five sliders set Q1"
    )
    picture = stored.locator("img").first
    picture.wait_for(timeout=30_000)
    assert picture.evaluate("img => img.naturalWidth") > 100
    assert "children=(" not in page.inner_text(".jp-Notebook")


def test_notebook_01_runs_in_jupyterlab(jupyterlab):
    """Run All Cells: kernel finishes, screen and sliders render and respond, no errors."""
    url, work = jupyterlab
    screenshot = Path(
        os.environ.get("RLTUTORIAL_SCREENSHOT", ROOT / "build/screenshots/01.png")
    )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.locator(".jp-Notebook .jp-CodeCell").first.wait_for(timeout=60_000)
            page.locator("#jp-main-statusbar", has_text="Python 3").wait_for(
                timeout=60_000
            )
            _wait_for_idle_kernel(page, 60_000)
            _check_stored_slider_output(page)

            _click_menu(page, "Edit", "Clear Outputs of All Cells")
            page.wait_for_function(
                "() => !document.querySelector('.jp-Notebook .jp-OutputArea-output')"
            )
            _click_menu(page, "Run", "Run All Cells")
            page.wait_for_function(ALL_CELLS_RAN, timeout=RUN_TIMEOUT * 1000)
            _wait_for_idle_kernel(page, 30_000)

            sliders = page.locator(".jp-Notebook .widget-slider")
            sliders.nth(4).wait_for(timeout=30_000)
            labels = page.locator(".jp-Notebook .widget-slider .widget-label")
            assert labels.all_inner_texts()[:5] == [
                "Q1 (1/m²)",
                "Q2 (1/m²)",
                "CV (mrad)",
                "Q3 (1/m²)",
                "CH (mrad)",
            ]
            widget_output = page.locator(".jp-Notebook .widget-output").first
            widget_screen = widget_output.locator("img").first
            widget_screen.wait_for(timeout=30_000)
            assert widget_screen.evaluate("img => img.naturalWidth") > 100
            _move_first_slider(page, widget_output)
            images = page.locator(".jp-Notebook .jp-OutputArea-output img")
            assert images.count() >= 4, "expected the lattice, screens and sweep plots"

            errors = page.locator(
                ".jp-Notebook .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
            ).all_inner_texts()
            assert not [text for text in errors if "Error" in text], errors
            assert "Error displaying widget" not in page.inner_text(".jp-Notebook")

            screenshot.parent.mkdir(parents=True, exist_ok=True)
            sliders.first.scroll_into_view_if_needed()
            page.screenshot(path=str(screenshot))
        finally:
            browser.close()
    assert screenshot.stat().st_size > 10_000
