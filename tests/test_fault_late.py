"""Faults far into a long stream, after the result has started to be written: the result is
never left under its final name, the partial file is removed, and the message says where in
the file (in seconds) the fault is."""

import numpy as np
import pytest
import soundfile
from test_cli_restore import QUICK

from a2sb.cli import main
from a2sb.errors import A2SBInputError
from a2sb.io.audio import load_audio

RATE = 44100


def noise(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (0.1 * rng.standard_normal((int(seconds * RATE), 2))).astype(np.float32)


@pytest.mark.parametrize("bad_value", [np.nan, np.inf])
def test_a_bad_sample_far_into_a_file_fails_it_and_says_where(
    bad_value, tmp_path, model_dir, capsys
):
    samples = noise(4.0)
    samples[int(3.25 * RATE) + 3, 1] = bad_value
    song = tmp_path / "song.wav"
    soundfile.write(song, samples, RATE, subtype="FLOAT")

    code = main(["restore", str(song), "--model", model_dir, "--cutoff", "4k", "-q", *QUICK])

    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[0] == (
        f"failed    {song}: {song} contains NaN or infinite samples (the first at 3.250 s); "
        "repair or re-export the file"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.wav"]  # no partial, no result


def test_a_file_cut_short_fails_where_it_stops(tmp_path, model_dir, capsys):
    song = tmp_path / "song.wav"
    soundfile.write(song, noise(4.0), RATE, subtype="PCM_16")
    whole = song.read_bytes()
    song.write_bytes(whole[: len(whole) // 2])  # the header still promises 4 s

    code = main(["restore", str(song), "--model", model_dir, "--cutoff", "4k", "-q", *QUICK])

    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[0].startswith(
        f"failed    {song}: cannot read {song} to the end: it stops after 2.0 s"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.wav"]


def test_a_file_cut_short_is_refused_when_read_whole(tmp_path):
    song = tmp_path / "song.wav"
    soundfile.write(song, noise(4.0), RATE, subtype="PCM_16")
    whole = song.read_bytes()
    song.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(A2SBInputError, match=r"it stops after 2\.0 s of the 4\.0 s its header"):
        load_audio(song)


def test_evaluate_stops_at_a_file_cut_short_and_says_where(tmp_path, capsys):
    data = tmp_path / "music"
    data.mkdir()
    song = data / "song.wav"
    soundfile.write(song, noise(4.0), RATE, subtype="PCM_16")
    song.write_bytes(song.read_bytes()[: song.stat().st_size // 2])
    argv = ["evaluate", "--model", "baseline:sbr", "--data", str(data), "--task", "bwe"]
    assert main([*argv, "--cutoffs", "4000", "--output", str(tmp_path / "r.json")]) == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith(f"a2sb: cannot read {song} to the end: it stops after 2.0 s")
    assert not (tmp_path / "r.json").exists()
