"""The options of `a2sb restore`, checked once, before any model is loaded."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

import torch

from a2sb.cli.inputs import output_format_of
from a2sb.cli.model_choice import ModelChoice, check_model_source
from a2sb.cli.option_values import MAX_SEED, check_at_least, check_within, parse_cutoff, parse_gap
from a2sb.errors import A2SBInputError
from a2sb.io.audio import BitDepth
from a2sb.io.full_scale import ClipMode
from a2sb.names import TASK_NAMES
from a2sb.pipelines import A2SBPipeline
from a2sb.pipelines.bundled_model import BUNDLED_MODEL_NAME
from a2sb.pipelines.pipeline_checks import ArgumentNames
from a2sb.schedulers.bridge_scheduler import MAX_INFERENCE_STEPS
from a2sb.schedulers.registry import scheduler_class
from a2sb.schedulers.samplers import check_takes_eta
from a2sb.schedulers.scheduling_dbim import check_eta
from a2sb.spectrogram_pictures import require_matplotlib

MODEL_SAMPLING_RATE = 44100
"""The rate the released models restore at; cutoffs must lie below its Nyquist frequency."""

CLI_NAMES = ArgumentNames(
    gaps="--gap",
    gap_example="--gap START-END (e.g. --gap 1:02.5-1:03)",
    cutoff="--cutoff",
    inpainting="--task inpaint",
    bandwidth_extension="--task bwe",
)
"""How `A2SBPipeline.check_inputs` names the options of `a2sb restore` in its refusals."""


@dataclass(frozen=True)
class RestoreSettings:
    """What to do to every file.

    Attributes:
        task: "bandwidth_extension" or "inpainting".
        cutoff_hz: bandwidth extension: the highest kept frequency; inpainting: the
            recording's bandwidth, above which gaps are not restored; None detects it per file.
        gaps: inpainting: `(start_s, end_s)` pairs, sorted, not overlapping.
        sampler: a name of `a2sb.names.SAMPLERS`; None keeps the model's own.
        eta: the dbim sampler's share of fresh noise; None keeps the model's (or 0).
        num_inference_steps: network calls per window; None takes the model's default.
        window_schedule: "overlap" or "shifted"; None takes the model's default.
        seed: seeds each file's noise (the same seed for every file); None draws one per file.
        window_batch_size: windows per model call.
        window_frames: frames per model window; None keeps the pipeline's default.
        hop_frames: frames between windows; None keeps the pipeline's default.
        output_rate: "input" (each file's own rate) or 44100.
        bit_depth: "16", "24" or "32f".
        clip_mode: integer outputs above full scale: "rescale", "clamp" or "error".
        overwrite: restore again files whose output exists.
        spectrogram: also write the before/after picture beside each result.
        inputs: the files, folders and globs to restore, as given.
        output_dir: where results go; None puts each beside its input.
        output_format: "wav" or "flac".
        model_choice: the model to load, its dtype and device.
        quiet: no progress bars or information lines.
    """

    task: str
    cutoff_hz: float | None
    gaps: list[tuple[float, float]] = field(default_factory=list)
    sampler: str | None = None
    eta: float | None = None
    num_inference_steps: int | None = None
    window_schedule: str | None = None
    seed: int | None = None
    window_batch_size: int = 4
    window_frames: int | None = None
    hop_frames: int | None = None
    output_rate: str = "44100"
    bit_depth: BitDepth = "24"
    clip_mode: ClipMode = "rescale"
    overwrite: bool = False
    spectrogram: bool = False
    inputs: list[str] = field(default_factory=list)
    output_dir: str | None = None
    output_format: str = "wav"
    model_choice: ModelChoice = field(default_factory=ModelChoice)
    quiet: bool = False

    def pipeline_arguments(self, seed: int, input_rate: int | None) -> dict[str, Any]:
        """Keyword arguments of `A2SBPipeline.__call__` for one file.

        Args:
            seed: the file's seed.
            input_rate: the file's sampling rate (used with `output_rate="input"`).
        """
        arguments: dict[str, Any] = {
            "task": self.task,
            "generator": torch.Generator().manual_seed(seed),
            "window_batch_size": self.window_batch_size,
            "output_sampling_rate": input_rate
            if self.output_rate == "input"
            else MODEL_SAMPLING_RATE,
        }
        arguments["cutoff_hz"] = self.cutoff_hz
        if self.task == "inpainting":
            arguments["gaps"] = self.gaps
        if self.num_inference_steps is not None:
            arguments["num_inference_steps"] = self.num_inference_steps
        if self.window_schedule is not None:
            arguments["window_schedule"] = self.window_schedule
        if self.window_frames is not None:
            arguments["window_frames"] = self.window_frames
        if self.hop_frames is not None:
            arguments["hop_frames"] = self.hop_frames
        return arguments

    def describe(self, seed: int) -> str:
        """The settings of one file, for its information line."""
        if self.task == "bandwidth_extension":
            cutoff = "auto" if self.cutoff_hz is None else f"{self.cutoff_hz:g} Hz"
            what = f"bandwidth extension, cutoff {cutoff}"
        else:
            gaps = ", ".join(f"{start:g}-{end:g} s" for start, end in self.gaps)
            band = "auto" if self.cutoff_hz is None else f"{self.cutoff_hz:g} Hz"
            what = f"inpainting {gaps}, bandwidth {band}"
        return f"{what}, seed {seed}, window batch {self.window_batch_size}"


def settings_from_args(args: argparse.Namespace) -> RestoreSettings:
    """Check the options of `a2sb restore` and gather them: the one object everything after
    the parser reads.

    The task defaults to inpainting when gaps are given, else bandwidth extension.

    Raises:
        A2SBInputError: options that contradict each other or lie out of range.
    """
    gaps = [parse_gap(text) for text in args.gap or []]
    task = TASK_NAMES[args.task] if args.task else ("inpainting" if gaps else "bandwidth_extension")
    cutoff_hz = parse_cutoff(args.cutoff) if args.cutoff is not None else None
    A2SBPipeline.check_inputs(task, cutoff_hz, gaps, MODEL_SAMPLING_RATE, names=CLI_NAMES)
    gaps = sorted(gaps)
    if args.steps is not None:
        check_within("--steps", args.steps, 1, MAX_INFERENCE_STEPS)
    if args.eta is not None:
        if args.sampler is not None:
            check_takes_eta(scheduler_class(args.sampler))
        check_eta(args.eta)
    check_at_least("--window-batch-size", args.window_batch_size, 1)
    if args.seed is not None:
        check_within("--seed", args.seed, 0, MAX_SEED)
    if args.model is not None:
        check_model_source(args.model)
    output_format = output_format_of(args.output_dir, args.output_format)
    if output_format == "flac" and args.bit_depth == "32f":
        raise A2SBInputError(
            "--bit-depth 32f needs --output-format wav (flac holds 16 or 24 bits); pass "
            "--output-format wav, or --bit-depth 24"
        )
    if args.spectrogram:
        require_matplotlib()
    return RestoreSettings(
        task=task,
        cutoff_hz=cutoff_hz,
        gaps=gaps,
        sampler=args.sampler,
        eta=args.eta,
        num_inference_steps=args.steps,
        window_schedule=args.windows,
        seed=args.seed,
        window_batch_size=args.window_batch_size,
        window_frames=args.window_frames,
        hop_frames=args.hop_frames,
        output_rate=args.output_rate,
        bit_depth=args.bit_depth,
        clip_mode=args.clip_mode,
        overwrite=args.overwrite,
        spectrogram=args.spectrogram,
        inputs=list(args.inputs),
        output_dir=args.output_dir,
        output_format=output_format,
        model_choice=ModelChoice(
            model=args.model or BUNDLED_MODEL_NAME,
            release_variant=args.release_variant,
            trust_checkpoint=args.trust_checkpoint,
            dtype=args.dtype,
            device=args.device,
        ),
        quiet=args.quiet,
    )
