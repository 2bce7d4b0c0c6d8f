"""Checks on a packed TraceWin project before a worker unpacks or reuses it.

A packed project (:class:`rltutorial.sweep.ProjectArchive`) is a zip of the project
folder plus the path of its ``.ini`` file and the SHA-256 of the zip, which names the
unpacked copy in each worker's cache. It may have been built by hand or damaged in
transit, so before anything is extracted or a cached copy is used,
:func:`check_project_archive` verifies that

- ``ini`` is a relative path inside the project (no absolute path, drive or ``..``),
- ``sha256`` is the digest of ``data``, recomputed from the bytes,
- ``data`` is a zip whose members are all relative paths inside the project (no
  zip-slip), and ``ini`` is one of them.
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
import zipfile
from pathlib import PurePosixPath, PureWindowsPath
from typing import Protocol

__all__ = ["check_project_archive", "check_project_path"]

_LISTED_FILES = 10


class _PackedProject(Protocol):
    """What :func:`check_project_archive` reads of a packed project."""

    ini: str
    data: bytes
    sha256: str


def check_project_archive(archive: _PackedProject) -> None:
    """Raise ValueError unless ``archive`` is safe to unpack and to cache.

    Parameters
    ----------
    archive : ProjectArchive
        Any object with ``ini`` (str), ``data`` (bytes, a zip) and ``sha256`` (str,
        hex digest of ``data``), e.g. :class:`rltutorial.sweep.ProjectArchive`.

    Raises
    ------
    ValueError
        Naming the field (``ProjectArchive.ini``, ``.sha256`` or ``.data``) and
        the bad value: an unsafe ``ini`` path, a digest that does not match the
        bytes, bytes that are not a zip, an unsafe zip member, or an ``ini`` that
        is not in the zip.
    """
    kind = type(archive).__name__
    check_project_path(archive.ini, f"{kind}.ini")
    if not isinstance(archive.data, bytes):
        raise ValueError(
            f"{kind}.data must be bytes (a zip archive), "
            f"got {type(archive.data).__name__}"
        )
    _check_digest(archive.data, archive.sha256, kind)
    members = _zip_members(archive.data, kind)
    for member in members:
        check_project_path(member, f"zip member of {kind}.data")
    files = sorted(name for name in members if not name.endswith("/"))
    if archive.ini not in files:
        raise ValueError(
            f"{kind}.ini {archive.ini!r} is not a file in the archive; "
            f"its {len(files)} files include {files[:_LISTED_FILES]}"
        )


def check_project_path(path: object, field: str = "project path") -> str:
    """Return ``path`` if it is a relative path that stays inside the project.

    Parameters
    ----------
    path : object
        The path to check, POSIX-style (``sub/project.ini``); backslashes count as
        separators too, as they do on Windows.
    field : str
        What ``path`` is, for the error message (e.g. ``"ProjectArchive.ini"``).

    Returns
    -------
    str
        ``path`` unchanged.

    Raises
    ------
    ValueError
        If ``path`` is not a non-empty string, holds a control character (e.g. a
        NUL byte), is absolute (``/x``, ``\\x``, ``C:x``, ``//host/share``) or
        has a ``..`` part; the message names ``field`` and ``path``.
    """
    if not isinstance(path, str) or not path:
        raise ValueError(
            f"{field} must be a non-empty relative path string, got {path!r}"
        )
    if any(unicodedata.category(char) == "Cc" for char in path):
        raise ValueError(
            f"{field} {path!r} is an unsafe path: it holds a control character"
        )
    posix = path.replace("\\", "/")
    windows = PureWindowsPath(path)
    if PurePosixPath(posix).is_absolute() or windows.drive or windows.root:
        raise ValueError(
            f"{field} {path!r} is an unsafe path: absolute; it must be relative "
            "to the project folder"
        )
    if ".." in PurePosixPath(posix).parts:
        raise ValueError(
            f"{field} {path!r} is an unsafe path: '..' leaves the project folder"
        )
    return path


def _check_digest(data: bytes, sha256: object, kind: str) -> None:
    """Raise unless ``sha256`` is the hex SHA-256 digest of ``data``."""
    actual = hashlib.sha256(data).hexdigest()
    if sha256 != actual:
        raise ValueError(
            f"{kind}.sha256 {sha256!r} does not match the SHA-256 of {kind}.data "
            f"({actual!r}): the archive was altered or damaged; pack the project "
            "again (rltutorial.sweep.pack_project)"
        )


def _zip_members(data: bytes, kind: str) -> list[str]:
    """Return the member names of the zip archive ``data``."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as bundle:
            return bundle.namelist()
    except zipfile.BadZipFile as error:
        raise ValueError(
            f"{kind}.data ({len(data)} bytes) is not a zip archive: {error}"
        ) from None
