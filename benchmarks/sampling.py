"""Samplers and window schedules of the bundled model on the devset: quality against speed.

For each sampling setting (sampler, steps, window schedule) the bundled a2sb-small restores
the devset under bandwidth extension at 4 and 8 kHz and inpainting with 500 ms gaps, scored
by the evaluation harness (LSD, LSD within the bandwidth, ViSQOL with --visqol); the time of
every restoration is summed into seconds of CPU wall time per second of audio. Writes the
table, with the command, into benchmarks/RESULTS.md under "## Sampling (a2sb-small, devset)".
Per-setting JSON results go to --results-dir and are resumed by a rerun.

    python benchmarks/sampling.py --limit 4 --visqol [--settings i2sb-49-overlap,dbim-8-shifted]
"""

from __future__ import annotations

import argparse
import platform
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import soundfile
import torch
from results_section import write_section

from a2sb.evaluation import Condition, evaluate, summarize
from a2sb.evaluation.pipeline_restorer import pipeline_restorer
from a2sb.pipelines import A2SBPipeline
from a2sb.schedulers import DBIMScheduler, I2SBScheduler

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPOSITORY.parent / "shared/data/devset"
HEADING = "## Sampling (a2sb-small, devset)"
CONDITIONS = [
    Condition("bandwidth_extension", cutoff_hz=4000),
    Condition("bandwidth_extension", cutoff_hz=8000),
    Condition("inpainting", gap_s=0.5),
]


@dataclass(frozen=True)
class Setting:
    """One way of sampling: a scheduler, its step count and a window schedule."""

    sampler: str  # "i2sb", "i2sb-ode" or "dbim" (eta 0)
    steps: int
    windows: str

    @property
    def name(self) -> str:
        return f"{self.sampler}-{self.steps}-{self.windows}"

    def scheduler(self, config) -> I2SBScheduler | DBIMScheduler:
        if self.sampler == "dbim":
            return DBIMScheduler.from_config(config, eta=0.0)
        return I2SBScheduler.from_config(config, ot_ode=self.sampler == "i2sb-ode")


SETTINGS = [
    *(Setting("i2sb", steps, "overlap") for steps in (49, 25, 10)),
    Setting("i2sb-ode", 10, "overlap"),
    *(Setting("i2sb", steps, "shifted") for steps in (49, 25, 15, 10)),
    *(Setting("dbim", steps, windows) for steps in (5, 8, 10, 16) for windows in ("shifted",)),
    *(Setting("dbim", steps, "overlap") for steps in (8, 16)),
]


def run_setting(
    pipe: A2SBPipeline, setting: Setting, args: argparse.Namespace, release_config
) -> list:
    """The setting's results on the devset (each with the wall time of its restoration)."""
    pipe.scheduler = setting.scheduler(release_config)
    restorer = pipeline_restorer(
        pipe,
        num_inference_steps=setting.steps,
        seed=0,
        window_batch_size=args.window_batch_size,
        window_schedule=setting.windows,
    )
    return evaluate(
        restorer,
        "a2sb-small",
        args.data,
        CONDITIONS,
        args.results_dir / f"{setting.name}.json",
        limit=args.limit,
        visqol=args.visqol,
        progress_bar=True,
        restorer_settings={"sampling": setting.name, "seed": 0},
    )


def seconds_per_audio_second(results: list, data: Path) -> float:
    """Restoration wall time over restored audio time, summed over every result."""
    audio = sum(soundfile.info(str(data / result.file)).duration for result in results)
    return sum(result.seconds for result in results) / audio


def table(rows: list[tuple[Setting, list]], data: Path) -> str:
    """One markdown row per setting: LSD / LSD ≤ bw / ViSQOL per condition, then speed."""
    header = ["setting", *(c.name for c in CONDITIONS), "s per s of audio"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for setting, results in rows:
        cells = [setting.name]
        for summary in summarize(results, CONDITIONS):
            means = summary.means
            lsd_key = "lsd_missing" if summary.condition.startswith("inpainting") else "lsd"
            cells.append(
                f"{means[lsd_key]:.3f} / {means['lsd_in_bandwidth']:.3f} / "
                f"{means.get('visqol', float('nan')):.3f}"
            )
        cells.append(f"{seconds_per_audio_second(results, data):.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of audio files")
    parser.add_argument("--limit", type=int, help="only the first N files (sorted by name)")
    parser.add_argument("--visqol", action="store_true", help="also score ViSQOL (slow)")
    parser.add_argument("--settings", help="comma-separated setting names (default: all)")
    parser.add_argument("--window-batch-size", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--results-dir", type=Path, default=REPOSITORY / "runs" / "sampling")
    parser.add_argument(
        "--results-file", type=Path, default=REPOSITORY / "benchmarks" / "RESULTS.md"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    chosen = args.settings.split(",") if args.settings else [s.name for s in SETTINGS]
    by_name = {setting.name: setting for setting in SETTINGS}
    unknown = [name for name in chosen if name not in by_name]
    if unknown:
        parser.error(f"unknown settings {unknown}; choose from {list(by_name)}")
    pipe = A2SBPipeline.from_pretrained()
    pipe.set_progress_bar_config(disable=True)
    release_config = I2SBScheduler.from_config(pipe.scheduler.config).config
    rows = []
    for name in chosen:
        rows.append((by_name[name], run_setting(pipe, by_name[name], args, release_config)))
        print(table(rows[-1:], args.data).splitlines()[-1], flush=True)
    text = table(rows, args.data)
    print(text)
    command = shlex.join(["python", "benchmarks/sampling.py", *sys.argv[1:]])
    files = len(rows[0][1]) // len(CONDITIONS) if rows else 0
    section = (
        f"{HEADING}\n\n`{command}` — {files} devset files × 10 s, mono; "
        f"{platform.processor() or platform.machine()} (CPU), {args.threads} threads, window "
        f"batch {args.window_batch_size}, seed 0. Each cell: LSD (inpainting: over the gap "
        "frames) / LSD within the file's bandwidth / ViSQOL (nan: not scored). Speed: wall "
        "seconds per second of audio, summed over the restorations (a shared machine: the "
        "ratios between settings are what counts; benchmarks/pipeline.py times alone).\n\n"
        f"{text}\n"
    )
    write_section(args.results_file, section)


if __name__ == "__main__":
    main()
