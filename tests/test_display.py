"""Widgets with a picture and caption for notebooks opened without a kernel."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from rltutorial.display import with_picture

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def test_bundle_has_widget_picture_and_caption():
    """The widget view for a kernel, HTML with the PNG and the caption, the caption as text."""
    import ipywidgets

    slider = ipywidgets.FloatSlider()
    picture = np.zeros((4, 5, 3), dtype=np.uint8)
    picture[1, 2] = (255, 0, 0)
    bundle = with_picture(
        slider, picture, "A slider & its <value>."
    )._repr_mimebundle_()
    assert bundle[WIDGET_VIEW]["model_id"] == slider.model_id
    assert bundle["text/plain"] == "A slider & its <value>."
    assert "<em>A slider &amp; its &lt;value&gt;.</em>" in bundle["text/html"]
    encoded = bundle["text/html"].split("base64,")[1].split('"')[0]
    decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(encoded))))
    np.testing.assert_array_equal(decoded, picture)


def test_rejects_pictures_that_are_not_rgb_bytes():
    """Grey images and float pixels are refused with their shape and dtype named."""
    import ipywidgets

    with pytest.raises(ValueError, match=r"\(4, 5\)"):
        with_picture(ipywidgets.VBox(), np.zeros((4, 5), dtype=np.uint8), "x")
    with pytest.raises(ValueError, match="float64"):
        with_picture(ipywidgets.VBox(), np.zeros((4, 5, 3)), "x")


def test_rejects_objects_that_are_not_widgets():
    """Only something with a widget view can be displayed this way."""

    class NotAWidget:
        def _repr_mimebundle_(self, **kwargs):
            return {"text/plain": "plain"}

    with pytest.raises(TypeError, match="NotAWidget"):
        with_picture(NotAWidget(), np.zeros((2, 2, 3), dtype=np.uint8), "x")
