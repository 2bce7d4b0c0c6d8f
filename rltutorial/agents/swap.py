"""Replacing agent folders safely: staging, an atomic swap, locks, recovery after a kill.

An agent folder is never edited in place. A save writes a hidden staging folder
``.<name>.<id>.partial`` next to it and then swaps it in:

1. ``<name>`` is renamed to ``.<name>.<id>.old`` (only when an agent is replaced);
2. ``.<name>.<id>.partial`` is renamed to ``<name>``;
3. ``.<name>.<id>.old`` is deleted.

Each save of a folder holds its lock (``.locks/<name>.lock`` next to it) from staging to
swap. A process killed between steps 1 and 2 leaves no ``<name>`` but a complete backup:
the next listing, load or save of that name takes the lock and renames the backup back
(:func:`recover`). A reader that finds the folder missing while another process is
between the two steps waits for that process's lock, so it sees either the old or the
new folder, never neither. Leftovers are tidied at the next listing and save
(:func:`tidy`): a backup whose folder exists is deleted once its lock is free; a staging
folder once its lock is free and it has not changed for :data:`STALE_AFTER_S` seconds
(locks are advisory: the age protects writers that take none, such as an older version
of this package or another computer sharing the folder over a network).

Training takes a second, long-held lock per run name (:func:`run_lock`,
``runs/<name>.lock``): a second training of that name fails at once, before training.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "RunInProgressError",
    "claim_run",
    "folder_lock",
    "recover",
    "run_lock",
    "staging",
    "swap_in",
    "tidy",
]

#: Longest wait (s) for another process's save of the same folder (seconds in practice).
SAVE_LOCK_TIMEOUT_S = 60.0
#: Age (s) after which a staging folder whose lock is free counts as abandoned.
STALE_AFTER_S = 600.0
#: Hidden folder (next to the agent folders) that holds their locks.
LOCK_FOLDER = ".locks"
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.[0-9a-f]{8}\.(?P<kind>partial|old)$")


class RunInProgressError(FileExistsError):
    """Another process is training an agent of the same name right now."""


def _acquire(path: Path, timeout: float) -> object | None:
    """A held ``filelock.FileLock`` on ``path``, or None if it stayed busy."""
    from filelock import FileLock, Timeout

    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path, timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        return None
    return lock


def lock_file(folder: Path) -> Path:
    """The lock file of agent folder ``folder``: ``<parent>/.locks/<name>.lock``."""
    return folder.parent / LOCK_FOLDER / f"{folder.name}.lock"


@contextmanager
def folder_lock(folder: Path, timeout: float = SAVE_LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the lock of agent folder ``folder`` (saves and recoveries of it take turns).

    Raises
    ------
    FileExistsError
        If another process held it for more than ``timeout`` seconds.
    """
    lock = _acquire(lock_file(folder), timeout)
    if lock is None:
        raise FileExistsError(
            f"{folder} is being saved by another process (its lock {lock_file(folder)} "
            f"stayed taken for {timeout:g} s); try again when that save has finished."
        )
    try:
        yield
    finally:
        lock.release()


@contextmanager
def run_lock(runs: Path, name: str) -> Iterator[Path]:
    """Hold the training lock ``runs/<name>.lock`` for as long as the block runs.

    Raises
    ------
    RunInProgressError
        At once, if another process is training an agent called ``name`` there.
    """
    path = Path(runs) / f"{name}.lock"
    lock = _acquire(path, timeout=0)
    if lock is None:
        raise RunInProgressError(
            f"Agent {name!r} is being trained by another process right now (its lock "
            f"{path} is taken); wait until that training has finished or choose "
            "another run_name."
        )
    try:
        yield path
    finally:
        lock.release()


@contextmanager
def claim_run(
    runs: Path, folder: Path, zoos: list[Path], overwrite: bool
) -> Iterator[None]:
    """Hold the run lock of agent ``folder`` and check that its name may be trained.

    Under the lock, an interrupted swap of ``folder`` is recovered, an agent of that
    name in ``zoos`` is refused unless ``overwrite``, and the log folder
    ``runs/<name>/`` of an earlier run that left no agent (killed or failed) is cleared.

    Raises
    ------
    RunInProgressError
        At once, if another process is training an agent of that name.
    FileExistsError
        If the agent exists and ``overwrite`` is False.
    """
    name = folder.name
    with run_lock(runs, name):
        recover(folder)
        existing = [zoo / name for zoo in zoos if (zoo / name).exists()]
        if existing and not overwrite:
            raise FileExistsError(
                f"An agent named {name!r} exists in {existing[0].parent}; choose "
                "another run_name or pass overwrite=True."
            )
        if not folder.exists():
            shutil.rmtree(Path(runs) / name, ignore_errors=True)
        yield


@contextmanager
def staging(folder: Path) -> Iterator[Path]:
    """A new hidden staging folder next to ``folder``; deleted if the block fails."""
    path = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}.partial")
    path.mkdir()
    try:
        yield path
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise


def swap_in(staged: Path, folder: Path) -> None:
    """Replace ``folder`` by the complete folder ``staged`` (hold its lock)."""
    retired = _retire(folder) if folder.exists() else None
    staged.rename(folder)
    if retired is not None:
        _discard(retired)


def _retire(folder: Path) -> Path:
    """Step 1 of a swap: rename ``folder`` to its hidden backup name."""
    retired = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}.old")
    folder.rename(retired)
    return retired


def _discard(path: Path) -> None:
    """Step 3 of a swap: delete the backup of the replaced folder."""
    shutil.rmtree(path, ignore_errors=True)


def _leftovers(parent: Path) -> dict[str, list[tuple[str, Path]]]:
    """Folder name -> [(kind, path)] of the staging folders and backups in ``parent``."""
    found: dict[str, list[tuple[str, Path]]] = {}
    try:
        entries = list(parent.iterdir())
    except OSError:
        return found
    for path in entries:
        match = _LEFTOVER.match(path.name)
        if match and path.is_dir():
            found.setdefault(match["name"], []).append((match["kind"], path))
    return found


def _age(path: Path) -> float:
    """Seconds since ``path`` last changed (inf if it is gone)."""
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return float("inf")


def recover_locked(folder: Path) -> None:
    """Restore or delete the leftovers of ``folder``; the caller holds its lock."""
    items = _leftovers(folder.parent).get(folder.name, [])
    backups = sorted(
        (path for kind, path in items if kind == "old"),
        key=lambda path: path.stat().st_mtime,
    )
    if backups and not folder.exists():
        backups.pop().rename(folder)  # the newest backup is the agent's last version
    for kind, path in items:
        if path.exists() and (kind == "old" or _age(path) > STALE_AFTER_S):
            shutil.rmtree(path, ignore_errors=True)


def recover(folder: Path) -> None:
    """Bring back ``folder`` from the backup of an interrupted swap, if it is missing.

    Waits (at most :data:`SAVE_LOCK_TIMEOUT_S`) for a save of ``folder`` that is under
    way, so the folder is then either the old or the new one.
    """
    folder = Path(folder)
    items = _leftovers(folder.parent).get(folder.name, [])
    if folder.exists() or not any(kind == "old" for kind, _ in items):
        return
    with folder_lock(folder):
        recover_locked(folder)


def tidy(parent: Path) -> None:
    """Recover interrupted swaps and delete abandoned leftovers in zoo folder ``parent``.

    A folder whose lock is taken is being saved and is left alone. Folders that cannot
    be written (a shipped, read-only zoo) are left as they are.
    """
    for name, items in _leftovers(Path(parent)).items():
        folder = Path(parent) / name
        try:
            if not folder.exists() and any(kind == "old" for kind, _ in items):
                recover(folder)
                continue
            lock = _acquire(lock_file(folder), timeout=0)
            if lock is not None:
                try:
                    recover_locked(folder)
                finally:
                    lock.release()
        except OSError:  # read-only zoo or a race with another tidier: next time
            continue


def identity(folder: Path) -> tuple[int, int] | None:
    """(device, inode) of ``folder``, which changes when a swap replaces it."""
    try:
        stat = os.stat(folder)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino
