"""The non-learned baselines on the devset, under the paper's protocol (run by hand).

Bandwidth extension at 4, 8 and 12 kHz (degraded input, spectral band replication) and
inpainting with 300, 500 and 1000 ms gaps (silence, cross-faded copy), each scored with the
same harness as a model. Prints the table and writes it, with the command, into
benchmarks/RESULTS.md under "## Evaluation baselines (devset)" (replacing that section if it is
there).

    python benchmarks/evaluation_baselines.py [--data ../shared/data/devset] [--visqol]
"""

from __future__ import annotations

import argparse
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

from results_section import write_section

from a2sb.evaluation import (
    BANDWIDTH_EXTENSION_CUTOFFS_HZ,
    BASELINES,
    INPAINTING_GAPS_S,
    TABLE_NOTE,
    Condition,
    evaluate,
    format_table,
    summarize,
)

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPOSITORY.parent / "shared/data/devset"
HEADING = "## Evaluation baselines (devset)"
REFERENCE_FIGURES = (
    "Reference figures, measured on a similar set of 24 excerpts with the same LSD preset "
    "(`shared/data/README.md`): bandwidth extension at 4 kHz, degraded input LSD 6.33, "
    "SBR copy (−18 dB/octave) 2.08; at 8 kHz 5.23 / 1.76; inpainting, LSD over the gap "
    "frames only: zeros ≈ 7.0, cross-faded copy of neighbouring audio ≈ 1.52–1.56; ViSQOL "
    "at 4 kHz 1.72 / 2.50, at 8 kHz 2.04 / 2.88. The LSD of a missing band grows with the "
    "level of the missing content over eps (the same devset 6 dB louder: degraded input at "
    "4 kHz 6.23 instead of 5.75), so the degraded input's LSD differs from set to set more "
    "than that of a restoration."
)


def conditions_of(task: str) -> list[Condition]:
    if task == "bandwidth_extension":
        return [Condition(task, cutoff_hz=cutoff) for cutoff in BANDWIDTH_EXTENSION_CUTOFFS_HZ]
    return [Condition(task, gap_s=gap) for gap in INPAINTING_GAPS_S]


def run_baselines(data: Path, results_folder: Path, visqol: bool) -> str:
    """Evaluate every baseline on its task's conditions; the markdown tables, one per task."""
    tables = []
    for task in ("bandwidth_extension", "inpainting"):
        conditions = conditions_of(task)
        summaries = {}
        for baseline in BASELINES.values():
            if baseline.task != task:
                continue
            model_name = f"baseline:{baseline.name}"
            results_path = results_folder / f"{baseline.name}.json"
            results = evaluate(
                baseline.restore,
                model_name,
                data,
                conditions,
                results_path,
                visqol=visqol,
                progress_bar=True,
            )
            summaries[model_name] = summarize(results, conditions)
        tables.append(format_table(summaries))
    return "\n\n".join(tables)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of audio files")
    parser.add_argument(
        "--results-file", type=Path, default=REPOSITORY / "benchmarks" / "RESULTS.md"
    )
    parser.add_argument(
        "--visqol", action="store_true", help="also score ViSQOL (needs visqol-python; slow)"
    )
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as results_folder:
        tables = run_baselines(args.data, Path(results_folder), args.visqol)
    minutes = (time.perf_counter() - start) / 60
    print(tables)
    command = shlex.join(["python", "benchmarks/evaluation_baselines.py", *sys.argv[1:]])
    section = (
        f"{HEADING}\n\n"
        f"`{command}` — {args.data.name}: {len(list(args.data.glob('*.wav')))} files, "
        f"mono, 44.1 kHz; {minutes:.1f} min on {platform.processor() or platform.machine()} "
        f"(CPU).\n\n{tables}\n\n{TABLE_NOTE}\n\n{REFERENCE_FIGURES}\n"
    )
    write_section(args.results_file, section)


if __name__ == "__main__":
    main()
