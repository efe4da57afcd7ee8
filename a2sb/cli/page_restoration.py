"""What the web page (`a2sb app`) does with one request, through the code of `a2sb restore`.

The page's fields become the command's typed `RestoreSettings` (parsed and range-checked here,
with refusals that name the page's fields), and the file is restored by the command's
`restore_one_file` with the picture on: the same defaults, checks, messages and atomic writes
as on the command line. Only the models loaded at start are used (chosen by name); each has a
lock, so that it restores one file at a time.

Every upload is copied into its own folder under the app's temporary folder, and its result
and picture are written beside the copy.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from a2sb.cli.console import Console
from a2sb.cli.inputs import OUTPUT_FORMATS, plan_jobs
from a2sb.cli.option_values import MAX_SEED, check_within, parse_cutoff, parse_gap
from a2sb.cli.restore_batch import check_gaps_inside_files, read_header, restore_one_file
from a2sb.cli.restore_settings import MODEL_SAMPLING_RATE, RestoreSettings
from a2sb.cli.summary import RestoreOutcome
from a2sb.errors import A2SBInputError
from a2sb.names import Task
from a2sb.pipelines import A2SBPipeline
from a2sb.pipelines.pipeline_checks import ArgumentNames
from a2sb.schedulers.bridge_scheduler import MAX_INFERENCE_STEPS
from a2sb.spectrogram_pictures import picture_path

TASKS: dict[str, Task] = {"bandwidth extension": "bandwidth_extension", "inpainting": "inpainting"}
"""The page's task names and the task each is."""
MODEL_DEFAULT = "model default"
CUSTOM_STEPS = "custom steps"
PRESETS = (MODEL_DEFAULT, CUSTOM_STEPS)
"""Sampling presets: the model's own default sampling, or `--steps N`."""

MEGABYTE = 2**20
"""The page's MB: Gradio measures its upload limit in units of 2^20 bytes, so the page, Gradio's
refusal and a2sb's own say the same number."""


@dataclass(frozen=True)
class PageRequest:
    """The fields of the page, as typed.

    Attributes:
        task: a key of `TASKS`.
        cutoff: bandwidth extension: "auto" or a frequency (8000, 8k).
        gaps: inpainting: `START-END` stretches separated by commas, in seconds or m:ss.
        preset: one of `PRESETS`.
        steps: sampling steps with the "custom steps" preset.
        seed: a whole number, or empty for a random seed.
        output_format: "wav" or "flac".
    """

    task: str = "bandwidth extension"
    cutoff: str = "auto"
    gaps: str = ""
    preset: str = MODEL_DEFAULT
    steps: int = 49
    seed: str = ""
    output_format: str = "wav"

    def settings(self, input_path: Path) -> RestoreSettings:
        """The settings of `a2sb restore` that do what the fields say, for one file.

        Raises:
            A2SBInputError: a field the page does not offer, or one out of range; the message
                names the field.
        """
        _check_choice("task", self.task, TASKS)
        _check_choice("preset", self.preset, PRESETS)
        _check_choice("output format", self.output_format, OUTPUT_FORMATS)
        task = TASKS[self.task]
        inpainting = task == "inpainting"
        cutoff_hz = None if inpainting else parse_cutoff(self.cutoff or "auto", "Cutoff")
        gaps = sorted(parse_gap(gap) for gap in split_gaps(self.gaps)) if inpainting else []
        A2SBPipeline.check_inputs(task, cutoff_hz, gaps, MODEL_SAMPLING_RATE, names=PAGE_NAMES)
        steps = int(self.steps) if self.preset == CUSTOM_STEPS else None
        if steps is not None:
            check_within("Steps", steps, 1, MAX_INFERENCE_STEPS)
        return RestoreSettings(
            task=task,
            cutoff_hz=cutoff_hz,
            gaps=gaps,
            num_inference_steps=steps,
            seed=page_seed(self.seed),
            spectrogram=True,
            inputs=[str(input_path)],
            output_format=self.output_format,
        )


def page_seed(text: str) -> int | None:
    """The Seed field: a whole number in the range a generator takes, or empty for a random
    seed."""
    if not text.strip():
        return None
    try:
        seed = int(text.strip())
    except ValueError as error:
        raise A2SBInputError(
            f"Seed {text.strip()!r} is not a whole number; type one (for a repeatable result), "
            "or leave the field empty for a random seed"
        ) from error
    check_within("Seed", seed, 0, MAX_SEED)
    return seed


@dataclass(frozen=True)
class PageResult:
    """A restored upload: the result, its before/after picture, and one line about it."""

    result_path: Path
    picture_path: Path
    message: str


class PageRestorer:
    """Restores uploads with the models the app was started with, one file per model at a time.

    Args:
        models: the loaded pipelines by the name the page lists them under.
        work_dir: the app's temporary folder; each upload gets a folder inside it.
        max_file_bytes: larger uploads are refused.
        console: where the information lines of `a2sb restore` go (the server's stderr).
        max_age_s: each request first deletes the request folders older than this.
    """

    def __init__(
        self,
        models: dict[str, A2SBPipeline],
        work_dir: Path,
        max_file_bytes: int,
        console: Console,
        max_age_s: float = 3600.0,
    ):
        self.models = models
        self.work_dir = work_dir
        self.max_file_bytes = max_file_bytes
        self.console = console
        self.max_age_s = max_age_s
        self._locks = {name: threading.Lock() for name in models}

    @property
    def model_names(self) -> list[str]:
        return list(self.models)

    def default_steps(self, model: str) -> int:
        """The steps a model samples with by default (its saved `sampling_defaults`)."""
        return int(self.models[model].config.sampling_defaults["num_inference_steps"])

    def restore(self, upload: str | None, request: PageRequest, model: str) -> PageResult:
        """Restore one uploaded file.

        Args:
            upload: path of the uploaded (or recorded) file; None when nothing was given.
            request: the page's fields.
            model: one of `model_names`.

        Raises:
            A2SBInputError: nothing uploaded, a file too large or unreadable, fields that
                `a2sb restore` refuses, an unknown model, or a restoration that failed; the
                message names the upload by its file name only.
        """
        if model not in self.models:
            raise A2SBInputError(
                f"model {model!r} is not one this app was started with; choose one of "
                f"{', '.join(self.model_names)}"
            )
        source = self._checked_upload(upload)
        self._delete_old_folders()
        folder = self.work_dir / uuid.uuid4().hex
        folder.mkdir(parents=True)
        copy = folder / _safe_name(source.name)
        shutil.copyfile(source, copy)
        try:
            return self._restore_copy(copy, request, model)
        except A2SBInputError as error:
            shutil.rmtree(folder, ignore_errors=True)
            raise A2SBInputError(str(error).replace(str(copy), copy.name)) from error

    def _restore_copy(self, copy: Path, request: PageRequest, model: str) -> PageResult:
        settings = request.settings(copy)
        (job,) = plan_jobs(settings.inputs, None, settings.output_format)
        header = read_header(copy)
        if isinstance(header, A2SBInputError):
            raise header
        if settings.task == "inpainting":
            check_gaps_inside_files(settings.gaps, {copy: header})
        with self._locks[model]:
            result = restore_one_file(
                self.models[model], job, settings, header, self.console, words=in_page_words
            )
        if result.status != "restored":
            raise A2SBInputError(result.detail)
        return PageResult(
            job.output_path, picture_path(job.output_path), result_line(model, settings, result)
        )

    def _delete_old_folders(self) -> None:
        if not self.work_dir.exists():
            return
        oldest = time.time() - self.max_age_s
        for folder in self.work_dir.iterdir():
            if folder.stat().st_mtime < oldest:
                shutil.rmtree(folder, ignore_errors=True)

    def _checked_upload(self, upload: str | None) -> Path:
        if upload is None:
            raise A2SBInputError("no audio yet; upload a file or record one, then restore")
        path = Path(upload)
        size = path.stat().st_size
        if size > self.max_file_bytes:
            raise A2SBInputError(
                f"{path.name} is {size / MEGABYTE:.1f} MB, above this app's limit of "
                f"{self.max_file_bytes / MEGABYTE:g} MB; upload a shorter excerpt, or start the "
                "app with a larger --max-file-mb"
            )
        return path


def split_gaps(text: str) -> list[str]:
    """`"1-1.5, 0:02-0:02.5"` → `["1-1.5", "0:02-0:02.5"]` (commas or semicolons between gaps,
    spaces ignored)."""
    return [part.replace(" ", "") for part in re.split(r"[,;\n]", text) if part.strip()]


PAGE_NAMES = ArgumentNames(
    gaps="the Gaps field",
    gap_example="START-END stretches in the Gaps field (e.g. 1:02.5-1:03)",
    cutoff="the Cutoff field",
    inpainting="the task inpainting",
    bandwidth_extension="the task bandwidth extension",
)
"""How the pipeline's checks name the page's fields in their refusals."""


def in_page_words(error: Exception) -> str:
    """A refusal of the library met while restoring, in the page's words: `cutoff_hz` is the
    Cutoff field."""
    return str(error).replace("(cutoff_hz)", f"({PAGE_NAMES.cutoff})")


def result_line(model: str, settings: RestoreSettings, result: RestoreOutcome) -> str:
    """What the page says of a restored file: the model, the task with its gaps, the cutoff,
    the seed that reproduces it, and the processing time."""
    if settings.task == "inpainting":
        gaps = ", ".join(f"{start:g}–{end:g} s" for start, end in settings.gaps)
        task, band = f"inpainting {gaps}", "within the band up to"
    else:
        task, band = "bandwidth extension", "cutoff"
    cutoff = f"{band} {result.cutoff_hz:.0f} Hz, " if result.cutoff_hz else ""
    return (
        f"Restored with {model}, {task}: {cutoff}seed {result.seed}; processing took "
        f"{result.seconds:.1f} s."
    )


def _check_choice(field: str, value: str, choices) -> None:
    if value not in choices:
        raise A2SBInputError(
            f"{field} {value!r} is not offered; choose one of {', '.join(choices)}"
        )


def _safe_name(name: str) -> str:
    """The upload's file name with anything but letters, digits, `.`, `-` and `_` replaced."""
    safe = re.sub(r"[^\w.-]", "_", name).lstrip(".")
    return safe or "upload"
