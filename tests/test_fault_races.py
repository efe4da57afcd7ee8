"""Races: two runs writing the same result at once, and an output folder removed while a result
is written. One complete result is left, no temporary, and the run that loses is told so in
one line."""

import errno
import os
import shutil
import threading

import numpy as np
import pytest
import soundfile
import torch
from test_cli_restore import QUICK

from a2sb.cli import main
from a2sb.errors import A2SBOutputExistsError, A2SBWriteError
from a2sb.io.atomic_output import own_partial_path, publish, refuse_existing
from a2sb.io.audio_stream import StreamedAudioWriter, streamed_output
from a2sb.pipelines import A2SBPipeline

RATE = 44100
QUIET = (0.1 * np.random.default_rng(0).standard_normal((2, 30000))).astype(np.float32)


def write_song(path, seconds=0.6, seed=0):
    rng = np.random.default_rng(seed)
    samples = (0.1 * rng.standard_normal((int(seconds * RATE), 2))).astype(np.float32)
    soundfile.write(path, samples, RATE, subtype="PCM_16")
    return path


def names(folder):
    return sorted(path.name for path in folder.iterdir())


def test_each_writer_has_its_own_partial_file(tmp_path):
    first, second = own_partial_path(tmp_path / "a.wav"), own_partial_path(tmp_path / "a.wav")
    assert first != second
    assert first.name.startswith(".a.partial-") and first.suffix == ".wav"


def test_a_result_that_may_not_replace_keeps_the_file_that_appeared(tmp_path):
    path, partial = tmp_path / "song.wav", tmp_path / ".song.partial-0.wav"
    path.write_bytes(b"the other run's result")
    partial.write_bytes(b"this run's result")
    with pytest.raises(A2SBOutputExistsError, match="written by another run while this one ran"):
        publish(partial, path, replace=False)
    assert path.read_bytes() == b"the other run's result"
    assert names(tmp_path) == ["song.wav"]


def test_a_result_that_may_not_replace_is_published_when_the_name_is_free(tmp_path):
    path, partial = tmp_path / "song.wav", tmp_path / ".song.partial-0.wav"
    partial.write_bytes(b"this run's result")
    publish(partial, path, replace=False)
    assert path.read_bytes() == b"this run's result"
    assert names(tmp_path) == ["song.wav"]


@pytest.mark.parametrize("taken", [False, True])
def test_without_hard_links_the_name_is_checked_before_the_rename(tmp_path, monkeypatch, taken):
    def no_links(source, target):
        raise OSError(errno.EPERM, "Operation not permitted")  # what FAT answers

    monkeypatch.setattr(os, "link", no_links)
    path, partial = tmp_path / "song.wav", tmp_path / ".song.partial-0.wav"
    partial.write_bytes(b"this run's result")
    if taken:
        path.write_bytes(b"the other run's result")
        with pytest.raises(A2SBOutputExistsError):
            publish(partial, path, replace=False)
    else:
        publish(partial, path, replace=False)
    expected = b"the other run's result" if taken else b"this run's result"
    assert path.read_bytes() == expected
    assert names(tmp_path) == ["song.wav"]


def test_an_existing_result_is_refused_before_any_work(tmp_path):
    (tmp_path / "song.wav").write_bytes(b"kept")
    with pytest.raises(A2SBOutputExistsError, match="exists; pass overwrite=True"):
        refuse_existing(tmp_path / "song.wav")
    refuse_existing(tmp_path / "other.wav")  # a free name passes


@pytest.mark.parametrize("replace", [True, False])
def test_two_streamed_writers_of_one_path_never_mix(tmp_path, replace):
    path = tmp_path / "song.wav"
    with streamed_output(path, RATE, 2, "32f", replace=replace) as first:
        first.write(QUIET)
        with streamed_output(path, RATE, 2, "32f", replace=replace) as second:
            second.write(-QUIET)
        assert soundfile.read(path, always_2d=True)[0].T == pytest.approx(-QUIET)
        if not replace:
            with pytest.raises(A2SBOutputExistsError):
                first.close()
            first.close = lambda: None  # the `with` closes it once more on the way out
    expected = QUIET if replace else -QUIET  # the last to finish, or the first
    assert soundfile.read(path, always_2d=True)[0].T == pytest.approx(expected)
    assert names(tmp_path) == ["song.wav"]


def test_two_restores_of_one_file_at_once_leave_one_complete_result(tmp_path, model_dir):
    song = write_song(tmp_path / "song.wav")
    pipeline = A2SBPipeline.from_pretrained(model_dir)
    outcomes = {}

    def restore(seed):
        try:
            pipeline.restore_file(
                song,
                tmp_path / "out" / "song.a2sb.wav",
                cutoff_hz=4000,
                num_inference_steps=2,
                window_frames=32,
                hop_frames=32,
                generator=torch.Generator().manual_seed(seed),
                overwrite=False,
            )
            outcomes[seed] = "restored"
        except A2SBOutputExistsError as error:
            outcomes[seed] = str(error)

    threads = [threading.Thread(target=restore, args=(seed,)) for seed in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [seed for seed, outcome in outcomes.items() if outcome == "restored"]
    assert len(winners) == 1, outcomes
    (loser,) = set(outcomes) - set(winners)
    assert "song.a2sb.wav" in outcomes[loser] and "pass overwrite=True" in outcomes[loser]
    assert names(tmp_path / "out") == ["song.a2sb.wav"]  # no partial file of either run
    alone = tmp_path / "alone.wav"
    pipeline.restore_file(
        song,
        alone,
        cutoff_hz=4000,
        num_inference_steps=2,
        window_frames=32,
        hop_frames=32,
        generator=torch.Generator().manual_seed(winners[0]),
    )
    assert (tmp_path / "out" / "song.a2sb.wav").read_bytes() == alone.read_bytes()


def during_the_first_write(monkeypatch, action):
    """Run `action(writer)` once, when the restoration writes its first block."""
    original = StreamedAudioWriter.write
    done = []

    def write(writer, block):
        if not done:
            done.append(True)
            action(writer)
        original(writer, block)

    monkeypatch.setattr(StreamedAudioWriter, "write", write)


def test_the_command_line_keeps_a_result_another_run_wrote_meanwhile(
    tmp_path, model_dir, monkeypatch, capsys
):
    song = write_song(tmp_path / "song.wav")
    out = tmp_path / "out"
    other = b"RIFF the other run's result"
    during_the_first_write(monkeypatch, lambda writer: writer.path.write_bytes(other))

    code = main(["restore", str(song), "-o", str(out), "--model", model_dir, "--cutoff", "4k",
                 "-q", *QUICK])  # fmt: skip

    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[0] == (
        f"skipped   {song}: {out / 'song.a2sb.wav'} was written by another run while this one "
        "ran (that result is kept, this one dropped); pass --overwrite to replace it"
    )
    assert (out / "song.a2sb.wav").read_bytes() == other
    assert names(out) == ["song.a2sb.wav"]


def test_with_overwrite_the_last_run_to_finish_replaces_the_other(
    tmp_path, model_dir, monkeypatch, capsys
):
    song = write_song(tmp_path / "song.wav")
    out = tmp_path / "out"
    during_the_first_write(monkeypatch, lambda writer: writer.path.write_bytes(b"other"))

    code = main(["restore", str(song), "-o", str(out), "--model", model_dir, "--cutoff", "4k",
                 "-q", "--overwrite", *QUICK])  # fmt: skip

    assert code == 0
    assert soundfile.info(out / "song.a2sb.wav").frames == soundfile.info(song).frames
    assert names(out) == ["song.a2sb.wav"]


def test_an_output_folder_removed_while_restoring_fails_that_file_in_one_line(
    tmp_path, model_dir, monkeypatch, capsys
):
    song = write_song(tmp_path / "song.wav")
    before = song.read_bytes()
    out = tmp_path / "out"
    during_the_first_write(monkeypatch, lambda writer: shutil.rmtree(out))

    code = main(["restore", str(song), "-o", str(out), "--model", model_dir, "--cutoff", "4k",
                 "-q", *QUICK])  # fmt: skip

    captured = capsys.readouterr()
    assert code == 1
    assert captured.out.splitlines()[0] == (
        f"failed    {song}: cannot write {out / 'song.a2sb.wav'}: its folder was removed while "
        "it was being written; leave the output folder in place, and run again"
    )
    assert "Traceback" not in captured.err
    assert not out.exists()  # nothing recreated it behind the person's back
    assert song.read_bytes() == before


def test_the_library_says_the_same_for_a_folder_removed_while_writing(tmp_path):
    folder = tmp_path / "out"
    with pytest.raises(A2SBWriteError, match="its folder was removed while it was being written"):
        with streamed_output(folder / "song.wav", RATE, 2, "16") as writer:
            writer.write(QUIET)
            shutil.rmtree(folder)
    assert not folder.exists()
