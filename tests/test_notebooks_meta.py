"""Structure of the workshop notebooks: intro, summary, slides, saved outputs, size.

These checks read the committed ``.ipynb`` files only (no kernel is started); running the
notebooks themselves is nbval's job (``pytest --nbval-lax notebooks/``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
SLIDE_TYPES = {"slide", "subslide", "fragment", "-", "skip", "notes"}
MAX_BYTES = 2_000_000
#: Paths that only exist on one machine: home folders, system folders, Windows drives.
ABSOLUTE_PATH = re.compile(
    r"(?<![\w.])(/home/|/Users/|/root/|/tmp/|/work/|/usr/|/opt/|/var/|/private/|"
    r"site-packages|[A-Za-z]:\\\\?[A-Za-z])"
)
URL = re.compile(r"https?://\S+")
CHECK_MARKERS = ("nbval-check-output", "NBVAL_CHECK_OUTPUT")

pytestmark = pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks in notebooks/")


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _output_texts(cell: dict) -> list[str]:
    texts = []
    for output in cell.get("outputs", []):
        if "text" in output:
            texts.append("".join(output["text"]))
        for mime, value in output.get("data", {}).items():
            if mime.startswith("text/"):
                texts.append("".join(value) if isinstance(value, list) else value)
    return texts


def _ids(paths: list[Path]) -> list[str]:
    return [path.stem for path in paths]


@pytest.fixture(params=NOTEBOOKS, ids=_ids(NOTEBOOKS))
def notebook(request) -> tuple[Path, dict]:
    return request.param, _load(request.param)


def test_opens_with_goals_and_time(notebook):
    """The first cell is markdown with a title, the goals and an estimated time."""
    path, nb = notebook
    first = nb["cells"][0]
    text = _source(first)
    assert first["cell_type"] == "markdown", f"{path.name}: first cell is not markdown"
    assert text.lstrip().startswith("# "), f"{path.name}: first cell lacks a '# ' title"
    assert re.search(r"\bgoals?\b", text, re.I), f"{path.name}: no goals in the intro"
    assert re.search(
        r"estimated time\W*\d+", text, re.I
    ), f"{path.name}: no 'Estimated time: <n> ...' in the intro"


def test_closes_with_summary_and_further_reading(notebook):
    """A markdown cell near the end has '## Summary' and '## Further reading' headings."""
    path, nb = notebook
    markdown = "\n".join(
        _source(cell) for cell in nb["cells"][-3:] if cell["cell_type"] == "markdown"
    )
    assert re.search(
        r"^#+ Summary", markdown, re.M
    ), f"{path.name}: no Summary at the end"
    assert re.search(
        r"^#+ Further reading", markdown, re.M
    ), f"{path.name}: no Further reading at the end"


def test_every_cell_has_slide_metadata(notebook):
    """Each cell says how it appears in a RISE/reveal.js slideshow."""
    path, nb = notebook
    for index, cell in enumerate(nb["cells"]):
        slide_type = cell.get("metadata", {}).get("slideshow", {}).get("slide_type")
        assert (
            slide_type in SLIDE_TYPES
        ), f"{path.name} cell {index}: slide_type {slide_type!r} not in {sorted(SLIDE_TYPES)}"


def test_outputs_saved_from_one_clean_run(notebook):
    """All code cells were executed once, top to bottom (counts 1, 2, 3, ...), with outputs."""
    path, nb = notebook
    code_cells = [cell for cell in nb["cells"] if cell["cell_type"] == "code"]
    counts = [cell.get("execution_count") for cell in code_cells]
    assert counts == list(
        range(1, len(code_cells) + 1)
    ), f"{path.name}: execution counts {counts} are not 1..{len(code_cells)}; re-run with nbconvert --execute"
    assert any(
        cell.get("outputs") for cell in code_cells
    ), f"{path.name}: no outputs saved"


def test_no_errors_saved(notebook):
    """No cell carries an error output."""
    path, nb = notebook
    for index, cell in enumerate(nb["cells"]):
        for output in cell.get("outputs", []):
            assert (
                output.get("output_type") != "error"
            ), f"{path.name} cell {index}: {output.get('ename')}: {output.get('evalue')}"


def test_no_absolute_paths(notebook):
    """Neither code, text nor text outputs mention machine-specific paths."""
    path, nb = notebook
    for index, cell in enumerate(nb["cells"]):
        for text in [_source(cell), *_output_texts(cell)]:
            match = ABSOLUTE_PATH.search(URL.sub("", text))
            assert (
                match is None
            ), f"{path.name} cell {index}: absolute path {match.group(0)!r}"


def test_some_outputs_are_checked_by_nbval(notebook):
    """At least one cell is marked so that ``pytest --nbval-lax`` compares its output."""
    path, nb = notebook
    marked = [
        cell
        for cell in nb["cells"]
        if cell["cell_type"] == "code"
        and (
            CHECK_MARKERS[0] in cell.get("metadata", {}).get("tags", [])
            or f"# {CHECK_MARKERS[1]}" in _source(cell)
        )
    ]
    assert marked, f"{path.name}: no cell tagged {CHECK_MARKERS[0]!r}"


def test_size_is_small(notebook):
    """The saved notebook (with outputs) stays below 2 MB."""
    path, _ = notebook
    size = path.stat().st_size
    assert size < MAX_BYTES, f"{path.name}: {size / 1e6:.2f} MB >= {MAX_BYTES / 1e6} MB"
