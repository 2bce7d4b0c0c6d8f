"""Notebook outputs that still say something when the notebook is opened without a kernel.

A widget needs a running kernel: a saved notebook holds only a reference to it, which
JupyterLab and exported slides cannot draw (they show ``VBox(children=...)`` instead).
:func:`with_picture` displays a widget together with a picture and a caption, so that
the stored output shows the picture where the widget cannot be drawn.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["WidgetWithPicture", "with_picture"]

_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@dataclass(frozen=True)
class WidgetWithPicture:
    """A widget that brings its own picture and caption for places without a kernel.

    Attributes
    ----------
    widget : ipywidgets.Widget
        Shown live in a running notebook.
    png : bytes
        The picture (PNG file bytes), shown where the widget cannot be drawn.
    caption : str
        What the widget does; shown under the picture and as the text form.
    """

    widget: Any
    png: bytes
    caption: str

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        encoded = base64.b64encode(self.png).decode("ascii")
        caption = html.escape(self.caption)
        return {
            _WIDGET_VIEW: data[_WIDGET_VIEW],
            "text/html": (
                f'<img src="data:image/png;base64,{encoded}" alt="{caption}">'
                f"<p><em>{caption}</em></p>"
            ),
            "text/plain": self.caption,
        }


def with_picture(widget: Any, picture: np.ndarray, caption: str) -> WidgetWithPicture:
    """Display ``widget`` live, with ``picture`` and ``caption`` stored beside it.

    Parameters
    ----------
    widget : ipywidgets.Widget
        The interactive part (e.g. a box of sliders and their output).
    picture : ndarray (H, W, 3) uint8
        What the widget shows at its starting settings, as RGB pixels.
    caption : str
        One sentence saying what the widget does.

    Returns
    -------
    WidgetWithPicture
        Make it a cell's last expression (or pass it to ``display``). A running
        JupyterLab draws the widget; a notebook opened without a kernel and slides
        exported with nbconvert show the picture and the caption.

    Raises
    ------
    TypeError
        If ``widget`` is not a displayable widget.
    ValueError
        If ``picture`` is not an RGB image of unsigned bytes.
    """
    from PIL import Image

    if not hasattr(widget, "_repr_mimebundle_") or not hasattr(widget, "model_id"):
        raise TypeError(f"{type(widget).__name__} is not a displayable widget.")

    picture = np.asarray(picture)
    if picture.ndim != 3 or picture.shape[2] != 3 or picture.dtype != np.uint8:
        raise ValueError(
            f"picture must be RGB pixels of shape (H, W, 3) and dtype uint8, got shape "
            f"{picture.shape} and dtype {picture.dtype}."
        )
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return WidgetWithPicture(widget, buffer.getvalue(), caption)
