"""`a2sb restore` under faults of the machine: a full disk, a read-only output folder, Ctrl-C
and SIGTERM, and inputs above full scale. No traceback, no half-written result, and a rerun
carries on where the interrupted run stopped."""

import errno
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
from faults import tmpfs
from test_cli_restore import QUICK, REPO_ROOT, write_music

from a2sb.cli import main
from a2sb.io import atomic_output

SLOWER = ["--steps", "8", "--window-frames", "32", "--hop-frames", "32", "--window-batch-size", "8"]
"""Eight model calls per 0.37 s of audio: a 1 s file takes a few seconds to restore."""


def test_a_read_only_output_folder_fails_each_file_in_one_line(tmp_path, model_dir, capsys):
    songs = [write_music(tmp_path / f"{name}.wav", seed=index) for index, name in enumerate("ab")]
    with tmpfs(tmp_path / "out", read_only=True) as out:
        code = main(["restore", *map(str, songs), "-o", str(out), "--model", model_dir, *QUICK])
        assert os.listdir(out) == []
    captured = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in captured.err
    for song in songs:
        line = (
            f"failed    {song}: cannot write {out / song.stem}.a2sb.wav: the file system is "
            "read-only; write to another folder"
        )
        assert line in captured.out.splitlines()
    assert captured.out.splitlines()[-1] == "2 files: 0 restored, 0 skipped, 2 failed"


def test_a_full_disk_fails_the_file_that_does_not_fit_and_goes_on(tmp_path, model_dir, capsys):
    songs = [write_music(tmp_path / f"{name}.wav", seed=index) for index, name in enumerate("abc")]
    # A 79 kB result is written through a 106 kB float temporary (clip mode rescale), so a file
    # needs 185 kB while it is written: two results fit in 300 kB (79 + 185), not three (343).
    with tmpfs(tmp_path / "out", size="300k") as out:
        code = main(["restore", *map(str, songs), "-o", str(out), "--model", model_dir, *QUICK])
        assert sorted(os.listdir(out)) == ["a.a2sb.wav", "b.a2sb.wav"]
    summary = capsys.readouterr().out.splitlines()
    assert code == 1
    assert summary[-1] == "3 files: 2 restored, 0 skipped, 1 failed"
    assert (
        f"failed    {songs[2]}: cannot write {out}/c.a2sb.wav: no space left on the "
        "device; free some space there, or write elsewhere" in summary
    )


def test_an_injected_no_space_error_fails_that_file_only(tmp_path, model_dir, capsys, monkeypatch):
    songs = [write_music(tmp_path / f"{name}.wav", seed=index) for index, name in enumerate("ab")]
    real_fsync, calls = os.fsync, []

    def fsync_failing_once(descriptor: int) -> None:
        calls.append(descriptor)
        if len(calls) == 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(descriptor)

    monkeypatch.setattr(atomic_output.os, "fsync", fsync_failing_once)
    out = tmp_path / "out"
    code = main(["restore", *map(str, songs), "-o", str(out), "--model", model_dir, *QUICK, "-q"])
    summary = capsys.readouterr().out.splitlines()
    assert code == 1
    assert summary[0] == (
        f"failed    {songs[0]}: cannot write {out}/a.a2sb.wav: no space left on the device; "
        "free some space there, or write elsewhere"
    )
    assert summary[-1] == "2 files: 1 restored, 0 skipped, 1 failed"
    assert os.listdir(out) == ["b.a2sb.wav"]


def hot_input(path: Path) -> Path:
    """A 32-bit float file peaking at 4.0, band-limited like `write_music`'s."""
    music = soundfile.read(write_music(path), dtype="float32")[0]
    soundfile.write(path, 4.0 * music / np.abs(music).max(), 44100, subtype="FLOAT")
    return path


def test_a_hot_float_input_is_rescaled_to_fit_24_bit_and_said_so(tmp_path, model_dir, capsys):
    song = hot_input(tmp_path / "hot.wav")
    assert main(["restore", str(song), "--model", model_dir, "--cutoff", "4k", *QUICK]) == 0
    restored, _ = soundfile.read(tmp_path / "hot.a2sb.wav")
    assert np.abs(restored).max() == pytest.approx(1.0, abs=1e-6)
    lines = [line for line in capsys.readouterr().err.splitlines() if "peaks at" in line]
    assert len(lines) == 1 and lines[0].startswith(f"{tmp_path / 'hot.a2sb.wav'} peaks at +1")
    assert "dBFS; the whole output, its kept band included, is 1" in lines[0]
    assert "(clip mode rescale;" in lines[0]


def test_clip_mode_error_fails_the_file_and_32f_keeps_the_level(tmp_path, model_dir, capsys):
    song = hot_input(tmp_path / "hot.wav")
    options = ["--model", model_dir, "--cutoff", "4k", *QUICK, "-q"]
    assert main(["restore", str(song), "--clip-mode", "error", *options]) == 1
    summary = capsys.readouterr().out.splitlines()
    assert summary[0].startswith(f"failed    {song}: {tmp_path / 'hot.a2sb.wav'} peaks at +1")
    assert summary[0].endswith("or 32-bit float output (--bit-depth 32f)")
    assert not (tmp_path / "hot.a2sb.wav").exists()

    assert main(["restore", str(song), "--clip-mode", "error", "--bit-depth", "32f", *options]) == 0
    assert np.abs(soundfile.read(tmp_path / "hot.a2sb.wav")[0]).max() > 2.0


def start_restore(
    arguments: list[str],
) -> tuple[subprocess.Popen, dict[str, float], threading.Thread]:
    """`python -m a2sb restore ...` in its own session; the thread returned gathers its stderr
    as `{line: time.monotonic() when it came}`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "a2sb", "restore", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        start_new_session=True,
    )
    lines: dict[str, float] = {}

    def read() -> None:
        for line in process.stderr:
            lines.setdefault(line, time.monotonic())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return process, lines, reader


def wait_for(lines: dict[str, float], marker: str, process: subprocess.Popen, timeout=120):
    deadline = time.monotonic() + timeout
    while not any(marker in line for line in lines):
        assert process.poll() is None, "".join(lines)
        assert time.monotonic() < deadline, "".join(lines)
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("signal_number", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)]
)
def test_a_signal_mid_restore_stops_cleanly_and_a_rerun_continues(
    tmp_path, model_dir, signal_number, exit_code
):
    first = write_music(tmp_path / "in" / "a.wav")
    long = tmp_path / "in" / "b.wav"
    # 5 s: long enough that on a quiet machine it is still being restored 0.5 s after it starts
    soundfile.write(long, np.tile(soundfile.read(first)[0], 20), 44100)
    write_music(tmp_path / "in" / "c.wav", seed=1)
    out = tmp_path / "out"
    arguments = [str(tmp_path / "in"), "-o", str(out), "--model", model_dir, "--cutoff", "4k"]
    process, lines, reader = start_restore([*arguments, *SLOWER])
    wait_for(lines, f"{long} → ", process)
    time.sleep(0.5)  # inside the restoration of b.wav
    process.send_signal(signal_number)
    sent = time.monotonic()
    process.wait(timeout=30)
    reader.join(timeout=10)
    stdout = process.stdout.read()
    stderr = "".join(lines)

    assert process.returncode == exit_code, stderr
    assert "Traceback" not in stderr
    message = "a2sb: interrupted: 1 of 3 files restored; rerun to continue\n"
    assert message in lines
    assert lines[message] - sent < 2.0  # stopped; the interpreter's exit takes a second more
    assert stdout == ""  # no summary: the one line says it all
    assert os.listdir(out) == ["a.a2sb.wav"]  # no partial file, nothing of b or c

    finished = (out / "a.a2sb.wav").read_bytes()
    assert main(["restore", *arguments, *QUICK, "-q"]) == 0
    assert sorted(os.listdir(out)) == ["a.a2sb.wav", "b.a2sb.wav", "c.a2sb.wav"]
    assert (out / "a.a2sb.wav").read_bytes() == finished  # skipped, not redone


def test_an_interruption_leaves_no_empty_output_folder_behind(tmp_path, model_dir, monkeypatch):
    from a2sb.cli import restore_batch
    from a2sb.cli.interruption import Interrupted
    from a2sb.io.atomic_output import check_writable

    def interrupted(pipeline, job, *args, **kwargs):  # Ctrl-C once the result's folder exists
        check_writable(job.output_path)
        raise Interrupted(signal.SIGINT)

    monkeypatch.setattr(restore_batch, "restore_one_file", interrupted)
    song = write_music(tmp_path / "song.wav")
    existing = tmp_path / "existing"
    existing.mkdir()
    out = existing / "new" / "deeper"
    assert main(["restore", str(song), "-o", str(out), "--model", model_dir, *QUICK]) == 130
    assert os.listdir(existing) == []  # the folders it made are gone, the one it found is kept
