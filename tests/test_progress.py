"""The one progress bar: tqdm in a terminal, a self-summarising text output in notebooks."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from rltutorial import progress
from rltutorial.progress import progress_bar, summarize_progress


class FakeHandle:
    """Stands in for IPython's display handle; keeps every bundle shown."""

    def __init__(self, bundle: dict) -> None:
        self.bundles = [bundle]

    def update(self, bundle: dict, raw: bool = False) -> None:
        assert raw
        self.bundles.append(bundle)


@pytest.fixture
def notebook_display(monkeypatch) -> list[FakeHandle]:
    """Pretend to run in a kernel; collect the display handles bars create."""
    import IPython.display

    handles: list[FakeHandle] = []

    def display(bundle, raw=False, display_id=None):
        assert raw and display_id is True
        handles.append(FakeHandle(bundle))
        return handles[-1]

    monkeypatch.setattr(progress, "_in_notebook", lambda: True)
    monkeypatch.setattr(IPython.display, "display", display)
    return handles


def test_summary_lines():
    """Counts with thousands separators, plural units, durations in s or min and s."""
    assert summarize_progress("training A", 6000, 6000, "step", 13.2) == (
        "training A: 6,000/6,000 steps in 13 s"
    )
    assert summarize_progress("sweep", 1, 1, "point", 4.25, "failed=1") == (
        "sweep: 1/1 point in 4.2 s (failed=1)"
    )
    assert summarize_progress("tuning", 3, 10, "problem", 125) == (
        "tuning: stopped at 3/10 problems after 2 min 05 s"
    )


def test_terminal_bar_writes_tqdm_to_stderr(capsys):
    """Outside a kernel the bar is tqdm's, on stderr; nothing goes to stdout."""
    with progress_bar(3, "sweep", "point") as bar:
        bar.update(3)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "sweep: 100%" in captured.err and "3/3" in captured.err


def test_disabled_bar_shows_nothing(capsys, notebook_display):
    """enabled=False shows nothing, in a terminal or a notebook."""
    with progress_bar(3, "sweep", "point", enabled=False) as bar:
        bar.update(3)
    assert capsys.readouterr() == ("", "") and notebook_display == []


def test_notebook_bar_updates_one_output_and_ends_with_summary(notebook_display):
    """In a kernel: one output, updated in place, whose last text is the summary."""
    bar = progress_bar(5, "sweep", "point")
    bar.update(2)
    bar.refresh()
    bar.update(3)
    bar.set_postfix({"failed": 1}, refresh=False)
    bar.close()
    bar.close()  # closing twice changes nothing
    (handle,) = notebook_display
    assert "0/5" in handle.bundles[0]["text/plain"]
    assert any("2/5" in bundle["text/plain"] for bundle in handle.bundles)
    assert handle.bundles[-1] == {"text/plain": summary_of(handle)}
    assert summary_of(handle).startswith("sweep: 5/5 points in ")
    assert summary_of(handle).endswith(" s (failed=1)")


def summary_of(handle: FakeHandle) -> str:
    return handle.bundles[-1]["text/plain"]


def test_notebook_bar_closed_early_says_where_it_stopped(notebook_display):
    """A bar closed before its total (an interrupt) says how far it got."""
    with pytest.raises(KeyboardInterrupt):
        with progress_bar(6000, "training A", "step") as bar:
            bar.update(3000)
            raise KeyboardInterrupt
    assert summary_of(notebook_display[0]).startswith(
        "training A: stopped at 3,000/6,000 steps after "
    )


def test_saved_notebook_keeps_the_summary():
    """Run in a real kernel and saved: the stored output is the summary line."""
    source = (
        "from rltutorial.progress import progress_bar\n"
        "with progress_bar(40, 'sweep', 'point') as bar:\n"
        "    for _ in range(40):\n"
        "        bar.update()\n"
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    NotebookClient(notebook, timeout=60).execute()
    outputs = notebook.cells[0].outputs
    assert [output["output_type"] for output in outputs] == ["display_data"]
    assert outputs[0]["data"]["text/plain"].startswith("sweep: 40/40 points in ")
