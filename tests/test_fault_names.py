"""File names of every kind the OS allows: bytes that are not UTF-8, newlines, names too long
for the file system, folders that link to themselves. Each is restored, or refused in one line,
without a traceback; the input is never touched."""

import os
from pathlib import Path

import pytest
import soundfile
from test_cli_restore import QUICK, write_music

from a2sb.cli import main
from a2sb.cli.console import printable
from a2sb.errors import A2SBWriteError
from a2sb.io.atomic_output import DEFAULT_NAME_MAX, check_name_length
from a2sb.io.audio import load_audio
from a2sb.pipelines import A2SBPipeline

LATIN1_NAME = b"caf\xe9"
"""`café` as Latin-1 bytes: a name copied from an old disk, not valid UTF-8."""


def latin1_song(folder: Path) -> Path:
    """A song whose name is not UTF-8 (skipped where the file system refuses such names)."""
    write_music(folder / "song.wav")
    path = Path(os.fsdecode(os.fsencode(folder) + b"/" + LATIN1_NAME + b".wav"))
    try:
        os.rename(folder / "song.wav", path)
    except OSError as error:
        pytest.skip(f"this file system refuses names that are not UTF-8 ({error})")
    return path


def test_printable_escapes_undecodable_bytes_and_controls_only():
    assert printable("restored  Motörhead – Ace.wav") == "restored  Motörhead – Ace.wav"
    assert printable(os.fsdecode(b"caf\xe9\n\x1b.wav")) == "caf\\xe9\\n\\x1b.wav"
    assert printable("a\u2028b\tc") == "a\\u2028b\\tc"


def test_a_name_that_is_not_utf8_restores_and_is_shown_escaped(tmp_path, model_dir, capsys):
    song = latin1_song(tmp_path)
    before = song.read_bytes()

    code = main(["restore", str(song), "--model", model_dir, "--cutoff", "4k", "-q", *QUICK])

    captured = capsys.readouterr()
    assert code == 0, captured
    result = os.fsencode(tmp_path) + b"/" + LATIN1_NAME + b".a2sb.wav"
    assert soundfile.info(result).frames == soundfile.info(os.fsencode(song)).frames
    assert song.read_bytes() == before
    escaped = str(tmp_path / "caf\\xe9")
    assert captured.out.splitlines()[0].startswith(f"restored  {escaped}.wav → {escaped}.a2sb.wav")


def test_the_library_reads_and_streams_a_name_that_is_not_utf8(tmp_path, model_dir):
    song = latin1_song(tmp_path)
    waveform, rate = load_audio(song)
    pipe = A2SBPipeline.from_pretrained(model_dir)
    result = song.with_name(song.stem + ".out.wav")
    pipe.restore_file(song, result, cutoff_hz=4000, num_inference_steps=2)
    assert load_audio(result)[0].shape == waveform.shape


def test_a_missing_file_with_a_newline_and_bad_bytes_is_one_line(tmp_path, capsys):
    missing = os.fsdecode(os.fsencode(tmp_path) + b"/new\nline\xe9.wav")
    assert main(["restore", missing, "--cutoff", "4k"]) == 2
    err = capsys.readouterr().err
    assert err == f"a2sb: {tmp_path}/new\\nline\\xe9.wav does not exist; check the path\n"


def test_a_name_with_a_newline_keeps_its_result_line_one_line(tmp_path, model_dir, capsys):
    song = write_music(tmp_path / "side a\ntrack 1.wav")
    code = main(["restore", str(song), "--model", model_dir, "--cutoff", "4k", "-q", *QUICK])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[0].startswith(f"restored  {tmp_path}/side a\\ntrack 1.wav → ")
    assert lines[1] == "1 file: 1 restored, 0 skipped, 0 failed"
    assert (tmp_path / "side a\ntrack 1.a2sb.wav").exists()


def test_a_result_name_too_long_is_refused_before_any_work(tmp_path, model_dir, capsys):
    song = write_music(tmp_path / f"{'x' * 245}.wav")  # its result would be 254 bytes
    code = main(["restore", str(song), "--model", model_dir, "--cutoff", "4k", *QUICK])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"a2sb: cannot write {tmp_path}/{'x' * 245}.a2sb.wav: its name is 254")
    assert err.endswith("over the 255 this file system allows; use a shorter file name\n")
    assert "loading" not in err  # refused before the model loads
    assert sorted(p.name for p in tmp_path.iterdir()) == [song.name]


def test_an_output_name_too_long_to_look_up_is_one_line(tmp_path, capsys):
    song = write_music(tmp_path / "song.wav")
    too_long = tmp_path / f"{'z' * 300}.wav"
    assert main(["restore", str(song), "-o", str(too_long), "--cutoff", "4k"]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"a2sb: {too_long}: the path is too long for the file system; use a shorter file "
        "name or folder\n"
    )


def test_the_longest_name_counts_the_temporary_written_beside_the_result(tmp_path):
    # ".NAME.partial-1f3a9c0e.wav.float32" is 26 bytes longer than "NAME.wav"
    check_name_length(tmp_path / f"{'a' * (DEFAULT_NAME_MAX - 30)}.wav")
    with pytest.raises(A2SBWriteError, match="needs 256, over the 255"):
        check_name_length(tmp_path / f"{'a' * (DEFAULT_NAME_MAX - 29)}.wav")


def test_a_folder_that_links_to_itself_is_searched_once(tmp_path, model_dir, capsys):
    album = tmp_path / "album"
    write_music(album / "a.wav")
    (album / "loop").symlink_to(album, target_is_directory=True)
    out = tmp_path / "out"
    code = main(
        ["restore", str(album), "-o", str(out), "--model", model_dir, "--cutoff", "4k"] + QUICK
    )
    assert code == 0, capsys.readouterr()
    assert [p.relative_to(out).as_posix() for p in out.rglob("*.wav")] == ["a.a2sb.wav"]
