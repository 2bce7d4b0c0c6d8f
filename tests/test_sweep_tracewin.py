"""Tests for the TraceWin sweep backend: project archives, serial and cluster runs."""

from __future__ import annotations

import io
import re
import threading
import time
import zipfile
from pathlib import Path

import pytest
from fake_tracewin import MODE_PARAM, make_fake_tracewin, make_project, mode_code

from rltutorial.sweep import (
    ProjectArchive,
    pack_project,
    run_sweep,
    unpack_project,
)

# --- backends: TraceWin -----------------------------------------------------------


@pytest.fixture
def tracewin_setup(tmp_path, monkeypatch):
    """A fake TraceWin executable and a project folder."""
    monkeypatch.delenv("FAKE_TRACEWIN_MODE", raising=False)
    (tmp_path / "bin").mkdir()
    exe = make_fake_tracewin(tmp_path / "bin")
    ini = make_project(tmp_path / "project")
    return exe, ini


def test_pack_and_unpack_project(tracewin_setup, tmp_path):
    """A packed project unpacks once, with the same files, from several threads."""
    _, ini = tracewin_setup
    archive = pack_project(ini.parent)
    assert archive.ini == "project.ini" and "KiB" in repr(archive)
    assert pack_project(ini).sha256 == archive.sha256
    paths = []
    threads = [
        threading.Thread(
            target=lambda: paths.append(unpack_project(archive, tmp_path / "c"))
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(paths)) == 1 and paths[0].read_text() == ini.read_text()
    assert (paths[0].parent / "lattice.dat").read_text().startswith("DRIFT")


def test_pack_project_errors(tmp_path):
    """Missing folders, ambiguous .ini files and unsafe archives are refused."""
    with pytest.raises(FileNotFoundError):
        pack_project(tmp_path / "missing")
    (tmp_path / "a.ini").write_text("")
    (tmp_path / "b.ini").write_text("")
    with pytest.raises(ValueError, match=r"found \['a.ini', 'b.ini'\]; pass ini="):
        pack_project(tmp_path)
    with pytest.raises(FileNotFoundError, match="'c.ini'"):
        pack_project(tmp_path, ini="c.ini")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("../evil.ini", "x")
    evil = ProjectArchive("evil", "../evil.ini", buffer.getvalue(), "0" * 64)
    with pytest.raises(ValueError, match="unsafe path"):
        unpack_project(evil, tmp_path / "cache")


def test_tracewin_backend_serial(tracewin_setup):
    """The tracewin backend packs the project, runs each point, keeps failures."""
    exe, ini = tracewin_setup
    points = [
        {"ele[1][2]": 1.0},
        {"ele[1][2]": 2.0, MODE_PARAM: mode_code("error")},
        {"ele[1][2]": 3.0},
    ]
    frame = run_sweep(
        "tracewin",
        points,
        simulate_kwargs={"project": ini.parent, "executable": exe},
        timeout=20,
        progress=False,
    )
    assert frame["status"].tolist() == ["ok", "failed", "ok"]
    assert frame["SizeX"].tolist()[::2] == [2.0, 10.0]
    assert frame["z(m)"].iloc[0] == 2.5
    assert "TraceWinReportedError" in frame["error"].iloc[1]
    assert "aperture is zero" in frame["error"].iloc[1]


def test_tracewin_backend_on_cluster_kills_hung_run(tracewin_setup, local_client):
    """On workers, a hanging TraceWin is killed at the timeout; other points finish."""
    exe, ini = tracewin_setup
    points = [{"ele[1][2]": 1.0}, {MODE_PARAM: mode_code("hang")}, {"ele[1][2]": 2.0}]
    start = time.monotonic()
    frame = run_sweep(
        "tracewin",
        points,
        client=local_client,
        timeout=1.5,
        simulate_kwargs={"project": ini, "executable": exe},
        progress=False,
    )
    assert time.monotonic() - start < 20
    assert frame["status"].tolist() == ["ok", "timeout", "ok"]
    assert frame["SizeX"].iloc[2] == 5.0
    error = frame["error"].iloc[1]
    assert error.startswith(
        "TraceWinTimeoutError: TraceWin did not finish within 1.5 s"
    )
    calc_dir = Path(re.search(r"calculation directory: (\S+)", error).group(1))
    pid = int((calc_dir / "fake.pid").read_text())
    assert not _alive(pid), f"hung TraceWin {pid} still running"


def _alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"
