"""benchmarks/compare_methods.py: every kind of method by default, rows as stored.

The script is run as a user runs it (``main`` with command-line words) on a tiny
problem set; the stored tables under ``benchmarks/results/`` come from the same code.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "compare_methods.py"
BASELINES = ["always-a+", "probe-a", "probe-infer-set", "probe-infer-refine"]


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("compare_methods_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_defaults_hold_every_kind_of_method(script):
    """Optimisers, Xopt's methods, the focusing agents and the four baselines."""
    methods = script.default_methods([])
    for name in ["random", "nelder-mead", "bo", "Sean Kelley", "reference", *BASELINES]:
        assert name in methods
    if importlib.util.find_spec("xopt") is not None:
        assert set(script.XOPT_METHODS) <= set(methods)


def test_skip_leaves_methods_out(script):
    """``--skip bo xopt-bo`` removes exactly those two."""
    methods = script.default_methods(["bo", "xopt-bo"])
    assert "bo" not in methods and "xopt-bo" not in methods
    assert len(methods) == len(script.default_methods([])) - 2


def test_xopt_methods_dropped_without_xopt(script, monkeypatch):
    """Without the optional xopt package the defaults still run (no Xopt rows)."""
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "xopt" else real(name, *args),
    )
    methods = script.default_methods([])
    assert not set(script.XOPT_METHODS) & set(methods)
    assert set(BASELINES) <= set(methods)


def test_baselines_rows_on_a_tiny_problem_set(script, tmp_path, capsys):
    """Two problems, budget 5: one CSV row and one markdown row per method; the
    baselines use at most 3 simulations and end within 1.5× of the optimum at the
    screen's resolution, Nelder-Mead uses its whole budget."""
    csv, report = tmp_path / "table.csv", tmp_path / "table.md"
    words = ["--methods", "nelder-mead", *BASELINES, "-n", "2", "--budget", "5"]
    script.main([*words, "--no-progress", "--out", str(csv), "--report", str(report)])
    table = pd.read_csv(csv, index_col="method")
    assert list(table.index) == ["nelder-mead", *BASELINES]
    assert (table["n"] == 2).all()
    assert table.loc["nelder-mead", "mean_simulations"] == 5
    baselines = table.loc[BASELINES]
    assert (baselines["mean_simulations"] <= 3).all()
    assert (baselines["resolution_near_optimal_rate"] == 1.0).all()
    assert (baselines["median_resolution_ratio"] <= 1.5).all()
    text = report.read_text(encoding="utf-8")
    assert text.strip() in capsys.readouterr().out
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[0][2:] for row in rows[1:]] == table.index.tolist()
    assert "load average" in text
    assert "python benchmarks/compare_methods.py --methods nelder-mead" in text


def test_skip_of_an_unknown_method_is_refused(script, capsys):
    """A misspelt ``--skip`` name stops the run and lists the defaults."""
    with pytest.raises(SystemExit):
        script.main(["--skip", "b0", "-n", "1", "--no-progress"])
    assert "--skip names no default method: ['b0']" in capsys.readouterr().err
