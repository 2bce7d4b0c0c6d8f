"""Sweeps under hostile input: colliding names, unordered axes, bad physics, NaN
results, points that kill their process, Ctrl-C, and many points."""

from __future__ import annotations

import _thread
import gc
import importlib
import os
import signal
import sys
import threading
import time
import tracemalloc

import cloudpickle
import numpy as np
import pandas as pd
import psutil
import pytest

from rltutorial.sweep import (
    RESERVED_COLUMNS,
    SweepBackend,
    SweepInterrupted,
    cheetah_simulate,
    grid,
    make_client,
    run_sweep,
)
from rltutorial.sweep.table import UNFINISHED

# Dask workers and isolated children need not import this module: ship by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def square(x):
    """y = x², as a float."""
    return {"y": float(x) ** 2}


def dies_at_two(x):
    """Ends its whole process (no exception, no cleanup) for x == 2."""
    if x == 2:
        os._exit(3)
    return {"y": float(x)}


def interrupted_at_three(x):
    """Sends this process SIGINT (Ctrl-C) while point x == 3 runs."""
    if x == 3:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    return {"y": float(x)}


def sleepy(x):
    """0.05 s of waiting per point."""
    time.sleep(0.05)
    return {"y": float(x)}


@pytest.fixture(scope="module")
def client():
    """A LocalCluster with two single-threaded worker processes."""
    dask_client = make_client(n_workers=2, dashboard_address=":0")
    dask_client.run(importlib.import_module, "rltutorial.sweep.execution")
    yield dask_client
    dask_client.close()
    gc.collect()


# --- names and axes -------------------------------------------------------------


@pytest.mark.parametrize("name", RESERVED_COLUMNS)
def test_reserved_parameter_names_are_refused_before_running(name):
    """A parameter named status, error, duration_s, worker or attempts was silently
    overwritten by the reserved column; now nothing runs and the error names it."""
    calls = []

    def simulate(**point):
        calls.append(point)
        return {"y": 1.0}

    with pytest.raises(ValueError, match=rf"parameter name\(s\) \['{name}'\] are"):
        run_sweep(simulate, [{"x": 1}, {"x": 2, name: "mine"}], progress=False)
    assert calls == []


@pytest.mark.parametrize("name", ["mu_x", "sigma_x", "mu_y", "sigma_y"])
def test_cheetah_result_names_are_refused_with_the_incoming_name(name):
    """For the cheetah backend, a parameter named like a result (the incoming beam's
    sigma_x used to give a column sigma_x and a result sigma_x_result) is refused,
    pointing at incoming_<name>."""
    with pytest.raises(ValueError, match=rf"is 'incoming_{name}'"):
        run_sweep("cheetah", grid(**{name: [1e-4]}), progress=False)


def test_incoming_prefix_sweeps_the_incoming_beam():
    """incoming_sigma_x is the incoming beam's sigma_x: the table has both the
    parameter and the screen's sigma_x, which equals a direct call's."""
    frame = run_sweep("cheetah", grid(incoming_sigma_x=[1e-4, 3e-4]), progress=False)
    assert list(frame.columns[:2]) == ["incoming_sigma_x", "mu_x"]
    direct = [cheetah_simulate(sigma_x=s)["sigma_x"] for s in (1e-4, 3e-4)]
    assert frame["sigma_x"].tolist() == pytest.approx(direct, rel=1e-12)
    with pytest.raises(ValueError, match=r"\['energy'\] given twice"):
        cheetah_simulate(energy=1e8, incoming_energy=1.2e8)


@pytest.mark.parametrize(
    "axis,kind",
    [
        ({1.0, 2.0}, "set"),
        (frozenset([1.0]), "frozenset"),
        ((x for x in [1.0, 2.0]), "generator"),
        (iter([1.0, 2.0]), "list_iterator"),
        ({"a": 1}.keys(), "dict_keys"),
        (map(float, [1, 2]), "map"),
    ],
)
def test_grid_refuses_unordered_and_one_shot_axes(axis, kind):
    """A set or a generator used to become one point holding the set or generator;
    now grid refuses it, naming the axis, its type and the fix."""
    with pytest.raises(ValueError, match=rf"grid axis 'q1' is a {kind}, .*pass a list"):
        grid(q1=axis)


def test_grid_keeps_text_whole_and_expands_ordered_axes():
    """Text is one value (never split into characters); lists, tuples, ranges, 1-D
    arrays and pandas Series give their items in order."""
    points = grid(
        name="abc",
        a=range(2),
        b=(5, 6),
        c=np.array([0.5]),
        d=pd.Series([7]),
        e={"k": 1},
    )
    assert points == [
        {"name": "abc", "a": 0, "b": 5, "c": 0.5, "d": 7, "e": {"k": 1}},
        {"name": "abc", "a": 0, "b": 6, "c": 0.5, "d": 7, "e": {"k": 1}},
        {"name": "abc", "a": 1, "b": 5, "c": 0.5, "d": 7, "e": {"k": 1}},
        {"name": "abc", "a": 1, "b": 6, "c": 0.5, "d": 7, "e": {"k": 1}},
    ]


# --- physics and NaN --------------------------------------------------------------


def test_cheetah_points_with_bad_inputs_fail_by_name_others_ok():
    """k1 = 1e4 (sigma_y = 3 km before), NaN, a corrector beyond its limit, a
    negative energy and a zero size each fail naming the input; good points around
    them stay ok, in input order."""
    points = [
        {"q1": 1.0},
        {"q1": 1e4},
        {"q1": float("nan")},
        {"cv": 1.0},
        {"energy": -1e6},
        {"incoming_sigma_x": 0.0},
        {"q1": 2.0},
    ]
    frame = run_sweep("cheetah", points, progress=False)
    assert frame["status"].tolist() == ["ok"] + ["failed"] * 5 + ["ok"]
    errors = frame["error"].tolist()
    assert "Q1 = 10000 1/m² is outside [-72, 72] 1/m²" in errors[1]
    assert "Q1 = nan is not a finite number" in errors[2]
    assert "CV = 1 rad is outside" in errors[3]
    assert "energy = -1e+06 eV must be > 0" in errors[4]
    assert "sigma_x = 0 m must be > 0" in errors[5]
    assert frame["sigma_x"].isna().tolist() == [False] + [True] * 5 + [False]


def test_cheetah_table_has_its_result_columns_even_if_every_point_failed():
    """A cheetah sweep whose points all failed still has mu_x ... sigma_y (all NaN),
    so code reading table["sigma_x"] gets NaN, not a KeyError."""
    frame = run_sweep("cheetah", grid(q1=[1e4, -1e4]), progress=False)
    assert list(frame.columns[1:5]) == ["mu_x", "sigma_x", "mu_y", "sigma_y"]
    assert frame["sigma_x"].isna().all() and set(frame["status"]) == {"failed"}


def test_non_finite_results_fail_unless_the_backend_allows_nan():
    """NaN or inf results were reported ok; now the point fails naming them. A
    backend that means "missing" by NaN (allow_nan, like training) stays ok."""

    def broken(x):
        return {"y": [1.0, float("nan"), float("inf")][x], "text": "n/a"}

    frame = run_sweep(broken, grid(x=[0, 1, 2]), progress=False)
    assert frame["status"].tolist() == ["ok", "failed", "failed"]
    assert "non-finite results: y=nan" in frame["error"].iloc[1]
    assert "y=inf" in frame["error"].iloc[2]
    lenient = SweepBackend(broken, allow_nan=True)
    frame = run_sweep(lenient, grid(x=[0, 1]), progress=False)
    assert frame["status"].tolist() == ["ok", "ok"] and np.isnan(frame["y"].iloc[1])


def test_non_finite_numpy_results_fail_too():
    """numpy scalars and numeric arrays holding NaN count as non-finite results."""

    def arrays(x):
        return {"a": np.float32(x), "b": np.array([1.0, x])}

    frame = run_sweep(arrays, grid(x=[1.0, np.nan]), progress=False)
    assert frame["status"].tolist() == ["ok", "failed"]
    assert "a=np.float32(nan)" in frame["error"].iloc[1]


# --- isolation ------------------------------------------------------------------------


def test_isolated_point_that_exits_is_lost_and_the_sweep_goes_on():
    """Serially, os._exit in a point used to end the whole process with every
    finished point; with isolate=True it is lost (exit code named) and the others,
    before and after, are ok in order."""
    frame = run_sweep(dies_at_two, grid(x=[1, 2, 3]), progress=False, isolate=True)
    assert frame["status"].tolist() == ["ok", "lost", "ok"]
    assert frame["y"].tolist()[::2] == [1.0, 3.0]
    assert "exit code 3" in frame["error"].iloc[1]
    assert set(frame["worker"]) == {"isolated"} and set(frame["attempts"]) == {1}


def test_isolated_timeout_kills_the_stuck_point(tmp_path):
    """With isolate=True a point over its timeout is reported timeout and its
    process is gone (in-process, the stuck thread would keep running)."""
    pid_file = tmp_path / "pid"

    def stuck(x):
        if x == 1:
            pid_file.write_text(str(os.getpid()))
            time.sleep(120)
        return {"y": float(x)}

    start = time.monotonic()
    frame = run_sweep(stuck, grid(x=[0, 1, 2]), timeout=2, progress=False, isolate=True)
    assert time.monotonic() - start < 60
    assert frame["status"].tolist() == ["ok", "timeout", "ok"]
    assert "its process was killed" in frame["error"].iloc[1]
    assert not psutil.pid_exists(int(pid_file.read_text()))


def test_isolate_is_refused_with_a_client():
    """isolate=True only makes sense serially; with a client it is refused."""
    with pytest.raises(ValueError, match="isolate=True is for serial sweeps"):
        run_sweep(square, [{"x": 1}], client=object(), progress=False, isolate=True)


def test_serial_sweep_without_isolation_dies_with_its_point(tmp_path):
    """The documented limit: without a client or isolate=True a point calling
    os._exit ends the process, so no table is returned (the docstring says so)."""
    import subprocess

    script = (
        "from rltutorial.sweep import run_sweep\n"
        "import os\n"
        "def f(x):\n"
        "    if x == 2: os._exit(3)\n"
        "    return {'y': x}\n"
        "print(run_sweep(f, [{'x': 1}, {'x': 2}], progress=False))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 3 and done.stdout == ""
    assert "takes the whole sweep" in " ".join(run_sweep.__doc__.split())


# --- Ctrl-C ---------------------------------------------------------------------------


def test_ctrl_c_in_a_serial_sweep_keeps_the_finished_points():
    """SIGINT during point 3 of 5: SweepInterrupted (a KeyboardInterrupt) carries
    the table: points 1-2 ok with their results, 3-5 lost as unfinished."""
    with pytest.raises(SweepInterrupted) as caught:
        run_sweep(interrupted_at_three, grid(x=[1, 2, 3, 4, 5]), progress=False)
    interrupt = caught.value
    assert isinstance(interrupt, KeyboardInterrupt) and interrupt.n_finished == 2
    table = interrupt.table
    assert table["x"].tolist() == [1, 2, 3, 4, 5]
    assert table["status"].tolist() == ["ok", "ok", "lost", "lost", "lost"]
    assert table["y"].tolist()[:2] == [1.0, 2.0]
    assert table["error"].tolist()[2:] == [UNFINISHED] * 3
    assert table["attempts"].tolist() == [1, 1, 1, 0, 0]
    assert "2 of 5 points finished" in str(interrupt)


def test_ctrl_c_during_a_dask_sweep_keeps_the_finished_points(client):
    """Ctrl-C (interrupt_main) during a Dask sweep: the finished points come back
    in the table, the rest are lost, and nothing is left running on the cluster."""
    points = grid(x=list(range(400)))
    timer = threading.Timer(3.0, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(SweepInterrupted) as caught:
            run_sweep(sleepy, points, client=client, progress=False)
    finally:
        timer.cancel()
    table = caught.value.table
    done = table["status"] == "ok"
    assert 0 < done.sum() < len(points) and done.sum() == caught.value.n_finished
    assert (table.loc[done, "y"] == table.loc[done, "x"]).all()
    assert set(table.loc[~done, "error"]) == {UNFINISHED}
    deadline = time.monotonic() + 30
    while client.processing() and any(client.processing().values()):
        assert time.monotonic() < deadline
        time.sleep(0.2)


# --- many points ------------------------------------------------------------------------


def _traced_peak(run) -> tuple[int, int]:
    """(peak traced bytes while ``run()`` builds its table, the table's bytes)."""
    tracemalloc.start()
    try:
        table = run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, int(table.memory_usage(deep=True).sum())


def test_serial_memory_per_point_stays_small():
    """Going from 1,000 to 4,000 points, the serial sweep's peak grows by less than
    400 bytes per point beyond its table's growth (records as dicts cost ~1 kB)."""

    def four(x):
        return {"a": x * 1.0, "b": x * 2.0, "c": x * 3.0, "d": x * 4.0}

    sizes = (1000, 4000)
    figures = [
        _traced_peak(
            lambda n=n: run_sweep(four, grid(x=list(range(n))), progress=False)
        )
        for n in sizes
    ]
    extra = (figures[1][0] - figures[0][0]) - (figures[1][1] - figures[0][1])
    assert extra / (sizes[1] - sizes[0]) < 400, figures


def test_dask_keeps_a_bounded_window_of_futures(client):
    """600 points on a 2-worker LocalCluster: all come back ok and in order while the
    client never holds more than the window of futures (MIN_WINDOW = 64, plus a
    batch being submitted); all 600 were alive at once before. Finished futures are
    released, so none is left afterwards."""
    from rltutorial.sweep.distributed import MIN_WINDOW

    points = grid(x=list(range(600)))
    alive, stop = [0], threading.Event()

    def watch():
        while not stop.is_set():
            alive[0] = max(alive[0], len(client.futures))
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        table = run_sweep(square, points, client=client, progress=False)
    finally:
        stop.set()
        watcher.join()
    assert table["x"].tolist() == list(range(600)) and (table["status"] == "ok").all()
    assert table["y"].tolist() == [float(x) ** 2 for x in range(600)]
    assert 0 < alive[0] <= MIN_WINDOW + 1, alive[0]
    deadline = time.monotonic() + 10
    while client.futures:
        assert time.monotonic() < deadline, len(client.futures)
        time.sleep(0.05)
