"""``python -m rltutorial.machine serve | pvs``: run the virtual ARES-EA, list its PVs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rltutorial.machine",
        description="The ARES Experimental Area as an EPICS (Channel Access) server.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the virtual machine until stopped")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface to listen on (default 127.0.0.1: this computer only)",
    )
    serve.add_argument("--port", type=int, default=5064, help="Channel Access port")
    serve.add_argument("--prefix", default="", help="PV name prefix")
    serve.add_argument(
        "--noise",
        type=float,
        default=0.01,
        help="relative reading noise of the screen (default 0.01)",
    )
    serve.add_argument(
        "--drift",
        type=float,
        default=0.02,
        help="incoming-beam drift as a share of each range (default 0.02)",
    )
    serve.add_argument(
        "--drift-time",
        type=float,
        default=60.0,
        help="correlation time of the drift in s",
    )
    serve.add_argument(
        "--ramp-time",
        type=float,
        default=2.0,
        help="s for a magnet to ramp through its full range",
    )
    serve.add_argument(
        "--frame-rate", type=float, default=10.0, help="camera frames per s"
    )
    serve.add_argument(
        "--lease-timeout",
        type=float,
        default=30.0,
        help="s after which an unrenewed lease expires",
    )
    serve.add_argument("--binning", type=int, default=4, help="camera binning")
    serve.add_argument("--seed", type=int, default=None, help="seed of noise and drift")
    serve.add_argument(
        "--random-beam",
        action="store_true",
        help="start from a random incoming beam (drawn with --seed)",
    )
    serve.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="exit when the process that started the server ends",
    )
    serve.add_argument(
        "--write-log",
        type=Path,
        default=None,
        help="append every write as a JSON line to this file",
    )
    pvs = commands.add_parser("pvs", help="print the PV names")
    pvs.add_argument("--prefix", default="", help="PV name prefix")
    return parser


def _serve(args: argparse.Namespace) -> int:
    from rltutorial.envs.ranges import INCOMING_HIGH, INCOMING_LOW
    from rltutorial.machine.model import MachineSettings
    from rltutorial.machine.server import serve

    try:
        settings = MachineSettings(
            noise=args.noise,
            drift=args.drift,
            drift_time=args.drift_time,
            ramp_time=args.ramp_time,
            frame_rate=args.frame_rate,
            lease_timeout=args.lease_timeout,
            binning=args.binning,
            seed=args.seed,
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    incoming = None
    if args.random_beam:
        incoming = np.random.default_rng(args.seed).uniform(INCOMING_LOW, INCOMING_HIGH)
    try:
        serve(
            settings,
            args.host,
            args.port,
            args.prefix,
            args.write_log,
            incoming,
            args.exit_with_parent,
        )
    except KeyboardInterrupt:
        return 130
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "pvs":
        from rltutorial.machine.names import MachinePVs

        names = MachinePVs(args.prefix)
        print("\n".join(names.machine))
        print("\n".join(f"{name}  (virtual machine only)" for name in names.simulation))
        return 0
    return _serve(args)


if __name__ == "__main__":
    sys.exit(main())
