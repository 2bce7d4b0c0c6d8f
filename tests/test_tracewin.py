"""Tests for rltutorial.tracewin against a fake TraceWin executable made per test."""

from __future__ import annotations

import pickle
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from fake_tracewin import MODE_PARAM, make_fake_tracewin, make_project, mode_code

from rltutorial.tracewin import (
    EXECUTABLE_ENV_VAR,
    TraceWin,
    TraceWinError,
    TraceWinExitError,
    TraceWinFormatError,
    TraceWinNotFoundError,
    TraceWinOutputMissingError,
    TraceWinReportedError,
    TraceWinTimeoutError,
    find_executable,
    format_params,
)


@pytest.fixture
def fake_exe(tmp_path, monkeypatch):
    """The fake tracelx64 in tmp_path/bin; TRACEWIN_EXE unset."""
    monkeypatch.delenv(EXECUTABLE_ENV_VAR, raising=False)
    monkeypatch.delenv("FAKE_TRACEWIN_MODE", raising=False)
    (tmp_path / "bin").mkdir()
    return make_fake_tracewin(tmp_path / "bin")


@pytest.fixture
def tracewin(tmp_path, fake_exe):
    """A TraceWin wrapper on a minimal project, runs under tmp_path/runs."""
    return TraceWin(
        make_project(tmp_path / "project"),
        executable=fake_exe,
        workdir=tmp_path / "runs",
    )


def _alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    stat = Path(f"/proc/{pid}/stat")
    try:
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def _wait_dead(pid: int, within: float = 3.0) -> bool:
    """Poll until ``pid`` is gone; return True if it died within ``within`` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.02)
    return False


def test_command_line_reaches_executable(tracewin):
    """The executable gets 'project.ini hide path_cal=DIR key=value ...' in order."""
    result = tracewin.run({"nbr_part1": 50, "ele[27][6]": -1200.5, "current1": 2})
    argv = (result.calc_dir / "args.txt").read_text().splitlines()
    assert argv[1:] == [
        str(tracewin.project_ini),
        "hide",
        f"path_cal={result.calc_dir}",
        "nbr_part1=50",
        "ele[27][6]=-1200.5",
        "current1=2",
    ]
    assert list(result.command[1:]) == argv[1:]


def test_hide_false_omits_hide(tmp_path, fake_exe):
    """hide=False leaves out TraceWin's 'hide' argument."""
    tracewin = TraceWin(make_project(tmp_path / "p"), executable=fake_exe, hide=False)
    result = tracewin.run()
    assert "hide" not in (result.calc_dir / "args.txt").read_text().splitlines()
    result.cleanup()
    assert not result.calc_dir.exists()


def test_result_contents(tracewin):
    """The result holds the parsed table, output tail, duration and lazy .dst."""
    result = tracewin.run({"nbr_part1": 40, "current1": 7.5, "ele[3][2]": 2.0})
    assert result.output_file.name == "partran1.out"
    assert result.partran["SizeX"].iloc[-1] == pytest.approx(1 + 2.0**2)
    assert result.partran.attrs["mc2"] == pytest.approx(938.272)
    assert "Calculation done" in result.stdout_tail
    assert 0 < result.duration_s < 10
    assert result.returncode == 0
    assert "distribution" not in vars(result)
    assert len(result.distribution) == 40
    assert result.distribution.attrs["current"] == 7.5
    assert "distribution" in vars(result)


def test_every_run_has_its_own_directory_even_concurrently(tracewin, tmp_path):
    """Concurrent runs write into distinct fresh directories under workdir."""
    knobs = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda k: tracewin.run({"ele[1][1]": k}, 20), knobs))
    dirs = {result.calc_dir for result in results}
    assert len(dirs) == len(knobs)
    assert all(path.parent == tmp_path / "runs" for path in dirs)
    for knob, result in zip(knobs, results, strict=True):
        assert result.partran["SizeX"].iloc[-1] == pytest.approx(1 + knob**2)


def test_default_workdir_is_temporary(tmp_path, fake_exe):
    """Without workdir, the calculation directory is created in the temp dir."""
    import tempfile

    tracewin = TraceWin(make_project(tmp_path / "p"), executable=fake_exe)
    result = tracewin.run()
    assert result.calc_dir.parent == Path(tempfile.gettempdir()).resolve()
    result.cleanup()


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("nbr_part", "unknown TraceWin parameter 'nbr_part'"),
        ("ele[1]", "'ele[n][v]' with integers n"),
        ("ele[a][2]", "unknown TraceWin parameter"),
        ("path_cal", "set by the wrapper"),
        ("hide", "set by the wrapper"),
    ],
)
def test_invalid_parameter_names(tracewin, key, message):
    """Unknown or managed keys raise ValueError naming the key and the valid ones."""
    with pytest.raises(
        ValueError, match=message.replace("[", r"\[").replace("]", r"\]")
    ):
        tracewin.run({key: 1})
    assert not tracewin.workdir.exists(), "no calculation directory for a bad call"


def test_unknown_key_lists_sorted_valid_keys():
    """The error lists the documented keys in sorted order."""
    with pytest.raises(ValueError) as info:
        format_params({"energy": 3})
    assert "['charge1', 'current1', 'dat_file', 'dst_file1', 'eln1'" in str(info.value)


@pytest.mark.parametrize(
    "value", [True, float("nan"), float("inf"), "has space", "", None, [1, 2]]
)
def test_invalid_parameter_values(value):
    """Bools, non-finite numbers, empty/whitespace strings and lists are rejected."""
    with pytest.raises(ValueError, match="nbr_part1"):
        format_params({"nbr_part1": value})


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"dat_file": "lattice\x00.dat"},
            "parameter 'dat_file': value 'lattice\\x00.dat' holds the control "
            "character '\\x00'",
        ),
        (
            {"dst_file1": Path("in\x00.dst")},
            "parameter 'dst_file1': value 'in\\x00.dst' holds the control",
        ),
        ({"dat_file": "a\nb"}, "parameter 'dat_file': value 'a\\nb' holds the control"),
        (
            {"nbr_part1\x00": 10},
            "parameter name 'nbr_part1\\x00' holds the control character '\\x00'",
        ),
        ({"ele[27][6]\n": 1.0}, "parameter name 'ele[27][6]\\n' holds the control"),
    ],
)
def test_control_characters_name_the_parameter(tracewin, params, message):
    """A NUL byte or newline in a name or value: ValueError naming the parameter."""
    with pytest.raises(ValueError) as info:
        tracewin.run(params)
    assert message in str(info.value)
    assert not tracewin.workdir.exists(), "no calculation directory for a bad call"


def test_element_numbers_are_ascii_digits():
    """'ele[n][v]' takes ASCII digits only, not other Unicode digits such as '١'."""
    with pytest.raises(ValueError, match="unknown TraceWin parameter 'ele"):
        format_params({"ele[\u0661][2]": 1})


def test_parameter_formatting():
    """Integers stay integers, floats keep full precision; numpy scalars, paths work."""
    assert format_params(
        {
            "nbr_part1": np.int64(1000),
            "energy1": np.float64(0.1) + np.float64(0.2),
            "ele[12][3]": -3,
            "dst_file1": Path("/data/in.dst"),
        }
    ) == [
        "nbr_part1=1000",
        "energy1=0.30000000000000004",
        "ele[12][3]=-3",
        "dst_file1=/data/in.dst",
    ]


def test_executable_not_found_message(tmp_path, monkeypatch):
    """A missing executable names it and says how to point to it."""
    monkeypatch.delenv(EXECUTABLE_ENV_VAR, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    tracewin = TraceWin(make_project(tmp_path / "p"))
    with pytest.raises(TraceWinNotFoundError) as info:
        tracewin.run()
    text = str(info.value)
    assert "'tracelx64'" in text and "executable=" in text and "TRACEWIN_EXE" in text
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(TraceWinNotFoundError, match="nowhere/tw"):
        find_executable(tmp_path / "nowhere" / "tw")


def test_executable_from_environment_variable(tmp_path, fake_exe, monkeypatch):
    """TRACEWIN_EXE is used when executable is None, and named when it is wrong."""
    monkeypatch.setenv(EXECUTABLE_ENV_VAR, str(fake_exe))
    assert find_executable() == fake_exe.resolve()
    assert TraceWin(make_project(tmp_path / "p")).run().returncode == 0
    monkeypatch.setenv(EXECUTABLE_ENV_VAR, str(tmp_path / "missing"))
    with pytest.raises(TraceWinNotFoundError, match=r"\$TRACEWIN_EXE"):
        find_executable()


def test_missing_project_and_bad_arguments(tmp_path, tracewin):
    """A missing project file and bad timeout/tail/output arguments fail early."""
    with pytest.raises(FileNotFoundError, match="nope.ini"):
        TraceWin(tmp_path / "nope.ini")
    with pytest.raises(ValueError, match="timeout must be > 0 s or None, got 0"):
        tracewin.run(timeout=0)
    with pytest.raises(ValueError, match="tail_lines must be an integer >= 1, got 0"):
        TraceWin(tracewin.project_ini, tail_lines=0)
    with pytest.raises(ValueError, match="output_files must name at least one file"):
        TraceWin(tracewin.project_ini, output_files=())


def test_nonzero_exit(tracewin):
    """A non-zero exit raises TraceWinExitError with the code and output tail."""
    with pytest.raises(TraceWinExitError) as info:
        tracewin.run({MODE_PARAM: mode_code("exit")})
    error = info.value
    assert error.returncode == 3
    assert "exited with code 3" in str(error)
    assert "Segmentation fault" in error.output_tail and "Segmentation fault" in str(
        error
    )
    assert error.calc_dir.is_dir()


def test_reported_error_lines(tracewin):
    """'error:' lines in TraceWin's output raise TraceWinReportedError with them."""
    with pytest.raises(TraceWinReportedError) as info:
        tracewin.run({MODE_PARAM: mode_code("error")})
    assert "element 27: aperture is zero" in str(info.value)
    assert "calculation stopped" in str(info.value)
    assert info.value.returncode == 0


def test_env_is_passed_to_tracewin(tmp_path, fake_exe):
    """Extra environment variables reach the executable."""
    tracewin = TraceWin(
        make_project(tmp_path / "p"),
        executable=fake_exe,
        env={"FAKE_TRACEWIN_MODE": "error"},
    )
    with pytest.raises(TraceWinReportedError):
        tracewin.run()


def test_missing_output(tracewin):
    """No output table raises TraceWinOutputMissingError listing the files present."""
    with pytest.raises(TraceWinOutputMissingError) as info:
        tracewin.run({MODE_PARAM: mode_code("no_output")})
    assert "partran1.out" in str(info.value) and "args.txt" in str(info.value)


def test_envelope_output_and_missing_distribution(tracewin):
    """tracewin.out is used when partran1.out is absent; no .dst raises on access."""
    result = tracewin.run({MODE_PARAM: mode_code("envelope")})
    assert result.output_file.name == "tracewin.out"
    assert len(result.partran) == 6
    with pytest.raises(TraceWinOutputMissingError, match="part_dtl1.dst"):
        _ = result.distribution


def test_corrupt_outputs(tracewin):
    """A short table row fails the run; a truncated .dst fails on access."""
    with pytest.raises(TraceWinFormatError, match="values, expected"):
        tracewin.run({MODE_PARAM: mode_code("bad_table")})
    result = tracewin.run({MODE_PARAM: mode_code("truncated_dst")})
    with pytest.raises(TraceWinFormatError, match="truncated"):
        _ = result.distribution


@pytest.mark.parametrize("mode", ["hang", "hang_hard"])
def test_timeout_kills_process_group(tracewin, mode):
    """A hanging TraceWin is killed with its children; TraceWinTimeoutError raised."""
    start = time.monotonic()
    with pytest.raises(TraceWinTimeoutError) as info:
        tracewin.run({MODE_PARAM: mode_code(mode)}, timeout=1.0)
    assert time.monotonic() - start < 8
    error = info.value
    assert isinstance(error, TimeoutError)
    assert "1.0 s" in str(error) and "computing..." in error.output_tail
    for name in ("fake.pid", "child.pid"):
        pid = int((error.calc_dir / name).read_text())
        assert _wait_dead(pid), f"{name} {pid} survived the timeout"


@pytest.mark.parametrize(
    "cls",
    [
        TraceWinExitError,
        TraceWinReportedError,
        TraceWinTimeoutError,
        TraceWinOutputMissingError,
        TraceWinNotFoundError,
    ],
)
def test_errors_pickle_with_attributes(cls, tmp_path):
    """Errors keep message and attributes through pickling (as Dask transports them)."""
    error = cls("message", calc_dir=tmp_path, returncode=4, output_tail="tail")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls and isinstance(copy, TraceWinError)
    assert (str(copy), copy.calc_dir, copy.returncode, copy.output_tail) == (
        "message",
        tmp_path,
        4,
        "tail",
    )
