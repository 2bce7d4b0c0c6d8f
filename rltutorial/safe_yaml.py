"""Plain YAML, read safely and bounded: no Python tags, no aliases, no duplicate keys.

Configs and sweep files are small, hand-written YAML. :func:`load_yaml` reads them with
PyYAML's safe loader and refuses what such files never need but an attacker could use:
aliases (a few hundred bytes of nested aliases expand to gigabytes, the "billion laughs"),
duplicate keys (the last one would silently win), files above :data:`MAX_YAML_BYTES`,
more than :data:`MAX_YAML_NODES` values or nesting deeper than :data:`MAX_YAML_DEPTH`
(each bounds the time and memory of reading), and bytes that are not UTF-8 text. Every
error names the file. Numbers in exponent form without a dot (``3e-4``, ``1e9``) are
read as floats, as YAML 1.2 does; plain YAML 1.1 would leave them as text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

__all__ = [
    "load_yaml",
    "dump_yaml",
    "to_plain",
]

#: Largest YAML file read, in bytes.
MAX_YAML_BYTES = 1_000_000
#: Most values (scalars, lists and mappings, keys included) in one YAML file.
MAX_YAML_NODES = 10_000
#: Deepest nesting of lists and mappings in one YAML file.
MAX_YAML_DEPTH = 32
#: Floats YAML 1.1 reads as text: an exponent without a dot (``3e-4``, ``-1E9``).
_EXPONENT_FLOAT = re.compile(
    r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"
)


class _BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` without aliases and duplicate mapping keys, and bounded.

    At most :data:`MAX_YAML_NODES` nodes nested at most :data:`MAX_YAML_DEPTH` deep;
    the composer stops at the first node beyond either, before reading further.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._nodes = 0
        self._depth = 0

    def _refuse(self, problem: str) -> None:
        raise yaml.composer.ComposerError(
            None, None, problem, self.peek_event().start_mark
        )

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._refuse("aliases (*name) are not allowed")
        self._nodes += 1
        if self._nodes > MAX_YAML_NODES:
            self._refuse(f"more than {MAX_YAML_NODES:,} values")
        if self._depth >= MAX_YAML_DEPTH:
            self._refuse(f"lists or mappings nested more than {MAX_YAML_DEPTH} deep")
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key; the base class reports it
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


_BoundedLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789.")
)


def load_yaml(path: str | Path) -> Any:
    """Read one YAML document with :class:`_BoundedLoader`.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    IsADirectoryError
        If ``path`` is a folder.
    ValueError
        Naming the file: too large, not UTF-8 text, not valid YAML, an alias, a
        duplicate key, too many values, too deep, or a value YAML cannot build
        (e.g. an integer of more than 4,300 digits).
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a YAML file.")
    if not path.is_file():
        raise FileNotFoundError(f"No file at {path}.")
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        raise ValueError(
            f"{path} has {size:,} bytes; YAML files here are at most {MAX_YAML_BYTES:,}."
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path} is not UTF-8 text (byte {error.start}); expected a YAML file."
        ) from None
    try:
        return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as error:
        raise ValueError(f"{path} is not valid YAML here: {error}") from None
    except (ValueError, OverflowError, RecursionError) as error:
        raise ValueError(f"{path} holds a value YAML cannot read: {error}") from None


def dump_yaml(data: Any, path: str | Path) -> Path:
    """Write plain data as YAML (``yaml.safe_dump``, keys in their order)."""
    path = Path(path)
    path.write_text(yaml.safe_dump(to_plain(data), sort_keys=False), encoding="utf-8")
    return path


def to_plain(value: Any) -> Any:
    """Convert numpy scalars/arrays (recursively) to plain Python for safe YAML/JSON."""
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [to_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
