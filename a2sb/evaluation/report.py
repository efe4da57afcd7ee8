"""Per-condition means of evaluation results, and the table that shows them (as in the paper)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from a2sb.evaluation.harness import FileScores
from a2sb.evaluation.protocol import Condition

METRICS = ("lsd", "lsd_in_bandwidth", "lsd_missing", "sispec", "visqol", "seconds")
"""The `FileScores` fields that are averaged per condition."""


@dataclass(frozen=True)
class ConditionSummary:
    """The mean of every metric over the files of one condition.

    Attributes:
        condition: `Condition.name`.
        count: how many files were evaluated.
        means: `{metric: mean}` for each of `METRICS`; NaN where no file has a value.
    """

    condition: str
    count: int
    means: dict[str, float]


def summarize(
    results: Sequence[FileScores], conditions: Sequence[Condition]
) -> list[ConditionSummary]:
    """One summary per condition, in the order of `conditions`.

    A metric that is undefined for a file (`lsd_missing` of a file with nothing above the
    cutoff) is left out of that metric's mean.
    """
    summaries = []
    for condition in conditions:
        selected = [result for result in results if result.condition == condition.name]
        means = {}
        for metric in METRICS:
            values = [getattr(r, metric) for r in selected if getattr(r, metric) is not None]
            means[metric] = sum(values) / len(values) if values else math.nan
        summaries.append(ConditionSummary(condition.name, len(selected), means))
    return summaries


def format_table(summaries_by_model: Mapping[str, Sequence[ConditionSummary]]) -> str:
    """A markdown table, one row per model and condition: LSD (all, within the bandwidth,
    missing part), SiSpec, ViSQOL (where measured), file count and mean seconds per file.

    Args:
        summaries_by_model: `{model name: its summaries}`, rows in this order.
    """
    with_visqol = any(
        not math.isnan(summary.means["visqol"])
        for summaries in summaries_by_model.values()
        for summary in summaries
    )
    columns = ["model", "condition", "LSD ↓", "LSD ≤ bw ↓", "LSD missing ↓", "SiSpec (dB) ↑"]
    columns += ["ViSQOL ↑"] * with_visqol + ["files", "s/file"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for model_name, summaries in summaries_by_model.items():
        for summary in summaries:
            means = summary.means
            cells = [model_name, summary.condition, f"{means['lsd']:.3f}"]
            cells += [f"{means['lsd_in_bandwidth']:.3f}", f"{means['lsd_missing']:.3f}"]
            cells += [f"{means['sispec']:.2f}"] + [f"{means['visqol']:.3f}"] * with_visqol
            cells += [str(summary.count), f"{means['seconds']:.3f}"]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


TABLE_NOTE = (
    "LSD (eq. 21) and SiSpec (eq. 22) on |STFT| (n_fft 2048, hop 512, eps 1e-10 on power); "
    "LSD ≤ bw: bins up to each file's bandwidth (manifest bw60_hz or estimate); LSD missing: "
    "the gap frames (inpainting) or the bins above the cutoff up to the bandwidth (bandwidth "
    "extension)."
)
"""A line that explains the columns of `format_table`."""
