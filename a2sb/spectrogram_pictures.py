"""Before/after spectrogram pictures of a restoration, drawn with matplotlib (Agg, no display).

Each panel is a log-magnitude spectrogram (dB below the loudest bin of all panels, frequency in
kHz, time in seconds), every panel on one colour scale, so the band a restoration keeps looks
the same before and after and only the re-created part differs. The bandwidth-extension cutoff
is drawn as a dashed line across every panel, inpainting gaps as outlined spans.

matplotlib is a dependency of a2sb, imported only when a picture is drawn (so that restoring
does not pay its import); an environment that lacks it gets an `A2SBInputError` that says what
to install.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from a2sb.audio import resample, to_mono
from a2sb.errors import A2SBInputError
from a2sb.evaluation.metrics import N_FFT, magnitude_spectrogram

DYNAMIC_RANGE_DB = 90.0
"""Levels this far below the loudest bin are drawn in the darkest colour."""
MAX_COLUMNS = 1500
"""Frames beyond this are pooled (mean power), so a long file draws as fast as a short one."""
COLOUR_MAP = "magma"
MARK_COLOUR = "#4fd1ff"
"""Cyan: stands out on every level of magma."""


def require_matplotlib() -> None:
    """Refuse early, before any work, when matplotlib is missing.

    Raises:
        A2SBInputError: matplotlib is not installed; the message names the extra to install.
    """
    _matplotlib_classes()


def spectrogram_png(
    panels: Sequence[tuple[str, np.ndarray]],
    sampling_rate: int,
    cutoff_hz: float | None = None,
    gaps: Sequence[tuple[float, float]] = (),
) -> bytes:
    """One PNG with a spectrogram per panel, stacked, on one colour scale.

    The arguments are those of `spectrogram_figure`.

    Returns:
        The PNG file's bytes (256 colours).
    """
    return _palette_png(spectrogram_figure(panels, sampling_rate, cutoff_hz, gaps))


def spectrogram_figure(
    panels: Sequence[tuple[str, np.ndarray]],
    sampling_rate: int,
    cutoff_hz: float | None = None,
    gaps: Sequence[tuple[float, float]] = (),
):
    """A matplotlib Figure (Agg) with a spectrogram per panel, stacked, on one colour scale.

    Args:
        panels: `(title, waveform)` pairs; waveforms float `[channels, samples]` (channels are
            averaged) or `[samples]`, all at `sampling_rate`.
        sampling_rate: rate of every waveform.
        cutoff_hz: bandwidth extension: drawn as a dashed line on every panel.
        gaps: inpainting: `(start_s, end_s)` spans outlined on every panel.

    Returns:
        The figure; each panel's image holds dB below the loudest bin of all panels,
        `[n_fft / 2 + 1, columns]`, lowest frequency first.
    """
    levels = [_level_db(waveform) for _, waveform in panels]
    peak = max(float(level.max()) for level in levels)
    duration_s = max(np.shape(waveform)[-1] for _, waveform in panels) / sampling_rate
    nyquist_khz = sampling_rate / 2000
    figure = _new_figure(figsize=(9.0, 1.0 + 2.3 * len(panels)))
    axes = figure.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for axis, (title, _), level in zip(axes, panels, levels, strict=True):
        image = axis.imshow(
            level - peak,
            origin="lower",
            aspect="auto",
            cmap=COLOUR_MAP,
            vmin=-DYNAMIC_RANGE_DB,
            vmax=0.0,
            extent=(0.0, duration_s, 0.0, nyquist_khz),
            interpolation="nearest",
        )
        axis.set_title(title, loc="left", fontsize=10)
        axis.set_ylabel("kHz")
        _mark(axis, cutoff_hz, gaps)
    axes[-1].set_xlabel("seconds")
    colour_bar = figure.colorbar(image, ax=list(axes), shrink=0.9, pad=0.01)
    colour_bar.set_label("dB below peak")
    return figure


def picture_path(result_path: str | os.PathLike) -> Path:
    """Where the picture of a result goes: `song.a2sb.png` beside `song.a2sb.wav`."""
    return Path(result_path).with_suffix(".png")


def save_restoration_picture(
    path: str | os.PathLike,
    before: np.ndarray,
    before_rate: int,
    after: np.ndarray,
    after_rate: int,
    cutoff_hz: float | None = None,
    gaps: Sequence[tuple[float, float]] = (),
    after_title: str = "after: restored",
) -> None:
    """Write the before/after picture of one restoration, complete or not at all.

    The picture is written to a hidden partial file beside `path`, then renamed.

    Args:
        path: the `.png` to write (e.g. `song.a2sb.png` beside `song.a2sb.wav`).
        before: the input, float `[channels, samples]` at `before_rate`; it is resampled to
            `after_rate` so that both panels share one frequency axis.
        before_rate: its sampling rate.
        after: the result, float `[channels, samples]` at `after_rate`.
        after_rate: its sampling rate.
        cutoff_hz: the bandwidth-extension cutoff used, marked on both panels.
        gaps: the inpainted gaps, marked on both panels.
        after_title: the title of the lower panel.
    """
    before = resample(np.asarray(before, dtype=np.float32), before_rate, after_rate)
    png = spectrogram_png(
        [("before: input", before), (after_title, after)], after_rate, cutoff_hz, gaps
    )
    path = Path(path)
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        partial.write_bytes(png)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _level_db(waveform: np.ndarray) -> np.ndarray:
    """dB of the magnitude `[n_fft / 2 + 1, columns]`, frames pooled to at most MAX_COLUMNS."""
    waveform = np.asarray(waveform, dtype=np.float32)
    mono = to_mono(waveform.reshape(-1, waveform.shape[-1]))
    if mono.shape[-1] < N_FFT:  # too short for one frame: pad with silence
        mono = np.pad(mono, ((0, 0), (0, N_FFT - mono.shape[-1])))
    power = magnitude_spectrogram(torch.from_numpy(mono))[0].square().numpy()
    pool = -(-power.shape[1] // MAX_COLUMNS)
    columns = power.shape[1] // pool
    if pool > 1:
        power = power[:, : columns * pool].reshape(power.shape[0], columns, pool).mean(axis=2)
    return 10 * np.log10(np.maximum(power, 1e-20))


def _mark(axis, cutoff_hz: float | None, gaps: Sequence[tuple[float, float]]) -> None:
    """The cutoff as a labelled dashed line, the gaps as outlined translucent spans."""
    if cutoff_hz is not None:
        axis.axhline(cutoff_hz / 1000, color=MARK_COLOUR, linestyle="--", linewidth=1.2)
        axis.annotate(
            f"cutoff {cutoff_hz / 1000:.1f} kHz",
            xy=(1.0, cutoff_hz / 1000),
            xycoords=("axes fraction", "data"),
            xytext=(-4, 3),
            textcoords="offset points",
            ha="right",
            color=MARK_COLOUR,
            fontsize=8,
        )
    for start_s, end_s in gaps:
        axis.axvspan(start_s, end_s, facecolor=MARK_COLOUR, alpha=0.12, edgecolor=MARK_COLOUR)


def _palette_png(figure) -> bytes:
    """The figure as a 256-colour PNG: the colour map has 256 colours, and the file is a third
    of a true-colour one."""
    from PIL import Image  # a dependency of matplotlib

    figure.canvas.draw()
    rgb = Image.fromarray(np.asarray(figure.canvas.buffer_rgba())).convert("RGB")
    buffer = io.BytesIO()
    rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(buffer, "png", optimize=True)
    return buffer.getvalue()


def _new_figure(figsize: tuple[float, float]):
    """A matplotlib Figure drawn by the Agg backend (no display, no pyplot global state)."""
    figure_class, agg_canvas_class = _matplotlib_classes()
    figure = figure_class(figsize=figsize, dpi=110, layout="constrained")
    agg_canvas_class(figure)
    return figure


def _matplotlib_classes():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise A2SBInputError(
            "spectrogram pictures need matplotlib, a dependency of a2sb missing from this "
            "environment; install it with pip install matplotlib"
        ) from error
    return Figure, FigureCanvasAgg
