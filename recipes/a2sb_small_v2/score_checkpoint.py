"""Score a checkpoint of the v2 run on the devset, against the DSP prior it starts from.

    python recipes/a2sb_small_v2/score_checkpoint.py ~/.cache/a2sb-runs/v2/checkpoints/step-00000300

Restores the devset (`shared/data/devset`, 12 excerpts × 10 s, mono) under the five conditions
of the v2 goals — bandwidth extension at 4 and 8 kHz, inpainting of 300 / 500 / 1000 ms gaps —
with the evaluation harness of `a2sb evaluate`, at the sampling the model will ship with, and
prints each condition's mean beside the committed figures of `baseline:sbr` and
`baseline:crossfade` (`benchmarks/results/`). One row per condition is appended to
`devset_curve.csv` beside this script, so the curve of the run is kept with the recipe.
Results files go under the run's folder and are resumed if the scoring is interrupted.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

import torch

from a2sb.evaluation.harness import evaluate
from a2sb.evaluation.pipeline_restorer import pipeline_restorer
from a2sb.evaluation.protocol import Condition
from a2sb.pipelines import A2SBPipeline
from a2sb.schedulers.samplers import with_sampler

RECIPE = Path(__file__).resolve().parent
REPOSITORY = RECIPE.parents[1]
DEVSET = REPOSITORY.parent / "shared" / "data" / "devset"
CURVE = RECIPE / "devset_curve.csv"
CONDITIONS = {
    "bwe": [
        Condition("bandwidth_extension", cutoff_hz=4000.0),
        Condition("bandwidth_extension", cutoff_hz=8000.0),
    ],
    "inpaint": [
        Condition("inpainting", gap_s=0.3),
        Condition("inpainting", gap_s=0.5),
        Condition("inpainting", gap_s=1.0),
    ],
}
BASELINE_RESULTS = {
    "bwe": REPOSITORY / "benchmarks" / "results" / "baseline-sbr-v2-bwe-4-8k.json",
    "inpaint": REPOSITORY / "benchmarks" / "results" / "baseline-crossfade-v2.json",
}
"""Each task's measure: full-band LSD and ViSQOL for bandwidth extension, LSD over the gap frames
for inpainting (the goals of the v2 issue)."""


def means(results: list[dict], key: str) -> dict[str, float]:
    """The mean of `key` per condition name, over the files that have it."""
    by_condition: dict[str, list[float]] = {}
    for result in results:
        value = result.get(key)
        if value is not None and not math.isnan(value):
            by_condition.setdefault(result["condition"], []).append(value)
    return {name: sum(values) / len(values) for name, values in by_condition.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path, help="a checkpoint folder or a pipeline folder")
    parser.add_argument("--steps", type=int, default=None, help="default: the model's own")
    parser.add_argument("--window-schedule", choices=["overlap", "shifted"], default=None)
    parser.add_argument("--sampler", choices=["i2sb", "dbim"], default=None)
    parser.add_argument("--tasks", default="bwe,inpaint")
    parser.add_argument("--visqol", action="store_true")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--label", default=None, help="the curve's row label (default: step)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    folder = args.checkpoint
    if (folder / "pipeline" / "model_index.json").is_file():
        folder = folder / "pipeline"
    label = args.label or args.checkpoint.name
    pipeline = A2SBPipeline.from_pretrained(folder)
    pipeline.scheduler = with_sampler(pipeline.scheduler, args.sampler)
    pipeline.set_progress_bar_config(disable=True)
    restorer = pipeline_restorer(pipeline, args.steps, window_schedule=args.window_schedule)
    settings = {
        "steps": args.steps,
        "window_schedule": args.window_schedule,
        "sampler": args.sampler,
    }
    output = folder.parent / "devset"
    output.mkdir(exist_ok=True)
    for task in args.tasks.split(","):
        visqol = args.visqol and task == "bwe"
        name = (
            f"{task}{'-visqol' if visqol else ''}-{args.sampler}-{args.steps}-"
            f"{args.window_schedule}-{args.limit}.json"
        )
        results = evaluate(
            restorer,
            str(folder),
            DEVSET,
            CONDITIONS[task],
            output / name,
            limit=args.limit,
            visqol=visqol,
            restorer_settings=settings,
        )
        rows = [vars(result) for result in results]
        baseline = json.loads(BASELINE_RESULTS[task].read_text())["results"]
        files = {row["file"] for row in rows}
        baseline = [row for row in baseline if row["file"] in files]
        key = "lsd" if task == "bwe" else "lsd_missing"
        ours, theirs = means(rows, key), means(baseline, key)
        ours_v, theirs_v = means(rows, "visqol"), means(baseline, "visqol")
        with CURVE.open("a", newline="") as curve:
            writer = csv.writer(curve, lineterminator="\n")
            for name in ours:
                writer.writerow(
                    [
                        label,
                        args.sampler or "",
                        args.steps,
                        args.window_schedule,
                        len(files),
                        name,
                        key,
                        f"{ours[name]:.4f}",
                        f"{theirs[name]:.4f}",
                        f"{ours_v[name]:.4f}" if name in ours_v else "",
                        f"{theirs_v[name]:.4f}" if name in theirs_v else "",
                    ]
                )
                visqol_text = (
                    f"  ViSQOL {ours_v[name]:.3f} (prior {theirs_v[name]:.3f})"
                    if name in ours_v and name in theirs_v
                    else ""
                )
                print(
                    f"{label} {name}: {key} {ours[name]:.3f} (prior {theirs[name]:.3f})"
                    f"{visqol_text}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
