"""Command line: ``python -m rltutorial list | train | evaluate | sweep``.

Examples::

    python -m rltutorial list
    python -m rltutorial train --config configs/betty_gordon.yaml --run-name "My Agent"
    python -m rltutorial evaluate reference -n 200
    python -m rltutorial sweep --backend cheetah --grid q1=-30:30:20 --out scan.csv

User errors (unknown agent, invalid config, missing file, bad grid) end with exit
code 2 and a one-line message, without a traceback; Ctrl-C ends with exit code 130.
``sweep`` exits with 1 when some points did not succeed.

Submodules: :mod:`~rltutorial.cli.agents` (list, train, evaluate),
:mod:`~rltutorial.cli.sweep` (the sweep command, its table and summary) and
:mod:`~rltutorial.cli.sweep_spec` (grid syntax, sweep files, names per backend).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from rltutorial.cli.agents import (
    add_agent_parsers,
    evaluate_command,
    list_command,
    train_command,
)
from rltutorial.cli.sweep import add_sweep_parser, sweep_command

__all__ = ["COMMANDS", "build_parser", "main"]

#: Sub-commands: name -> function(arguments) -> (text to print, exit code).
COMMANDS: dict[str, Callable[[argparse.Namespace], tuple[str, int]]] = {
    "list": list_command,
    "train": train_command,
    "evaluate": evaluate_command,
    "sweep": sweep_command,
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m rltutorial``."""
    parser = argparse.ArgumentParser(
        prog="python -m rltutorial",
        description="Agents for beam tuning at ARES-EA (list, train, evaluate) and "
        "parameter sweeps (sweep).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add_agent_parsers(commands)
    add_sweep_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (2 user error, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    prefix = f"{parser.prog} {args.command}"
    try:
        output, code = COMMANDS[args.command](args)
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        parser.exit(2, f"{prefix}: error: {_one_line(error)}\n")
    except KeyboardInterrupt as interrupt:
        detail = f": {_one_line(interrupt)}" if str(interrupt) else ""
        parser.exit(130, f"{prefix}: interrupted{detail}\n")
    print(output)
    return code


def _one_line(error: BaseException) -> str:
    """The message of ``error`` with line breaks and runs of spaces collapsed."""
    return " ".join(str(error).split())
