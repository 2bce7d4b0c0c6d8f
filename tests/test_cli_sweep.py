"""python -m rltutorial sweep: grids from the shell, a table per sweep, honest exit codes.

Cheetah runs for real (one subprocess); TraceWin is the fake executable of
``fake_tracewin.py``, whose mode parameter ``ele[999][1]`` makes chosen points fail
or hang. The cluster test starts ``dask scheduler`` and one ``dask worker`` as their
own processes on 127.0.0.1 (helpers from ``loopback.py``).
"""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
from fake_tracewin import MODE_PARAM, make_fake_tracewin, make_project, mode_code
from loopback import ProcessGroups, free_port

from rltutorial.__main__ import main
from rltutorial.cli.sweep import TableFormat, write_table
from rltutorial.cli.sweep_spec import parse_axis
from rltutorial.sweep import RESERVED_COLUMNS
from rltutorial.sweep.table import UNFINISHED

KNOB = "ele[27][6]"
STARTUP_S = 60.0


@pytest.fixture
def tracewin(tmp_path, monkeypatch):
    """Fake TraceWin and project; temporary files (calculation dirs) under tmp_path.

    Returns the command-line arguments that select it and the environment for
    subprocesses.
    """
    for name in ("FAKE_TRACEWIN_MODE", "TRACEWIN_EXE"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "bin").mkdir()
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    exe = make_fake_tracewin(tmp_path / "bin")
    project = make_project(tmp_path / "project").parent
    args = ["--backend", "tracewin", "--set", f"project={project}"]
    args += ["--set", f"executable={exe}"]
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}
    return {"args": args, "env": env, "tmp": tmp_path / "tmp"}


def _sweep(*argv: str) -> list[str]:
    """``python -m rltutorial sweep ARGV`` as a subprocess command line."""
    return [sys.executable, "-m", "rltutorial", "sweep", *argv]


def _mode_axis(*modes: str) -> str:
    """A ``--grid`` axis of fake-TraceWin modes."""
    return f"{MODE_PARAM}=" + ",".join(str(mode_code(mode)) for mode in modes)


def _size_x(knob: float) -> float:
    """The fake's final SizeX (mm) for an element-parameter sum ``knob``."""
    return 1.0 + knob**2


def test_parse_axis_linspace_lists_and_bracket_names():
    """START:STOP:NUM is numpy.linspace; V1,V2 are numbers (int or float) or text."""
    name, values = parse_axis("q1=-30:30:20")
    assert name == "q1" and values == pytest.approx(np.linspace(-30, 30, 20))
    assert parse_axis("ele[27][6]=1,2,5") == ("ele[27][6]", [1, 2, 5])
    assert parse_axis("x=1.5, -2e-3 ,lattice.dat") == (
        "x",
        [1.5, -0.002, "lattice.dat"],
    )
    assert parse_axis("q2=7:7:1") == ("q2", [7.0])


def test_serial_cheetah_writes_one_ok_row_per_point(tmp_path):
    """A serial Cheetah sweep: 6 rows, all ok, mirror-symmetric beam, exit code 0.

    With the default incoming beam (round, no offsets) flipping the sign of every
    quadrupole swaps the horizontal and vertical planes: sigma_x(q1, q2) equals
    sigma_y(-q1, -q2). That only holds if q1 and q2 reach the right magnets.
    """
    out = tmp_path / "scan.csv"
    argv = ["--backend", "cheetah", "--grid", "q1=-30:30:3", "--grid", "q2=-10,10"]
    result = subprocess.run(
        _sweep(*argv, "--out", str(out)),
        capture_output=True, text=True, timeout=180, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out)
    beam = ["mu_x", "sigma_x", "mu_y", "sigma_y"]
    assert list(table.columns) == ["q1", "q2", *beam, *RESERVED_COLUMNS]
    assert table[["q1", "q2"]].values.tolist() == [
        [q1, q2] for q1 in (-30.0, 0.0, 30.0) for q2 in (-10.0, 10.0)
    ]
    assert (table["status"] == "ok").all() and (table["attempts"] == 1).all()
    assert (table["worker"] == "local").all()
    mirrored = table.iloc[::-1].reset_index(drop=True)
    assert table["sigma_x"].to_numpy() == pytest.approx(mirrored["sigma_y"], rel=1e-9)
    assert table["sigma_x"].nunique() == 6
    assert "sweep: 6/6 points" in result.stdout
    assert "(6 ok, 0 failed, 0 timeout, 0 lost)" in result.stdout
    assert f"table: {out}" in result.stdout
    assert "point/s" not in result.stderr  # no progress bar when stderr is no terminal


@pytest.mark.parametrize("allow_failures", [False, True])
def test_failed_points_keep_their_rows(tracewin, tmp_path, capsys, allow_failures):
    """A point TraceWin fails on: exit code 1 (0 with --allow-failures), row kept."""
    out = tmp_path / "scan.csv"
    argv = ["sweep", *tracewin["args"], "--grid", f"{KNOB}=-1:1:3"]
    argv += ["--grid", _mode_axis("ok", "exit"), "--out", str(out)]
    code = main(argv + ["--allow-failures"] * allow_failures)
    assert code == (0 if allow_failures else 1)
    table = pd.read_csv(out)
    assert len(table) == 6
    failed = table[table[MODE_PARAM] == mode_code("exit")]
    ok = table[table[MODE_PARAM] == mode_code("ok")]
    assert (failed["status"] == "failed").all() and (ok["status"] == "ok").all()
    assert failed["error"].str.startswith("TraceWinExitError: ").all()
    assert ok["error"].isna().all()
    assert ok["SizeX"].tolist() == pytest.approx([_size_x(k) for k in (-1, 0, 1)])
    stdout = capsys.readouterr().out
    assert "(3 ok, 3 failed, 0 timeout, 0 lost)" in stdout
    assert f"first point not ok ({KNOB}=-1, {MODE_PARAM}=1): failed: " in stdout


def test_sweep_file_with_command_line_on_top(tracewin, tmp_path, capsys):
    """A YAML sweep file runs; --grid replaces its axis of the same name."""
    fixed = dict(arg.split("=", 1) for arg in tracewin["args"][3::2])
    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text(
        "backend: tracewin\n"
        "grid:\n"
        f"  {KNOB}: {{start: 0, stop: 2, num: 3}}\n"
        "  ele[1][1]: [100, 200]\n"
        f"fixed: {{project: {fixed['project']}, executable: {fixed['executable']}, "
        "nbr_part1: 5e1}\n"
        "timeout: 30\n"
        "retries: 1\n"
    )
    out = tmp_path / "scan.csv"
    argv = ["sweep", "--file", str(sweep_file), "--grid", "ele[1][1]=0.5"]
    assert main(argv + ["--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert table[KNOB].tolist() == [0.0, 1.0, 2.0]
    assert table["ele[1][1]"].tolist() == [0.5] * 3
    assert table["SizeX"].tolist() == pytest.approx(
        [_size_x(k + 0.5) for k in (0, 1, 2)]
    )


def _wait_for_port(address: str, within_s: float) -> None:
    """Wait until ``tcp://host:port`` accepts connections."""
    host, port = address.removeprefix("tcp://").rsplit(":", 1)
    deadline = time.monotonic() + within_s
    while True:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture
def scheduler(tracewin, tmp_path):
    """``dask scheduler`` and one ``dask worker`` as processes on 127.0.0.1."""
    address = f"tcp://127.0.0.1:{free_port()}"
    # the interpreter's own scripts first (a venv), then PATH (a venv on system packages)
    scripts = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    dask = shutil.which("dask", path=scripts) or "dask"
    logs = tmp_path / "logs"
    logs.mkdir()
    groups = ProcessGroups(logs)
    try:
        groups.spawn(
            "scheduler",
            [dask, "scheduler", "--host", "127.0.0.1",
             "--port", address.rsplit(":", 1)[1], "--no-dashboard"],
            tracewin["env"],
        )  # fmt: skip
        groups.spawn(
            "worker",
            [dask, "worker", address, "--nthreads", "1", "--no-dashboard",
             "--host", "127.0.0.1", "--name", "w0"],
            tracewin["env"],
        )  # fmt: skip
        _wait_for_port(address, STARTUP_S)
        yield address, groups
    finally:
        groups.close()


def test_scheduler_runs_points_on_its_worker(tracewin, scheduler, tmp_path):
    """--scheduler: points run on the worker process; failed ones retried, kept."""
    address, groups = scheduler
    out = tmp_path / "scan.csv"
    argv = [*tracewin["args"], "--grid", f"{KNOB}=0,1,2"]
    argv += ["--grid", _mode_axis("ok", "error"), "--retries", "1"]
    result = subprocess.run(
        _sweep(*argv, "--scheduler", address, "--out", str(out)),
        capture_output=True, text=True, timeout=180, env=tracewin["env"],
    )  # fmt: skip
    assert result.returncode == 1, result.stderr + groups.tails()
    table = pd.read_csv(out)
    assert len(table) == 6
    assert table["worker"].str.startswith("tcp://127.0.0.1:").all()
    assert (table["worker"] != address).all()
    failed = table[table[MODE_PARAM] == mode_code("error")]
    assert (failed["status"] == "failed").all() and (failed["attempts"] == 2).all()
    assert failed["error"].str.startswith("TraceWinReportedError: ").all()
    ok = table[table["status"] == "ok"]
    assert ok["SizeX"].tolist() == pytest.approx([_size_x(k) for k in (0, 1, 2)])
    assert f"ran in the Dask cluster at {address} (1 workers" in result.stdout


def test_local_workers_start_and_stop(tracewin, tmp_path):
    """--workers 1 runs on a local Dask worker and stops it before returning."""
    out = tmp_path / "scan.csv"
    argv = ["sweep", *tracewin["args"], "--grid", f"{KNOB}=0,3", "--workers", "1"]
    assert main(argv + ["--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert table["worker"].str.startswith("tcp://").all()
    assert table["SizeX"].tolist() == pytest.approx([_size_x(0), _size_x(3)])
    assert not [
        child for child in multiprocessing.active_children() if child.is_alive()
    ]


def _write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` and return it."""
    path.write_text(text)
    return path


USER_ERRORS = {
    "grid syntax": (["--grid", "q1=-30:30"], "'-30:30' is not START:STOP:NUM"),
    "grid without =": (["--grid", "q1"], "expected NAME=START:STOP:NUM"),
    "unknown backend": (["--backend", "chetah"], "Did you mean 'cheetah'?"),
    "unknown parameter": (["--grid", "q4=1,2"], "Unknown cheetah parameter 'q4'."),
    "scheduler and workers": (
        ["--scheduler", "tcp://127.0.0.1:1", "--workers", "2"],
        "give either --scheduler or --workers",
    ),
    "no project": (
        ["--backend", "tracewin", "--grid", "ele[1][1]=1,2"],
        "needs --set project=",
    ),
    "missing file": (["--file", "{tmp}/none.yaml"], "cannot read sweep file"),
    "not YAML": (["--file", "{bad_yaml}"], "is not valid YAML"),
    "unquoted range": (["--file", "{base60}"], "single value 109820"),
    "parquet": (["--out", "{tmp}/scan.parquet"], "writing Parquet needs pyarrow"),
    "out exists": (["--out", "{existing}"], "exists; pass --overwrite"),
}


@pytest.mark.parametrize("case", USER_ERRORS, ids=list(USER_ERRORS))
def test_user_errors_exit_2_with_one_line(case, tmp_path, capsys, monkeypatch):
    """Each user error: exit code 2, one line naming the problem, no table."""
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if not installed
    paths = {
        "tmp": tmp_path,
        "bad_yaml": _write(tmp_path / "bad.yaml", "grid: [q1\n"),
        "base60": _write(
            tmp_path / "b.yaml", "backend: cheetah\ngrid: {q1: 30:30:20}\n"
        ),
        "existing": _write(tmp_path / "old.csv", "old\n"),
    }
    extra, message = USER_ERRORS[case]
    defaults = {"--backend": "cheetah", "--grid": "q1=1,2", "--out": "{tmp}/scan.csv"}
    if "--file" in extra:
        defaults = {"--out": defaults["--out"]}
    for option, value in defaults.items():
        if option not in extra:
            extra = [*extra, option, value]
    with pytest.raises(SystemExit) as exit_info:
        main(["sweep", *(arg.format(**paths) for arg in extra)])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1, error
    assert error.startswith("python -m rltutorial sweep: error: ")
    assert not (tmp_path / "scan.csv").exists()
    assert (tmp_path / "old.csv").read_text() == "old\n"


def test_user_error_in_a_process_has_no_traceback(tmp_path):
    """Run as a process, a bad grid prints one line and exits with 2."""
    argv = ["--backend", "cheetah", "--grid", "q1=-30:30:x", "--out", "scan.csv"]
    result = subprocess.run(
        _sweep(*argv), capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "grid axis 'q1'" in result.stderr


def _gone(pid: int, within_s: float) -> bool:
    """True once ``pid`` no longer runs (gone or a zombie), polling ``within_s`` s."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("timeout", [[], ["--timeout", "60"]], ids=["", "timeout"])
def test_ctrl_c_exits_130_with_the_finished_points(tracewin, tmp_path, timeout):
    """SIGINT during a point: TraceWin stopped, exit code 130, and the table holds the
    point that finished and the interrupted one marked lost (nothing was kept
    before). With a timeout the point runs in a watchdog thread that Ctrl-C abandons:
    its TraceWin is killed when the program exits (it used to keep running)."""
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    argv = [*tracewin["args"], *timeout, "--grid", _mode_axis("ok", "hang")]
    process = subprocess.Popen(
        _sweep(*argv, "--out", str(out_dir / "scan.csv")),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=tracewin["env"],
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + STARTUP_S
        while not list(tracewin["tmp"].glob("tracewin_*/child.pid")):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        [child_pid] = tracewin["tmp"].glob("tracewin_*/child.pid")
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    lines = stderr.splitlines()
    if timeout:  # the abandoned run is named as it is killed at exit
        assert re.fullmatch(
            r"killing TraceWin \(pid \d+\) left running at exit", lines.pop()
        )
    assert lines[-1] == (
        f"python -m rltutorial sweep: interrupted: 1 of 2 points finished; table "
        f"written to {out_dir / 'scan.csv'} (unfinished points marked lost)"
    )
    assert "Traceback" not in stderr
    assert [p.name for p in out_dir.iterdir()] == ["scan.csv"]
    table = pd.read_csv(out_dir / "scan.csv")
    assert table["status"].tolist() == ["ok", "lost"]
    assert table["error"].iloc[1] == UNFINISHED
    assert table["SizeX"].notna().tolist() == [True, False]
    assert _gone(int(child_pid.read_text()), within_s=10)


def test_write_table_is_all_or_nothing(tmp_path):
    """A writer that fails half-way leaves the old file as it was and no temp file."""
    path = _write(tmp_path / "scan.csv", "old\n")

    def half_then_fail(frame: pd.DataFrame, stream) -> None:
        stream.write(b"q1,status\n1.0,")
        raise OSError("disk full")

    frame = pd.DataFrame({"q1": [1.0], "status": ["ok"]})
    with pytest.raises(OSError, match="disk full"):
        write_table(frame, path, TableFormat(half_then_fail))
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["scan.csv"]
    write_table(frame, path, TableFormat(lambda f, s: f.to_csv(s, index=False)))
    assert path.read_text() == "q1,status\n1.0,ok\n"


def test_a_scheduler_without_workers_is_a_user_error(tmp_path, capsys, monkeypatch):
    """A running scheduler with no worker ends in exit code 2 and a message naming it,
    instead of a sweep that waits forever (the wait is shortened here)."""
    from distributed import LocalCluster

    monkeypatch.setattr("rltutorial.cli.sweep.WORKER_WAIT_S", 1.0)
    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster:
        argv = ["sweep", "--backend", "cheetah", "--grid", "q1=0,1", "--scheduler"]
        with pytest.raises(SystemExit) as exit_info:
            main([*argv, cluster.scheduler_address, "--out", str(tmp_path / "t.csv")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "has no worker" in error and cluster.scheduler_address in error
    assert not (tmp_path / "t.csv").exists()
