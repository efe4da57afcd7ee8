"""The true bandwidth of a ground-truth file, to limit LSD to the band it really holds.

Lossy sources are low-passed by their encoder (often at 16–20 kHz): above that there is
nothing to restore, and LSD there only measures how a restoration treats near-silence. A data
folder may say each file's bandwidth in a `manifest.csv` with columns `file` and `bw60_hz`;
otherwise `estimate_bandwidth_hz` measures it the same way.
"""

from __future__ import annotations

import csv
from pathlib import Path

import torch

from a2sb.errors import A2SBInputError

MANIFEST_NAME = "manifest.csv"
"""The file, next to the audio, that may list each file's bandwidth."""
BANDWIDTH_COLUMN = "bw60_hz"
"""Its column of bandwidths in Hz."""


def read_manifest_bandwidths(folder: Path) -> dict[str, float]:
    """`{file name relative to folder: bw60_hz}` from `folder/manifest.csv`; empty if absent.

    Raises:
        A2SBInputError: the manifest exists but lacks the `file` or `bw60_hz` column.
    """
    manifest = folder / MANIFEST_NAME
    if not manifest.is_file():
        return {}
    with manifest.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if rows and not {"file", BANDWIDTH_COLUMN} <= set(rows[0]):
        raise A2SBInputError(
            f"{manifest} has no 'file' and '{BANDWIDTH_COLUMN}' columns; add them or remove "
            "the manifest to let a2sb estimate each file's bandwidth"
        )
    return {row["file"]: float(row[BANDWIDTH_COLUMN]) for row in rows}


def estimate_bandwidth_hz(
    waveform: torch.Tensor,
    sampling_rate: int,
    range_db: float = 60.0,
    n_fft: int = 4096,
    smoothing_bins: int = 5,
) -> float:
    """The highest frequency whose long-term power lies within `range_db` of the peak.

    The long-term spectrum is Welch's average of |STFT|² over all channels and frames (Hann
    window of `n_fft`, 50 % overlap), smoothed over `smoothing_bins` bins — the `bw60_hz` of
    the devset manifest.

    Args:
        waveform: `[channels, samples]`.
        sampling_rate: its rate.
        range_db: how far below the peak still counts as content.
        n_fft: Welch segment length (shorter audio is zero-padded to one segment).
        smoothing_bins: width of the moving average over frequency.

    Returns:
        Hz, at most the Nyquist frequency.
    """
    if waveform.shape[-1] < n_fft:
        waveform = torch.nn.functional.pad(waveform, (0, n_fft - waveform.shape[-1]))
    spectrum = torch.stft(
        waveform.float(),
        n_fft=n_fft,
        hop_length=n_fft // 2,
        window=torch.hann_window(n_fft, device=waveform.device),
        center=False,
        return_complex=True,
    )
    power = spectrum.abs().square().mean(dim=(0, 2))  # [n_fft / 2 + 1]
    kernel = torch.full((1, 1, smoothing_bins), 1 / smoothing_bins, device=power.device)
    smoothed = torch.nn.functional.conv1d(power[None, None], kernel, padding="same")[0, 0]
    level_db = 10 * torch.log10(smoothed + 1e-30)
    within_range = (level_db >= level_db.max() - range_db).nonzero()
    return float(within_range.max()) * sampling_rate / n_fft
