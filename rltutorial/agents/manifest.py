"""The manifest of an agent folder: every file's SHA-256 digest and size, checked on load.

``manifest.json`` is written last into a staged agent folder::

    {"format": 1,
     "files": {"config.yaml": {"sha256": "9f2c…", "size": 1187}, "policy.pt": {…}, …}}

It lists every regular, non-hidden file of the folder. :func:`verify_manifest` recomputes
the digests and raises a ValueError naming the file that is missing, has another size or
another digest, and the agent files (:data:`rltutorial.agents.storage.AGENT_FILES`) that
are present but not listed. Other files added later (notes, a ``.DS_Store``) are
ignored: loading never reads them. Torch does not check the CRC of the zip inside
``policy.pt``, so without the manifest flipped bytes in the weights would load silently.

After a deliberate edit of a file by hand, :func:`write_manifest` records the folder as
it is now.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["MANIFEST_FILE", "MANIFEST_FORMAT", "write_manifest", "verify_manifest"]

MANIFEST_FILE = "manifest.json"
#: Version of the manifest layout; folders of a newer version are refused.
MANIFEST_FORMAT = 1


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, as 64 hexadecimal characters."""
    with Path(path).open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _listed_files(folder: Path) -> list[Path]:
    """The files a manifest of ``folder`` lists: regular, not hidden, not itself."""
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file()
        and not path.name.startswith(".")
        and path.name != MANIFEST_FILE
    )


def write_manifest(folder: str | Path) -> Path:
    """Record the digest and size of every file of ``folder`` in its ``manifest.json``."""
    folder = Path(folder)
    files = {
        path.name: {"sha256": file_digest(path), "size": path.stat().st_size}
        for path in _listed_files(folder)
    }
    target = folder / MANIFEST_FILE
    partial = folder / f".{MANIFEST_FILE}.part"
    partial.write_text(
        json.dumps({"format": MANIFEST_FORMAT, "files": files}, indent=2)
    )
    partial.replace(target)
    return target


def read_manifest(folder: str | Path) -> dict[str, dict[str, Any]] | None:
    """File name -> {"sha256", "size"} from ``manifest.json``; None if there is none.

    Raises
    ------
    ValueError
        Naming ``manifest.json``, if it is unreadable, of another format or malformed.
    """
    path = Path(folder) / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is damaged: {error}.") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise ValueError(f"{path} is damaged: expected an object with 'files'.")
    if data.get("format") != MANIFEST_FORMAT:
        raise ValueError(
            f"{path} has format {data.get('format')!r}; this version of rltutorial "
            f"reads format {MANIFEST_FORMAT} (update rltutorial for newer agents)."
        )
    for name, entry in data["files"].items():
        if (
            Path(name).name != name
            or name.startswith(".")
            or not isinstance(entry, dict)
            or not isinstance(entry.get("sha256"), str)
            or not isinstance(entry.get("size"), int)
        ):
            raise ValueError(f"{path} is damaged: bad entry {name[:100]!r}.")
    return data["files"]


def verify_manifest(folder: str | Path, known: Iterable[str] = ()) -> bool:
    """Check every file of ``folder`` against its manifest; False if it has none.

    Parameters
    ----------
    folder : str or Path
        An agent folder.
    known : iterable of str
        File names that loading reads: present but unlisted, they are refused.

    Raises
    ------
    ValueError
        Naming the file: missing, another size or digest than recorded, or unlisted.
    """
    folder = Path(folder)
    files = read_manifest(folder)
    if files is None:
        return False
    source = folder / MANIFEST_FILE
    for name, entry in files.items():
        path = folder / name
        if not path.is_file():
            raise ValueError(f"{path} is missing ({source} lists it).")
        size = path.stat().st_size
        if size != entry["size"]:
            raise ValueError(
                f"{path} is damaged: {size} bytes, but {source} recorded "
                f"{entry['size']} at save. Restore the folder or train the agent again."
            )
        if file_digest(path) != entry["sha256"]:
            raise ValueError(
                f"{path} is damaged: its SHA-256 digest differs from the one {source} "
                "recorded at save. Restore the folder or train the agent again."
            )
    for name in sorted(set(known) - set(files)):
        if (folder / name).is_file():
            raise ValueError(
                f"{folder / name} is not listed in {source}: it was added after the "
                "agent was saved. Remove it, or record a deliberate change with "
                "rltutorial.agents.manifest.write_manifest(folder)."
            )
    return True
