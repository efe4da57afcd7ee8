"""`a2sb evaluate`: score a baseline or a model over a folder of music (paper §4.1).

    a2sb evaluate --model baseline:sbr --data music/ --task bwe --cutoffs 4000,8000 \\
        --output results.json

prints one row per condition (LSD, SiSpec, file count, seconds per file) and keeps every
per-file result in the JSON file, which a rerun resumes.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from a2sb.cli.console import printable
from a2sb.cli.option_values import DEVICES, MAX_SEED, check_at_least, check_within
from a2sb.errors import A2SBInputError
from a2sb.names import DTYPES, TASK_NAMES

if TYPE_CHECKING:
    from a2sb.evaluation import Condition, Restorer
    from a2sb.names import Task

BASELINE_PREFIX = "baseline:"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `a2sb evaluate` and its arguments."""
    parser = subparsers.add_parser(
        "evaluate",
        help="score a restorer (baseline or model) on a folder of music",
        description=(
            "Degrade every file of a folder with the paper's protocol (bandwidth extension by "
            "resampling to 2x the cutoff; inpainting with one gap centred in every 5 s), "
            "restore it, and report LSD and SiSpec per condition. Results go to a JSON file "
            "that a rerun resumes."
        ),
    )
    parser.add_argument(
        "--model",
        required=True,
        help="baseline:degraded, baseline:sbr (bandwidth extension), baseline:silence, "
        "baseline:crossfade (inpainting), or a model: a2sb-small (bundled), a Hub ID or a path",
    )
    parser.add_argument(
        "--data", required=True, help="folder of audio files (searched recursively)"
    )
    parser.add_argument(
        "--task", required=True, help="bandwidth-extension (bwe) or inpainting (inpaint)"
    )
    parser.add_argument(
        "--cutoffs",
        help="bandwidth-extension cutoffs in Hz, comma-separated (default: the paper's "
        "4000,8000,12000)",
    )
    parser.add_argument(
        "--gaps",
        help="inpainting gap lengths in seconds, comma-separated (default: the paper's "
        "0.3,0.5,1.0)",
    )
    parser.add_argument("--output", required=True, help="JSON results file (resumed if present)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N files")
    parser.add_argument(
        "--channels",
        choices=["mono", "all"],
        default="mono",
        help="mix files down to mono (default) or give the restorer all their channels",
    )
    parser.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help="where the model and the metrics run; default auto: the GPU, else MPS, else the CPU",
    )
    parser.add_argument(
        "--steps",
        type=int,
        help="model: network calls per restoration (default: the model's own, 49 for the release)",
    )
    parser.add_argument("--seed", type=int, default=0, help="model: noise seed (%(default)s)")
    parser.add_argument(
        "--window-batch-size", type=int, default=4, help="model: windows per model call"
    )
    parser.add_argument(
        "--dtype",
        choices=DTYPES,
        default="fp32",
        help="model: weights' number format, as for a2sb restore (%(default)s)",
    )
    parser.add_argument(
        "--visqol",
        action="store_true",
        help="also score ViSQOL (needs `pip install visqol-python`; seconds per file)",
    )
    parser.set_defaults(run=run)


def load_restorer(
    model_spec: str,
    task: Task,
    device: str = "cpu",
    num_inference_steps: int | None = None,
    seed: int = 0,
    window_batch_size: int = 4,
    dtype: str = "fp32",
) -> Restorer:
    """The restorer that `--model` names: `baseline:NAME`, or a model ID or path.

    Args:
        model_spec: `baseline:NAME`, a Hub model ID or a local folder (an A2SB pipeline, or
            the release's checkpoints).
        task: the task it will restore.
        device: where a model runs.
        num_inference_steps: a model's network calls per restoration; None: its own default.
        seed: a model's noise seed.
        window_batch_size: a model's windows per call.
        dtype: a model's number format: "fp32", "bf16" or "fp16".

    Raises:
        A2SBInputError: an unknown baseline, a baseline for another task, or a model that
            cannot be loaded.
    """
    from a2sb.evaluation import get_baseline

    if model_spec.startswith(BASELINE_PREFIX):
        return get_baseline(model_spec.removeprefix(BASELINE_PREFIX), task).restore
    import torch

    from a2sb.cli.devices import TORCH_DTYPES, resolve_dtype
    from a2sb.evaluation.pipeline_restorer import pipeline_restorer
    from a2sb.pipelines import A2SBPipeline

    dtype = resolve_dtype(dtype, torch.device(device))
    pipeline = A2SBPipeline.from_pretrained(model_spec, dtype=TORCH_DTYPES[dtype]).to(device)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline_restorer(pipeline, num_inference_steps, seed, window_batch_size)


def parse_task(name: str) -> Task:
    """`--task` as a task, accepting the aliases of `TASK_NAMES`."""
    if name not in TASK_NAMES:
        raise A2SBInputError(
            f"unknown task {name!r}; choose bandwidth-extension (bwe) or inpainting (inpaint)"
        )
    return TASK_NAMES[name]


def parse_numbers(text: str, option: str, example: str) -> list[float]:
    """A comma-separated list of numbers, e.g. `4000,8000`."""
    try:
        return [float(item) for item in text.split(",") if item.strip()]
    except ValueError as error:
        raise A2SBInputError(
            f"{option} {text!r} is not a comma-separated list of numbers; write e.g. {example}"
        ) from error


def conditions_for(task: Task, cutoffs: str | None, gaps: str | None) -> list[Condition]:
    """The conditions of `--task` with `--cutoffs` or `--gaps` (the paper's when None)."""
    from a2sb.evaluation import (
        BANDWIDTH_EXTENSION_CUTOFFS_HZ,
        EVALUATION_RATE,
        INPAINTING_GAPS_S,
        Condition,
    )
    from a2sb.evaluation.protocol import check_condition

    if task == "bandwidth_extension":
        values = (
            BANDWIDTH_EXTENSION_CUTOFFS_HZ
            if cutoffs is None
            else parse_numbers(cutoffs, "--cutoffs", "4000,8000,12000")
        )
        conditions = [Condition(task, cutoff_hz=cutoff) for cutoff in values]
    else:
        values = INPAINTING_GAPS_S if gaps is None else parse_numbers(gaps, "--gaps", "0.3,0.5,1.0")
        conditions = [Condition(task, gap_s=gap) for gap in values]
    if not conditions:
        raise A2SBInputError(f"no {'cutoffs' if task == 'bandwidth_extension' else 'gaps'} given")
    for condition in conditions:
        check_condition(condition, EVALUATION_RATE)
    return conditions


def check_counts(args: argparse.Namespace) -> None:
    """Refuse counts out of range before any file is read: `--limit`, `--steps`, `--seed` and
    `--window-batch-size`."""
    from a2sb.schedulers.bridge_scheduler import MAX_INFERENCE_STEPS

    if args.limit is not None:
        check_at_least("--limit", args.limit, 1)
    if args.steps is not None:
        check_within("--steps", args.steps, 1, MAX_INFERENCE_STEPS)
    check_within("--seed", args.seed, 0, MAX_SEED)
    check_at_least("--window-batch-size", args.window_batch_size, 1)


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the table, and return 0."""
    from a2sb.cli.devices import process_device, resolve_device_kind
    from a2sb.evaluation import TABLE_NOTE, evaluate, find_evaluation_files, format_table, summarize

    task = parse_task(args.task)
    conditions = conditions_for(task, args.cutoffs, args.gaps)
    check_counts(args)
    if Path(args.output).is_dir():
        raise A2SBInputError(
            f"--output {args.output} is a folder; give the path of a .json results file"
        )
    find_evaluation_files(args.data)
    device = str(process_device(resolve_device_kind(args.device), local_process_index=0))
    restorer = load_restorer(
        args.model, task, device, args.steps, args.seed, args.window_batch_size, args.dtype
    )
    model_settings = {"steps": args.steps or "model default", "seed": args.seed}
    if args.dtype != "fp32":  # results saved before --dtype existed are fp32, and resume
        model_settings["dtype"] = args.dtype
    results = evaluate(
        restorer,
        args.model,
        args.data,
        conditions,
        args.output,
        channels=args.channels,
        limit=args.limit,
        device=device,
        visqol=args.visqol,
        progress_bar=True,
        restorer_settings=None if args.model.startswith(BASELINE_PREFIX) else model_settings,
    )
    print(format_table({printable(args.model): summarize(results, conditions)}))
    print(TABLE_NOTE)
    print(printable(f"per-file results: {args.output}"))
    return 0
