"""Compute the table of best achievable focus per evaluation seed (rltutorial/data).

Usage::

    python scripts/compute_optima.py            # seeds 0..299, a few seconds each
    python scripts/compute_optima.py --seeds 20 --output /tmp/optima.csv
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from rltutorial.evaluation.optimum import (
    OPTIMA_FILE,
    compute_optima,
    write_optimum_table,
)
from rltutorial.paths import data_dir
from rltutorial.threads import torch_threads


def main() -> None:
    """Compute the optima and write the CSV."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=300, help="seeds 0..N-1")
    parser.add_argument("--output", type=Path, default=data_dir() / OPTIMA_FILE)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    start = time.perf_counter()
    with torch_threads(1):
        table = compute_optima(range(args.seeds))
    path = write_optimum_table(table, args.output)
    logging.info("wrote %s in %.0f s", path, time.perf_counter() - start)


if __name__ == "__main__":
    main()
