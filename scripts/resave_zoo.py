"""Re-save agent folders with a manifest (``manifest.json``) after checking that they load.

Agents saved before manifests existed load with an ``UnverifiedAgentWarning``. This
script loads each one with every check (config keys, weights finite and fitting the
network, zip CRCs, statistics), then re-saves its files unchanged plus a manifest of
their SHA-256 digests, swapped in atomically, and loads it again.

Usage::

    python scripts/resave_zoo.py "Gail Bohringer" "Staci Lanphear"   # zoo agents by name
    python scripts/resave_zoo.py --all                # every zoo agent without a manifest
    python scripts/resave_zoo.py --folder path/to/agent

Folders that already have a manifest are only verified. Exit code 1 if an agent fails
its checks (nothing is re-saved for it), 0 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from rltutorial.agents import Agent, list_agents
from rltutorial.agents.manifest import MANIFEST_FILE, verify_manifest
from rltutorial.agents.saving import rewrite_agent_folder
from rltutorial.agents.storage import AGENT_FILES, UnverifiedAgentWarning
from rltutorial.agents.zoo import agent_folder


def resave(folder: Path) -> str:
    """Check ``folder`` and give it a manifest if it has none; return what was done.

    Raises
    ------
    ValueError
        Naming the file, if the agent does not load.
    """
    if verify_manifest(folder, known=AGENT_FILES):
        Agent.from_folder(folder)
        return "verified (has a manifest)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnverifiedAgentWarning)
        Agent.from_folder(folder)
    rewrite_agent_folder(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnverifiedAgentWarning)
        Agent.from_folder(folder)
    return f"re-saved with {MANIFEST_FILE}"


def _folders(args: argparse.Namespace) -> list[Path]:
    folders = [agent_folder(name) for name in args.names]
    folders += [Path(folder) for folder in args.folder]
    if args.all:
        folders += [
            folder
            for folder in map(agent_folder, list_agents())
            if not (folder / MANIFEST_FILE).is_file()
        ]
    return list(dict.fromkeys(folders))


def main(argv: list[str] | None = None) -> int:
    """Re-save the agents named on the command line; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="zoo agent names")
    parser.add_argument(
        "--folder", action="append", default=[], help="agent folder (repeatable)"
    )
    parser.add_argument(
        "--all", action="store_true", help="every zoo agent without a manifest"
    )
    args = parser.parse_args(argv)
    folders = _folders(args)
    if not folders:
        print("Nothing to re-save.")
        return 0
    failed = 0
    for folder in folders:
        try:
            print(f"{folder}: {resave(folder)}")
        except ValueError as error:
            failed += 1
            print(f"{folder}: NOT re-saved: {error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
