"""Before/after spectrogram pictures of a restoration, drawn with matplotlib (Agg, no display).

Each panel is a log-magnitude spectrogram (dB below the loudest bin of all panels, frequency in
kHz, time in seconds), every panel on one colour scale, so the band a restoration keeps looks
the same before and after and only the re-created part differs. The bandwidth-extension cutoff
is drawn as a dashed line across every panel, inpainting gaps as outlined spans.

A panel is computed block by block (`PooledLevel`), so the picture of a restored file is drawn
from the input and the result read in blocks (`save_restoration_picture`): memory stays that of
the picture, whatever the length of the file.

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

from a2sb.errors import A2SBInputError
from a2sb.evaluation.metrics import HOP_LENGTH, N_FFT
from a2sb.io.atomic_output import write_bytes_atomically
from a2sb.io.audio import to_mono
from a2sb.io.audio_stream import AudioReader
from a2sb.representations import ComplexSTFT, StreamedSpectrum

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
    levels = []
    for title, waveform in panels:
        waveform = np.asarray(waveform, dtype=np.float32)
        level = PooledLevel(waveform.shape[-1], sampling_rate)
        level.add(waveform.reshape(-1, waveform.shape[-1]))
        levels.append((title, level))
    return _figure(levels, cutoff_hz, gaps)


class PooledLevel:
    """One panel of a picture, from audio added block by block.

    The magnitude spectrogram of the channels' mean (the metrics' STFT: `N_FFT`, `HOP_LENGTH`,
    centred), its frames pooled by mean power into at most `MAX_COLUMNS` columns. Only the
    columns and the STFT's few samples in flight are kept, so a file of any length draws in the
    same memory, and the blocks' result is that of the whole signal.

    Args:
        total_samples: the samples that will be added in all (per channel).
        sampling_rate: their rate.
    """

    def __init__(self, total_samples: int, sampling_rate: int):
        self.duration_s = total_samples / sampling_rate
        self.sampling_rate = sampling_rate
        self._spectrum = StreamedSpectrum(
            ComplexSTFT(n_fft=N_FFT, hop_length=HOP_LENGTH), total_samples, rows=1
        )
        self._pool = -(-self._spectrum.total_frames // MAX_COLUMNS)  # frames per column
        columns = -(-self._spectrum.total_frames // self._pool)
        self._power_sum = torch.zeros(N_FFT // 2 + 1, columns, dtype=torch.float64)

    def add(self, block: np.ndarray) -> None:
        """Add the next samples: float `[channels, n]`, every block with the same channels."""
        mono = to_mono(np.asarray(block, dtype=np.float32))
        self._accumulate(self._spectrum.push(torch.from_numpy(mono)))

    def level_db(self) -> np.ndarray:
        """The panel, once every sample is in: dB of the pooled magnitude, float
        `[n_fft / 2 + 1, columns]`, lowest frequency first."""
        self._accumulate(self._spectrum.finish())
        columns = self._power_sum.shape[1]
        frames_per_column = torch.full((columns,), self._pool, dtype=torch.float64)
        frames_per_column[-1] = self._spectrum.total_frames - self._pool * (columns - 1)
        power = self._power_sum / frames_per_column
        return (10 * torch.log10(power.clamp_min(1e-20))).numpy()

    def _accumulate(self, frames: torch.Tensor) -> None:
        """Add the power of frames `[1, n_fft / 2 + 1, k]` (in order) to their columns."""
        first = self._spectrum.frames_done - frames.shape[-1]
        columns = (first + torch.arange(frames.shape[-1])) // self._pool
        self._power_sum.index_add_(1, columns, frames[0].abs().square().double())


def file_level(path: str | os.PathLike, sampling_rate: int | None = None) -> PooledLevel:
    """The panel of an audio file read in blocks, resampled on the way to `sampling_rate` (the
    file's own when None), so that panels of files at different rates share one frequency axis.

    Raises:
        A2SBInputError: the file cannot be read (`AudioReader`).
    """
    with AudioReader(path, sampling_rate) as reader:
        level = PooledLevel(reader.samples, reader.target_rate)
        for block in reader.blocks():
            level.add(block)
    return level


def _figure(
    panels: Sequence[tuple[str, PooledLevel]],
    cutoff_hz: float | None,
    gaps: Sequence[tuple[float, float]],
):
    """The figure of `spectrogram_figure`, from `(title, panel)` pairs at one sampling rate."""
    levels = [level.level_db() for _, level in panels]
    peak = max(float(level.max()) for level in levels)
    duration_s = max(level.duration_s for _, level in panels)
    nyquist_khz = panels[0][1].sampling_rate / 2000
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
    input_path: str | os.PathLike,
    result_path: str | os.PathLike,
    cutoff_hz: float | None = None,
    gaps: Sequence[tuple[float, float]] = (),
    after_title: str = "after: restored",
) -> None:
    """Write the before/after picture of one restoration, complete or not at all.

    Both files are read in blocks (`file_level`), the input resampled to the result's rate so
    that both panels share one frequency axis; memory does not grow with their length. The
    picture is written to a hidden partial file beside `path`, then renamed
    (`write_bytes_atomically`).

    Args:
        path: the `.png` to write (e.g. `song.a2sb.png` beside `song.a2sb.wav`).
        input_path: the audio that was restored.
        result_path: the restoration.
        cutoff_hz: the bandwidth-extension cutoff used, marked on both panels.
        gaps: the inpainted gaps, marked on both panels.
        after_title: the title of the lower panel.

    Raises:
        A2SBInputError: either file cannot be read.
        A2SBWriteError: the picture cannot be written.
    """
    after = file_level(result_path)
    before = file_level(input_path, after.sampling_rate)
    figure = _figure([("before: input", before), (after_title, after)], cutoff_hz, gaps)
    write_bytes_atomically(path, _palette_png(figure))


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
