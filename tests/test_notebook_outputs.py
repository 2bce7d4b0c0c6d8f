"""Stored notebook outputs say something when the notebook is opened without running it.

JupyterLab does not draw saved widget state and nbconvert drops outputs it cannot render
(animated GIFs): what a reader sees then is an output's text or HTML. These checks read
the committed ``.ipynb`` files only (no kernel is started).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: The text form of a widget (``repr``), which is all an unrun notebook can show of it:
#: ``VBox(children=(FloatSlider(value=0.0, …``, ``FloatProgress(value=0.0, max=6000.0)``.
WIDGET_REPR = re.compile(
    r"^\s*[A-Z]\w*\((children|value|description|layout|outputs|max|min)="
)
#: A tqdm meter caught mid-run, e.g. ``train:   0%|          | 0/6000 [00:00<?, ?step/s]``.
LIVE_BAR = re.compile(r"\d+%\|.*\|\s*[\d.,]+[kM]?/[\d.,]+[kM]?\s*\[")
#: The line a finished bar leaves (rltutorial.progress.summarize_progress).
SUMMARY = re.compile(r"^.+: (stopped at )?[\d,]+/[\d,]+ \w+ (in|after) [\d.]+ (s|min)")
#: Forms a browser shows without a kernel.
SHOWN = ("text/html", "image/png", "image/jpeg", "image/svg+xml", "text/markdown")

pytestmark = pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks in notebooks/")


def _text(output: dict) -> str:
    value = output.get("text", output.get("data", {}).get("text/plain", ""))
    return "".join(value) if isinstance(value, list) else value


def _outputs(path: Path):
    """(cell index, position in the cell, output) for every stored output."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for index, cell in enumerate(notebook["cells"]):
        for position, output in enumerate(cell.get("outputs", [])):
            yield index, position, output


@pytest.fixture(params=NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def path(request) -> Path:
    return request.param


def test_no_output_is_only_a_widget_repr(path):
    """Every widget output also carries a picture or HTML (or its text is no repr)."""
    for index, _, output in _outputs(path):
        data = output.get("data", {})
        only_text = not any(mime in data for mime in SHOWN)
        assert not (only_text and WIDGET_REPR.match(_text(output))), (
            f"{path.name} cell {index}: the stored output is only the widget repr "
            f"{_text(output)[:80]!r}"
        )


def test_no_progress_bar_stored_mid_run(path):
    """No text output is a progress bar frozen mid-run; widget bars have a summary after."""
    for index, position, output in _outputs(path):
        text = _text(output)
        assert WIDGET_VIEW in output.get("data", {}) or not LIVE_BAR.search(
            text
        ), f"{path.name} cell {index}: progress bar stored mid-run: {text[:80]!r}"
        if WIDGET_VIEW in output.get("data", {}) and (
            LIVE_BAR.search(text) or "Progress(" in text
        ):
            cell = [o for i, _, o in _outputs(path) if i == index]
            later = [_text(o) for o in cell[position + 1 :]]
            assert any(
                SUMMARY.match(line) for line in later
            ), f"{path.name} cell {index}: progress bar {text[:60]!r} without a summary"


def test_widget_state_only_where_widgets_are_shown(path):
    """No widget state left over from an earlier run when no output shows a widget."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    shown = any(
        WIDGET_VIEW in output.get("data", {}) for _, _, output in _outputs(path)
    )
    assert (
        shown or "widgets" not in notebook["metadata"]
    ), f"{path.name}: stale widget state in the metadata (no output shows a widget)"


def test_finished_bars_leave_summaries():
    """The training notebook stores the summary line of its finished progress bar."""
    training = NOTEBOOK_DIR / "04_training.ipynb"
    summaries = [_text(o) for _, _, o in _outputs(training) if SUMMARY.match(_text(o))]
    assert any(
        "steps in" in line for line in summaries
    ), f"{training.name}: no 'training …: n/n steps in … s' line stored"


def test_recordings_are_stored_as_html(path):
    """Animated GIFs are stored as HTML ``<img>`` (kept by nbconvert), with a caption."""
    for index, _, output in _outputs(path):
        data = output.get("data", {})
        html = "".join(data.get("text/html", ""))
        assert (
            "image/gif" not in data
        ), f"{path.name} cell {index}: a GIF stored as image/gif is dropped by nbconvert"
        assert "IPython.core.display.Image object" not in _text(
            output
        ), f"{path.name} cell {index}: an image stored without a readable text form"
        if "data:image/gif;base64," in html:
            assert _text(output).startswith(
                "Recording "
            ), f"{path.name} cell {index}: recording without a caption: {_text(output)!r}"
