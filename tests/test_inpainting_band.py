"""Inpainting a band-limited recording keeps each restored gap within the recording's band:
above it the gap takes its neighbours' content (nothing, for a recording cut at 6 kHz),
whatever the model paints there, streamed and in memory."""

import numpy as np
import pytest
import soundfile
import torch
from synth import write_band_limited
from test_prior_residual import residual_pipeline

from a2sb.pipelines import A2SBPipeline

RATE = 44100
BAND_HZ = 6000.0
GAP = (1.0, 1.6)


def bright_pipeline() -> A2SBPipeline:
    """A network that adds |S|^0.25 of 0.3 everywhere it restores: hiss at every frequency."""
    pipe = residual_pipeline()  # its output layer at zero
    with torch.no_grad():
        pipe.unet.conv_out.bias[0] = 0.3
    return pipe


def band_limited_input(tmp_path) -> tuple[np.ndarray, object]:
    """3 s of music brick-walled at 6 kHz with a zeroed gap, as audio and as a file."""
    path = write_band_limited(tmp_path / "in.wav", 3.0, cutoff_hz=BAND_HZ, seed=2)
    audio, _ = soundfile.read(path, dtype="float32", always_2d=True)
    audio = audio.T.copy()
    audio[:, int(GAP[0] * RATE) : int(GAP[1] * RATE)] = 0
    soundfile.write(path, audio.T, RATE, subtype="FLOAT")
    return audio, path


def gap_level_db(audio: np.ndarray, low_hz: float, high_hz: float) -> float:
    """Mean power in dB of the gap's middle, between two frequencies."""
    middle = audio[0, int((GAP[0] + 0.1) * RATE) : int((GAP[1] - 0.1) * RATE)]
    power = np.abs(np.fft.rfft(middle * np.hanning(middle.size))) ** 2
    freqs = np.fft.rfftfreq(middle.size, 1 / RATE)
    return float(10 * np.log10(power[(freqs > low_hz) & (freqs < high_hz)].mean() + 1e-20))


def restore_both_ways(tmp_path, **arguments) -> list[np.ndarray]:
    audio, path = band_limited_input(tmp_path)
    pipe = bright_pipeline()
    settings = {"task": "inpainting", "gaps": [GAP], "num_inference_steps": 1, **arguments}
    in_memory = pipe(audio, RATE, generator=torch.manual_seed(0), **settings)
    pipe.restore_file(
        path, tmp_path / "out.wav", bit_depth="32f", generator=torch.manual_seed(0), **settings
    )
    streamed, _ = soundfile.read(tmp_path / "out.wav", dtype="float32", always_2d=True)
    band_hz = arguments.get("cutoff_hz", BAND_HZ)
    assert abs(in_memory.cutoff_hz[0] - band_hz) < 500  # the band used: detected or given
    return [in_memory.audios[0], streamed.T]


def test_a_restored_gap_stays_within_the_detected_band(tmp_path):
    for restored in restore_both_ways(tmp_path):
        in_band = gap_level_db(restored, 1000, 5000)
        above_band = gap_level_db(restored, 8000, 20000)
        assert in_band > -20  # the network painted the band it restores
        assert above_band < in_band - 80  # nothing above the band (the model paints -21 dB there)


def test_a_full_band_given_lets_the_gap_fill_every_frequency(tmp_path):
    """The converse: told the recording reaches 21 kHz, the model's hiss fills the top too
    (-21 dB here, against -112 dB within the detected band)."""
    for restored in restore_both_ways(tmp_path, cutoff_hz=21000):
        assert gap_level_db(restored, 8000, 20000) > -40


def test_a_full_band_input_is_restored_at_every_frequency():
    audio = 0.1 * np.random.default_rng(0).standard_normal((1, 3 * RATE), dtype=np.float32)
    result = bright_pipeline()(audio, RATE, task="inpainting", gaps=[GAP], num_inference_steps=1)
    assert result.cutoff_hz is None


@pytest.mark.parametrize("cutoff_hz", [0, 30000])
def test_a_bandwidth_outside_nyquist_is_refused_for_inpainting(cutoff_hz):
    from a2sb.errors import A2SBInputError

    audio = np.zeros((1, RATE), dtype=np.float32)
    with pytest.raises(A2SBInputError, match=f"cutoff {cutoff_hz} Hz is outside"):
        bright_pipeline()(audio, RATE, task="inpainting", gaps=[(0.2, 0.4)], cutoff_hz=cutoff_hz)


def test_too_little_audio_outside_the_gaps_restores_them_at_every_frequency(caplog):
    """Below the length a detection needs, the band is not guessed: the gaps are restored at
    every frequency, with a warning that says how to give the band."""
    audio = 0.1 * np.random.default_rng(0).standard_normal((1, int(0.6 * RATE)), dtype=np.float32)
    result = bright_pipeline()(
        audio, RATE, task="inpainting", gaps=[(0.1, 0.4)], num_inference_steps=1
    )
    assert result.cutoff_hz is None
    assert "too little audio outside the gaps" in caplog.text
