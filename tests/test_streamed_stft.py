import pytest
import torch
from synth import synth_music

from a2sb.errors import A2SBInputError
from a2sb.representations import (
    ComplexSTFT,
    FactorizedSTFT,
    OverlapAddDecoder,
    STFTRepresentation,
    StreamedSpectrum,
)

# (samples, block size, rows): lengths that do not divide by the hop, blocks smaller than n_fft
# or not dividing the length, audio shorter than n_fft / 2 + 1 (zero-padded) or than 2 frames.
CASES = [
    (44100 + 77, 777, 2),
    (9999, 100, 1),
    (9999, 4096, 2),
    (2047, 333, 2),
    (2048, 2048, 1),
    (1536, 1, 1),
    (1025, 7, 2),
    (1024, 1000, 1),
    (600, 50, 2),
    (300, 7, 1),
    (1, 1, 2),
]

RELATIVE_TOLERANCE = 1e-5


def music(num_samples: int, rows: int) -> torch.Tensor:
    return torch.from_numpy(synth_music(num_samples, channels=rows, seed=num_samples))


def relative_error(result: torch.Tensor, reference: torch.Tensor) -> float:
    assert result.shape == reference.shape
    return float((result - reference).abs().max() / reference.abs().max())


def streamed_spectrum(
    representation: STFTRepresentation, waveform: torch.Tensor, block: int
) -> torch.Tensor:
    stream = StreamedSpectrum(representation, waveform.shape[-1], waveform.shape[0])
    pieces = [
        stream.push(waveform[:, start : start + block])
        for start in range(0, waveform.shape[-1], block)
    ]
    return torch.cat([*pieces, stream.finish()], dim=-1)


def streamed_decode(
    representation: STFTRepresentation,
    tensor: torch.Tensor,
    dc_row: torch.Tensor,
    num_samples: int,
    frames_per_push: int,
) -> torch.Tensor:
    decoder = OverlapAddDecoder(representation, num_samples, tensor.shape[0])
    pieces = [
        decoder.push(
            tensor[..., start : start + frames_per_push], dc_row[:, start : start + frames_per_push]
        )
        for start in range(0, tensor.shape[-1], frames_per_push)
    ]
    return torch.cat([*pieces, decoder.finish()], dim=-1)


@pytest.mark.parametrize(("num_samples", "block", "rows"), CASES)
def test_streamed_spectrum_equals_the_whole_signal_spectrum(num_samples, block, rows):
    representation = FactorizedSTFT()
    waveform = music(num_samples, rows)
    reference = representation.spectrum(waveform)
    result = streamed_spectrum(representation, waveform, block)
    assert relative_error(result, reference) <= RELATIVE_TOLERANCE


def test_streamed_spectrum_takes_blocks_of_any_sizes():
    representation = ComplexSTFT()
    waveform = music(20_000, 2)
    sizes = torch.randint(0, 3000, (40,), generator=torch.Generator().manual_seed(0)).tolist()
    stream = StreamedSpectrum(representation, 20_000, 2)
    pieces, start = [], 0
    for size in sizes:
        size = min(size, 20_000 - start)
        pieces.append(stream.push(waveform[:, start : start + size]))
        start += size
    pieces.append(stream.push(waveform[:, start:]))
    result = torch.cat([*pieces, stream.finish()], dim=-1)
    assert relative_error(result, representation.spectrum(waveform)) <= RELATIVE_TOLERANCE


def test_frame_comes_as_soon_as_its_half_window_after_the_centre_is_in():
    """Frame t needs t·hop + 1024 samples (frame 0: 1025, for the reflection of x[1024]); the
    frames within 1024 samples of the end wait for the last sample."""
    representation = FactorizedSTFT()
    num_samples = 10_000
    stream = StreamedSpectrum(representation, num_samples, 1)
    waveform = music(num_samples, 1)
    for available in range(1, num_samples + 1, 37):
        stream.push(waveform[:, stream.samples_received : available])
        expected = 0 if available < 1025 else (available - 1024) // 512 + 1
        assert stream.frames_done == expected
    stream.push(waveform[:, stream.samples_received :])
    assert stream.frames_done == 1 + num_samples // 512


def test_streamed_spectrum_keeps_at_most_n_fft_samples():
    representation = FactorizedSTFT()
    waveform = music(44100 * 3, 2)
    stream = StreamedSpectrum(representation, waveform.shape[-1], 2)
    kept = []
    for start in range(0, waveform.shape[-1], 1000):
        stream.push(waveform[:, start : start + 1000])
        kept.append(stream.samples_kept)
    assert max(kept) <= 2048
    assert stream.samples_kept == 1025  # the last n_fft / 2 + 1 samples, for the reflection


@pytest.mark.parametrize("representation_class", [FactorizedSTFT, ComplexSTFT])
@pytest.mark.parametrize(("num_samples", "block", "rows"), CASES)
def test_overlap_add_of_random_tensors_equals_decode(
    representation_class, num_samples, block, rows
):
    representation = representation_class()
    frames = representation.frames_for(num_samples)
    generator = torch.Generator().manual_seed(num_samples)
    tensor = torch.randn(rows, representation.channels, 1024, frames, generator=generator)
    dc_row = torch.randn(rows, frames, dtype=torch.complex64, generator=generator)
    reference = representation.decode(tensor, num_samples, dc_row=dc_row)
    frames_per_push = max(1, block // 512)
    result = streamed_decode(representation, tensor, dc_row, num_samples, frames_per_push)
    assert relative_error(result, reference) <= RELATIVE_TOLERANCE


@pytest.mark.parametrize("frames_per_push", [1, 3, 64 + 7, 1000])
def test_overlap_add_takes_pushes_across_conversion_chunks(frames_per_push):
    representation = FactorizedSTFT()
    num_samples = 44100 * 2 + 5
    waveform = music(num_samples, 2)
    spectrum = representation.spectrum(waveform)
    tensor = representation.encode_spectrum(spectrum)
    reference = representation.decode(tensor, num_samples, dc_row=spectrum[:, 0])
    result = streamed_decode(representation, tensor, spectrum[:, 0], num_samples, frames_per_push)
    assert relative_error(result, reference) <= RELATIVE_TOLERANCE


@pytest.mark.parametrize("representation_class", [FactorizedSTFT, ComplexSTFT])
@pytest.mark.parametrize(("num_samples", "block", "rows"), CASES)
def test_streamed_round_trip_equals_the_whole_one_and_the_input(
    representation_class, num_samples, block, rows
):
    representation = representation_class()
    waveform = music(num_samples, rows)
    spectrum = streamed_spectrum(representation, waveform, block)
    tensor = representation.encode_spectrum(spectrum)
    result = streamed_decode(
        representation, tensor, spectrum[:, 0], num_samples, max(1, block // 512)
    )
    reference = representation.decode(tensor, num_samples, dc_row=spectrum[:, 0])
    assert relative_error(result, reference) <= RELATIVE_TOLERANCE
    assert relative_error(result, waveform) <= 1e-4


def test_samples_come_once_no_later_frame_touches_them():
    """After frames 0..t−1, the samples before t·hop − n_fft/2 are final (frame t starts at
    t·hop in the padded signal, n_fft/2 before sample t·hop)."""
    representation = ComplexSTFT()
    num_samples = 5000
    frames = representation.frames_for(num_samples)
    decoder = OverlapAddDecoder(representation, num_samples, 1)
    tensor = torch.randn(1, 2, 1024, frames)
    for frame in range(frames):
        returned = decoder.push(tensor[..., frame : frame + 1])
        expected_done = max(0, (frame + 1) * 512 - 1024)
        assert decoder.samples_done == expected_done
        assert returned.shape == (1, expected_done - max(0, frame * 512 - 1024))
    remaining = num_samples - decoder.samples_done
    assert decoder.finish().shape == (1, remaining)
    assert decoder.samples_done == num_samples


@pytest.mark.filterwarnings("ignore:The length of signal is shorter than the length parameter")
@pytest.mark.parametrize("num_samples", [129, 330, 399, 1000, 1190])
def test_hop_above_half_window_leaves_the_zero_tail_of_istft(num_samples):
    """With hop 200 > n_fft/2 = 128, N mod hop > 128 leaves output samples past the last frame:
    torch.istft(length=N) zero-pads them, and so does the decoder."""
    representation = ComplexSTFT(n_fft=256, hop_length=200)
    waveform = music(num_samples, 2)
    spectrum = streamed_spectrum(representation, waveform, 33)
    assert relative_error(spectrum, representation.spectrum(waveform)) <= RELATIVE_TOLERANCE
    tensor = torch.randn(2, 2, 128, spectrum.shape[-1])
    reference = representation.decode(tensor, num_samples, dc_row=spectrum[:, 0])
    result = streamed_decode(representation, tensor, spectrum[:, 0], num_samples, 1)
    assert relative_error(result, reference) <= RELATIVE_TOLERANCE
    if num_samples % 200 > 128:
        assert torch.all(result[:, -1] == 0)


def test_window_without_overlap_is_refused_as_istft_refuses_it():
    """A Hann window at hop = n_fft sums to 0 between frames (NOLA fails)."""
    representation = ComplexSTFT(n_fft=256, hop_length=256)
    tensor = torch.randn(1, 2, 128, 5)
    with pytest.raises(RuntimeError, match="window overlap add min"):
        representation.decode(tensor, 1100)
    decoder = OverlapAddDecoder(representation, 1100, 1)
    with pytest.raises(A2SBInputError, match=r"hop_length=256\) does not overlap-add.*NOLA"):
        decoder.push(tensor)
        decoder.finish()


def test_more_samples_than_announced_are_refused():
    stream = StreamedSpectrum(FactorizedSTFT(), 1000, 1)
    stream.push(torch.zeros(1, 600))
    with pytest.raises(A2SBInputError, match="set up for 1000 samples and got 1200"):
        stream.push(torch.zeros(1, 600))


def test_finish_before_the_last_sample_is_refused():
    stream = StreamedSpectrum(FactorizedSTFT(), 1000, 1)
    stream.push(torch.zeros(1, 600))
    with pytest.raises(A2SBInputError, match="got 600 of 1000 samples"):
        stream.finish()


def test_block_with_other_rows_is_refused():
    with pytest.raises(A2SBInputError, match=r"\[2, n\], got \(1, 600\)"):
        StreamedSpectrum(FactorizedSTFT(), 1000, 2).push(torch.zeros(1, 600))


def test_decoder_refuses_extra_or_missing_frames():
    representation = ComplexSTFT()
    decoder = OverlapAddDecoder(representation, 1000, 1)  # 2 frames
    with pytest.raises(A2SBInputError, match="expects 2 frames for 1000 samples and got 3"):
        decoder.push(torch.zeros(1, 2, 1024, 3))
    decoder.push(torch.zeros(1, 2, 1024, 1))
    with pytest.raises(A2SBInputError, match="got 1 of 2 frames"):
        decoder.finish()


def test_decoder_refuses_a_dc_row_of_other_frames():
    decoder = OverlapAddDecoder(ComplexSTFT(), 1000, 1)
    with pytest.raises(A2SBInputError, match=r"DC row \[1, 2\].*got \(1, 3\)"):
        decoder.push(torch.zeros(1, 2, 1024, 2), torch.zeros(1, 3, dtype=torch.complex64))


def test_no_samples_is_refused():
    with pytest.raises(A2SBInputError, match="at least one sample"):
        OverlapAddDecoder(ComplexSTFT(), 0, 1)
