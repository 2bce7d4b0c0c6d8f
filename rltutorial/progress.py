"""Progress bars that leave a plain-text summary behind.

:func:`progress_bar` is the one progress bar of the package (training, sweeps, tuning
comparisons). In a terminal it is tqdm's usual bar on stderr. In a notebook it is a
line of text that updates in place and, once the bar closes, turns into a summary such
as ``training Gary Buchwald: 6,000/6,000 steps in 13 s``. A notebook saved after running
therefore shows what happened even when it is opened without a kernel.
"""

from __future__ import annotations

import sys
from typing import Any

from tqdm.std import tqdm

__all__ = ["progress_bar", "summarize_progress"]

#: Seconds between two updates of a notebook bar (each update is a message to the
#: front-end).
_NOTEBOOK_INTERVAL_S = 0.5


def progress_bar(total: int, desc: str, unit: str, enabled: bool = True) -> tqdm:
    """A progress bar over ``total`` items of ``unit`` (a tqdm object).

    Parameters
    ----------
    total : int
        Number of items the bar counts up to.
    desc : str
        What is being done, shown before the bar (e.g. ``"sweep"``).
    unit : str
        Singular name of one item (e.g. ``"step"``, ``"point"``).
    enabled : bool
        False gives a bar that shows nothing.

    Returns
    -------
    tqdm
        Use as tqdm: ``update``, ``set_postfix``, ``close`` or a ``with`` block. In a
        notebook kernel it updates one text output in place and, when closed, leaves
        the summary from :func:`summarize_progress`; elsewhere it is tqdm's bar on
        stderr.
    """
    if enabled and _in_notebook():
        return _NotebookBar(total=total, desc=desc, unit=unit)
    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled)


def summarize_progress(
    desc: str,
    n: int,
    total: int | None,
    unit: str,
    elapsed_s: float,
    postfix: str | None = None,
) -> str:
    """One line saying how far a finished (or stopped) bar got and how long it took.

    Parameters
    ----------
    desc, unit : str
        The bar's description and singular unit.
    n, total : int
        Items done and items planned (``total`` None when unknown).
    elapsed_s : float
        Wall time in s.
    postfix : str, optional
        The bar's postfix (e.g. ``"failed=2"``), appended in parentheses.

    Returns
    -------
    str
        E.g. ``"sweep: 200/200 points in 1 min 05 s (failed=2)"`` or, when the bar
        stopped early, ``"training X: stopped at 3,000/6,000 steps after 13 s"``.
    """
    units = unit if total == 1 else unit + "s"
    count = f"{n:,}/{total:,} {units}" if total is not None else f"{n:,} {units}"
    duration = _format_duration(elapsed_s)
    if total is not None and n < total:
        line = f"{desc}: stopped at {count} after {duration}"
    else:
        line = f"{desc}: {count} in {duration}"
    return f"{line} ({postfix})" if postfix else line


def _format_duration(seconds: float) -> str:
    """``"4.2 s"``, ``"13 s"`` or ``"2 min 05 s"``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython running as a kernel app)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


class _NotebookBar(tqdm):
    """tqdm's text line in one notebook output, replaced by a summary when closed."""

    def __init__(self, **kwargs: Any) -> None:
        from IPython.display import display

        super().__init__(gui=True, mininterval=_NOTEBOOK_INTERVAL_S, **kwargs)
        self._handle = display(self._bundle(), raw=True, display_id=True)

    def _bundle(self) -> dict[str, str]:
        return {"text/plain": self.format_meter(**self.format_dict)}

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        """Show the current state in the notebook output (called by tqdm)."""
        self._handle.update(self._bundle(), raw=True)
        return True

    def close(self) -> None:
        """Close the bar and leave its summary as the output's text."""
        if self.disable:
            return
        super().close()
        summary = summarize_progress(
            self.desc,
            int(self.n),
            int(self.total) if self.total is not None else None,
            self.unit,
            self.format_dict["elapsed"],
            self.postfix or None,
        )
        self._handle.update({"text/plain": summary}, raw=True)
