"""ViSQOL v3 in audio mode (MOS-LQO, 1–5), the paper's perceptual metric, as an option.

It runs through the optional package `visqol-python` (pure Python, model bundled, works
offline; `pip install visqol-python`), at 48 kHz as ViSQOL's audio mode expects. Identical
signals score about 4.73. It takes seconds per 10 s of audio.
"""

from __future__ import annotations

import functools

import numpy as np

from a2sb.errors import A2SBInputError
from a2sb.io.audio import resample

VISQOL_RATE = 48000
"""The rate of ViSQOL's audio mode; audio is resampled to it with soxr."""


def visqol_moslqo(reference: np.ndarray, estimate: np.ndarray, sampling_rate: int) -> float:
    """ViSQOL MOS-LQO of `estimate` against `reference`, averaged over channels.

    Args:
        reference: ground truth, float `[channels, samples]`.
        estimate: restoration, same shape.
        sampling_rate: their rate.

    Raises:
        A2SBInputError: `visqol-python` is not installed.
    """
    api = visqol_api()
    reference = resample(np.asarray(reference, np.float32), sampling_rate, VISQOL_RATE)
    estimate = resample(np.asarray(estimate, np.float32), sampling_rate, VISQOL_RATE)
    scores = [
        api.measure_from_arrays(ref.astype(np.float64), est.astype(np.float64), VISQOL_RATE).moslqo
        for ref, est in zip(reference, estimate, strict=True)
    ]
    return float(np.mean(scores))


@functools.cache
def visqol_api():
    """The ViSQOL audio-mode API of `visqol-python`, created once.

    Raises:
        A2SBInputError: `visqol-python` is not installed.
    """
    try:
        from visqol import VisqolApi
    except ImportError as error:
        raise A2SBInputError(
            "ViSQOL needs the optional package visqol-python; install it with "
            "`pip install visqol-python` or leave ViSQOL out"
        ) from error
    api = VisqolApi()
    api.create(mode="audio")
    return api
