"""`a2sb restore` end to end, with a micro model on short synthetic files.

Each subprocess pays for importing torch and diffusers, so most runs go through `main` in this
process; the subprocess runs check what only a real command shows (no traceback, exit codes,
several processes).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image
from synth import write_band_limited

from a2sb.cli import main

REPO_ROOT = Path(__file__).resolve().parent.parent
TORCHRUN = Path(sys.executable).parent / "torchrun"
RATE = 44100
QUICK = ["--steps", "2", "--window-frames", "32", "--hop-frames", "32", "--window-batch-size", "8"]
"""Sampling options that keep the micro model to few calls per step on a 0.6 s file."""


def write_music(path: Path, channels: int = 1, rate: int = 44100, seed: int = 0) -> Path:
    """A 0.6 s excerpt, brick-walled at 4 kHz (so that a cutoff is there to detect: detection
    needs 0.5 s)."""
    return write_band_limited(path, 0.6, rate, channels, seed=seed)


def run_cli(*arguments: str, env: dict | None = None, launcher: list[str] | None = None):
    child_env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
    command = [*(launcher or [sys.executable]), "-m", "a2sb", *arguments]
    return subprocess.run(command, capture_output=True, text=True, env=child_env, timeout=300)


def test_file_folder_and_glob_with_a_corrupt_file_among_them(tmp_path, model_dir):
    stereo = write_music(tmp_path / "single.wav", channels=2)
    track = write_music(tmp_path / "album" / "cd1" / "track.flac", seed=1)
    loose = write_music(tmp_path / "loose" / "take.wav", seed=2)
    corrupt = tmp_path / "album" / "broken.wav"
    corrupt.write_bytes(b"RIFF\x00\x00not audio at all")
    inputs_before = {path: path.read_bytes() for path in (stereo, track, loose, corrupt)}
    out = tmp_path / "out"

    result = run_cli(
        "restore",
        str(stereo),
        str(tmp_path / "album"),
        str(tmp_path / "loose" / "*.wav"),
        "-o",
        str(out),
        "--model",
        model_dir,
        *QUICK,
    )

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    summary = result.stdout.splitlines()
    assert summary[-1] == "4 files: 3 restored, 0 skipped, 1 failed"
    assert any(line.startswith(f"failed    {corrupt}: cannot read") for line in summary)
    assert "detected bandwidth-extension cutoff" in result.stderr
    assert sorted(path.relative_to(out).as_posix() for path in out.rglob("*")) == [
        "cd1",
        "cd1/track.a2sb.wav",
        "single.a2sb.wav",
        "take.a2sb.wav",
    ]
    restored, rate = soundfile.read(out / "single.a2sb.wav", always_2d=True)
    assert rate == 44100 and restored.shape == (int(0.6 * 44100), 2)
    assert soundfile.info(str(out / "single.a2sb.wav")).subtype == "PCM_24"
    assert {path: path.read_bytes() for path in inputs_before} == inputs_before


def test_existing_results_are_skipped_unless_overwrite(tmp_path, model_dir, capsys):
    song = write_music(tmp_path / "song.wav")
    result = song.with_name("song.a2sb.wav")
    result.write_bytes(b"an earlier result")
    # fp32: with one thread, oneDNN's bf16 kernels (--dtype auto on an AVX-512 BF16 CPU) return
    # non-finite values on the micro model's narrow maps, and the guard's warning goes to stderr
    arguments = ["restore", str(song), "--model", model_dir, "--cutoff", "4k", "--dtype", "fp32"]
    arguments += QUICK

    assert main(arguments) == 0
    assert result.read_bytes() == b"an earlier result"
    assert "1 file: 0 restored, 1 skipped, 0 failed" in capsys.readouterr().out

    assert main([*arguments, "--overwrite", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "1 file: 1 restored, 0 skipped, 0 failed" in captured.out
    assert captured.err == ""
    assert soundfile.read(result)[0].shape == (int(0.6 * 44100),)
    assert not list(tmp_path.glob(".*partial*"))


def test_inpainting_at_the_input_rate_as_flac(tmp_path, model_dir, capsys):
    song = write_music(tmp_path / "song.wav", channels=2, rate=16000)
    code = main(
        ["restore", str(song), "--model", model_dir, "--gap", "0:00.1-0:00.15", *QUICK]
        + ["--output-rate", "input", "--output-format", "flac", "--bit-depth", "16", "-q"]
    )
    assert code == 0, capsys.readouterr()
    restored, rate = soundfile.read(tmp_path / "song.a2sb.flac", always_2d=True)
    assert rate == 16000 and restored.shape == (int(0.6 * 16000), 2)
    assert soundfile.info(str(tmp_path / "song.a2sb.flac")).subtype == "PCM_16"


def test_spectrogram_picture_beside_the_result(tmp_path, model_dir, capsys):
    song = write_music(tmp_path / "song.wav", rate=22050)
    arguments = ["restore", str(song), "--model", model_dir, "--spectrogram", "-q", *QUICK]
    assert main(arguments) == 0, capsys.readouterr()
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "song.a2sb.png",
        "song.a2sb.wav",
        "song.wav",
    ]
    with Image.open(tmp_path / "song.a2sb.png") as picture:
        assert picture.format == "PNG" and picture.width > 600


def test_spectrogram_without_matplotlib_stops_before_the_model_is_loaded(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    song = write_music(tmp_path / "song.wav")
    assert main(["restore", str(song), "--model", "no/such-model", "--spectrogram"]) == 2
    assert "need matplotlib, a dependency of a2sb missing" in _one_line_error(capsys)
    assert not song.with_name("song.a2sb.wav").exists()


def test_same_seed_gives_the_same_result(tmp_path, model_dir):
    song = write_music(tmp_path / "song.wav")
    outputs = []
    for run in ("first", "second"):
        output = tmp_path / run
        arguments = ["restore", str(song), "-o", str(output), "--model", model_dir, "-q"]
        arguments += ["--dtype", "fp32"]  # bit-identical reruns are promised in fp32 (docs/cli.md)
        assert main([*arguments, "--seed", "7", "--cutoff", "4000", *QUICK]) == 0
        outputs.append(soundfile.read(output / "song.a2sb.wav")[0])
    np.testing.assert_array_equal(*outputs)


def test_sampler_options_reach_the_pipeline(tmp_path, model_dir, capsys):
    song = write_music(tmp_path / "song.wav")
    sampling = ["--sampler", "dbim", "--eta", "0.2", "--steps", "3", "--windows", "shifted"]
    arguments = ["restore", str(song), "--model", model_dir, "--seed", "1", "--cutoff", "4000"]
    quick = ["--window-frames", "32", "--hop-frames", "16", "--window-batch-size", "8"]
    assert main([*arguments, *sampling, *quick]) == 0
    assert "sampling: dbim (eta 0.2), 3 steps, shifted windows" in capsys.readouterr().err


def test_unknown_sampler_is_a_usage_error(tmp_path, capsys):
    song = write_music(tmp_path / "song.wav")
    with pytest.raises(SystemExit) as stopped:
        main(["restore", str(song), "--sampler", "euler"])
    assert stopped.value.code == 2
    assert "invalid choice: 'euler'" in capsys.readouterr().err


def _one_line_error(capsys) -> str:
    error = capsys.readouterr().err
    assert error.startswith("a2sb: ") and error.count("\n") == 1, error
    return error


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--cutoff", "30000"], "choose a cutoff between 0 and 22050 Hz"),
        (["--gap", "1:2x-3"], "gap '1:2x-3' is not START-END"),
        (["--gap", "0.1-9"], "lasts 0.600 s; choose a gap between 0 and 0.600 s"),
        (["--task", "bwe", "--gap", "0.1-0.2"], "pass --task inpaint, or drop --gap"),
        (["--eta", "1.5"], "eta=1.5 must lie in [0, 1]"),
        (["--sampler", "i2sb", "--eta", "0.5"], "pass --sampler dbim, or drop --eta"),
        (["--steps", "0"], "--steps 0 is below 1"),
    ],
)
def test_bad_arguments_stop_before_the_model_is_loaded(tmp_path, capsys, options, message):
    song = write_music(tmp_path / "song.wav")
    not_a_model = str(tmp_path)  # loading it would fail with another message
    code = main(["restore", str(song), "--model", not_a_model, *options])
    assert code == 2
    assert message in _one_line_error(capsys)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_says_to_use_the_cpu(tmp_path, capsys):
    song = write_music(tmp_path / "song.wav")
    assert main(["restore", str(song), "--device", "cuda"]) == 2
    error = _one_line_error(capsys)
    assert "CUDA is not available" in error and "use --device cpu" in error


def test_no_inputs_found_is_an_argument_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["restore", str(tmp_path / "empty")]) == 2
    assert "holds no wav, flac, ogg, mp3 files" in _one_line_error(capsys)


def test_bad_argument_in_a_real_process_prints_one_line_and_no_traceback(tmp_path):
    song = write_music(tmp_path / "song.wav")
    result = run_cli("restore", str(song), "--cutoff", "30000")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("a2sb: cutoff 30000 Hz is outside")
    assert result.stderr.count("\n") == 1
    assert run_cli("restore", str(song), "--device", "tpu").returncode == 2


@pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun is not installed next to python")
def test_two_processes_share_the_files_without_doing_one_twice(tmp_path, model_dir):
    folder = tmp_path / "songs"
    for index in range(5):
        write_music(folder / f"song{index}.wav", seed=index)
    result = run_cli(
        "restore",
        str(folder),
        "-o",
        str(tmp_path / "out"),
        "--model",
        model_dir,
        "--cutoff",
        "4000",
        *QUICK,
        env={"ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"},
        launcher=[str(TORCHRUN), "--nproc_per_node", "2"],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    names = [f"song{index}" for index in range(5)]
    assert sorted(path.stem for path in (tmp_path / "out").iterdir()) == [
        f"{name}.a2sb" for name in names
    ]
    restored_lines = [line for line in result.stdout.splitlines() if line.startswith("restored")]
    assert sorted(line.split()[1] for line in restored_lines) == [
        str(folder / f"{name}.wav") for name in names
    ]
    started = re.findall(r"\[([12])/2\] \S+song(\d)\.wav → ", result.stderr)
    assert sorted(song for _, song in started) == ["0", "1", "2", "3", "4"]
    assert {process for process, _ in started} == {"1", "2"}
    assert result.stdout.splitlines()[-1] == "5 files: 5 restored, 0 skipped, 0 failed"


@pytest.mark.parametrize("name", ["out.wav", "Out.FLAC"])
def test_o_with_an_audio_extension_names_the_result_file(tmp_path, model_dir, capsys, name):
    """As with ffmpeg and sox, `-o out.wav` is the result itself, not a folder named out.wav."""
    song = write_music(tmp_path / "song.wav")
    result = tmp_path / "restored" / name
    arguments = ["restore", str(song), "-o", str(result), "--model", model_dir, "-q", *QUICK]
    assert main([*arguments, "--cutoff", "4k"]) == 0, capsys.readouterr()
    assert result.is_file()
    info = soundfile.info(result)
    assert info.format == name.rsplit(".", 1)[1].upper() and info.subtype == "PCM_24"
    assert sorted(path.name for path in result.parent.iterdir()) == [name]


@pytest.mark.parametrize(
    ("inputs", "output", "extra", "message"),
    [
        (["a.wav", "b.wav"], "out.wav", [], "-o .*out.wav names one file, but the inputs are 2"),
        (["."], "out.wav", [], "names one file, but the inputs are 2 audio files"),
        (["a.wav"], "out.mp3", [], "names a .mp3 file, but a2sb writes wav or flac"),
        (["a.wav"], "out.flac", ["--output-format", "wav"], "--output-format is wav; drop"),
        (["a.wav"], "a.wav", [], "output path a.wav is the input file a.wav"),
    ],
)
def test_o_naming_a_file_that_cannot_be_written_is_refused(
    tmp_path, monkeypatch, capsys, inputs, output, extra, message
):
    monkeypatch.chdir(tmp_path)
    for name in ("a.wav", "b.wav"):
        write_music(tmp_path / name)
    arguments = ["restore", *inputs, "-o", output, "--model", "no/such-model", *extra]
    assert main(arguments) == 2
    assert re.search(message, _one_line_error(capsys))


def test_an_unreadable_file_fails_once_and_before_any_model_loads(tmp_path, capsys):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00not audio at all")
    (tmp_path / "empty-model").mkdir()  # had it been loaded, the run would stop on that
    assert main(["restore", str(broken), "--model", str(tmp_path / "empty-model")]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        f"failed    {broken}: cannot read {broken} as audio (Format "
        "not recognised.); pass a wav, flac, ogg or mp3 file",
        "1 file: 0 restored, 0 skipped, 1 failed",
    ]
    assert "cannot read" not in captured.err  # said once, in the summary


def test_a_full_band_file_fails_before_any_model_loads_naming_the_option(tmp_path, capsys):
    """The library says `cutoff_hz`; the command line says its own option."""
    noise = tmp_path / "noise.wav"
    soundfile.write(noise, 0.1 * np.random.default_rng(0).standard_normal(RATE), RATE)
    (tmp_path / "empty-model").mkdir()  # had it been loaded, the run would stop on that
    assert main(["restore", str(noise), "--model", str(tmp_path / "empty-model"), "-q"]) == 1
    (failed,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("failed")]
    assert "give the cutoff explicitly (--cutoff HZ)" in failed and "cutoff_hz" not in failed


def test_the_page_says_its_cutoff_field_for_the_librarys_cutoff_hz():
    from a2sb.cli.page_restoration import in_page_words
    from a2sb.errors import A2SBInputError

    error = A2SBInputError(
        "no cutoff found: ...; give the cutoff explicitly (cutoff_hz) to replace it"
    )
    assert in_page_words(error).endswith("explicitly (the Cutoff field) to replace it")
