"""Fault tests for rltutorial.sweep on a real Dask cluster started on 127.0.0.1.

Each cluster is a ``dask scheduler`` and ``dask worker --nthreads 1`` processes
(``python -m distributed.cli...``) on loopback, started in their own sessions and
killed in fixture teardown. Workers run without a nanny, so killing a worker's
process removes that worker for good.
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cloudpickle
import pytest
from loopback import ProcessGroups, collect_garbage, free_port

from rltutorial.sweep import grid, make_client, run_sweep

# Workers need not import this test module: ship its functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
STARTUP_S = 60.0


class LoopbackCluster:
    """A Dask scheduler and workers as subprocesses on 127.0.0.1."""

    def __init__(self, log_dir: Path, config: dict[str, str] | None = None) -> None:
        self.address = f"tcp://127.0.0.1:{free_port()}"
        python_path = [str(REPO), str(TESTS), os.environ.get("PYTHONPATH", "")]
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, python_path)),
            **(config or {}),
        }
        self.processes = ProcessGroups(log_dir)
        self._spawn(
            "scheduler",
            "distributed.cli.dask_scheduler",
            "--host", "127.0.0.1",
            "--port", self.address.rsplit(":", 1)[1],
            "--no-dashboard",
        )  # fmt: skip

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        """Start ``python -m args`` in its own session, logging to a file."""
        return self.processes.spawn(name, [sys.executable, "-m", *args], self.env)

    def add_worker(self, name: str) -> subprocess.Popen:
        """Start one single-threaded worker without a nanny."""
        return self._spawn(
            name,
            "distributed.cli.dask_worker", self.address,
            "--nthreads", "1",
            "--no-nanny",
            "--no-dashboard",
            "--host", "127.0.0.1",
            "--name", name,
        )  # fmt: skip

    def close(self) -> None:
        """Kill every process group (throwaway test processes) and reap them."""
        self.processes.close()


def _start(tmp_path: Path, n_workers: int, config: dict[str, str] | None = None):
    """Start a loopback cluster with ``n_workers`` and a client connected to it."""
    cluster = LoopbackCluster(tmp_path, config)
    workers = [cluster.add_worker(f"w{i}") for i in range(n_workers)]
    try:
        client = make_client(cluster.address, timeout=STARTUP_S)
        client.wait_for_workers(n_workers, timeout=STARTUP_S)
        client.run(importlib.import_module, "rltutorial.sweep.execution")
    except BaseException:
        cluster.close()
        raise
    return cluster, workers, client


@pytest.fixture
def cluster_factory(tmp_path):
    """Start loopback clusters on demand; close clients and processes afterwards."""
    started = []

    def factory(n_workers: int, config: dict[str, str] | None = None):
        log_dir = tmp_path / f"cluster{len(started)}"
        log_dir.mkdir()
        cluster, workers, client = _start(log_dir, n_workers, config)
        started.append((cluster, client))
        return workers, client

    yield factory
    for cluster, client in started:
        client.close(timeout=10)
        cluster.close()
    collect_garbage()


@pytest.fixture(scope="module")
def healthy(tmp_path_factory):
    """One scheduler and two workers, shared by the tests that kill nothing."""
    cluster, _, client = _start(tmp_path_factory.mktemp("healthy"), 2)
    yield client
    client.close(timeout=10)
    cluster.close()
    collect_garbage()


def marked_square(x, marker_dir, seconds=0.4):
    """Square ``x`` slowly, leaving start/done marker files named after the pid."""
    pid = os.getpid()
    (Path(marker_dir) / f"start-{x}-{pid}").touch()
    time.sleep(seconds)
    (Path(marker_dir) / f"done-{x}-{pid}").touch()
    return {"z": x * x, "pid": pid}


def hang_or_square(x):
    """Hang for x == 1 (a pure-Python stuck simulation), else square."""
    if x == 1:
        time.sleep(60)
    return {"z": x * x}


def poison(x):
    """Kill the worker process running it for x == 2, else square."""
    if x == 2:
        os._exit(1)
    time.sleep(0.2)
    return {"z": x * x}


def _in_flight(marker_dir: Path, pid: int) -> list[int]:
    """Points started but not finished by process ``pid``."""
    started = {p.name.split("-")[1] for p in marker_dir.glob(f"start-*-{pid}")}
    done = {p.name.split("-")[1] for p in marker_dir.glob(f"done-*-{pid}")}
    return sorted(int(x) for x in started - done)


def _kill_later(victim: subprocess.Popen, condition, record: dict) -> threading.Thread:
    """SIGKILL ``victim`` as soon as ``condition()`` returns a truthy value (≤ 30 s)."""

    def watch() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            value = condition()
            if value:
                victim.kill()
                record["killed_with"] = value
                return
            time.sleep(0.01)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_sweep_through_scheduler_address(healthy, tmp_path):
    """make_client('tcp://127.0.0.1:PORT') runs a sweep on both CLI workers."""
    frame = run_sweep(
        marked_square,
        grid(x=list(range(8))),
        client=healthy,
        simulate_kwargs={"marker_dir": str(tmp_path), "seconds": 0.2},
        progress=False,
    )
    assert frame["z"].tolist() == [x * x for x in range(8)]
    assert set(frame["status"]) == {"ok"}
    assert all(w.startswith("tcp://127.0.0.1:") for w in frame["worker"])
    assert frame["worker"].nunique() == 2


def test_hanging_python_simulation_times_out_on_cluster(healthy):
    """A stuck pure-Python point is reported as timeout; the other points finish."""
    start = time.monotonic()
    frame = run_sweep(
        hang_or_square,
        grid(x=[0, 1, 2, 3]),
        client=healthy,
        timeout=1.0,
        progress=False,
    )
    assert time.monotonic() - start < 15
    assert frame["status"].tolist() == ["ok", "timeout", "ok", "ok"]
    assert frame["z"].iloc[3] == 9
    assert "did not return within 1 s" in frame["error"].iloc[1]


def test_worker_deaths_mid_sweep(cluster_factory, tmp_path):
    """Workers SIGKILLed mid-task: no point goes missing and the sweep never hangs.

    First sweep: one of two workers dies while running a point; that point and the
    rest are re-run on the survivor, every row is ok. Second sweep: the last worker
    dies; the sweep returns after ``no_worker_timeout`` with the unfinished points
    marked 'lost' and the finished ones ok.
    """
    (victim, survivor), client = cluster_factory(2)
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()

    def busy_after_one_point():
        done = list(first.glob(f"done-*-{victim.pid}"))
        return done and _in_flight(first, victim.pid)

    record: dict = {}
    killer = _kill_later(victim, busy_after_one_point, record)
    frame = run_sweep(
        marked_square, grid(x=list(range(10))), client=client,
        simulate_kwargs={"marker_dir": str(first), "seconds": 0.25},
        progress=False, no_worker_timeout=30,
    )  # fmt: skip
    killer.join(timeout=1)
    assert record.get("killed_with"), "the victim never ran a point"
    assert victim.wait(timeout=5) == -signal.SIGKILL
    not_ok = frame.loc[frame["status"] != "ok", ["x", "status", "error"]]
    assert len(frame) == 10 and not_ok.empty, not_ok.to_string()
    assert frame["z"].tolist() == [x * x for x in range(10)]
    for x in record["killed_with"]:
        assert frame["pid"].iloc[x] == survivor.pid, f"point {x} not re-run elsewhere"
        assert not (first / f"done-{x}-{victim.pid}").exists()

    _kill_later(survivor, lambda: len(list(second.glob("done-*"))) >= 2, record)
    start = time.monotonic()
    frame = run_sweep(
        marked_square, grid(x=list(range(8))), client=client,
        simulate_kwargs={"marker_dir": str(second), "seconds": 0.2},
        no_worker_timeout=1.0, progress=False,
    )  # fmt: skip
    assert time.monotonic() - start < 30
    assert len(frame) == 8 and set(frame["status"]) <= {"ok", "lost"}
    ok = frame[frame["status"] == "ok"]
    lost = frame[frame["status"] == "lost"]
    assert len(ok) >= 1 and len(lost) >= 4
    assert (ok["z"] == ok["x"] ** 2).all()
    for error in lost["error"]:
        assert (
            "no Dask worker for 1 s" in error or "lost with its worker" in error
        ), error


def test_point_that_kills_workers_is_reported_lost(cluster_factory):
    """A point that crashes its worker ends as 'lost' (KilledWorker); others finish."""
    config = {
        "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0",
        "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0",
    }
    _, client = cluster_factory(2, config)
    frame = run_sweep(
        poison, grid(x=list(range(6))), client=client, progress=False,
        no_worker_timeout=10,
    )  # fmt: skip
    assert len(frame) == 6
    assert frame["status"].tolist() == ["ok", "ok", "lost", "ok", "ok", "ok"]
    assert "KilledWorker" in frame["error"].iloc[2]
    assert frame["z"].tolist()[3:] == [9, 16, 25]


def quick_square(x):
    """A 2 ms point."""
    time.sleep(0.002)
    return {"z": x * x}


def quick_poison(x):
    """A 2 ms point; kills the worker process running it for x == 30."""
    if x == 30:
        os._exit(1)
    time.sleep(0.002)
    return {"z": x * x}


def test_short_points_travel_in_chunks(healthy):
    """60 points of 2 ms: after the first measured points (one per task) they go many
    to a task, so the cluster runs far fewer tasks than points; all come back ok, in
    order."""
    from distributed import get_task_stream

    with get_task_stream(healthy) as stream:
        frame = run_sweep(
            quick_square, grid(x=list(range(60))), client=healthy, progress=False
        )
    assert (frame["status"] == "ok").all()
    assert frame["z"].tolist() == [x * x for x in range(60)]
    assert len({entry["key"] for entry in stream.data}) < 30


def test_a_killer_in_a_chunk_fails_alone(cluster_factory):
    """The point that kills its worker inside a chunk ends 'lost' alone and every other
    point of that chunk comes back 'ok'. Finding the killer costs a second worker (it
    runs once in its chunk, once alone), so three workers that are not restarted
    start here."""
    config = {
        "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0",
        "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0",
    }
    _, client = cluster_factory(3, config)
    frame = run_sweep(
        quick_poison, grid(x=list(range(60))), client=client, progress=False,
        no_worker_timeout=20,
    )  # fmt: skip
    statuses = frame["status"].tolist()
    assert statuses[30] == "lost" and "KilledWorker" in frame["error"].iloc[30]
    assert statuses[:30] + statuses[31:] == ["ok"] * 59
    assert frame["z"].drop(index=30).tolist() == [x * x for x in range(60) if x != 30]
