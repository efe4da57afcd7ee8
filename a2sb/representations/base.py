"""What every spectrogram representation shares: the STFT of the released A2SB models.

A representation turns a batch of waveforms `[batch, samples]` into a real tensor
`[batch, channels, freq_rows, frames]` that the UNet sees, and back. Both representations of
a2sb use the same STFT (paper §3.1): n_fft 2048, periodic Hann window of 2048, hop 512,
centred with reflect padding, not normalised, one-sided; the DC bin is dropped so that the
1024 remaining rows (row r ↔ bin r + 1, row 1023 = Nyquist) divide by 32.
"""

from __future__ import annotations

import torch
from diffusers import ConfigMixin

from a2sb.errors import A2SBInputError

CHUNK_FRAMES = 64
"""Frames converted at a time between the complex spectrum and the tensor. The STFT's
spectrum is stored frame by frame (the layout torch.stft returns and torch.istft reads fast),
the tensor row by row; converting blocks of a few frames keeps that transposition and the
temporaries in cache, instead of making full-length copies of a long recording."""


def _conversion_chunks(frames: int) -> list[slice]:
    return [slice(start, start + CHUNK_FRAMES) for start in range(0, frames, CHUNK_FRAMES)]


class STFTRepresentation(ConfigMixin):
    """Base class: the STFT, its exact inverse, and the geometry of the spectrogram tensor.

    Subclasses set `channels` and implement `spectrum_to_tensor` / `tensor_to_spectrum`.
    The configuration is saved as `representation_config.json`, so a pipeline or a trainer
    can store it and rebuild the same representation.
    """

    config_name = "representation_config.json"
    channels: int

    def __init__(self, n_fft: int = 2048, hop_length: int = 512, sampling_rate: int = 44100):
        if n_fft % 2 or n_fft <= 0 or hop_length <= 0 or hop_length > n_fft:
            raise A2SBInputError(
                f"invalid STFT (n_fft={n_fft}, hop_length={hop_length}): n_fft must be even "
                "and positive, and 0 < hop_length <= n_fft"
            )
        self._windows: dict[tuple[torch.device, torch.dtype], torch.Tensor] = {}

    @property
    def freq_bins(self) -> int:
        """Frequency rows of the tensor: n_fft / 2 (the DC bin is dropped)."""
        return self.config.n_fft // 2

    @property
    def hop_length(self) -> int:
        """Samples between two frames."""
        return self.config.hop_length

    @property
    def sampling_rate(self) -> int:
        """The audio rate this representation is defined for."""
        return self.config.sampling_rate

    def frames_for(self, samples: int) -> int:
        """Frames of a waveform of `samples` samples: T = 1 + ⌊N / hop⌋."""
        return 1 + samples // self.config.hop_length

    def row_for_frequency(self, hz: float) -> int:
        """The first row whose bin lies above `hz`: c = ⌊n_fft · hz / sampling_rate⌋.

        Rows 0..c−1 hold bins 1..c, at or below `hz`; a bandwidth-extension mask at cutoff
        `hz` marks rows c and above as missing (paper §3.2). 4 kHz → 185.
        """
        return int(self.config.n_fft * hz // self.config.sampling_rate)

    def encode(self, waveform: torch.Tensor) -> torch.Tensor:
        """Waveforms to the model's tensor.

        Args:
            waveform: `[batch, samples]`, any float dtype (computed in float32).

        Returns:
            float32 `[batch, channels, n_fft / 2, 1 + samples // hop]`.
        """
        return self.encode_spectrum(self.spectrum(waveform))

    def encode_spectrum(self, spectrum: torch.Tensor) -> torch.Tensor:
        """The model's tensor of a spectrum from `spectrum` (its DC row is dropped), for callers
        that also need that spectrum and should not compute the STFT twice.

        Args:
            spectrum: complex `[batch, n_fft / 2 + 1, frames]`.

        Returns:
            float32 `[batch, channels, n_fft / 2, frames]`.
        """
        batch, _, frames = spectrum.shape
        tensor = spectrum.new_empty(
            batch, self.channels, self.freq_bins, frames, dtype=torch.float32
        )
        for chunk in _conversion_chunks(frames):
            tensor[..., chunk] = self.spectrum_to_tensor(spectrum[:, 1:, chunk])
        return tensor

    def decode(
        self, tensor: torch.Tensor, length: int, dc_row: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The model's tensor back to waveforms of exactly `length` samples.

        Args:
            tensor: `[batch, channels, n_fft / 2, frames]`.
            length: samples of the output (the input's length).
            dc_row: complex `[batch, frames]` to put back as bin 0 (the representation drops
                it); zero when None.

        Returns:
            float32 `[batch, length]`.
        """
        self._check_tensor(tensor)
        batch, _, rows, frames = tensor.shape
        frames_major = tensor.new_empty(batch, frames, rows + 1, dtype=torch.complex64)
        spectrum = frames_major.transpose(1, 2)
        spectrum[:, 0] = 0 if dc_row is None else dc_row
        for chunk in _conversion_chunks(frames):
            spectrum[:, 1:, chunk] = self.tensor_to_spectrum(tensor[..., chunk].float())
        return torch.istft(
            spectrum,
            n_fft=self.config.n_fft,
            hop_length=self.config.hop_length,
            window=self._window(spectrum.device, torch.float32),
            center=True,
            normalized=False,
            onesided=True,
            length=length,
        )

    def spectrum(self, waveform: torch.Tensor) -> torch.Tensor:
        """The complex STFT with its DC row: `[batch, samples]` → `[batch, n_fft/2 + 1, frames]`.

        Reflect padding needs more than n_fft / 2 samples, so shorter audio is zero-padded to
        n_fft / 2 + 1 samples first and only its 1 + ⌊N / hop⌋ frames are kept.
        """
        self._check_waveform(waveform)
        waveform = waveform.float()
        samples = waveform.shape[-1]
        min_samples = self.config.n_fft // 2 + 1
        if samples < min_samples:
            waveform = torch.nn.functional.pad(waveform, (0, min_samples - samples))
        spectrum = torch.stft(
            waveform,
            n_fft=self.config.n_fft,
            hop_length=self.config.hop_length,
            window=self._window(waveform.device, torch.float32),
            center=True,
            pad_mode="reflect",
            normalized=False,
            onesided=True,
            return_complex=True,
        )
        return spectrum[..., : self.frames_for(samples)]

    def spectrum_to_tensor(self, spectrum: torch.Tensor) -> torch.Tensor:
        """Complex `[batch, n_fft/2, frames]` (no DC row) → `[batch, channels, n_fft/2, frames]`."""
        raise NotImplementedError

    def tensor_to_spectrum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Real `[batch, channels, n_fft/2, frames]` → complex `[batch, n_fft/2, frames]`."""
        raise NotImplementedError

    def _window(self, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        key = (device, dtype)
        if key not in self._windows:
            self._windows[key] = torch.hann_window(
                self.config.n_fft, periodic=True, device=device, dtype=dtype
            )
        return self._windows[key]

    def _check_waveform(self, waveform: torch.Tensor) -> None:
        if waveform.ndim != 2 or waveform.shape[-1] == 0:
            raise A2SBInputError(
                f"expected waveforms shaped [batch, samples] with at least one sample, got "
                f"{tuple(waveform.shape)}; reshape channels into the batch dimension"
            )

    def _check_tensor(self, tensor: torch.Tensor) -> None:
        expected = (self.channels, self.freq_bins)
        if tensor.ndim != 4 or tuple(tensor.shape[1:3]) != expected:
            raise A2SBInputError(
                f"expected a spectrogram tensor [batch, {self.channels}, {self.freq_bins}, "
                f"frames] for {type(self).__name__}, got {tuple(tensor.shape)}"
            )
