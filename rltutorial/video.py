"""Animated GIFs of episodes: writing them (Pillow through imageio; no ffmpeg needed) and
showing them in notebooks and exported slides (:class:`Recording`)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Recording", "write_gif"]


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


@dataclass(frozen=True)
class Recording:
    """An animated GIF to show in a notebook: an HTML ``<img>`` carrying the GIF's bytes.

    JupyterLab, saved notebooks and slides exported with nbconvert all keep and show the
    HTML; where only text is shown, the text says what the recording is (its caption,
    frame count, duration and size).

    Attributes
    ----------
    data : bytes
        The GIF file's bytes.
    caption : str
        What the recording shows, e.g. ``"Gary Buchwald/episode-0.gif"``.
    """

    data: bytes
    caption: str

    def __post_init__(self) -> None:
        if self.data[:6] not in (b"GIF87a", b"GIF89a"):
            raise ValueError(f"Recording {self.caption!r}: the data is not a GIF file.")

    @classmethod
    def from_file(cls, path: str | Path, caption: str | None = None) -> Recording:
        """Read a GIF file; the caption defaults to ``<folder>/<file name>``.

        Raises
        ------
        FileNotFoundError
            If there is no file at ``path``.
        ValueError
            If the file is not a GIF.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"No recording at {path}.")
        if path.suffix.lower() != ".gif":
            raise ValueError(f"A recording is a GIF file, got {path.name!r}.")
        return cls(path.read_bytes(), caption or f"{path.parent.name}/{path.name}")

    def describe(self) -> str:
        """One line: caption, frames, duration in s and size in pixels."""
        from PIL import Image

        with Image.open(io.BytesIO(self.data)) as image:
            width, height = image.size
            frames = getattr(image, "n_frames", 1)
            duration_ms = 0.0
            for index in range(frames):
                image.seek(index)
                duration_ms += image.info.get("duration", 0)
        return (
            f"Recording {self.caption}: animated GIF, {frames} frames over "
            f"{duration_ms / 1000:.1f} s, {width}×{height} px"
        )

    def _repr_html_(self) -> str:
        encoded = base64.b64encode(self.data).decode("ascii")
        alt = html.escape(self.describe(), quote=True)
        return f'<img src="data:image/gif;base64,{encoded}" alt="{alt}">'

    def __repr__(self) -> str:
        return self.describe()
