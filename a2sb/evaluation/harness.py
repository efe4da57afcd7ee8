"""Evaluate a restorer over a folder of audio files, condition by condition, resumably.

For every file and condition: load the ground truth (resampled to 44.1 kHz; mixed to mono, or
all channels kept), degrade it with the protocol, call the restorer with
`(degraded, 44100, task_info)`, time it, and score the output against the ground truth. Each
result is written to a JSON file as soon as it exists; a rerun with the same file skips the
(file, condition) pairs already there.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from tqdm.auto import tqdm

from a2sb.errors import A2SBInputError
from a2sb.evaluation.bandwidth import estimate_bandwidth_hz, read_manifest_bandwidths
from a2sb.evaluation.metrics import (
    N_FFT,
    frequency_bins,
    log_spectral_distance,
    magnitude_spectrogram,
    scale_invariant_spectrogram_snr,
)
from a2sb.evaluation.protocol import (
    Condition,
    Restorer,
    TaskInfo,
    check_condition,
    degrade_for_condition,
    gap_frames,
)
from a2sb.evaluation.visqol import visqol_api, visqol_moslqo
from a2sb.io.atomic_output import check_writable, write_bytes_atomically
from a2sb.io.audio import AUDIO_EXTENSIONS, load_audio, resample, to_mono
from a2sb.io.audio_files import audio_files_in

EVALUATION_RATE = 44100
"""Every file is evaluated at this rate (the rate of the models and of the paper)."""

ChannelMode = Literal["mono", "all"]
"""How files with several channels are evaluated: "mono" mixes them down before degrading;
"all" hands every channel to the restorer (`[channels, samples]`) and averages the metrics."""


@dataclass(frozen=True)
class FileScores:
    """The scores of one restoration: one file under one condition.

    Attributes:
        file: path relative to the data folder, with `/`.
        condition: `Condition.name`, e.g. `bwe-4000Hz`.
        bandwidth_hz: the ground truth's bandwidth (manifest `bw60_hz` or an estimate).
        lsd: LSD (eq. 21) over all bins and frames.
        lsd_in_bandwidth: LSD over the bins at or below `bandwidth_hz`.
        lsd_missing: LSD over what the degradation removed: the gap frames (all bins) for
            inpainting; the bins above the cutoff up to `bandwidth_hz` for bandwidth extension
            (None when the file holds nothing above the cutoff).
        sispec: SiSpec (eq. 22) in dB over all bins and frames.
        seconds: wall time of the restorer call.
        visqol: ViSQOL MOS-LQO, when asked for.
    """

    file: str
    condition: str
    bandwidth_hz: float
    lsd: float
    lsd_in_bandwidth: float
    lsd_missing: float | None
    sispec: float
    seconds: float
    visqol: float | None = None


def find_evaluation_files(folder: str | os.PathLike) -> list[Path]:
    """The files an evaluation scores: `a2sb.io.audio_files.audio_files_in(folder)`, refused
    when there is none.

    Raises:
        A2SBInputError: the folder does not exist, is a file, or holds no audio file.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise A2SBInputError(f"data folder {folder} is a file; pass a folder of audio files")
    if not folder.is_dir():
        raise A2SBInputError(f"data folder {folder} does not exist; pass a folder of audio files")
    files = audio_files_in(folder)
    if not files:
        raise A2SBInputError(
            f"data folder {folder} holds no audio files ({', '.join(AUDIO_EXTENSIONS)}); "
            "pass a folder that does"
        )
    return files


def score(
    reference: np.ndarray,
    restored: np.ndarray,
    condition: Condition,
    task_info: TaskInfo,
    bandwidth_hz: float,
    device: torch.device | str = "cpu",
) -> dict[str, float | None]:
    """LSD (full band, within the bandwidth, over the missing part) and SiSpec of a restoration.

    Args:
        reference: ground truth, float32 `[channels, samples]` at 44.1 kHz.
        restored: the restorer's output, same shape.
        condition: the condition the input was degraded with.
        task_info: what the restorer was told (its gaps give the gap frames).
        bandwidth_hz: the ground truth's bandwidth.
        device: where the spectrograms are computed.

    Returns:
        `{"lsd", "lsd_in_bandwidth", "lsd_missing", "sispec"}`, each averaged over channels.
    """
    reference_magnitude = magnitude_spectrogram(torch.from_numpy(reference).to(device))
    restored_magnitude = magnitude_spectrogram(torch.from_numpy(restored).to(device))
    pair = (reference_magnitude, restored_magnitude)
    in_bandwidth = frequency_bins(N_FFT, EVALUATION_RATE, up_to_hz=bandwidth_hz, device=device)
    if condition.task == "inpainting":
        missing_frames = gap_frames(task_info.gaps, reference.shape[-1], EVALUATION_RATE)
        lsd_missing = log_spectral_distance(*pair, frames=missing_frames).mean().item()
    else:
        missing_bins = frequency_bins(
            N_FFT, EVALUATION_RATE, condition.cutoff_hz, bandwidth_hz, device=device
        )
        lsd_missing = (
            log_spectral_distance(*pair, bins=missing_bins).mean().item()
            if missing_bins.any()
            else None
        )
    return {
        "lsd": log_spectral_distance(*pair).mean().item(),
        "lsd_in_bandwidth": log_spectral_distance(*pair, bins=in_bandwidth).mean().item(),
        "lsd_missing": lsd_missing,
        "sispec": scale_invariant_spectrogram_snr(*pair).mean().item(),
    }


def evaluate(
    restorer: Restorer,
    model_name: str,
    data_folder: str | os.PathLike,
    conditions: Sequence[Condition],
    results_path: str | os.PathLike,
    channels: ChannelMode = "mono",
    limit: int | None = None,
    device: torch.device | str = "cpu",
    visqol: bool = False,
    progress_bar: bool = False,
    restorer_settings: dict | None = None,
) -> list[FileScores]:
    """Run `restorer` on every file of `data_folder` under every condition, resumably.

    Bandwidths come from `data_folder/manifest.csv` (`bw60_hz`) where it lists the file, else
    from `estimate_bandwidth_hz`. After each restoration the results file is rewritten
    atomically; pairs it already holds are not run again, so an interrupted evaluation resumes.

    Args:
        restorer: `(degraded [channels, samples], 44100, task_info)` → restored, same shape.
        model_name: recorded in the results file; a rerun must name the same model.
        data_folder: folder of audio files (searched recursively).
        conditions: tasks with their cutoff or gap length.
        results_path: the JSON results file, created or resumed.
        channels: "mono" (mix down) or "all" (keep every channel).
        limit: evaluate only the first `limit` files (sorted by path).
        device: where the metrics are computed.
        visqol: also score ViSQOL (needs the optional package `visqol-python`; slow).
        progress_bar: show a tqdm bar over (file, condition) pairs.
        restorer_settings: what else sets the restorer's output (a model's steps and seed);
            recorded with the results, so that a rerun with other values does not resume them.

    Returns:
        The results of these files under these conditions, new and resumed, file by file.

    Raises:
        A2SBWriteError: the results file cannot be written (checked before the first
            restoration); the results saved before are kept.
    """
    for condition in conditions:
        check_condition(condition, EVALUATION_RATE)
    if visqol:
        visqol_api()
    data_folder = Path(data_folder)
    files = find_evaluation_files(data_folder)[:limit]
    results_path = Path(results_path)
    settings = {"channels": channels, "visqol": visqol, **(restorer_settings or {})}
    done = {
        (result.file, result.condition): result
        for result in load_results(results_path, model_name, settings)
    }
    check_writable(results_path)  # before the first restoration, not after it
    manifest_bandwidths = read_manifest_bandwidths(data_folder)
    with tqdm(total=len(files) * len(conditions), disable=not progress_bar, unit="run") as bar:
        for path in files:
            name = path.relative_to(data_folder).as_posix()
            pending = [c for c in conditions if (name, c.name) not in done]
            bar.update(len(conditions) - len(pending))
            if not pending:
                continue
            reference = _load_reference(path, channels)
            bandwidth_hz = manifest_bandwidths.get(name) or estimate_bandwidth_hz(
                torch.from_numpy(reference), EVALUATION_RATE
            )
            for condition in pending:
                bar.set_postfix_str(f"{name} {condition.name}", refresh=False)
                done[(name, condition.name)] = _restore_and_score(
                    restorer, reference, name, condition, bandwidth_hz, device, visqol
                )
                save_results(results_path, model_name, settings, list(done.values()))
                bar.update()
    names = [path.relative_to(data_folder).as_posix() for path in files]
    return [done[(name, c.name)] for name in names for c in conditions]


def load_results(path: Path, model_name: str, settings: dict) -> list[FileScores]:
    """The results already in `path` (none if it does not exist).

    Args:
        path: the results file.
        model_name: the model being evaluated.
        settings: `{"channels": ..., "visqol": ..., **restorer_settings}` of this run.

    Raises:
        A2SBInputError: the file is not a results file, or holds results of another model or
            made with other settings.
    """
    if not path.exists():
        return []
    try:
        content = json.loads(path.read_text())
        results = [FileScores(**result) for result in content["results"]]
        saved_model, saved_settings = content["model"], content["settings"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise A2SBInputError(
            f"{path} is not an a2sb evaluation results file ({error}); choose another --output"
        ) from error
    if (saved_model, saved_settings) != (model_name, settings):
        raise A2SBInputError(
            f"{path} holds results of {saved_model} with {saved_settings}, not of {model_name} "
            f"with {settings}; choose another --output to start afresh"
        )
    return results


def save_results(path: Path, model_name: str, settings: dict, results: list[FileScores]) -> None:
    """Write the results file atomically (a crash, a kill or a full disk leaves the previous
    version intact).

    Raises:
        A2SBWriteError: the file could not be written; the message says why and what to do.
    """
    content = {
        "model": model_name,
        "settings": settings,
        "results": [asdict(result) for result in results],
    }
    write_bytes_atomically(path, json.dumps(content, indent=1).encode())


def _load_reference(path: Path, channels: ChannelMode) -> np.ndarray:
    """The ground truth at 44.1 kHz, `[1 or channels, samples]`."""
    waveform, sampling_rate = load_audio(path)
    waveform = resample(waveform, sampling_rate, EVALUATION_RATE)
    return to_mono(waveform) if channels == "mono" else waveform


def _restore_and_score(
    restorer: Restorer,
    reference: np.ndarray,
    name: str,
    condition: Condition,
    bandwidth_hz: float,
    device: torch.device | str,
    visqol: bool,
) -> FileScores:
    """Degrade `reference` `[channels, samples]`, restore it (timed), and score the result."""
    degraded, task_info = degrade_for_condition(reference, EVALUATION_RATE, condition)
    start = time.perf_counter()
    restored = np.asarray(restorer(degraded, EVALUATION_RATE, task_info), dtype=np.float32)
    seconds = time.perf_counter() - start
    if restored.shape != reference.shape:
        raise ValueError(
            f"the restorer returned shape {restored.shape} for {name}; it must return the "
            f"degraded input's shape {reference.shape}"
        )
    metrics = score(reference, restored, condition, task_info, bandwidth_hz, device)
    if visqol:
        metrics["visqol"] = visqol_moslqo(reference, restored, EVALUATION_RATE)
    return FileScores(name, condition.name, bandwidth_hz, **metrics, seconds=seconds)
