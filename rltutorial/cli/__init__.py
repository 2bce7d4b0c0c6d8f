"""Command line: ``python -m rltutorial list | train | evaluate | sweep``.

Examples::

    python -m rltutorial list
    python -m rltutorial train --config configs/betty_gordon.yaml --run-name "My Agent"
    python -m rltutorial evaluate reference -n 200
    python -m rltutorial sweep --backend cheetah --grid q1=-30:30:20 --out scan.csv

User errors (a bad argument, unknown or damaged agent, invalid config or YAML file,
missing file, bad grid) end with exit code 2 and one line on stderr naming the
problem, without a traceback, and before any training or sweep starts; Ctrl-C ends
with exit code 130. ``sweep`` exits with 1 when some points did not succeed. Any other
error is a bug of rltutorial: its traceback is printed, followed by a line saying so,
and the exit code is 3.

Submodules: :mod:`~rltutorial.cli.agents` (list, train, evaluate),
:mod:`~rltutorial.cli.sweep` (the sweep command, its table and summary) and
:mod:`~rltutorial.cli.sweep_spec` (grid syntax, sweep files, names per backend).
"""

from __future__ import annotations

import argparse
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from typing import NoReturn

import yaml

from rltutorial.cli.agents import (
    add_agent_parsers,
    evaluate_command,
    list_command,
    train_command,
)
from rltutorial.cli.sweep import add_sweep_parser, sweep_command

__all__ = ["COMMANDS", "USER_ERRORS", "build_parser", "main"]

#: Errors that mean the input is at fault (arguments, files, agent): exit code 2.
USER_ERRORS = (ValueError, OSError, KeyError, yaml.YAMLError)
#: Longest error message printed, in characters (a message quoting a huge input is cut).
MAX_MESSAGE = 1000

#: Sub-commands: name -> function(arguments) -> (text to print, exit code).
COMMANDS: dict[str, Callable[[argparse.Namespace], tuple[str, int]]] = {
    "list": list_command,
    "train": train_command,
    "evaluate": evaluate_command,
    "sweep": sweep_command,
}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m rltutorial``."""
    parser = _Parser(
        prog="python -m rltutorial",
        description="Agents for beam tuning at ARES-EA (list, train, evaluate) and "
        "parameter sweeps (sweep).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add_agent_parsers(commands)
    add_sweep_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code.

    0 success, 1 some sweep points failed, 2 user error (one line on stderr), 3 an
    internal error (traceback, then a line saying it is a bug), 130 interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    prefix = f"{parser.prog} {args.command}"
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning(prefix)
            output, code = COMMANDS[args.command](args)
    except USER_ERRORS as error:
        parser.exit(2, f"{prefix}: error: {_one_line(error)}\n")
    except KeyboardInterrupt as interrupt:
        detail = f": {_one_line(interrupt)}" if str(interrupt) else ""
        parser.exit(130, f"{prefix}: interrupted{detail}\n")
    except Exception as error:
        traceback.print_exc()
        parser.exit(
            3,
            f"{prefix}: internal error ({type(error).__name__}), a bug in rltutorial "
            "rather than in your input; please report it with the traceback above\n",
        )
    print(output)
    return code


def _one_line_warning(prefix: str) -> Callable[..., None]:
    """A ``warnings.showwarning`` that prints ``PREFIX: warning: MESSAGE`` on stderr."""

    def show(message: Warning | str, category: type[Warning], *args: object) -> None:
        print(f"{prefix}: warning: {_one_line(str(message))}", file=sys.stderr)

    return show


def _one_line(error: BaseException | str) -> str:
    """The message of ``error`` on one line (runs of white space collapsed), cut to
    :data:`MAX_MESSAGE` characters; a KeyError's message without its quotes."""
    if isinstance(error, KeyError) and len(error.args) == 1:
        error = str(error.args[0])
    text = " ".join(str(error).split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"
