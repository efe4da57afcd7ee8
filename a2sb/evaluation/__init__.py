"""Objective evaluation of restorations (paper §4.1): metrics, protocol, baselines, harness.

A restorer is any callable `(degraded [channels, samples], sampling_rate, task_info) →
restored`: a non-learned baseline from `BASELINES`, or a model wrapped the same way.
`evaluate` runs one over a folder of audio files under the paper's conditions and writes a
resumable JSON results file; `summarize` and `format_table` turn the results into a table.
"""

from a2sb.evaluation.bandwidth import estimate_bandwidth_hz, read_manifest_bandwidths
from a2sb.evaluation.baselines import (
    BASELINES,
    Baseline,
    crossfaded_copy,
    degraded_input,
    get_baseline,
    silence,
    spectral_band_replication,
)
from a2sb.evaluation.harness import (
    EVALUATION_RATE,
    ChannelMode,
    FileScores,
    evaluate,
    find_evaluation_files,
    score,
)
from a2sb.evaluation.metrics import (
    BandProfile,
    band_magnitude_profile,
    frequency_bins,
    log_spectral_distance,
    magnitude_spectrogram,
    phase_error_statistics,
    scale_invariant_spectrogram_snr,
)
from a2sb.evaluation.protocol import (
    BANDWIDTH_EXTENSION_CUTOFFS_HZ,
    GAP_PERIOD_S,
    INPAINTING_GAPS_S,
    Condition,
    Restorer,
    Task,
    TaskInfo,
    degrade_for_condition,
    gap_frames,
    protocol_gaps,
    remove_band,
)
from a2sb.evaluation.report import TABLE_NOTE, ConditionSummary, format_table, summarize

__all__ = [
    "BANDWIDTH_EXTENSION_CUTOFFS_HZ",
    "BASELINES",
    "EVALUATION_RATE",
    "GAP_PERIOD_S",
    "INPAINTING_GAPS_S",
    "TABLE_NOTE",
    "BandProfile",
    "Baseline",
    "ChannelMode",
    "Condition",
    "ConditionSummary",
    "FileScores",
    "Restorer",
    "Task",
    "TaskInfo",
    "band_magnitude_profile",
    "crossfaded_copy",
    "degrade_for_condition",
    "degraded_input",
    "estimate_bandwidth_hz",
    "evaluate",
    "find_evaluation_files",
    "format_table",
    "frequency_bins",
    "gap_frames",
    "get_baseline",
    "log_spectral_distance",
    "magnitude_spectrogram",
    "phase_error_statistics",
    "protocol_gaps",
    "read_manifest_bandwidths",
    "remove_band",
    "scale_invariant_spectrogram_snr",
    "score",
    "silence",
    "spectral_band_replication",
    "summarize",
]
