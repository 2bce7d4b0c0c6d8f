"""Tests for rltutorial.tracewin.archive: packed projects are checked before use."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import zipfile

import pytest
from fake_tracewin import make_project

from rltutorial.sweep import ProjectArchive, pack_project, unpack_project
from rltutorial.tracewin.archive import check_project_archive, check_project_path

PROJECT_FILES = {"project.ini": "[project]\n", "lattice.dat": "DRIFT 100 20\n"}


def _archive(
    files: dict[str, str], ini: str = "project.ini", sha256: object = None
) -> ProjectArchive:
    """Zip ``files`` (name -> text) as they are; the digest is right unless given."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, text in files.items():
            bundle.writestr(name, text)
    data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest() if sha256 is None else sha256
    return ProjectArchive("project", ini, data, digest)


def test_packed_project_passes_and_unpacks(tmp_path):
    """A project packed with pack_project passes the checks, nested ini included."""
    ini = make_project(tmp_path / "project")
    (ini.parent / "sub").mkdir()
    (ini.parent / "sub" / "other.ini").write_text("[project]\n")
    archive = pack_project(ini.parent, ini="sub/other.ini")
    check_project_archive(archive)
    unpacked = unpack_project(archive, tmp_path / "cache")
    assert unpacked.relative_to(tmp_path / "cache").parts[1:] == ("sub", "other.ini")
    assert unpacked.read_text() == "[project]\n"


@pytest.mark.parametrize(
    ("ini", "reason"),
    [
        ("/etc/passwd", "absolute"),
        ("../../../etc/passwd", "'..' leaves"),
        ("sub/../../project.ini", "'..' leaves"),
        ("..\\project.ini", "'..' leaves"),
        ("C:\\Windows\\win.ini", "absolute"),
        ("\\\\host\\share\\project.ini", "absolute"),
        ("project.ini\x00", "control character"),
        ("", "non-empty relative path"),
    ],
)
def test_unsafe_ini_is_refused(tmp_path, ini, reason):
    """An ini outside the project is refused, naming the field and the value."""
    archive = _archive(PROJECT_FILES, ini=ini)
    with pytest.raises(ValueError, match=reason) as info:
        unpack_project(archive, tmp_path / "cache")
    assert "ProjectArchive.ini" in str(info.value) and repr(ini) in str(info.value)
    assert not (tmp_path / "cache").exists(), "nothing unpacked"


def test_ini_missing_from_archive_is_refused(tmp_path):
    """An ini that is not a file in the zip is refused and the files are listed."""
    archive = _archive(PROJECT_FILES, ini="other.ini")
    message = r"ProjectArchive.ini 'other.ini' is not a file in the archive"
    with pytest.raises(ValueError, match=message) as info:
        unpack_project(archive, tmp_path / "cache")
    assert "['lattice.dat', 'project.ini']" in str(info.value)


@pytest.mark.parametrize(
    "member",
    ["/abs.ini", "../evil.ini", "sub/../../evil.ini", "..\\evil.ini", "C:/evil.ini"],
)
def test_zip_slip_member_is_refused(tmp_path, member):
    """A zip member with an absolute path or '..' is refused, naming it."""
    archive = _archive({**PROJECT_FILES, member: "x"})
    with pytest.raises(ValueError, match="zip member of ProjectArchive.data") as info:
        unpack_project(archive, tmp_path / "cache")
    assert repr(member) in str(info.value) and "unsafe path" in str(info.value)


def test_wrong_digest_is_refused_before_the_cache_is_used(tmp_path):
    """An archive claiming another archive's digest does not get its cached copy."""
    first = _archive(PROJECT_FILES)
    unpack_project(first, tmp_path / "cache")
    other = _archive({"project.ini": "[other]\n"}, sha256=first.sha256)
    with pytest.raises(ValueError, match="ProjectArchive.sha256 '[0-9a-f]{64}'"):
        unpack_project(other, tmp_path / "cache")


@pytest.mark.parametrize("sha256", ["0" * 64, "../../escape", "", 0])
def test_malformed_digest_is_refused(tmp_path, sha256):
    """A digest that is not the SHA-256 of the bytes is refused, quoting both."""
    archive = _archive(PROJECT_FILES, sha256=sha256)
    with pytest.raises(ValueError) as info:
        unpack_project(archive, tmp_path / "cache")
    message = str(info.value)
    assert f"ProjectArchive.sha256 {sha256!r} does not match" in message
    assert hashlib.sha256(archive.data).hexdigest() in message
    assert not (tmp_path / "cache").exists(), "nothing unpacked"


def test_data_that_is_no_zip_is_refused(tmp_path):
    """Bytes with a matching digest that are no zip give ValueError naming .data."""
    archive = dataclasses.replace(
        _archive(PROJECT_FILES),
        data=b"not a zip",
        sha256=hashlib.sha256(b"not a zip").hexdigest(),
    )
    message = r"ProjectArchive.data \(9 bytes\) is not a zip archive"
    with pytest.raises(ValueError, match=message):
        unpack_project(archive, tmp_path / "cache")


@pytest.mark.parametrize("path", ["project.ini", "sub/p.ini", "a b/c.ini", "./p.ini"])
def test_check_project_path_accepts_relative_paths(path):
    """Relative paths inside the project are returned unchanged."""
    assert check_project_path(path, "ini") == path
