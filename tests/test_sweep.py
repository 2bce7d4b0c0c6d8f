"""Tests for rltutorial.sweep: grids, serial and LocalCluster sweeps, backends."""

from __future__ import annotations

import re
import sys
import time

import cloudpickle
import numpy as np
import pytest

from rltutorial.sweep import (
    RESERVED_COLUMNS,
    SWEEP_BACKENDS,
    grid,
    register_backend,
    run_sweep,
)

# Dask workers need not import this test module: ship its functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def affine(x, y=0.0, scale=1.0):
    """A trivial simulation: z = scale * x + y."""
    return {"z": scale * x + y}


def picky(x):
    """Fails for x == 2, hangs for x == 3, returns a non-dict for x == 4."""
    if x == 2:
        raise RuntimeError("cannot simulate x=2")
    if x == 3:
        time.sleep(20)
    if x == 4:
        return 4.0
    return {"z": float(x)}


def slow_affine(x):
    """affine with 0.2 s of work, to spread points over workers."""
    time.sleep(0.2)
    return {"z": 2.0 * x}


# --- grid -----------------------------------------------------------------------


def test_grid_product_order_and_plain_numbers():
    """grid is the product with the first axis slowest and numpy scalars unwrapped."""
    points = grid(a=np.linspace(0.0, 1.0, 2), b=[10, 20, 30], c="fixed")
    assert points == [
        {"a": 0.0, "b": 10, "c": "fixed"},
        {"a": 0.0, "b": 20, "c": "fixed"},
        {"a": 0.0, "b": 30, "c": "fixed"},
        {"a": 1.0, "b": 10, "c": "fixed"},
        {"a": 1.0, "b": 20, "c": "fixed"},
        {"a": 1.0, "b": 30, "c": "fixed"},
    ]
    assert type(points[-1]["a"]) is float


def test_grid_accepts_tracewin_style_keys_and_scalars():
    """Keys such as 'ele[27][6]' work, a scalar axis is a fixed value."""
    points = grid(**{"ele[27][6]": np.array([-1200, -1100])}, nbr_part1=np.int64(1000))
    assert points == [
        {"ele[27][6]": -1200, "nbr_part1": 1000},
        {"ele[27][6]": -1100, "nbr_part1": 1000},
    ]


def test_grid_errors():
    """No axis, an empty axis or a 2-D axis raise ValueError naming the problem."""
    with pytest.raises(ValueError, match="at least one axis"):
        grid()
    with pytest.raises(ValueError, match="'q1' is empty"):
        grid(q1=[])
    with pytest.raises(ValueError, match=r"'q1' must be 1-D, got shape \(2, 2\)"):
        grid(q1=np.zeros((2, 2)))


def test_grid_axis_of_lists():
    """A list axis whose values are lists (network shapes) gives one point per list."""
    points = grid(net_arch=[[64, 64], [32]], seed=[0, 1])
    assert points == [
        {"net_arch": [64, 64], "seed": 0},
        {"net_arch": [64, 64], "seed": 1},
        {"net_arch": [32], "seed": 0},
        {"net_arch": [32], "seed": 1},
    ]


# --- serial sweeps ----------------------------------------------------------------


def test_serial_rows_in_input_order_with_all_columns():
    """Rows follow the input; parameters, results, then the reserved columns."""
    points = [{"x": 3.0}, {"x": 1.0, "y": 5.0}, {"x": 2.0}]
    frame = run_sweep(affine, points, progress=False)
    assert list(frame.columns) == ["x", "y", "z", *RESERVED_COLUMNS]
    assert frame["x"].tolist() == [3.0, 1.0, 2.0]
    assert frame["z"].tolist() == [3.0, 6.0, 2.0]
    assert np.isnan(frame["y"].iloc[0])
    assert set(frame["status"]) == {"ok"} and set(frame["error"]) == {""}
    assert set(frame["worker"]) == {"local"} and set(frame["attempts"]) == {1}
    assert (frame["duration_s"] >= 0).all()


def test_serial_failures_are_kept_with_reason():
    """A raising point, a hanging one and a non-dict result do not lose the others."""
    start = time.monotonic()
    frame = run_sweep(picky, grid(x=[0, 1, 2, 3, 4, 5]), timeout=1.0, progress=False)
    assert time.monotonic() - start < 10
    assert frame["status"].tolist() == ["ok", "ok", "failed", "timeout", "failed", "ok"]
    assert frame["z"].tolist()[:2] == [0.0, 1.0] and frame["z"].iloc[5] == 5.0
    assert frame["error"].iloc[2] == "RuntimeError: cannot simulate x=2"
    assert frame["error"].iloc[3].startswith("PointTimeoutError: simulate did not")
    assert "must return a dict of results, got float" in frame["error"].iloc[4]
    assert 1.0 <= frame["duration_s"].iloc[3] < 3.0


def test_serial_retries_until_success():
    """retries gives a flaky point more attempts; attempts counts them."""
    calls = {"n": 0}

    def flaky(x):
        calls["n"] += 1
        if calls["n"] < 3:
            raise OSError("licence server busy")
        return {"z": x}

    frame = run_sweep(flaky, [{"x": 1}], retries=2, progress=False)
    assert frame["status"].tolist() == ["ok"] and frame["attempts"].tolist() == [3]
    calls["n"] = 0
    frame = run_sweep(flaky, [{"x": 1}], retries=1, progress=False)
    assert frame["status"].tolist() == ["failed"] and frame["attempts"].tolist() == [2]
    assert frame["error"].iloc[0] == "OSError: licence server busy"


def test_simulate_kwargs_are_shared():
    """simulate_kwargs reach every call; clashing names are rejected."""
    frame = run_sweep(
        affine, grid(x=[1.0, 2.0]), simulate_kwargs={"scale": 10.0}, progress=False
    )
    assert frame["z"].tolist() == [10.0, 20.0]
    assert "scale" not in frame.columns
    with pytest.raises(ValueError, match=r"\['x'\] given both"):
        run_sweep(affine, [{"x": 1}], simulate_kwargs={"x": 2}, progress=False)


def test_result_columns_clashing_are_renamed():
    """A result named like a parameter or reserved column becomes <name>_result."""

    def echo(x):
        return {"x": x + 1, "status": "mine", "other": 1}

    with pytest.warns(UserWarning, match="renamed"):
        frame = run_sweep(echo, [{"x": 1}], progress=False)
    assert frame[["x", "x_result", "status_result", "other", "status"]].iloc[
        0
    ].tolist() == [
        1,
        2,
        "mine",
        1,
        "ok",
    ]


def test_empty_sweep_has_reserved_columns():
    """No points give an empty table with the reserved columns."""
    frame = run_sweep(affine, [], progress=False)
    assert len(frame) == 0 and list(frame.columns) == list(RESERVED_COLUMNS)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"retries": -1}, "retries must be an integer >= 0, got -1"),
        ({"retries": 1.5}, "retries must be an integer >= 0, got 1.5"),
        ({"timeout": 0}, "timeout must be > 0 s or None, got 0"),
        ({"no_worker_timeout": 0}, "no_worker_timeout must be > 0 s, got 0"),
        ({"points": [{"x": 1}, 3]}, "point 1 is 3; points must be dicts"),
        ({"simulate": 42}, "neither callable nor a backend name"),
        ({"simulate": "cheetha"}, "Did you mean 'cheetah'"),
    ],
)
def test_invalid_arguments(kwargs, message):
    """Bad arguments raise ValueError naming the bad value."""
    arguments = {"simulate": affine, "points": [{"x": 1}], "progress": False, **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        run_sweep(**arguments)


def test_unknown_backend_lists_valid_names():
    """An unknown backend name lists the registered names, sorted."""
    with pytest.raises(ValueError, match="'cheetah', 'tracewin'"):
        run_sweep("nope", [{"x": 1}], progress=False)


def test_register_backend_by_name():
    """A registered backend is usable by name; names cannot be taken twice."""
    register_backend("test-affine", affine, overwrite=True)
    try:
        frame = run_sweep("test-affine", [{"x": 2.0, "y": 1.0}], progress=False)
        assert frame["z"].tolist() == [3.0]
        with pytest.raises(ValueError, match="already exists"):
            register_backend("test-affine", affine)
    finally:
        SWEEP_BACKENDS.pop("test-affine")


def test_progress_bar_is_shown(capsys):
    """progress=True draws a 'sweep' bar that reaches n/n and counts failures."""
    run_sweep(picky, grid(x=[0, 1, 2]), progress=True)
    err = capsys.readouterr().err
    assert "sweep" in err and "3/3" in err and "failed=1" in err


# --- LocalCluster -----------------------------------------------------------------


def test_local_cluster_matches_serial(local_client):
    """On a 2-worker LocalCluster the table equals the serial one, both workers used."""
    points = grid(x=np.arange(8.0))
    frame = run_sweep(slow_affine, points, client=local_client, progress=False)
    assert frame["x"].tolist() == list(np.arange(8.0))
    assert frame["z"].tolist() == [2.0 * x for x in range(8)]
    assert set(frame["status"]) == {"ok"}
    workers = set(local_client.scheduler_info(n_workers=-1)["workers"])
    assert set(frame["worker"]) == workers and len(workers) == 2


def test_local_cluster_failures_timeouts_and_retries(local_client):
    """Failures and timeouts are kept per point on workers; retries re-run them."""
    start = time.monotonic()
    frame = run_sweep(
        picky,
        grid(x=[0, 1, 2, 3, 4, 5]),
        client=local_client,
        timeout=1.0,
        retries=1,
        progress=False,
    )
    assert time.monotonic() - start < 15
    assert frame["status"].tolist() == ["ok", "ok", "failed", "timeout", "failed", "ok"]
    assert frame["attempts"].tolist() == [1, 1, 2, 2, 2, 1]
    assert frame["error"].iloc[2] == "RuntimeError: cannot simulate x=2"
    assert frame["worker"].iloc[3].startswith("tcp://127.0.0.1:")


def test_large_simulate_kwargs_are_scattered(local_client):
    """Shared arguments over 1 MiB travel once per worker and still reach the calls."""

    def size_of(x, blob):
        return {"n": len(blob) + x}

    blob = b"\0" * (2 * 2**20)
    frame = run_sweep(
        size_of,
        grid(x=[0, 1, 2]),
        client=local_client,
        simulate_kwargs={"blob": blob},
        progress=False,
    )
    assert frame["n"].tolist() == [len(blob), len(blob) + 1, len(blob) + 2]


# --- backends: Cheetah ------------------------------------------------------------


def _simulate_screen_beam():
    """The core's Cheetah simulation function, or skip while it does not exist."""
    try:
        from rltutorial.envs.cheetah import simulate_screen_beam
    except ImportError as error:
        pytest.skip(
            f"rltutorial.envs.cheetah.simulate_screen_beam not available: {error}"
        )
    return simulate_screen_beam


def test_cheetah_backend_matches_direct_simulation():
    """cheetah_simulate returns simulate_screen_beam's numbers by name."""
    simulate_screen_beam = _simulate_screen_beam()
    from rltutorial.sweep import cheetah_simulate

    result = cheetah_simulate(q1=10.0, q2=-5.0, cv=1e-3, q3=2.0, ch=-1e-3)
    direct = simulate_screen_beam(np.array([10.0, -5.0, 1e-3, 2.0, -1e-3]))
    assert list(result) == ["mu_x", "sigma_x", "mu_y", "sigma_y"]
    np.testing.assert_allclose(list(result.values()), direct, rtol=1e-12)


def test_cheetah_backend_incoming_overrides():
    """A wider incoming beam gives a wider screen beam; unknown names are listed."""
    _simulate_screen_beam()
    from rltutorial.sweep import cheetah_simulate

    narrow = cheetah_simulate(sigma_x=1e-4)
    wide = cheetah_simulate(sigma_x=4e-4)
    assert wide["sigma_x"] > narrow["sigma_x"] > 0
    with pytest.raises(
        ValueError, match=r"unknown incoming-beam parameter\(s\) \['sigma'\]"
    ):
        cheetah_simulate(sigma=1.0)


def test_cheetah_backend_in_a_sweep():
    """run_sweep('cheetah', grid(...)) gives one beam per magnet setting."""
    _simulate_screen_beam()
    frame = run_sweep("cheetah", grid(q1=[-10.0, 0.0, 10.0]), progress=False)
    assert frame["status"].tolist() == ["ok"] * 3
    assert frame["sigma_x"].nunique() == 3
