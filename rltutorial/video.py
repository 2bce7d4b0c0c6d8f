"""Writing episode frames to animated GIFs (Pillow through imageio; no ffmpeg needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["write_gif"]


def write_gif(frames: Sequence[np.ndarray], path: str | Path, fps: float = 2.0) -> Path:
    """Write RGB frames to an animated GIF that loops forever.

    Parameters
    ----------
    frames : sequence of ndarray (H, W, 3) uint8
        The pictures, all the same size.
    path : str or Path
        Target file; parent folders are created. Written to a temporary name first and
        then renamed, so a failed write never leaves a broken file behind.
    fps : float
        Frames per second.

    Returns
    -------
    Path
        The written file.
    """
    import imageio.v3 as iio

    if len(frames) == 0:
        raise ValueError("Cannot write a GIF without frames.")
    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps!r}.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    iio.imwrite(
        partial, np.stack(frames), extension=".gif", duration=1000.0 / fps, loop=0
    )
    partial.replace(path)
    return path
