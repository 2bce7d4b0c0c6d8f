"""Simulation backends for :func:`~rltutorial.sweep.run_sweep`, looked up by name.

A backend is a function ``simulate(**point) -> dict`` plus two optional hints for the
sweep runner, bundled in a :class:`SweepBackend` (itself callable):

========== ====================================================================
name       simulation
========== ====================================================================
cheetah    ARES-EA screen beam for given magnet settings (:func:`cheetah_simulate`)
tracewin   one TraceWin run of an uploaded project (:func:`tracewin_simulate`)
training   one training run of an agent, config overrides per point
           (:func:`rltutorial.sweep.studies.train_point`)
========== ====================================================================

Add your own with :func:`register_backend`.

TraceWin projects travel to the workers as a :class:`ProjectArchive` (the project
folder zipped into bytes): :func:`run_sweep` packs a ``project`` folder given in
``simulate_kwargs``, ships it once to every worker, and each worker unpacks it once
into its temporary directory. Every TraceWin run still gets its own calculation
directory. Use one thread per worker so that each worker runs one TraceWin at a time.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from rltutorial.registry import lookup
from rltutorial.sweep.cheetah import (
    CHEETAH_RESULTS,
    INCOMING_PREFIX,
    cheetah_parameters,
    cheetah_simulate,
)
from rltutorial.sweep.studies import prepare_training, train_point

__all__ = [
    "SWEEP_BACKENDS",
    "ProjectArchive",
    "SweepBackend",
    "cheetah_parameters",
    "cheetah_simulate",
    "get_backend",
    "pack_project",
    "register_backend",
    "tracewin_simulate",
    "unpack_project",
]

logger = logging.getLogger(__name__)

_LARGE_PROJECT_BYTES = 200 * 2**20
_UNPACK_LOCK = threading.Lock()


@dataclass(frozen=True)
class SweepBackend:
    """A simulation function and how the sweep runner should call it.

    Parameters
    ----------
    simulate : callable
        ``simulate(**simulate_kwargs, **point) -> Mapping[str, Any]`` of results.
    prepare : callable or None
        Runs once on the client: ``prepare(simulate_kwargs) -> simulate_kwargs``,
        e.g. to pack a project folder so it can be shipped to remote workers.
    accepts_timeout : bool
        If True, the runner passes its ``timeout`` (s) on as ``timeout=`` so that the
        backend can stop the simulation itself (e.g. kill a subprocess).
    results : tuple of str
        Names of the results ``simulate`` returns, where they are known in advance;
        :func:`~rltutorial.sweep.run_sweep` refuses parameters with these names
        (a column has one meaning).
    hints : Mapping[str, str]
        Advice shown when a parameter takes one of the ``results`` names, by name.
    allow_nan : bool
        If False (the default), a point whose numeric results include NaN or inf is
        ``failed``; True for backends that report a missing number as NaN (the
        ``training`` backend).
    """

    simulate: Callable[..., Mapping[str, Any]]
    prepare: Callable[[dict], dict] | None = None
    accepts_timeout: bool = False
    results: tuple[str, ...] = ()
    hints: Mapping[str, str] = field(default_factory=dict)
    allow_nan: bool = False

    def __call__(self, **kwargs: Any) -> Mapping[str, Any]:
        """Run the simulation for one point."""
        return self.simulate(**kwargs)


@dataclass(frozen=True)
class ProjectArchive:
    """A TraceWin project folder zipped into memory, to ship to workers.

    Attributes
    ----------
    name : str
        Name of the original folder.
    ini : str
        Path of the project file inside the folder (POSIX, relative).
    data : bytes
        The zip archive.
    sha256 : str
        Hex digest of ``data``; identifies the unpacked copy on each worker.
    """

    name: str
    ini: str
    data: bytes
    sha256: str

    def __repr__(self) -> str:
        """Short form without the bytes."""
        size = len(self.data) / 1024
        return f"ProjectArchive({self.name!r}, ini={self.ini!r}, {size:.1f} KiB)"


def pack_project(project: str | os.PathLike, ini: str | None = None) -> ProjectArchive:
    """Zip a TraceWin project folder into a :class:`ProjectArchive`.

    Parameters
    ----------
    project : str or PathLike
        The project folder, or its ``.ini`` file (then the folder is its parent).
    ini : str or None
        Project file inside the folder; None finds the only ``*.ini`` at its top.

    Returns
    -------
    ProjectArchive

    Raises
    ------
    FileNotFoundError
        If the folder or the project file does not exist.
    ValueError
        If ``ini`` is None and the folder has no or several ``*.ini`` files.
    """
    path = Path(project).expanduser().resolve()
    if path.is_file():
        path, ini = path.parent, path.name
    if not path.is_dir():
        raise FileNotFoundError(f"TraceWin project folder {path} not found")
    ini = ini if ini is not None else _single_ini(path)
    if not (path / ini).is_file():
        raise FileNotFoundError(f"project file {ini!r} not found in {path}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            archive.write(file, file.relative_to(path).as_posix())
    data = buffer.getvalue()
    if len(data) > _LARGE_PROJECT_BYTES:
        logger.warning(
            "TraceWin project %s is %.0f MiB zipped", path, len(data) / 2**20
        )
    digest = hashlib.sha256(data).hexdigest()
    return ProjectArchive(path.name, PurePosixPath(ini).as_posix(), data, digest)


def _single_ini(folder: Path) -> str:
    """Return the name of the only ``*.ini`` file directly in ``folder``."""
    candidates = sorted(path.name for path in folder.glob("*.ini"))
    if len(candidates) != 1:
        raise ValueError(
            f"cannot tell the project file in {folder}: found {candidates}; "
            "pass ini='name.ini'"
        )
    return candidates[0]


def unpack_project(
    archive: ProjectArchive, root: str | os.PathLike | None = None
) -> Path:
    """Unpack ``archive`` once per machine and return the project file path.

    Parameters
    ----------
    archive : ProjectArchive
        The packed project.
    root : str, PathLike or None
        Cache folder; None means ``<tempdir>/rltutorial-tracewin-projects``.

    Returns
    -------
    Path
        The ``.ini`` file of the unpacked copy (shared, read-only use). Copies stay
        in the cache folder until deleted.

    Raises
    ------
    ValueError
        If ``ini`` or a zip member is not a relative path inside the project,
        ``ini`` is not in the zip, or ``sha256`` is not the digest of ``data``
        (see :func:`rltutorial.tracewin.archive.check_project_archive`).
    """
    from rltutorial.tracewin.archive import check_project_archive

    check_project_archive(archive)
    if root is None:
        root = Path(tempfile.gettempdir()) / "rltutorial-tracewin-projects"
    root = Path(root)
    target = root / archive.sha256[:24]
    with _UNPACK_LOCK:
        if not (target / archive.ini).is_file():
            root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=root))
            _extract(archive, staging)
            try:
                staging.rename(target)
            except OSError:  # another process unpacked the same archive first
                shutil.rmtree(staging, ignore_errors=True)
    return target / archive.ini


def _extract(archive: ProjectArchive, destination: Path) -> None:
    """Extract the zip into ``destination``, refusing paths that escape it."""
    with zipfile.ZipFile(io.BytesIO(archive.data)) as bundle:
        for member in bundle.namelist():
            parts = PurePosixPath(member).parts
            if member.startswith("/") or ".." in parts:
                raise ValueError(f"unsafe path {member!r} in project archive")
        bundle.extractall(destination)


def tracewin_simulate(
    project: ProjectArchive | str | os.PathLike,
    params: Mapping[str, object] | None = None,
    *,
    executable: str | os.PathLike | None = None,
    timeout: float | None = None,
    keep_calc_dir: bool = False,
    **param_kwargs: object,
) -> dict[str, Any]:
    """Run TraceWin once and return the last row of its ``partran1.out`` table.

    Parameters
    ----------
    project : ProjectArchive, str or PathLike
        The packed project (see :func:`pack_project`) or a project ``.ini`` file /
        folder visible on this machine.
    params : Mapping or None
        TraceWin parameters (see :func:`rltutorial.tracewin.format_params`).
    executable : str, PathLike or None
        TraceWin executable; None means ``$TRACEWIN_EXE`` or ``tracelx64``.
    timeout : float or None
        Wall-time limit in s; TraceWin's whole process tree is killed on expiry.
    keep_calc_dir : bool
        Keep the calculation directory and return its path as ``calc_dir``.
    **param_kwargs : object
        More TraceWin parameters (how :func:`run_sweep` passes a point).

    Returns
    -------
    dict[str, Any]
        Every column of the last element's row (TraceWin's names and units, e.g.
        ``z(m)``, ``SizeX``), plus ``calc_dir`` if kept.

    Raises
    ------
    rltutorial.tracewin.TraceWinError
        If the run fails (the failed run's directory is always kept).
    """
    from rltutorial.tracewin import TraceWin

    if isinstance(project, ProjectArchive):
        ini = unpack_project(project)
    else:
        path = Path(project).expanduser()
        ini = path / _single_ini(path) if path.is_dir() else path
    result = TraceWin(ini, executable=executable).run(
        {**(params or {}), **param_kwargs}, timeout=timeout
    )
    last = result.partran.iloc[-1]
    summary: dict[str, Any] = {str(key): _plain(value) for key, value in last.items()}
    if keep_calc_dir:
        summary["calc_dir"] = str(result.calc_dir)
    else:
        result.cleanup()
    return summary


def _plain(value: Any) -> Any:
    """numpy scalar -> Python scalar; anything else unchanged."""
    return value.item() if hasattr(value, "item") else value


def _prepare_tracewin(kwargs: dict) -> dict:
    """Pack a ``project`` folder given as a path, so it can travel to workers."""
    project = kwargs.get("project")
    if isinstance(project, (str, os.PathLike)):
        kwargs = {**kwargs, "project": pack_project(project)}
    return kwargs


#: Registered sweep backends, name -> :class:`SweepBackend`.
SWEEP_BACKENDS: dict[str, SweepBackend] = {
    "cheetah": SweepBackend(
        cheetah_simulate,
        results=CHEETAH_RESULTS,
        hints={
            name: f"the incoming beam's {name} is '{INCOMING_PREFIX}{name}'"
            for name in CHEETAH_RESULTS
        },
    ),
    "tracewin": SweepBackend(
        tracewin_simulate, prepare=_prepare_tracewin, accepts_timeout=True
    ),
    "training": SweepBackend(train_point, prepare=prepare_training, allow_nan=True),
}


def register_backend(
    name: str,
    simulate: Callable[..., Mapping[str, Any]],
    *,
    prepare: Callable[[dict], dict] | None = None,
    accepts_timeout: bool = False,
    results: tuple[str, ...] = (),
    allow_nan: bool = False,
    overwrite: bool = False,
) -> SweepBackend:
    """Add a named backend to :data:`SWEEP_BACKENDS` (see :class:`SweepBackend`).

    Raises
    ------
    ValueError
        If ``name`` is taken and ``overwrite`` is False.
    """
    if name in SWEEP_BACKENDS and not overwrite:
        raise ValueError(
            f"sweep backend {name!r} already exists (pass overwrite=True); "
            f"registered: {sorted(SWEEP_BACKENDS)}"
        )
    backend = SweepBackend(
        simulate,
        prepare=prepare,
        accepts_timeout=accepts_timeout,
        results=results,
        allow_nan=allow_nan,
    )
    SWEEP_BACKENDS[name] = backend
    return backend


def get_backend(name: str) -> SweepBackend:
    """Return the registered backend ``name`` or raise listing the valid names."""
    return lookup(SWEEP_BACKENDS, name, "sweep backend")
