"""A fake headless TraceWin for tests, created as an executable script at test time.

:func:`make_fake_tracewin` writes a Python script with a shebang into a directory
and makes it executable. It parses the command line the way TraceWin does
(``EXE project.ini [hide] path_cal=DIR key=value ...``) and writes
``partran1.out`` and ``part_dtl1.dst`` into ``path_cal`` with the documented layouts,
using only the standard library (an implementation independent of the parsers).

Behaviour is chosen per run by the parameter ``ele[999][1]`` (an index into
:data:`MODES`), else by the environment variable ``FAKE_TRACEWIN_MODE`` (a mode
name), else ``ok``. The script writes its arguments to ``args.txt`` and its pid to
``fake.pid`` in ``path_cal``; in the hang modes its child's pid to ``child.pid``, and
in ``hang_setsid`` also the grandchild's pid to ``grandchild.pid``.

The final ``SizeX`` is ``1 + knob**2`` mm, where ``knob`` is the sum of all other
``ele[n][v]`` values, so tests can check that parameters reach the executable.
"""

from __future__ import annotations

import stat
import sys
from pathlib import Path

__all__ = ["MODES", "MODE_PARAM", "make_fake_tracewin", "make_project", "mode_code"]

#: Behaviours of the fake, selected by index through :data:`MODE_PARAM`.
MODES: tuple[str, ...] = (
    "ok",  # write partran1.out and part_dtl1.dst, exit 0
    "exit",  # print to stderr, exit code 3, no output files
    "error",  # print "error: ..." lines, exit 0
    "hang",  # start a child ignoring SIGTERM, sleep forever
    "hang_hard",  # like hang, and ignore SIGTERM itself
    "no_output",  # exit 0 without writing anything
    "truncated_dst",  # partran1.out fine, part_dtl1.dst cut short
    "bad_table",  # partran1.out with a short row
    "envelope",  # write tracewin.out only
    "hang_setsid",  # like hang; the child starts a grandchild in its own session
)
MODE_PARAM = "ele[999][1]"


def mode_code(mode: str) -> int:
    """Return the value of :data:`MODE_PARAM` that selects ``mode``."""
    return MODES.index(mode)


_SCRIPT = r'''
"""Fake tracelx64: writes TraceWin-like output files for tests."""
import math
import os
import signal
import struct
import subprocess
import sys
import time

MODES = __MODES__
COLUMNS = ["z(m)", "gama-1", "x0", "y0", "p0", "x'0", "y'0", "W0", "SizeX", "SizeY"]


def parse(argv):
    if len(argv) < 2 or not os.path.isfile(argv[1]):
        print("error: cannot open project file", argv[1:2])
        sys.exit(1)
    params = {}
    for token in argv[2:]:
        if token == "hide":
            continue
        if "=" not in token:
            print("error: cannot understand argument", token)
            sys.exit(1)
        key, value = token.split("=", 1)
        params[key] = value
    if "path_cal" not in params:
        print("error: no path_cal given")
        sys.exit(1)
    return params


def write_partran(path, knob, short_row=False):
    lines = ["Fake TraceWin partran output", " 938.272 352.21 2.5 1.0 %d" % 100]
    lines += ["preamble line %d" % i for i in range(3, 10)]
    lines.append("##  " + "  ".join(COLUMNS))
    for element in range(6):
        z = 0.5 * element
        size_x = 1.0 + knob**2 * element / 5
        values = [z, 0.003, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0, size_x, 2.0]
        if short_row and element == 3:
            values = values[:4]
        lines.append("%4d " % element + " ".join("%.9e" % v for v in values))
    with open(path, "w") as stream:
        stream.write("\n".join(lines) + "\n")


def write_dst(path, n, current, truncate=False):
    rows = (
        struct.pack("<6d", 0.1 * i, 1e-3, -0.1 * i, -1e-3, math.pi / 4, 3.0)
        for i in range(n)
    )
    header = struct.pack("<2bidd b", 125, 100, n, current, 352.21, 0)
    data = header + b"".join(rows) + struct.pack("<d", 938.272)
    with open(path, "wb") as stream:
        stream.write(data[: len(data) // 2] if truncate else data)


IGNORE_TERM = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
# Leaves the process group and session (setsid), ignores SIGTERM, writes its pid.
GRANDCHILD = IGNORE_TERM + """import os, sys, time
os.setsid()
with open(sys.argv[1] + ".tmp", "w") as stream:
    stream.write(str(os.getpid()))
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(600)
"""
# Starts GRANDCHILD (argv[1]: its pid file), then sleeps ignoring SIGTERM.
SPAWNER = IGNORE_TERM + """import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]])
time.sleep(600)
"""


def start_child(cal, grandchild):
    command = [sys.executable, "-c", IGNORE_TERM + "import time; time.sleep(600)"]
    pid_file = os.path.join(cal, "grandchild.pid")
    if grandchild:
        command = [sys.executable, "-c", SPAWNER, GRANDCHILD, pid_file]
    child = subprocess.Popen(command)
    with open(os.path.join(cal, "child.pid"), "w") as stream:
        stream.write(str(child.pid))
    deadline = time.monotonic() + 60
    while grandchild and not os.path.exists(pid_file) and time.monotonic() < deadline:
        time.sleep(0.01)


def hang(cal, hard, grandchild=False):
    start_child(cal, grandchild)
    if hard:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("computing...", flush=True)
    time.sleep(600)


def main():
    params = parse(sys.argv)
    cal = params["path_cal"]
    with open(os.path.join(cal, "args.txt"), "w") as stream:
        stream.write("\n".join(sys.argv))
    with open(os.path.join(cal, "fake.pid"), "w") as stream:
        stream.write(str(os.getpid()))
    code = params.pop("ele[999][1]", None)
    mode = os.environ.get("FAKE_TRACEWIN_MODE", "ok")
    if code:
        mode = MODES[int(float(code))]
    knob = sum(float(v) for k, v in params.items() if k.startswith("ele["))
    print("Fake TraceWin, mode", mode, flush=True)
    if mode == "exit":
        print("Segmentation fault (core dumped)", file=sys.stderr)
        sys.exit(3)
    if mode == "error":
        print("error: element 27: aperture is zero")
        print("Error: calculation stopped")
        return
    if mode in ("hang", "hang_hard", "hang_setsid"):
        hang(cal, mode == "hang_hard", grandchild=mode == "hang_setsid")
    if mode == "no_output":
        return
    table = "tracewin.out" if mode == "envelope" else "partran1.out"
    write_partran(os.path.join(cal, table), knob, short_row=mode == "bad_table")
    if mode != "envelope":
        n = int(float(params.get("nbr_part1", 100)))
        current = float(params.get("current1", 1.5))
        dst = os.path.join(cal, "part_dtl1.dst")
        write_dst(dst, n, current, truncate=mode == "truncated_dst")
    print("Calculation done", flush=True)


main()
'''


def make_fake_tracewin(directory: Path, name: str = "tracelx64") -> Path:
    """Write the fake TraceWin executable into ``directory`` and return its path.

    Parameters
    ----------
    directory : Path
        Existing directory (e.g. pytest's ``tmp_path``).
    name : str
        File name of the executable.

    Returns
    -------
    Path
        The executable script (mode 0755, shebang = the running interpreter).
    """
    path = Path(directory) / name
    source = _SCRIPT.replace("__MODES__", repr(MODES))
    path.write_text(f"#!{sys.executable}\n{source}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def make_project(directory: Path) -> Path:
    """Write a minimal TraceWin project (``project.ini`` + ``lattice.dat``).

    Returns
    -------
    Path
        The ``project.ini`` file.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "lattice.dat").write_text("DRIFT 100 20\nQUAD 50 10 20\nEND\n")
    ini = directory / "project.ini"
    ini.write_text("[project]\ndat_file=lattice.dat\n")
    return ini
