"""The STFT and its inverse block by block, with the whole-signal numbers.

Explained in docs/representations.md, "Block by block: `StreamedSpectrum` and
`OverlapAddDecoder`"; their place in a streamed restoration in docs/concepts.md, "Streaming:
any length in bounded memory".

A long recording is encoded and decoded a block at a time, so that neither the waveform nor
its spectrum is ever held whole; the blocks' results, concatenated, are those of
`STFTRepresentation.spectrum` and `STFTRepresentation.decode` on the whole signal.

With n_fft = 2M, hop h and frames t = 0 .. T − 1 (T = 1 + ⌊N / h⌋):

- **Analysis.** The centred STFT reflect-pads the signal x by M samples each side and cuts
  frame t from the padded signal at [t·h, t·h + 2M), i.e. from x at [t·h − M, t·h + M): the
  M samples either side of the frame's centre t·h, and nothing else. `StreamedSpectrum` keeps
  the samples from the next frame's start t·h − M on, cuts frame t once sample t·h + M − 1 has
  arrived, and builds the reflect padding itself: at the start x[M], …, x[1] (so frame 0 needs
  M + 1 samples), at the end x[N − 2], …, x[N − M − 1] (so the frames within M of the end wait
  for the last sample, and the last M + 1 samples are kept until then). Audio shorter than
  M + 1 samples is zero-padded to M + 1 first, as `spectrum` does. The span goes through
  torch.stft(center=False): each frame is the same 2M samples times the same window through
  the same FFT as in the whole-signal transform, so the frames are the same numbers.
- **Synthesis.** torch.istft(center=True, length=N) inverse-FFTs each frame, multiplies it by
  the window, overlap-adds the frames into y (frame t at [t·h, t·h + 2M)), divides by the
  envelope E(p) = Σ_t w²(p − t·h) over the frames that exist (so only part of the window
  square at the two ends), and returns y[M : M + N], zero past the last frame's end. Position
  p is final once the frames covering it are in: after frames 0 .. t − 1, every p < t·h.
  `OverlapAddDecoder` keeps the 2M − h positions that later frames still add to, with their
  partial envelope, and returns the output samples s = p − M that are final: it runs M + (2M −
  h) samples behind the last frame's start, and `finish()` returns the tail. Where the envelope
  is below 1e-11 (the NOLA condition fails, e.g. a Hann window with h = n_fft) torch.istft
  refuses the transform; so does the decoder.

Both classes process the audio rows (batch items or channels) together, `[rows, samples]`.
"""

from __future__ import annotations

import torch

from a2sb.errors import A2SBInputError
from a2sb.representations.base import CHUNK_FRAMES, STFTRepresentation

NOLA_THRESHOLD = 1e-11
"""The smallest window-square envelope torch.istft divides by (its NOLA check)."""


class StreamedSpectrum:
    """The complex STFT of a signal pushed in blocks: `representation.spectrum` without the whole.

    Args:
        representation: the STFT's geometry (n_fft, hop_length, window).
        total_samples: N, the samples that will be pushed in all.
        rows: the audio rows of every block (batch items or channels).

    Frames are returned in order, each exactly once; the first frame a call returns has index
    `frames_done` as it was before the call. Memory: fewer than n_fft samples per row between
    pushes (n_fft / 2 + 1 once all are in), plus the block being pushed.
    """

    def __init__(self, representation: STFTRepresentation, total_samples: int, rows: int):
        _check_total_samples(total_samples)
        self.representation = representation
        self.total_samples = total_samples
        self.rows = rows
        self.total_frames = representation.frames_for(total_samples)
        self.frames_done = 0
        self.samples_received = 0
        self._margin = representation.config.n_fft // 2
        self._padded_samples = max(total_samples, self._margin + 1)
        self._kept: torch.Tensor | None = None
        self._kept_start = 0

    def push(self, block: torch.Tensor) -> torch.Tensor:
        """Add the next samples; return the frames they complete.

        Args:
            block: float `[rows, n]`, n ≥ 0, the samples after those pushed before (computed
                in float32).

        Returns:
            complex64 `[rows, n_fft / 2 + 1, k]` (DC row included): frames `frames_done`
            (before the call) to `frames_done + k − 1`. Once all `total_samples` are in, k
            reaches the last frame.
        """
        self._check_block(block)
        self._append(block.float())
        return self._emit(self._ready_frames())

    def finish(self) -> torch.Tensor:
        """The frames not returned yet (none after a push that completed the signal).

        Returns:
            complex64 `[rows, n_fft / 2 + 1, k]`.

        Raises:
            A2SBInputError: fewer than `total_samples` samples were pushed.
        """
        if self.samples_received < self.total_samples:
            raise A2SBInputError(
                f"the streamed STFT got {self.samples_received} of {self.total_samples} "
                "samples; push them all before finish()"
            )
        return self._emit(self.total_frames)

    def _append(self, block: torch.Tensor) -> None:
        kept = block[:, :0] if self._kept is None else self._kept
        self.samples_received += block.shape[-1]
        pieces = [kept, block]
        if self.samples_received == self.total_samples:
            padding = self._padded_samples - self.total_samples  # short audio, see spectrum()
            pieces.append(block.new_zeros(self.rows, padding))
        self._kept = torch.cat(pieces, dim=-1)

    def _ready_frames(self) -> int:
        """How many frames the samples in so far complete: frame t needs t·hop + M samples (and
        M + 1 for the reflection of frame 0); the frames near the end need all of them."""
        available = self._kept_start + self._kept.shape[-1]
        if available == self._padded_samples:
            return self.total_frames
        if available <= self._margin:
            return 0
        return min(self.total_frames, (available - self._margin) // self.hop_length + 1)

    def _emit(self, stop: int) -> torch.Tensor:
        first = self.frames_done
        if stop <= first:
            bins = self._margin + 1
            return torch.zeros(self.rows, bins, 0, dtype=torch.complex64, device=self._kept.device)
        self.frames_done = stop
        span = self._padded_span(
            first * self.hop_length - self._margin, (stop - 1) * self.hop_length + self._margin
        )
        frames = torch.stft(
            span,
            n_fft=self.representation.config.n_fft,
            hop_length=self.hop_length,
            window=self.representation._window(span.device, torch.float32),
            center=False,
            normalized=False,
            onesided=True,
            return_complex=True,
        )
        self._drop_consumed()
        return frames

    def _padded_span(self, start: int, stop: int) -> torch.Tensor:
        """Samples [start, stop) of the reflect-padded signal, in signal coordinates: index
        −i < 0 is x[i], index N' − 1 + i ≥ N' is x[N' − 1 − i] (N' after zero-padding)."""
        end = self._padded_samples
        pieces = []
        if start < 0:
            pieces.append(self._samples(1, 1 - start).flip(-1))
        pieces.append(self._samples(max(start, 0), min(stop, end)))
        if stop > end:
            pieces.append(self._samples(2 * end - 1 - stop, end - 1).flip(-1))
        return torch.cat(pieces, dim=-1)

    def _samples(self, start: int, stop: int) -> torch.Tensor:
        return self._kept[:, start - self._kept_start : stop - self._kept_start]

    def _drop_consumed(self) -> None:
        """Forget the samples no later frame reads: keep from the next frame's start, and the
        last M + 1 samples that the end's reflection mirrors."""
        next_start = self.frames_done * self.hop_length - self._margin
        keep_from = max(0, min(next_start, self._padded_samples - self._margin - 1))
        if keep_from > self._kept_start:
            self._kept = self._samples(keep_from, self._kept_start + self._kept.shape[-1]).clone()
            self._kept_start = keep_from

    @property
    def hop_length(self) -> int:
        """Samples between two frames."""
        return self.representation.hop_length

    @property
    def samples_kept(self) -> int:
        """Samples per row held for the frames still to come (at most n_fft between pushes)."""
        return 0 if self._kept is None else self._kept.shape[-1]

    def _check_block(self, block: torch.Tensor) -> None:
        if block.ndim != 2 or block.shape[0] != self.rows:
            raise A2SBInputError(
                f"expected a block of samples [{self.rows}, n], got {tuple(block.shape)}; push "
                "blocks with the rows the StreamedSpectrum was made for"
            )
        if self.samples_received + block.shape[-1] > self.total_samples:
            raise A2SBInputError(
                f"the streamed STFT was set up for {self.total_samples} samples and got "
                f"{self.samples_received + block.shape[-1]}; give the true length"
            )


class OverlapAddDecoder:
    """`representation.decode` of a tensor pushed in frame blocks, by overlap-add.

    Args:
        representation: the representation whose tensors are decoded.
        total_samples: N, the output's length (the input's length); T = 1 + ⌊N / hop⌋
            frames are expected.
        rows: the tensor's batch rows (batch items or channels).

    Samples are returned in order, each exactly once; the first sample a call returns has
    index `samples_done` as it was before the call. Memory: n_fft − hop samples per row of
    pending sums plus one chunk of frames.
    """

    def __init__(self, representation: STFTRepresentation, total_samples: int, rows: int):
        _check_total_samples(total_samples)
        self.representation = representation
        self.total_samples = total_samples
        self.rows = rows
        self.total_frames = representation.frames_for(total_samples)
        self.frames_received = 0
        self.samples_done = 0
        self._margin = representation.config.n_fft // 2
        self._pending: torch.Tensor | None = None
        self._pending_envelope: torch.Tensor | None = None

    def push(self, tensor: torch.Tensor, dc_row: torch.Tensor | None = None) -> torch.Tensor:
        """Add the next frames; return the output samples no later frame touches.

        Args:
            tensor: `[rows, channels, n_fft / 2, k]`, frames `frames_received` onward.
            dc_row: complex `[rows, k]`, their bin 0 (the representation drops it); zero when
                None.

        Returns:
            float32 `[rows, m]`: samples `samples_done` (before the call) onward.
        """
        self._check_frames(tensor, dc_row)
        pieces = [self._empty_samples(tensor.device)]
        for start in range(0, tensor.shape[-1], CHUNK_FRAMES):
            chunk = slice(start, start + CHUNK_FRAMES)
            dc_chunk = None if dc_row is None else dc_row[:, chunk]
            pieces.append(self._add_frames(self._frames_spectrum(tensor[..., chunk], dc_chunk)))
        return torch.cat(pieces, dim=-1)

    def finish(self) -> torch.Tensor:
        """The samples not returned yet, so that all calls together return `total_samples`.

        Returns:
            float32 `[rows, m]`; past the last frame's end (only when hop > n_fft / 2) zeros, as
            torch.istft pads them.

        Raises:
            A2SBInputError: fewer than T frames were pushed.
        """
        if self.frames_received < self.total_frames:
            raise A2SBInputError(
                f"the overlap-add decoder got {self.frames_received} of {self.total_frames} "
                "frames; push them all before finish()"
            )
        start = self.frames_received * self.representation.hop_length
        tail = self._final_samples(self._pending, self._pending_envelope, start)
        self._pending, self._pending_envelope = self._pending[:, :0], self._pending_envelope[:0]
        beyond_last_frame = tail.new_zeros(self.rows, self.total_samples - self.samples_done)
        self.samples_done = self.total_samples
        return torch.cat([tail, beyond_last_frame], dim=-1)

    def _frames_spectrum(self, tensor: torch.Tensor, dc_row: torch.Tensor | None) -> torch.Tensor:
        """`[rows, channels, n_fft/2, k]` → complex `[rows, k, n_fft/2 + 1]`, frame by frame."""
        rows, _, bins, frames = tensor.shape
        spectrum = tensor.new_empty(rows, frames, bins + 1, dtype=torch.complex64)
        spectrum[..., 0] = 0 if dc_row is None else dc_row
        spectrum[..., 1:] = self.representation.tensor_to_spectrum(tensor.float()).transpose(1, 2)
        return spectrum

    def _add_frames(self, spectrum: torch.Tensor) -> torch.Tensor:
        """Overlap-add k frames `[rows, k, n_fft/2 + 1]` after the pending sums; return the
        output samples that are final, `[rows, m]`."""
        n_fft, hop = self.representation.config.n_fft, self.representation.hop_length
        frames = spectrum.shape[1]
        window = self.representation._window(spectrum.device, torch.float32)
        waveforms = torch.fft.irfft(spectrum, n=n_fft, dim=-1) * window
        summed = _overlap_add(waveforms, hop)
        envelope = _overlap_add(window.square().expand(1, frames, n_fft), hop)[0]
        if self._pending is not None:
            summed[:, : n_fft - hop] += self._pending
            envelope[: n_fft - hop] += self._pending_envelope
        start = self.frames_received * hop
        final = frames * hop
        self._pending, self._pending_envelope = summed[:, final:], envelope[final:]
        self.frames_received += frames
        return self._final_samples(summed[:, :final], envelope[:final], start)

    def _final_samples(
        self, summed: torch.Tensor, envelope: torch.Tensor, start: int
    ) -> torch.Tensor:
        """The output samples among overlap-add positions [start, start + p), divided by the
        envelope: position q is output sample q − M; those before 0 or from N on are padding.

        Args:
            summed: `[rows, p]` overlap-added frames.
            envelope: `[p]` their Σ w².
            start: the position of `summed[:, 0]`.
        """
        first_sample = start - self._margin
        low = max(0, self.samples_done - first_sample)
        high = max(low, min(summed.shape[-1], self.total_samples - first_sample))
        envelope = envelope[low:high]
        if high > low and bool(envelope.abs().min() < NOLA_THRESHOLD):
            raise A2SBInputError(
                f"the window of this STFT (n_fft={self.representation.config.n_fft}, "
                f"hop_length={self.representation.hop_length}) does not overlap-add to a "
                "nonzero envelope (NOLA), so its spectrum cannot be inverted; use a smaller hop"
            )
        self.samples_done += high - low
        return summed[:, low:high] / envelope

    def _empty_samples(self, device: torch.device | None) -> torch.Tensor:
        return torch.zeros(self.rows, 0, device=device)

    def _check_frames(self, tensor: torch.Tensor, dc_row: torch.Tensor | None) -> None:
        self.representation._check_tensor(tensor)
        frames = tensor.shape[-1]
        if tensor.shape[0] != self.rows:
            raise A2SBInputError(
                f"expected {self.rows} rows of frames, got a tensor {tuple(tensor.shape)}; push "
                "frames with the rows the OverlapAddDecoder was made for"
            )
        if dc_row is not None and tuple(dc_row.shape) != (self.rows, frames):
            raise A2SBInputError(
                f"expected a DC row [{self.rows}, {frames}] for these frames, got "
                f"{tuple(dc_row.shape)}; pass the DC row of the same frames"
            )
        if self.frames_received + frames > self.total_frames:
            raise A2SBInputError(
                f"the overlap-add decoder expects {self.total_frames} frames for "
                f"{self.total_samples} samples and got {self.frames_received + frames}; "
                "give the true length"
            )


def _overlap_add(frames: torch.Tensor, hop: int) -> torch.Tensor:
    """Frames `[rows, k, n_fft]` placed at t·hop and summed: `[rows, n_fft + (k − 1) hop]`."""
    rows, count, n_fft = frames.shape
    length = n_fft + (count - 1) * hop
    summed = torch.nn.functional.fold(
        frames.transpose(1, 2), output_size=(1, length), kernel_size=(1, n_fft), stride=(1, hop)
    )
    return summed.reshape(rows, length)


def _check_total_samples(total_samples: int) -> None:
    if total_samples <= 0:
        raise A2SBInputError(
            f"a streamed STFT needs at least one sample, got total_samples={total_samples}; "
            "give the length of the audio"
        )
