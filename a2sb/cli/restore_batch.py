"""The work of `a2sb restore`: check, split between processes, restore each file, summarise.

Every option is checked, and every input found and named, before the model is loaded; a
mistake there ends the command with one `a2sb: ...` line (exit code 2). A file that fails
later (unreadable, out of memory, ...) is reported, the others go on, and the command ends with
a summary and exit code 1.

Under `accelerate launch` or `torchrun`, every process plans the same list of jobs and takes
its share (`PartialState.split_between_processes`); each loads the model once on its own
device, and the main process prints one summary gathered from all of them.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import soundfile
import torch
from accelerate import PartialState
from accelerate.utils import gather_object, parse_flag_from_env
from tqdm.auto import tqdm

from a2sb.cli.console import Console, printable
from a2sb.cli.devices import process_device, resolve_device_kind
from a2sb.cli.inputs import RestoreJob, plan_jobs
from a2sb.cli.interruption import Interrupted
from a2sb.cli.model_choice import load_pipeline
from a2sb.cli.restore_settings import MODEL_SAMPLING_RATE, RestoreSettings, settings_from_args
from a2sb.cli.summary import RestoreOutcome, any_failed, format_interruption, format_summary
from a2sb.degradations import check_gaps
from a2sb.errors import A2SBInputError, A2SBOutputExistsError, A2SBWriteError
from a2sb.io.atomic_output import missing_folders, remove_empty_folders
from a2sb.io.audio import libsndfile_name, unreadable_audio_error
from a2sb.io.audio_stream import AudioReader
from a2sb.pipelines import A2SBPipeline, A2SBPipelineOutput
from a2sb.pipelines.bandwidth_cutoff import file_cutoff
from a2sb.schedulers.samplers import describe_sampler, with_sampler
from a2sb.spectrogram_pictures import picture_path, save_restoration_picture


@dataclass(frozen=True)
class AudioHeader:
    """What a file's header says, read before any audio is decoded."""

    sampling_rate: int
    duration_s: float


def restore_batch(args: argparse.Namespace) -> int:
    """Check everything, restore this process's share of the files, print the summary.

    Args:
        args: the parsed options of `a2sb restore`.

    Returns:
        0 when every file was restored or skipped, 1 when any failed, 128 + the signal's
        number when interrupted.
    """
    settings = settings_from_args(args)
    jobs = plan_jobs(settings.inputs, settings.output_dir, settings.output_format)
    headers = {job.input_path: read_header(job.input_path) for job in jobs}  # or their errors
    if settings.task == "inpainting":
        check_gaps_inside_files(settings.gaps, headers)
    forced_cpu = parse_flag_from_env("ACCELERATE_USE_CPU")
    device_kind = resolve_device_kind(settings.model_choice.device, forced_cpu)

    state = PartialState(cpu=device_kind == "cpu")
    console = Console(settings.quiet, state.process_index, state.num_processes)
    with state.split_between_processes(jobs) as own_jobs:
        own_jobs = list(own_jobs)
    own_results: dict[RestoreJob, RestoreOutcome] = {}
    new_folders = missing_folders([job.output_path for job in own_jobs])
    try:
        with console.library_logs():
            restore_own_jobs(own_jobs, settings, headers, device_kind, state, console, own_results)
    except Interrupted as interruption:  # each process says how far it got; rerunning continues
        remove_empty_folders(new_folders)  # an -o folder with nothing in it is not left behind
        line = format_interruption(list(own_results.values()), len(own_jobs))
        print(printable(f"a2sb: {console.prefix}{line}"), file=sys.stderr, flush=True)
        return interruption.exit_code
    results = [own_results[job] for job in own_jobs]
    if state.num_processes > 1:
        results = gather_object(results)
    if state.is_main_process:
        print(format_summary(results), flush=True)
    state.wait_for_everyone()  # no process ends (and gets the others stopped) before the summary
    return 1 if any_failed(results) else 0


def restore_own_jobs(
    jobs: list[RestoreJob],
    settings: RestoreSettings,
    headers: dict[Path, AudioHeader | A2SBInputError],
    device_kind: str,
    state: PartialState,
    console: Console,
    results: dict[RestoreJob, RestoreOutcome],
) -> None:
    """Restore this process's jobs into `results`, loading the model only if some output is
    missing; an interruption leaves in `results` the files finished before it.

    Existing outputs are looked for here, after the split, as other processes write theirs.
    """
    pending = [job for job in jobs if settings.overwrite or not job.output_path.exists()]
    results.update({job: skipped_result(job) for job in jobs if job not in pending})
    cutoffs, refusals = check_before_loading(pending, headers, settings)
    results.update({job: failed_result(job, error) for job, error in refusals.items()})
    pending = [job for job in pending if job in cutoffs]  # no model is loaded for the others
    with state.main_process_first():  # the first load may convert and cache the release
        device = process_device(device_kind, state.local_process_index)
        pipeline = load_pipeline(settings.model_choice, device, console) if pending else None
    if pipeline is not None:
        use_sampler(pipeline, settings, console)
    with _file_progress(pending, console) as progress:  # closed (its line ended) if interrupted
        for job in progress:
            header = headers[job.input_path]
            results[job] = restore_one_file(pipeline, job, settings, header, console, cutoffs[job])


def check_before_loading(
    jobs: list[RestoreJob],
    headers: dict[Path, AudioHeader | A2SBInputError],
    settings: RestoreSettings,
) -> tuple[dict[RestoreJob, float | None], dict[RestoreJob, A2SBInputError]]:
    """What is checked of each file before a model loads: that it reads as audio, and with
    `--cutoff auto` its cutoff (one streamed reading, the one the pipeline would make).

    Returns:
        The cutoff of each file that passed (None where none is detected here), and the
        refusal of each that did not (unreadable; full-band, silent or too short to detect).
    """
    cutoffs: dict[RestoreJob, float | None] = {}
    refusals: dict[RestoreJob, A2SBInputError] = {}
    detect = settings.task == "bandwidth_extension" and settings.cutoff_hz is None
    for job in jobs:
        try:
            header = headers[job.input_path]
            if isinstance(header, A2SBInputError):
                raise header
            cutoffs[job] = None
            if detect:
                with AudioReader(job.input_path, MODEL_SAMPLING_RATE) as reader:
                    cutoffs[job] = file_cutoff(reader, MODEL_SAMPLING_RATE, None)
        except A2SBInputError as error:
            cutoffs.pop(job, None)
            refusals[job] = error
    return cutoffs, refusals


def read_header(path: Path) -> AudioHeader | A2SBInputError:
    """The file's rate and duration, or the error that says it cannot be read as audio (the
    file then fails before any model is loaded)."""
    try:
        info = soundfile.info(libsndfile_name(path))
    except RuntimeError as error:
        return unreadable_audio_error(path, error)
    return AudioHeader(int(info.samplerate), float(info.duration))


def check_gaps_inside_files(
    gaps: list[tuple[float, float]], headers: dict[Path, AudioHeader | A2SBInputError]
) -> None:
    """Refuse gaps that reach past the end of a readable input."""
    for path, header in headers.items():
        if isinstance(header, A2SBInputError):
            continue
        try:
            check_gaps(gaps, header.duration_s)
        except A2SBInputError as error:
            raise A2SBInputError(f"{path}: {error}, or leave this file out") from error


def use_sampler(pipeline: A2SBPipeline, settings: RestoreSettings, console: Console) -> None:
    """Swap in `--sampler`/`--eta` and say which sampling the files get."""
    pipeline.scheduler = with_sampler(pipeline.scheduler, settings.sampler, settings.eta)
    defaults = pipeline.config.sampling_defaults
    steps = settings.num_inference_steps or defaults["num_inference_steps"]
    windows = settings.window_schedule or defaults["window_schedule"]
    console.say(f"sampling: {describe_sampler(pipeline.scheduler, steps, windows)}")


def restore_one_file(
    pipeline: A2SBPipeline,
    job: RestoreJob,
    settings: RestoreSettings,
    header: AudioHeader,
    console: Console,
    cutoff_hz: float | None = None,
    words: Callable[[Exception], str] | None = None,
) -> RestoreOutcome:
    """Restore one file (`restore_file` writes it through a hidden partial file, renamed once
    complete).

    Never raises an `Exception`: any failure of this file, a full disk included, is its
    result, so that a batch goes on. Only an interruption passes. `cutoff_hz`, when given,
    is the cutoff detected for it beforehand (`check_before_loading`). `words` says a library
    refusal in the words of the interface (`in_cli_words` by default; the page has its own).
    """
    words = words or in_cli_words
    seed = settings.seed if settings.seed is not None else secrets.randbelow(2**31)
    console.say(f"{job.input_path} → {job.output_path}: {settings.describe(seed)}")
    output_path = job.output_path
    input_rate = header.sampling_rate
    arguments = settings.pipeline_arguments(seed, input_rate)
    if cutoff_hz is not None:
        arguments["cutoff_hz"] = cutoff_hz
    started = time.monotonic()
    try:
        output = pipeline.restore_file(
            job.input_path,
            output_path,
            bit_depth=settings.bit_depth,
            clip_mode=settings.clip_mode,
            overwrite=settings.overwrite,
            **arguments,
        )
        if settings.spectrogram:
            save_picture(job, output, settings)
    except A2SBOutputExistsError as error:  # another run wrote this output meanwhile
        return RestoreOutcome(str(job.input_path), str(output_path), "skipped", words(error))
    except Exception as error:  # any failure is this file's result; the batch goes on
        reason = failure_reason(error, settings, words)  # said once, in the summary
        return RestoreOutcome(str(job.input_path), str(output_path), "failed", reason)
    cutoff_hz = output.cutoff_hz[0] if output.cutoff_hz else None
    seconds = time.monotonic() - started
    inpainting = settings.task == "inpainting"
    return RestoreOutcome.restored(
        str(job.input_path), str(output_path), seed, cutoff_hz, seconds, inpainting
    )


def save_picture(job: RestoreJob, output: A2SBPipelineOutput, settings: RestoreSettings) -> None:
    """`<stem>.a2sb.png` beside the result: the input's and the result's spectrograms (read
    back from the two files in blocks; the streamed restoration keeps neither in memory)."""
    save_restoration_picture(
        picture_path(job.output_path),
        job.input_path,
        job.output_path,
        cutoff_hz=output.cutoff_hz[0] if output.cutoff_hz else None,
        gaps=settings.gaps,
    )


def failed_result(job: RestoreJob, error: A2SBInputError) -> RestoreOutcome:
    """The result of a file refused before any model loads (unreadable, no cutoff)."""
    return RestoreOutcome(str(job.input_path), str(job.output_path), "failed", in_cli_words(error))


def in_cli_words(error: Exception) -> str:
    """A library refusal in the command line's words: `--cutoff HZ` where it says `cutoff_hz`,
    `--overwrite` where it says `overwrite=True`."""
    message = str(error).replace("(cutoff_hz)", "(--cutoff HZ)")
    return message.replace("overwrite=True", "--overwrite")


def skipped_result(job: RestoreJob) -> RestoreOutcome:
    """The result of a file whose output exists (without `--overwrite`)."""
    return RestoreOutcome(
        str(job.input_path),
        str(job.output_path),
        "skipped",
        f"{job.output_path} exists; pass --overwrite to restore it again",
    )


def failure_reason(
    error: Exception, settings: RestoreSettings, words: Callable[[Exception], str]
) -> str:
    """One line saying why a file failed, with the fix where one is known; a library refusal
    in `words`."""
    if isinstance(error, A2SBInputError):
        return words(error)
    if isinstance(error, A2SBWriteError):
        return str(error)
    if isinstance(error, torch.OutOfMemoryError):
        return (
            f"out of accelerator memory with --window-batch-size {settings.window_batch_size}; "
            "lower it, or pass --dtype bf16"
        )
    return f"{type(error).__name__}: {error}"


def _file_progress(jobs: list[RestoreJob], console: Console) -> tqdm:
    return tqdm(
        jobs,
        desc=f"{console.prefix}files",
        unit="file",
        position=2 * console.process_index,
        disable=console.quiet,
        file=sys.stderr,
    )
