"""Tests for rltutorial.tracewin_io: partran1.out and .dst readers/writers."""

from __future__ import annotations

import pickle
import struct

import numpy as np
import pandas as pd
import pytest

from rltutorial.tracewin import (
    DST_COLUMNS,
    TraceWinError,
    TraceWinFormatError,
    read_dst,
    read_partran_out,
    read_tracewin_out,
    write_dst,
)

PARTRAN_TEXT = """\
 Partran output
 938.27203 352.21 12.5 62.5 10000
 line 3
 line 4
 line 5
 line 6
 line 7
 line 8
 line 9
##  z(m)  gama-1  x0  y0  p0  x'0  y'0  W0  SizeX
   0  0.000  3.2e-3  0.0  0.0  0.0  0.0  0.0  3.0  1.50
   1  0.250  3.2e-3  1e-2  0.0  0.0  0.0  0.0  3.0  1.75

   2  0.500  3.3e-3  2e-2  0.0  0.0  0.0  0.0  3.1  2.00
"""


@pytest.fixture
def partran_file(tmp_path):
    """A small hand-written partran1.out."""
    path = tmp_path / "partran1.out"
    path.write_text(PARTRAN_TEXT)
    return path


def test_read_partran_columns_and_values(partran_file):
    """Columns follow the header (## -> element) and values match the text."""
    frame = read_partran_out(partran_file)
    assert list(frame.columns) == [
        "element",
        "z(m)",
        "gama-1",
        "x0",
        "y0",
        "p0",
        "x'0",
        "y'0",
        "W0",
        "SizeX",
    ]
    assert frame["element"].tolist() == [0, 1, 2]
    assert frame["element"].dtype == np.int64
    assert frame["z(m)"].tolist() == [0.0, 0.25, 0.5]
    assert frame["SizeX"].iloc[-1] == 2.0
    assert frame["x0"].iloc[1] == pytest.approx(1e-2)


def test_read_partran_summary_attrs(partran_file):
    """The second line's mc2, freq, z, I and npart land in attrs."""
    attrs = read_partran_out(partran_file).attrs
    assert attrs["mc2"] == pytest.approx(938.27203)
    assert attrs["freq"] == pytest.approx(352.21)
    assert attrs["z"] == pytest.approx(12.5)
    assert attrs["current"] == pytest.approx(62.5)
    assert attrs["npart"] == 10000


def test_read_tracewin_out_is_same_parser(partran_file):
    """tracewin.out uses the same layout and reader."""
    pd.testing.assert_frame_equal(
        read_tracewin_out(partran_file), read_partran_out(partran_file)
    )


def test_partran_duplicate_columns_made_unique(tmp_path):
    """A repeated column name gets a .1 suffix instead of overwriting data."""
    path = tmp_path / "partran1.out"
    path.write_text("a\n1 2 3 4 5\n" + "x\n" * 7 + "## z(m) Ex Ex\n0 1.0 2.0 3.0\n")
    assert list(read_partran_out(path).columns) == ["element", "z(m)", "Ex", "Ex.1"]


def test_partran_without_header_is_format_error(tmp_path):
    """A file without the ## header line raises a clear TraceWinFormatError."""
    path = tmp_path / "partran1.out"
    path.write_text("nothing\nuseful\n")
    with pytest.raises(TraceWinFormatError, match="no header line starting with '##'"):
        read_partran_out(path)


def test_partran_short_row_names_line(partran_file):
    """A row with a missing value names the line and the expected count."""
    partran_file.write_text(PARTRAN_TEXT + "   3  0.75  3.3e-3\n")
    with pytest.raises(TraceWinFormatError, match=r"line 15: 3 values, expected 10"):
        read_partran_out(partran_file)


def test_partran_non_number_and_empty_table(partran_file):
    """A non-numeric value and a header without rows are format errors."""
    partran_file.write_text(PARTRAN_TEXT.replace("1.75", "abc"))
    with pytest.raises(TraceWinFormatError, match="line 12"):
        read_partran_out(partran_file)
    partran_file.write_text(PARTRAN_TEXT.split("##")[0] + "## z(m)\n")
    with pytest.raises(TraceWinFormatError, match="no data rows"):
        read_partran_out(partran_file)


def test_partran_missing_file(tmp_path):
    """A missing file raises FileNotFoundError."""
    with pytest.raises(FileNotFoundError):
        read_partran_out(tmp_path / "partran1.out")


def _dst_bytes(particles: np.ndarray, current=2.0, freq=352.21, mass=938.272) -> bytes:
    """Pack a .dst file by hand, independent of write_dst."""
    head = struct.pack("<bbiddb", 125, 100, len(particles), current, freq, 0)
    return head + particles.astype("<f8").tobytes() + struct.pack("<d", mass)


def test_read_dst_hand_packed(tmp_path):
    """A hand-packed .dst gives the particles, current, frequency and mass."""
    particles = np.arange(18, dtype=float).reshape(3, 6)
    path = tmp_path / "part_dtl1.dst"
    path.write_bytes(_dst_bytes(particles, current=62.5, freq=704.42, mass=0.511))
    frame = read_dst(path)
    assert list(frame.columns) == list(DST_COLUMNS)
    np.testing.assert_array_equal(frame.to_numpy(), particles)
    assert frame.attrs["current"] == 62.5
    assert frame.attrs["frequency"] == 704.42
    assert frame.attrs["mass"] == 0.511
    assert frame.attrs["units"]["x"] == "cm"
    assert frame.attrs["units"]["energy"] == "MeV"


def test_dst_header_is_23_bytes_and_total_size(tmp_path):
    """File size is 23 + 48 N + 8 bytes, as in TraceWin's documentation."""
    path = write_dst(
        tmp_path / "a.dst", np.zeros((5, 6)), current=1, frequency=2, mass=3
    )
    assert path.stat().st_size == 23 + 48 * 5 + 8


def test_write_read_dst_round_trip(tmp_path):
    """write_dst then read_dst returns the same particles and attributes."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(100, 6)), columns=list(DST_COLUMNS))
    path = write_dst(
        tmp_path / "b.dst", frame, current=5.0, frequency=352.2, mass=938.3
    )
    back = read_dst(path)
    pd.testing.assert_frame_equal(back, frame)
    assert (back.attrs["current"], back.attrs["frequency"], back.attrs["mass"]) == (
        5.0,
        352.2,
        938.3,
    )


def test_read_dst_empty_distribution(tmp_path):
    """Zero particles is a valid (empty) distribution."""
    path = tmp_path / "c.dst"
    path.write_bytes(_dst_bytes(np.zeros((0, 6))))
    frame = read_dst(path)
    assert len(frame) == 0
    assert frame.attrs["mass"] == 938.272


@pytest.mark.parametrize("cut", [5, 23, 23 + 48, -1])
def test_read_dst_truncated(tmp_path, cut):
    """A file cut anywhere raises TraceWinFormatError saying 'truncated'."""
    path = tmp_path / "d.dst"
    path.write_bytes(_dst_bytes(np.ones((2, 6)))[:cut])
    with pytest.raises(TraceWinFormatError, match="truncated"):
        read_dst(path)


def test_read_dst_corrupt_count_and_trailing_bytes(tmp_path):
    """A negative particle count or extra bytes are reported as corrupt."""
    path = tmp_path / "e.dst"
    path.write_bytes(struct.pack("<bbiddb", 125, 100, -4, 1.0, 1.0, 0) + b"\0" * 8)
    with pytest.raises(TraceWinFormatError, match="negative particle count -4"):
        read_dst(path)
    path.write_bytes(_dst_bytes(np.ones((2, 6))) + b"junk")
    with pytest.raises(TraceWinFormatError, match="longer than expected"):
        read_dst(path)


def test_write_dst_rejects_bad_shapes(tmp_path):
    """write_dst names the bad shape or the missing columns."""
    with pytest.raises(ValueError, match=r"shape \(N, 6\), got \(4, 5\)"):
        write_dst(tmp_path / "f.dst", np.zeros((4, 5)), current=1, frequency=1, mass=1)
    with pytest.raises(ValueError, match=r"lacks columns \['energy'\]"):
        write_dst(
            tmp_path / "f.dst",
            pd.DataFrame(np.zeros((1, 5)), columns=list(DST_COLUMNS[:5])),
            current=1,
            frequency=1,
            mass=1,
        )


def test_format_error_is_tracewin_error_and_pickles():
    """TraceWinFormatError is a TraceWinError and a ValueError and pickles."""
    error = TraceWinFormatError("bad file", calc_dir=None, returncode=None)
    assert isinstance(error, TraceWinError) and isinstance(error, ValueError)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is TraceWinFormatError and str(copy) == "bad file"
