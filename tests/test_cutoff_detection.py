import numpy as np
import pytest
from synth import synth_music

from a2sb.cutoff_detection import (
    N_FFT,
    LongTermSpectrum,
    TooShortToDetect,
    detect_cutoff,
    detect_cutoff_streamed,
    long_term_spectrum_db,
)
from a2sb.errors import A2SBInputError
from a2sb.io.audio import resample

RATE = 44100


def lowpass(audio: np.ndarray, cutoff_hz: float, roll_off: float = 0.0) -> np.ndarray:
    """Remove everything above `cutoff_hz`; with `roll_off`, fall linearly in dB from 0 dB at
    the cutoff to −60 dB at cutoff · (1 + roll_off) first (a soft, codec-like edge)."""
    spectrum = np.fft.rfft(audio, axis=-1)
    frequencies = np.fft.rfftfreq(audio.shape[-1], 1 / RATE)
    if roll_off:
        attenuation_db = np.clip((frequencies - cutoff_hz) / (roll_off * cutoff_hz), 0, 1) * 60
        spectrum *= 10 ** (-attenuation_db / 20)
        spectrum[..., frequencies > cutoff_hz * (1 + roll_off)] = 0
    else:
        spectrum[..., frequencies > cutoff_hz] = 0
    return np.fft.irfft(spectrum, n=audio.shape[-1], axis=-1).astype(np.float32)


MUSIC = synth_music(RATE * 4, channels=2, seed=3)


@pytest.mark.parametrize("cutoff_hz", [4000, 8000, 11000])
def test_brick_wall_cutoff_is_found_within_2_percent(cutoff_hz):
    assert detect_cutoff(lowpass(MUSIC, cutoff_hz), RATE) == pytest.approx(cutoff_hz, rel=0.02)


@pytest.mark.parametrize("cutoff_hz", [4000, 8000, 11000])
def test_soft_roll_off_is_placed_at_its_start_within_2_percent(cutoff_hz):
    detected = detect_cutoff(lowpass(MUSIC, cutoff_hz, roll_off=0.05), RATE)
    assert detected == pytest.approx(cutoff_hz, rel=0.02)


@pytest.mark.parametrize("cutoff_hz", [4000, 8000])
def test_resampled_input_is_cut_at_the_resampler_band_edge(cutoff_hz):
    """soxr keeps ~95 % of the lower Nyquist; the detector finds where content really ends."""
    degraded = resample(resample(MUSIC, RATE, 2 * cutoff_hz), 2 * cutoff_hz, RATE)
    assert 0.92 * cutoff_hz < detect_cutoff(degraded, RATE) < 1.0 * cutoff_hz


def test_long_silence_does_not_pull_the_cutoff_down():
    silence = np.zeros((2, RATE * 30), np.float32)
    music = lowpass(MUSIC, 8000)
    with_silence = np.concatenate([silence, music, silence], axis=-1)
    assert detect_cutoff(with_silence, RATE) == pytest.approx(8000, rel=0.02)


def test_full_band_audio_has_no_cutoff():
    noise = np.random.default_rng(0).standard_normal((1, RATE)).astype(np.float32) * 0.1
    assert detect_cutoff(noise, RATE) is None


def test_silent_input_is_refused_with_the_fix():
    with pytest.raises(A2SBInputError, match="input is silent.*give the cutoff explicitly"):
        detect_cutoff(np.zeros((1, RATE), np.float32), RATE)


def blocks_of(audio: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    """`audio` cut into blocks of the given sizes, cycled until the end."""
    blocks, start, index = [], 0, 0
    while start < audio.shape[-1]:
        blocks.append(audio[:, start : start + sizes[index % len(sizes)]])
        start += sizes[index % len(sizes)]
        index += 1
    return blocks


@pytest.mark.parametrize("sizes", [[1000], [777, 5000, 3], [4097, 0, 1023, 250_000]])
def test_streamed_long_term_spectrum_equals_the_whole_one(sizes):
    """Block sizes that do not divide the hop of N_FFT / 4 = 1024 samples."""
    music = lowpass(MUSIC, 8000)
    spectrum = LongTermSpectrum(RATE)
    for block in blocks_of(music, sizes):
        spectrum.add(block)
        assert spectrum.samples_kept < N_FFT
    frequencies, whole_db = long_term_spectrum_db(music, RATE)
    np.testing.assert_array_equal(spectrum.frequencies, frequencies)
    np.testing.assert_allclose(spectrum.level_db(), whole_db, rtol=1e-9, atol=0)


@pytest.mark.parametrize("sizes", [[1000], [777, 5000, 3], [4097, 0, 1023]])
@pytest.mark.parametrize("cutoff_hz", [4000, 11000])
def test_streamed_detection_finds_the_cutoff_of_the_whole(sizes, cutoff_hz):
    music = lowpass(MUSIC, cutoff_hz, roll_off=0.05)
    detected = detect_cutoff_streamed(blocks_of(music, sizes), RATE)
    assert detected == detect_cutoff(music, RATE)
    assert detected == pytest.approx(cutoff_hz, rel=0.02)


@pytest.mark.parametrize("num_samples", [1, 1000, N_FFT - 1, N_FFT, N_FFT + 1023])
def test_audio_shorter_than_a_frame_is_zero_padded_when_streamed_too(num_samples):
    music = lowpass(MUSIC, 8000)[:, :num_samples]
    spectrum = LongTermSpectrum(RATE)
    for block in blocks_of(music, [300]):
        spectrum.add(block)
    padded = np.pad(music, ((0, 0), (0, max(0, N_FFT - num_samples))))
    np.testing.assert_allclose(
        spectrum.level_db(), long_term_spectrum_db(padded, RATE)[1], rtol=1e-9, atol=0
    )


def test_no_blocks_is_silent():
    with pytest.raises(A2SBInputError, match="input is silent"):
        detect_cutoff_streamed([], RATE)


def test_blocks_of_other_channels_are_refused():
    spectrum = LongTermSpectrum(RATE)
    spectrum.add(MUSIC[:, :1000])
    with pytest.raises(A2SBInputError, match="block of 1 channels follows blocks of 2"):
        spectrum.add(MUSIC[:1, 1000:2000])


def test_skipped_gaps_leave_their_content_out_of_the_estimate():
    """A damaged stretch (here a full-band burst) says nothing of the recording's band."""
    audio = lowpass(MUSIC, 6000)
    audio[:, RATE : 2 * RATE] = np.random.default_rng(0).standard_normal((2, RATE))
    gap = [(RATE, 2 * RATE)]
    assert detect_cutoff(audio, RATE) is None
    assert detect_cutoff(audio, RATE, gap) == pytest.approx(6000, rel=0.02)
    blocks = np.array_split(audio, 7, axis=-1)
    assert detect_cutoff_streamed(blocks, RATE, gap) == detect_cutoff(audio, RATE, gap)


def test_a_clip_too_short_for_a_reliable_cutoff_is_refused():
    """0.1–0.3 s of music cut at 8 kHz was detected at 1.4–4.3 kHz on the devset."""
    audio = lowpass(MUSIC, 8000)
    with pytest.raises(TooShortToDetect, match=r"0\.30 s of audio .* too short .*\(cutoff_hz\)"):
        detect_cutoff(audio[:, : int(0.3 * RATE)], RATE)
    assert isinstance(detect_cutoff(audio[:, : int(0.5 * RATE)], RATE), float)  # from 0.5 s


def test_skipped_audio_does_not_count_towards_the_length_a_detection_needs():
    audio = lowpass(MUSIC, 8000)[:, : int(0.8 * RATE)]
    with pytest.raises(TooShortToDetect, match=r"0\.40 s of audio \(outside any gaps\)"):
        detect_cutoff(audio, RATE, [(int(0.2 * RATE), int(0.6 * RATE))])
