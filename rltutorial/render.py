"""Pictures of the screen: the camera image with target and beam ellipses, as RGB arrays.

Rendering uses matplotlib's Agg canvas directly (no pyplot state, no OpenCV), so it works
in notebooks, in scripts and on headless machines alike. The figure is built once per
thread and resolution: its frame (axes, labels, legend) is drawn once and kept as a
background, and each picture only updates and draws what changes (the image, the two
ellipses, the readouts), which takes milliseconds instead of a full figure.
"""

from __future__ import annotations

import threading

import numpy as np

from rltutorial.envs.ranges import BEAM_LABELS, MAGNET_LABELS, SCREEN_HALF_SIZE

__all__ = ["render_screen"]

#: Readout colours: within threshold, outside threshold, no threshold set.
WITHIN, OUTSIDE, UNCHECKED = "tab:green", "tab:red", "0.35"
_MICRO = 1e6


def readout_colours(
    beam: np.ndarray, target: np.ndarray, thresholds: np.ndarray
) -> list[str]:
    """Colour per beam parameter: green within its threshold, red outside, grey if unset.

    Parameters
    ----------
    beam, target : ndarray (4,)
        mu_x, sigma_x, mu_y, sigma_y in m.
    thresholds : ndarray (4,)
        Thresholds in m; NaN where unset.
    """
    errors = np.abs(np.asarray(beam) - np.asarray(target))
    return [
        UNCHECKED if not np.isfinite(t) else (WITHIN if e <= t else OUTSIDE)
        for e, t in zip(errors, thresholds, strict=True)
    ]


_UNITS = ("1/m²", "1/m²", "mrad", "1/m²", "mrad")
_SCALE = (1.0, 1.0, 1e3, 1.0, 1e3)
_CACHE = threading.local()


class _ScreenFigure:
    """The figure of :func:`render_screen`, built once; each frame redraws what changes.

    Matplotlib draws the frame once (axes, labels, legend) and, per frame, the two
    ellipses; the camera image is written into the canvas's pixels directly (nearest
    image pixel, magma colour map scaled to the image's maximum), and the readouts are monospace text, drawn with Pillow in the
    same font (DejaVu, shipped with matplotlib), which is many times faster than
    matplotlib's own text layout.
    """

    def __init__(self, dpi: int) -> None:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Ellipse

        self.figure = Figure(figsize=(9, 3.75), dpi=dpi)
        self.canvas = FigureCanvasAgg(self.figure)
        grid = self.figure.add_gridspec(
            1, 2, width_ratios=(1.7, 1), left=0.07, right=0.98, bottom=0.14, top=0.93
        )
        self.screen = self.figure.add_subplot(grid[0], aspect="equal")
        hx, hy = SCREEN_HALF_SIZE * 1e3
        self.ellipses = [
            Ellipse(
                (0, 0), 0, 0, fill=False, lw=2, ec=colour, label=label, animated=True
            )
            for colour, label in (("tab:blue", "target (2σ)"), ("tab:red", "beam (2σ)"))
        ]
        for ellipse in self.ellipses:
            self.screen.add_patch(ellipse)
        self.screen.set(
            xlim=(-hx, hx), ylim=(-hy, hy), xlabel="x (mm)", ylabel="y (mm)",
            title="AREABSCR1",
        )  # fmt: skip
        readouts = self.figure.add_subplot(grid[1])
        readouts.axis("off")
        readouts.legend(
            handles=self.ellipses,
            loc="upper right",
            bbox_to_anchor=(1.0, 1.06),
            fontsize=8,
        )
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.figure.bbox)
        self.lines = _text_lines(readouts, dpi, self.figure.bbox.height)
        self.colours = (
            matplotlib.colormaps["magma"](np.arange(256))[:, :3] * 255
        ).round()
        self.colours = self.colours.astype(np.uint8)
        box = self.screen.get_window_extent()  # display pixels, origin at the bottom
        height = round(self.figure.bbox.height)
        self.columns = slice(round(box.x0), round(box.x1))
        self.rows = slice(height - round(box.y1), height - round(box.y0))
        self.shape = None

    def _pixels(self, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Image row and column shown at each pixel of the screen's axes (nearest)."""
        if self.shape != shape:
            n_rows = self.rows.stop - self.rows.start
            n_columns = self.columns.stop - self.columns.start
            rows = (
                (np.arange(n_rows)[::-1] + 0.5) * shape[0] / n_rows
            )  # row 0 at bottom
            columns = (np.arange(n_columns) + 0.5) * shape[1] / n_columns
            self.index = (rows.astype(int)[:, None], columns.astype(int)[None, :])
            self.shape = shape
        return self.index

    def draw(self, image, beam, target, thresholds, magnets, step) -> np.ndarray:
        from PIL import Image, ImageDraw

        image = np.asarray(image)
        rows, columns = self._pixels(image.shape)
        shown = image[rows, columns]
        scale = 256.0 / max(float(np.max(image)), 1e-30)
        levels = np.clip(shown * scale, 0, 255).astype(np.uint8)
        for ellipse, values in zip(self.ellipses, (target, beam), strict=True):
            mu_x, sigma_x, mu_y, sigma_y = np.asarray(values, dtype=float) * 1e3
            ellipse.set_center((mu_x, mu_y))
            ellipse.set_width(4 * sigma_x)
            ellipse.set_height(4 * sigma_y)
        self.canvas.restore_region(self.background)
        canvas = np.asarray(self.canvas.buffer_rgba())
        canvas[self.rows, self.columns, :3] = self.colours[levels]
        for artist in self.ellipses:
            self.screen.draw_artist(artist)
        picture = Image.fromarray(np.asarray(self.canvas.buffer_rgba())[..., :3])
        pen = ImageDraw.Draw(picture)
        contents = _readouts(beam, target, thresholds, magnets, step)
        for (xy, font), (text, colour) in zip(self.lines, contents, strict=True):
            pen.text(xy, text, font=font, fill=colour, anchor="la")
        return np.array(picture)


def _text_lines(axes, dpi: int, height: float) -> list:
    """Pixel position (top-left origin) and Pillow font of each readout line."""
    from matplotlib import font_manager
    from PIL import ImageFont

    def font(size: float, **properties):
        path = font_manager.findfont(font_manager.FontProperties(**properties))
        return ImageFont.truetype(path, round(size * dpi / 72))

    bold, mono = font(11, weight="bold"), font(9, family="monospace")
    rows = [(1.0, bold)] + [(0.86 - 0.1 * i, mono) for i in range(4)]
    rows += [(0.40 - 0.08 * i, mono) for i in range(5)]
    lines = []
    for y, typeface in rows:
        px, py = axes.transAxes.transform((0.0, y))
        lines.append(((px, height - py), typeface))
    return lines


def _readouts(beam, target, thresholds, magnets, step) -> list[tuple[str, tuple]]:
    """Text and RGB colour of each readout line."""
    from matplotlib.colors import to_rgb

    def rgb(colour: str) -> tuple[int, ...]:
        return tuple(round(255 * c) for c in to_rgb(colour))

    lines = [(f"step {step}", rgb("black"))]
    colours = readout_colours(beam, target, thresholds)
    for label, value, goal, colour in zip(
        BEAM_LABELS, beam, target, colours, strict=True
    ):
        text = f"{label:8s}{value * _MICRO:8.1f} µm  (target {goal * _MICRO:.1f})"
        lines.append((text, rgb(colour)))
    for label, value, unit, factor in zip(
        MAGNET_LABELS, magnets, _UNITS, _SCALE, strict=True
    ):
        lines.append((f"{label:8s}{value * factor:8.3f} {unit}", rgb("black")))
    return lines


def render_screen(
    image: np.ndarray,
    beam: np.ndarray,
    target: np.ndarray,
    thresholds: np.ndarray,
    magnets: np.ndarray,
    step: int = 0,
    dpi: int = 80,
) -> np.ndarray:
    """Draw the screen image, the 2σ ellipses of target (blue) and beam (red), and readouts.

    Parameters
    ----------
    image : ndarray (H, W)
        Screen image, row 0 at the bottom (see :func:`rltutorial.envs.screen.screen_image`).
    beam, target : ndarray (4,)
        mu_x, sigma_x, mu_y, sigma_y in m.
    thresholds : ndarray (4,)
        Thresholds in m (NaN where unset) colouring the readouts.
    magnets : ndarray (5,)
        Q1, Q2 (1/m²), CV (rad), Q3 (1/m²), CH (rad).
    step : int
        Step number shown in the title.
    dpi : int
        Resolution of the picture (80 gives 720 × 300 pixels).

    Returns
    -------
    ndarray (H, W, 3) of uint8
    """
    figures = _CACHE.__dict__.setdefault("figures", {})
    if dpi not in figures:
        figures[dpi] = _ScreenFigure(dpi)
    return figures[dpi].draw(image, beam, target, thresholds, magnets, step)
