"""A2SBPipeline: bandwidth extension and inpainting of music of any length (paper §3.6)."""

from __future__ import annotations

import inspect
import json
import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from diffusers import DiffusionPipeline
from diffusers.pipelines.pipeline_utils import AudioPipelineOutput

from a2sb.degradations import PRIOR_NOISE_STD, EndpointFill, Fill
from a2sb.errors import A2SBInputError, first_line
from a2sb.io import audio_stream
from a2sb.io.atomic_output import check_writable, refuse_existing
from a2sb.io.audio import BitDepth, ensure_not_input
from a2sb.io.audio_stream import AudioReader
from a2sb.io.full_scale import ClipMode
from a2sb.models import A2SBPartitionedModel
from a2sb.names import Task, WindowSchedule
from a2sb.official import is_release_source
from a2sb.pipelines.bandwidth_cutoff import (
    batch_bandwidth,
    batch_cutoffs,
    file_bandwidth,
    file_cutoff,
)
from a2sb.pipelines.bridge_sampling import BridgeParts, SamplingPlan
from a2sb.pipelines.bundled_model import BUNDLED_MODEL_NAME
from a2sb.pipelines.converted_checkpoints import FromOfficialCheckpointsMixin
from a2sb.pipelines.keyed_noise import KeyedNoise
from a2sb.pipelines.missing_region import MissingRegion
from a2sb.pipelines.pipeline_audio import batch_at_rate, resampled_to_length
from a2sb.pipelines.pipeline_checks import (
    PYTHON_NAMES,
    ArgumentNames,
    check_call_arguments,
    check_fill_matches,
    check_partitions,
    check_prediction_matches_fill,
    check_task_inputs,
    checked_sampling_defaults,
    sees_degraded,
)
from a2sb.pipelines.pipeline_sources import (
    check_saved_folder,
    hub_load_error,
    saved_pipeline_source,
)
from a2sb.pipelines.streamed_restoration import StreamedOutput, restore_file_stream
from a2sb.pipelines.whole_restoration import restore_whole
from a2sb.representations import FactorizedSTFT, STFTRepresentation, representation_from_config
from a2sb.schedulers import BridgeScheduler
from a2sb.schedulers.bridge_scheduler import check_num_inference_steps

logger = logging.getLogger(__name__)


@dataclass
class A2SBPipelineOutput(AudioPipelineOutput):
    """What `A2SBPipeline.__call__` returns.

    Attributes:
        audios: restored audio `[batch, channels, samples]` (numpy or torch), or with
            `output_type="latent"` the restored spectrogram tensor
            `[batch, channels, repr_channels, freq, frames]`; None from `restore_file`, which
            writes the audio instead.
        sampling_rate: rate of `audios`.
        cutoff_hz: per batch item, the bandwidth-extension cutoff used (detected or given),
            or for inpainting the recording's bandwidth the gaps were restored within (None:
            full band).
    """

    sampling_rate: int = 44100
    cutoff_hz: list[float] | None = None


class A2SBPipeline(DiffusionPipeline, FromOfficialCheckpointsMixin):
    """Restore music with an Audio-to-Audio Schrödinger Bridge.

    The input's spectrogram, with the missing region (above a cutoff, or inside gaps) filled
    with noise, is the bridge's degraded end x1; the scheduler walks from t = 1 to t_min,
    re-imposing the known content at every step, while the UNet sees windows of
    `window_frames` frames (overlapping and averaged, MultiDiffusion, or shifted every step), so
    audio of any length is restored with memory set by `window_batch_size`, not by the duration.

    Args:
        unet: a `RoPEUNet2DModel` or an `A2SBPartitionedModel`, `[b, C, F, W]` → same; a
            network with 2C input channels also sees x1's window (`[b, 2C, F, W]` → `[b, C,
            F, W]`, as I2SB's `cond_x1`).
        scheduler: an `I2SBScheduler` or a `DBIMScheduler`; its `prediction_type` says what the
            network predicts ("prior_residual" needs fill="prior" with prior_noise_std 0).
        representation_config: the saved configuration of the spectrogram representation
            (`FactorizedSTFT` when None).
        fill: how the missing region of x1 is filled, as the model was trained (a `Fill`):
            "noise" (the paper's, and the released checkpoints') or "prior" (band
            replication or cross-faded neighbours plus noise; docs/research.md); see
            `a2sb.degradations`.
        prior_noise_std: σ_p of the prior fill.
        sampling_defaults: what `__call__` uses when it is not told: `num_inference_steps` and
            `window_schedule` (the sampler itself is `scheduler`). None is the released
            sampler's `RELEASE_SAMPLING` (49 steps, overlapping windows).
    """

    model_cpu_offload_seq = "unet"

    def __init__(
        self,
        unet: torch.nn.Module,
        scheduler: BridgeScheduler,
        representation_config: dict[str, Any] | None = None,
        fill: str = "noise",
        prior_noise_std: float = PRIOR_NOISE_STD,
        sampling_defaults: dict[str, Any] | None = None,
    ):
        super().__init__()
        self.register_modules(unet=unet, scheduler=scheduler)
        if representation_config is None:
            representation_config = json.loads(FactorizedSTFT().to_json_string())
        self.endpoint_fill = EndpointFill(fill, prior_noise_std)
        self.register_to_config(
            representation_config=dict(representation_config),
            fill=fill,
            prior_noise_std=prior_noise_std,
        )
        self.register_to_config(sampling_defaults=checked_sampling_defaults(sampling_defaults))
        check_partitions(unet, scheduler)
        self.representation: STFTRepresentation = representation_from_config(representation_config)
        self.sees_degraded = sees_degraded(unet, self.representation.channels)
        check_prediction_matches_fill(scheduler.config.prediction_type, self.endpoint_fill)

    @classmethod
    def from_pretrained(
        cls, pretrained_model_name_or_path: str | os.PathLike | None = None, **kwargs: Any
    ) -> A2SBPipeline:
        """Load a saved pipeline, the released NVIDIA checkpoints, or the bundled a2sb-small.

        With no source (or `"a2sb-small"`), the small model that ships inside the package is
        loaded, offline; see `a2sb.pipelines.bundled_model`. A folder or Hub repository with
        `model_index.json` loads as any diffusers pipeline. The release
        (`nvidia/audio_to_audio_schrodinger_bridge`, or a local folder holding its
        `ckpt/A2SB_*_release.ckpt` files) is handed to `from_official_checkpoints`, which takes
        the release's own options (`release_variant`, `trust_checkpoint`, …); for any other
        source those are ignored, except `trust_checkpoint`: a saved pipeline's weights are read
        from safetensors only, unless it is given (pickles can run code when loaded). A local
        folder is checked first (`check_saved_folder`: its `model_index.json` must name a2sb
        classes), and a config that does not fit them is one `A2SBInputError` line.

        Args:
            pretrained_model_name_or_path: Hub repository id or local folder; None or
                "a2sb-small" for the bundled model.
            **kwargs: passed to `DiffusionPipeline.from_pretrained` (`torch_dtype`,
                `local_files_only`, `cache_dir`, …), and the options of
                `from_official_checkpoints` for the release.
        """
        source = str(pretrained_model_name_or_path or BUNDLED_MODEL_NAME)
        if is_release_source(source):
            return cls.from_official_checkpoints(source, **kwargs)
        trust_checkpoint = bool(kwargs.get("trust_checkpoint", False))
        release_only = inspect.signature(cls.from_official_checkpoints).parameters
        kwargs = {k: v for k, v in kwargs.items() if k not in release_only}
        if not trust_checkpoint:
            kwargs.setdefault("use_safetensors", True)  # never unpickle a .bin silently
        source = saved_pipeline_source(source)
        if Path(source).is_dir():
            check_saved_folder(Path(source), trust_checkpoint)
        try:
            pipeline = super().from_pretrained(source, **kwargs)
        except OSError as error:
            if Path(source).exists():
                raise
            raise hub_load_error(source, error) from error
        except (TypeError, ValueError, KeyError) as error:  # a config diffusers cannot apply
            if not Path(source).exists():
                raise
            raise A2SBInputError(
                f"cannot load the pipeline in {source}: {first_line(error)}; its configs do "
                "not fit a2sb's classes — download the model again, or save it again with "
                "save_pretrained"
            ) from error
        missing = [name for name, tensor in pipeline.unet.state_dict().items() if tensor.is_meta]
        if missing:  # a weights file (a trusted pickle) that lacks tensors the network needs
            raise A2SBInputError(
                f"the weights in {source} lack {len(missing)} of the network's tensors "
                f"({missing[0]}, …); download the model again, or save it again with "
                "save_pretrained"
            )
        return pipeline

    @staticmethod
    def check_inputs(
        task: Task,
        cutoff_hz: float | None = None,
        gaps: Sequence[tuple[float, float]] | None = None,
        sampling_rate: int = 44100,
        duration_s: float = math.inf,
        names: ArgumentNames = PYTHON_NAMES,
    ) -> None:
        """Refuse a task the call could not do, before any model is loaded: what `__call__` and
        `restore_file` check first, for front ends that check their options early (the
        `a2sb restore` command line does, naming its own options through `names`).

        Args:
            task: "bandwidth_extension" or "inpainting".
            cutoff_hz: bandwidth extension: the cutoff; inpainting: the recording's
                bandwidth; None detects it.
            gaps: inpainting: `(start_s, end_s)` pairs in seconds.
            sampling_rate: the rate whose Nyquist frequency bounds the cutoff (the lower of the
                input's and the model's 44.1 kHz).
            duration_s: the audio's length in seconds, when known (gaps must lie inside).
            names: how the one-line refusals name the arguments (`ArgumentNames`).

        Raises:
            A2SBInputError: an unknown task, gaps without inpainting, inpainting without gaps, a
                cutoff outside (0, Nyquist), gaps reversed, overlapping
                or outside the audio.
        """
        check_task_inputs(task, cutoff_hz, gaps, sampling_rate, duration_s, names)

    @torch.no_grad()
    def restore_file(
        self,
        input_path: str | os.PathLike,
        output_path: str | os.PathLike,
        bit_depth: BitDepth = "16",
        clip_mode: ClipMode = "rescale",
        task: Task = "bandwidth_extension",
        cutoff_hz: float | None = None,
        gaps: Sequence[tuple[float, float]] | None = None,
        num_inference_steps: int | None = None,
        generator: torch.Generator | list[torch.Generator] | None = None,
        window_schedule: WindowSchedule | None = None,
        window_frames: int = 256,
        hop_frames: int = 128,
        window_batch_size: int = 4,
        share_noise_across_channels: bool = True,
        output_sampling_rate: int | None = None,
        fill: Fill | None = None,
        overwrite: bool = True,
    ) -> A2SBPipelineOutput:
        """Restore an audio file of any length, streamed, and write the result (never over the
        input).

        The file is read, restored and written block by block (docs/concepts.md, "Streaming:
        any length in bounded memory"), so memory does not grow with its duration; the result
        is `__call__`'s on the whole file, for the same `generator` seed. The output goes to a
        hidden `.<name>.partial-<tag>.<ext>` beside it (a random tag: two runs writing the same
        output never share it), renamed once complete; whether it can be written is checked
        first. A fault, a file that cannot be read to the end, or an interruption leaves no
        file under `output_path` (and no partial file). Progress is shown in seconds of audio.

        Args:
            input_path: wav, flac, ogg or mp3.
            output_path: `.wav` or `.flac` destination; must differ from `input_path`.
            bit_depth: "16", "24" or "32f" (wav only).
            clip_mode: integer outputs peaking above full scale are "rescale"d by 1 / peak
                (the default), "clamp"ed, or refused ("error"); see `a2sb.io.full_scale`.
            task: as for `__call__`.
            cutoff_hz: as for `__call__`; None detects it from a first, streamed reading.
            gaps: as for `__call__`, within the file's duration.
            num_inference_steps: as for `__call__`.
            generator: as for `__call__`: the same seed gives `__call__`'s result.
            window_schedule: as for `__call__`.
            window_frames: as for `__call__`.
            hop_frames: as for `__call__`.
            window_batch_size: as for `__call__`.
            share_noise_across_channels: as for `__call__`.
            output_sampling_rate: as for `__call__` (None: 44.1 kHz).
            fill: as for `__call__`.
            overwrite: whether the result replaces a file under `output_path`. False refuses
                an output that exists, and keeps one that appears while restoring (another
                run's), dropping this result.

        Returns:
            `A2SBPipelineOutput` with `audios=None` (the audio is in the file), the output's
            `sampling_rate` and the `cutoff_hz` used.

        Raises:
            A2SBInputError: bad arguments, or an input that cannot be read (to the end).
            A2SBWriteError: the output cannot be written (full disk, read-only or forbidden
                folder, path too long, a folder removed while writing); the message names the
                cause and the fix.
            A2SBOutputExistsError: `overwrite=False` and the output exists, or appeared.
        """
        ensure_not_input(output_path, [input_path])
        if not overwrite:
            refuse_existing(output_path)
        num_inference_steps, window_schedule = self._checked_call(
            task,
            cutoff_hz,
            gaps,
            "np",
            num_inference_steps,
            window_schedule,
            window_frames,
            hop_frames,
            window_batch_size,
            fill,
        )
        model_rate = self.representation.sampling_rate
        with AudioReader(input_path, model_rate, audio_stream.BLOCK_SAMPLES) as reader:
            check_writable(output_path)
            if task == "bandwidth_extension":
                cutoffs = [file_cutoff(reader, model_rate, cutoff_hz)]
            else:
                cutoffs = file_bandwidth(reader, model_rate, cutoff_hz, gaps)
            channels = reader.channels
            region = MissingRegion.for_task(
                self.representation,
                task,
                cutoffs,
                gaps,
                1,
                channels,
                reader.samples,
                self.endpoint_fill.fill,
            )
            plan, noise = self._plan_and_noise(
                1,
                channels,
                share_noise_across_channels,
                generator,
                num_inference_steps,
                window_schedule,
                window_frames,
                hop_frames,
                window_batch_size,
            )
            output_rate = output_sampling_rate or model_rate
            restore_file_stream(
                self._bridge_parts(),
                reader,
                StreamedOutput(output_path, output_rate, bit_depth, clip_mode, overwrite),
                region,
                plan,
                noise,
                getattr(self, "_progress_bar_config", {}),
            )
        return A2SBPipelineOutput(audios=None, sampling_rate=output_rate, cutoff_hz=cutoffs)

    @torch.no_grad()
    def __call__(
        self,
        audio: np.ndarray | torch.Tensor,
        sampling_rate: int,
        task: Task = "bandwidth_extension",
        cutoff_hz: float | None = None,
        gaps: Sequence[tuple[float, float]] | None = None,
        num_inference_steps: int | None = None,
        generator: torch.Generator | list[torch.Generator] | None = None,
        window_schedule: WindowSchedule | None = None,
        window_frames: int = 256,
        hop_frames: int = 128,
        window_batch_size: int = 4,
        share_noise_across_channels: bool = True,
        output_sampling_rate: int | None = None,
        output_type: Literal["np", "pt", "latent"] = "np",
        return_dict: bool = True,
        callback_on_step_end: Callable[..., dict[str, Any] | None] | None = None,
        fill: Fill | None = None,
    ) -> A2SBPipelineOutput | tuple:
        """Restore audio: re-create the band above a cutoff, or the audio inside gaps.

        Args:
            audio: `[samples]`, `[channels, samples]` or `[batch, channels, samples]`, float.
            sampling_rate: rate of `audio`; anything else than 44.1 kHz is resampled (soxr).
            task: "bandwidth_extension" or "inpainting".
            cutoff_hz: bandwidth extension: highest kept frequency; None detects it per
                batch item from the long-term spectrum (returned in `cutoff_hz`). Inpainting:
                the recording's bandwidth, above which a gap is cross-faded from its
                neighbours, not restored (a band-limited recording gains no band in its
                gaps); None detects it (the widest of the batch; a full-band input is
                restored at every frequency).
            gaps: inpainting only: `(start_s, end_s)` pairs in seconds of the input.
            num_inference_steps: network calls; None takes the pipeline's
                `sampling_defaults` (49, the released sampler's "50 steps", for the release).
            generator: makes the noise reproducible; a list of one generator per batch item
                gives item i the noise it would have restored alone with generator i.
            window_schedule: "overlap" (windows every `hop_frames`, averaged: the released
                sampler, every frame evaluated twice) or "shifted" (windows side by side, their
                seams moved by `hop_frames` each step: every frame evaluated once); None takes
                the pipeline's `sampling_defaults`.
            window_frames: frames per model window (256 for the released models).
            hop_frames: frames between window starts ("overlap") or the shift of the seams
                from one step to the next ("shifted"); 128 for the released sampler.
            window_batch_size: windows per model call; bounds accelerator memory.
            share_noise_across_channels: one noise draw for all channels of an item, so that
                generated content is coherent between left and right.
            output_sampling_rate: rate of the output; None for 44.1 kHz. Pass the input's
                rate to get audio back at its own rate.
            output_type: "np", "pt", or "latent" for the restored spectrogram tensor.
            return_dict: return an `A2SBPipelineOutput` rather than a tuple.
            callback_on_step_end: `fn(pipeline, step_index, timestep, tensors)` called after each
                step with `tensors = {"sample": x_s, "pred_original_sample": x0_hat}`, each
                `[batch · channels, 3, freq, frames]` over the whole padded input; it may return
                a dict with a replacement "sample". With it, the steps run one after the other
                over the whole state (the sampler otherwise advances them together, block by
                block); the result is the same.
            fill: None, or the fill the caller expects; it must be the one the model was
                trained with (`pipeline.config.fill`), else the call is refused.

        Returns:
            `A2SBPipelineOutput(audios, sampling_rate, cutoff_hz)` or that tuple.
        """
        num_inference_steps, window_schedule = self._checked_call(
            task,
            cutoff_hz,
            gaps,
            output_type,
            num_inference_steps,
            window_schedule,
            window_frames,
            hop_frames,
            window_batch_size,
            fill,
        )
        model_rate = self.representation.sampling_rate
        waveforms = batch_at_rate(audio, sampling_rate, model_rate)
        items, channels, samples = waveforms.shape
        if task == "bandwidth_extension":
            cutoffs = batch_cutoffs(waveforms, sampling_rate, model_rate, cutoff_hz)
        else:
            cutoffs = batch_bandwidth(waveforms, sampling_rate, model_rate, cutoff_hz, gaps)
        region = MissingRegion.for_task(
            self.representation,
            task,
            cutoffs,
            gaps,
            items,
            channels,
            samples,
            self.endpoint_fill.fill,
        )
        plan, noise = self._plan_and_noise(
            items,
            channels,
            share_noise_across_channels,
            generator,
            num_inference_steps,
            window_schedule,
            window_frames,
            hop_frames,
            window_batch_size,
        )
        callback = None
        if callback_on_step_end is not None:

            def callback(step_index, timestep, tensors):
                return callback_on_step_end(self, step_index, timestep, tensors)

        with self.progress_bar(total=0) as progress:
            audios = restore_whole(
                self._bridge_parts(),
                waveforms,
                region,
                plan,
                noise,
                progress,
                callback,
                decode=output_type != "latent",
            )
        output_rate = output_sampling_rate or model_rate
        if output_type != "latent":
            output_samples = round(np.shape(audio)[-1] * output_rate / sampling_rate)
            audios = resampled_to_length(audios, model_rate, output_rate, output_samples)
            audios = audios if output_type == "pt" else audios.numpy()
        if not return_dict:
            return audios, output_rate, cutoffs
        return A2SBPipelineOutput(audios=audios, sampling_rate=output_rate, cutoff_hz=cutoffs)

    def _checked_call(
        self,
        task: str,
        cutoff_hz: float | None,
        gaps: Sequence[tuple[float, float]] | None,
        output_type: str,
        num_inference_steps: int | None,
        window_schedule: str | None,
        window_frames: int,
        hop_frames: int,
        window_batch_size: int,
        fill: str | None,
    ) -> tuple[int, WindowSchedule]:
        """Check the arguments of a call; the steps and window schedule it samples with (the
        given ones, else the pipeline's `sampling_defaults`)."""
        defaults = self.config.sampling_defaults
        if num_inference_steps is None:
            num_inference_steps = defaults["num_inference_steps"]
        if window_schedule is None:
            window_schedule = defaults["window_schedule"]
        check_num_inference_steps(num_inference_steps)
        check_task_inputs(task, cutoff_hz, gaps, self.representation.sampling_rate)
        check_call_arguments(
            output_type,
            window_schedule,
            window_frames,
            hop_frames,
            window_batch_size,
            self.unet.size_multiple,
        )
        check_fill_matches(self.endpoint_fill.fill, fill)
        return num_inference_steps, window_schedule

    def _plan_and_noise(
        self,
        items: int,
        channels: int,
        share_noise_across_channels: bool,
        generator: torch.Generator | list[torch.Generator] | None,
        num_inference_steps: int,
        window_schedule: WindowSchedule,
        window_frames: int,
        hop_frames: int,
        window_batch_size: int,
    ) -> tuple[SamplingPlan, KeyedNoise]:
        """The loop's settings and its keyed noise (one draw per item, or per channel)."""
        noise_channels = 1 if share_noise_across_channels else channels
        frame_shape = (self.representation.channels, self.representation.freq_bins)
        plan = SamplingPlan(
            items,
            noise_channels,
            num_inference_steps,
            window_schedule,
            window_frames,
            hop_frames,
            window_batch_size,
            self.sees_degraded,
        )
        return plan, KeyedNoise.from_generator(generator, items, noise_channels, frame_shape)

    def _bridge_parts(self) -> BridgeParts:
        return BridgeParts(self.representation, self.endpoint_fill, self.scheduler, self._model)

    def _model(self, windows: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """One batch of windows `[n, C, F, W]` at times `[n]` (one partition) through the UNet
        on its device and dtype; float32 on the CPU."""
        device = self._execution_device
        windows = windows.to(device=device, dtype=self.unet.dtype)
        timesteps = timesteps.to(device=device, dtype=torch.float32)
        if isinstance(self.unet, A2SBPartitionedModel):
            partition = self.scheduler.partition_index(float(timesteps[0]))
            output = self.unet(windows, timesteps, partition=partition).sample
        else:
            output = self.unet(windows, timesteps).sample
        return output.to(device="cpu", dtype=torch.float32)
