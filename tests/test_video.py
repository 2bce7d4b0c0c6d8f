"""GIF recordings: written once, shown as HTML ``<img>`` with a readable caption."""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest

from rltutorial.video import Recording, write_gif


@pytest.fixture
def gif(tmp_path):
    """A 3-frame, 2 fps, 8 × 6 px GIF in a folder named like an agent."""
    frames = [np.full((6, 8, 3), value, dtype=np.uint8) for value in (0, 120, 255)]
    return write_gif(frames, tmp_path / "Some Agent" / "episode-0.gif", fps=2.0)


def test_recording_html_holds_the_gif(gif):
    """The HTML is one <img> whose data URI decodes to the file's bytes."""
    recording = Recording.from_file(gif)
    match = re.fullmatch(
        r'<img src="data:image/gif;base64,([^"]+)" alt="([^"]+)">',
        recording._repr_html_(),
    )
    assert match is not None
    assert base64.b64decode(match.group(1)) == gif.read_bytes()
    assert match.group(2) == recording.describe()


def test_recording_text_says_what_it_shows(gif):
    """Caption (folder/file by default), frames, duration and size in the text form."""
    assert repr(Recording.from_file(gif)) == (
        "Recording Some Agent/episode-0.gif: animated GIF, 3 frames over 1.5 s, 8×6 px"
    )
    assert repr(Recording.from_file(gif, caption="first steps")).startswith(
        "Recording first steps: animated GIF, 3 frames"
    )


def test_recording_rejects_missing_and_non_gif_files(gif, tmp_path):
    """A missing file, a file that is not named .gif and bytes that are no GIF all raise."""
    with pytest.raises(FileNotFoundError, match="No recording"):
        Recording.from_file(tmp_path / "missing.gif")
    other = tmp_path / "frame.png"
    other.write_bytes(gif.read_bytes())
    with pytest.raises(ValueError, match="frame.png"):
        Recording.from_file(other)
    with pytest.raises(ValueError, match="not a GIF"):
        Recording(b"\x89PNG....", caption="broken")
