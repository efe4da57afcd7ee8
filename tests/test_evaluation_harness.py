import errno
import json

import numpy as np
import pytest
import torch
from faults import fail_fsync_with, no_space_message, tmpfs
from synth import synth_music

from a2sb.errors import A2SBInputError, A2SBWriteError
from a2sb.evaluation import (
    Condition,
    estimate_bandwidth_hz,
    evaluate,
    find_evaluation_files,
    format_table,
    summarize,
)
from a2sb.evaluation.protocol import remove_band
from a2sb.io import atomic_output
from a2sb.io.audio import save_audio

RATE = 44100
BWE_4K = Condition("bandwidth_extension", cutoff_hz=4000)
GAP_300MS = Condition("inpainting", gap_s=0.3)


class CountingIdentity:
    """A restorer that returns its input and counts its calls."""

    def __init__(self):
        self.calls = []

    def __call__(self, degraded, sampling_rate, task_info):
        self.calls.append(task_info)
        return degraded


@pytest.fixture
def data_folder(tmp_path):
    folder = tmp_path / "music"
    save_audio(folder / "a.wav", synth_music(3 * RATE, seed=10), RATE)
    save_audio(folder / "sub" / "b.flac", synth_music(3 * RATE, channels=2, seed=11), RATE)
    (folder / "notes.txt").write_text("not audio")
    return folder


def test_finds_audio_files_recursively_in_order(data_folder):
    names = [
        path.relative_to(data_folder).as_posix() for path in find_evaluation_files(data_folder)
    ]
    assert names == ["a.wav", "sub/b.flac"]


def test_every_pair_is_run_once_and_a_rerun_skips_them(data_folder, tmp_path):
    results_path = tmp_path / "results.json"
    restorer = CountingIdentity()
    results = evaluate(restorer, "identity", data_folder, [BWE_4K, GAP_300MS], results_path)
    assert len(restorer.calls) == 4
    assert [(r.file, r.condition) for r in results] == [
        ("a.wav", "bwe-4000Hz"),
        ("a.wav", "inpainting-300ms"),
        ("sub/b.flac", "bwe-4000Hz"),
        ("sub/b.flac", "inpainting-300ms"),
    ]
    assert restorer.calls[1].gaps == ((2.35, 2.65),)

    rerun = CountingIdentity()
    again = evaluate(rerun, "identity", data_folder, [BWE_4K, GAP_300MS], results_path)
    assert rerun.calls == []
    assert again == results

    more = CountingIdentity()
    evaluate(
        more, "identity", data_folder, [BWE_4K, Condition("inpainting", gap_s=0.5)], results_path
    )
    assert len(more.calls) == 2
    assert len(json.loads(results_path.read_text())["results"]) == 6


def test_identity_scores_perfectly_outside_what_is_missing(data_folder, tmp_path):
    results = evaluate(
        CountingIdentity(), "identity", data_folder, [GAP_300MS], tmp_path / "r.json"
    )
    for result in results:
        assert result.lsd_missing > 5  # silence in the gap against music
        assert 0 < result.lsd < result.lsd_missing
        assert result.seconds >= 0


def test_manifest_bandwidth_is_used_and_limits_lsd(data_folder, tmp_path):
    (data_folder / "manifest.csv").write_text("file,bw60_hz\na.wav,8000\n")
    results = evaluate(CountingIdentity(), "identity", data_folder, [BWE_4K], tmp_path / "r.json")
    assert results[0].bandwidth_hz == 8000
    assert results[1].bandwidth_hz > 15000  # estimated: the synthetic clicks reach Nyquist
    assert results[0].lsd_in_bandwidth < results[0].lsd


def test_results_of_another_model_are_not_resumed(data_folder, tmp_path):
    results_path = tmp_path / "r.json"
    evaluate(CountingIdentity(), "identity", data_folder, [BWE_4K], results_path, limit=1)
    with pytest.raises(
        A2SBInputError, match="holds results of identity .* choose another --output"
    ):
        evaluate(CountingIdentity(), "baseline:sbr", data_folder, [BWE_4K], results_path)


def test_a_restorer_that_changes_the_length_is_refused(data_folder, tmp_path):
    def shorter(degraded, sampling_rate, task_info):
        return degraded[:, :-1]

    with pytest.raises(ValueError, match="must return the degraded input's shape"):
        evaluate(shorter, "shorter", data_folder, [BWE_4K], tmp_path / "r.json")


def test_all_channels_reach_the_restorer_when_asked(data_folder, tmp_path):
    restorer = CountingIdentity()
    shapes = []

    def recording(degraded, sampling_rate, task_info):
        shapes.append(degraded.shape)
        return restorer(degraded, sampling_rate, task_info)

    evaluate(recording, "identity", data_folder, [BWE_4K], tmp_path / "r.json", channels="all")
    assert shapes == [(1, 3 * RATE), (2, 3 * RATE)]


def test_summary_and_table(data_folder, tmp_path):
    results = evaluate(CountingIdentity(), "identity", data_folder, [BWE_4K], tmp_path / "r.json")
    (summary,) = summarize(results, [BWE_4K])
    assert summary.count == 2
    assert summary.means["lsd"] == pytest.approx(np.mean([r.lsd for r in results]))
    table = format_table({"identity": [summary]})
    assert table.splitlines()[0].startswith("| model | condition | LSD")
    assert "| identity | bwe-4000Hz |" in table


def test_bandwidth_estimate_finds_a_lowpass():
    noise = np.random.default_rng(0).standard_normal((1, RATE)).astype(np.float32)
    estimate = estimate_bandwidth_hz(torch.from_numpy(remove_band(noise, RATE, 8000)), RATE)
    assert 7500 < estimate <= 8000


def test_a_read_only_results_folder_fails_before_any_restoration(data_folder, tmp_path):
    restorer = CountingIdentity()
    with tmpfs(tmp_path / "read-only", read_only=True) as folder:
        with pytest.raises(A2SBWriteError, match="the file system is read-only; write to another"):
            evaluate(restorer, "identity", data_folder, [BWE_4K], folder / "results.json")
    assert restorer.calls == []


def test_a_full_disk_while_saving_keeps_the_results_saved_before(
    data_folder, tmp_path, monkeypatch
):
    results_path = tmp_path / "results.json"
    evaluate(CountingIdentity(), "identity", data_folder, [BWE_4K], results_path, limit=1)
    saved = results_path.read_text()
    monkeypatch.setattr(atomic_output.os, "fsync", fail_fsync_with(errno.ENOSPC))
    with pytest.raises(A2SBWriteError) as raised:
        evaluate(CountingIdentity(), "identity", data_folder, [BWE_4K], results_path)
    assert str(raised.value) == no_space_message(results_path)
    assert results_path.read_text() == saved
    assert sorted(path.name for path in tmp_path.iterdir()) == ["music", "results.json"]
