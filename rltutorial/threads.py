"""Torch threading for the small tensors of this package.

Cheetah's transfer maps here are N × 7 × 7 and the policies two layers of 64: spreading
such work over threads costs more than it gains, by 5× (simulation) to 20× (training)
when the other core of a 2-core machine is busy (see ``benchmarks/``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["torch_threads"]


@contextmanager
def torch_threads(n: int = 1) -> Iterator[None]:
    """Run torch on ``n`` intra-op threads, restoring the caller's setting afterwards."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
