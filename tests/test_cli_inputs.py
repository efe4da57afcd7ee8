"""The pure parts of `a2sb restore`: option values, input discovery, output names, summary."""

from pathlib import Path

import pytest
import torch

from a2sb.cli import build_parser
from a2sb.cli.console import Console
from a2sb.cli.devices import TORCH_DTYPES
from a2sb.cli.inputs import RestoreJob, plan_jobs
from a2sb.cli.model_choice import ModelChoice, load_pipeline
from a2sb.cli.option_values import parse_cutoff, parse_gap, parse_time
from a2sb.cli.restore_settings import settings_from_args
from a2sb.cli.summary import RestoreOutcome, format_summary
from a2sb.errors import A2SBInputError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("62.5", 62.5), ("1:02.5", 62.5), ("0:01:02.5", 62.5), ("2:00:00", 7200.0), (".5", 0.5)],
)
def test_parse_time_reads_seconds_and_colon_forms(text, seconds):
    assert parse_time(text) == seconds


@pytest.mark.parametrize("text", ["1:75", "1:60:00", "abc", "1:", "-3", ""])
def test_parse_time_refuses_what_is_not_a_time(text):
    with pytest.raises(A2SBInputError, match="keep them below 60|is not a time"):
        parse_time(text)


def test_parse_gap_reads_minutes_and_seconds():
    assert parse_gap("1:02.5-1:03") == (62.5, 63.0)
    assert parse_gap("10-12.25") == (10.0, 12.25)


@pytest.mark.parametrize("text", ["1-2-3", "12", "a-b", "1:2x-3"])
def test_parse_gap_refuses_malformed_gaps_with_an_example(text):
    with pytest.raises(A2SBInputError, match=r"is not START-END.*(1:02\.5|62\.5)"):
        parse_gap(text)


@pytest.mark.parametrize(
    ("text", "hz"), [("auto", None), ("8000", 8000.0), ("8k", 8000.0), ("7.5kHz", 7500.0)]
)
def test_parse_cutoff_reads_hz_and_k(text, hz):
    assert parse_cutoff(text) == hz


def test_parse_cutoff_refuses_words():
    with pytest.raises(A2SBInputError, match="not a frequency; give Hz"):
        parse_cutoff("high")


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_folder_search_mirrors_subfolders_and_skips_results_and_hidden(tmp_path):
    album = tmp_path / "album"
    _touch(album / "b.flac")
    _touch(album / "cd1" / "a.WAV")
    _touch(album / "b.a2sb.wav")
    _touch(album / ".hidden.wav")
    _touch(album / ".cache" / "c.wav")
    _touch(album / "notes.txt")
    jobs = plan_jobs([str(album)], tmp_path / "out", "flac")
    assert jobs == [
        RestoreJob(album / "b.flac", tmp_path / "out" / "b.a2sb.flac"),
        RestoreJob(album / "cd1" / "a.WAV", tmp_path / "out" / "cd1" / "a.a2sb.flac"),
    ]


def test_without_output_folder_results_go_next_to_inputs(tmp_path):
    song = _touch(tmp_path / "take 1.mp3")
    assert plan_jobs([str(song)], None, "wav") == [RestoreJob(song, tmp_path / "take 1.a2sb.wav")]


def test_glob_keeps_folders_below_its_fixed_part(tmp_path):
    _touch(tmp_path / "lib" / "x" / "one.ogg")
    _touch(tmp_path / "lib" / "y" / "two.ogg")
    _touch(tmp_path / "lib" / "y" / "two.a2sb.wav")
    jobs = plan_jobs([str(tmp_path / "lib" / "**" / "*.*")], tmp_path / "out", "wav")
    assert [job.output_path for job in jobs] == [
        tmp_path / "out" / "x" / "one.a2sb.wav",
        tmp_path / "out" / "y" / "two.a2sb.wav",
    ]


def test_a_file_reached_twice_is_restored_once(tmp_path):
    song = _touch(tmp_path / "album" / "song.wav")
    jobs = plan_jobs([str(song), str(tmp_path / "album")], tmp_path / "out", "wav")
    assert jobs == [RestoreJob(song, tmp_path / "out" / "song.a2sb.wav")]


def test_same_stem_from_two_folders_is_refused_up_front(tmp_path):
    first = _touch(tmp_path / "a" / "song.wav")
    second = _touch(tmp_path / "b" / "song.flac")
    with pytest.raises(A2SBInputError, match="would both be written to .*separate runs"):
        plan_jobs([str(first), str(second)], tmp_path / "out", "wav")


def test_same_relative_path_under_two_folders_is_refused(tmp_path):
    _touch(tmp_path / "a" / "song.wav")
    _touch(tmp_path / "b" / "song.wav")
    with pytest.raises(A2SBInputError, match="would both be written"):
        plan_jobs([str(tmp_path / "a"), str(tmp_path / "b")], tmp_path / "out", "wav")


def test_an_output_that_would_replace_an_input_is_refused(tmp_path):
    song = _touch(tmp_path / "song.wav")
    earlier_result = _touch(tmp_path / "song.a2sb.wav")
    with pytest.raises(A2SBInputError, match="never overwrites its input"):
        plan_jobs([str(song), str(earlier_result)], None, "wav")


def test_an_output_folder_that_is_a_file_is_refused(tmp_path):
    song = _touch(tmp_path / "song.wav")
    notes = _touch(tmp_path / "notes.txt")
    with pytest.raises(A2SBInputError, match="is a file; give a folder"):
        plan_jobs([str(song)], notes, "wav")
    with pytest.raises(A2SBInputError, match="is the input file"):
        plan_jobs([str(song)], song, "wav")  # -o naming the input file itself


def test_missing_path_empty_folder_and_empty_glob_are_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(A2SBInputError, match="does not exist; check the path"):
        plan_jobs([str(tmp_path / "nope.wav")], None, "wav")
    with pytest.raises(A2SBInputError, match="holds no wav, flac, ogg, mp3 files"):
        plan_jobs([str(tmp_path / "empty")], None, "wav")
    with pytest.raises(A2SBInputError, match="matches no wav, flac, ogg, mp3 file"):
        plan_jobs([str(tmp_path / "*.flac")], None, "wav")


def _settings(*options: str):
    return settings_from_args(build_parser().parse_args(["restore", "in.wav", *options]))


def test_gaps_make_the_task_inpainting_and_are_sorted():
    settings = _settings("--gap", "2-3", "--gap", "0:00.5-1")
    assert settings.task == "inpainting"
    assert settings.gaps == [(0.5, 1.0), (2.0, 3.0)]
    assert settings.pipeline_arguments(seed=1, input_rate=48000)["gaps"] == settings.gaps


def test_the_model_options_make_one_model_choice():
    assert _settings().model_choice == ModelChoice("a2sb-small")
    settings = _settings("--model", "a/b", "--dtype", "bf16", "--release-variant", "onesplit")
    assert settings.model_choice == ModelChoice("a/b", "onesplit", dtype="bf16")


def test_output_rate_input_uses_the_files_rate():
    settings = _settings("--output-rate", "input", "--cutoff", "8k")
    arguments = settings.pipeline_arguments(seed=1, input_rate=48000)
    assert arguments["output_sampling_rate"] == 48000
    assert arguments["cutoff_hz"] == 8000.0
    assert arguments["task"] == "bandwidth_extension"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--cutoff", "30000"], "cutoff 30000 Hz is outside .*choose a cutoff between 0 and 22050"),
        (["--cutoff", "0"], "cutoff 0 Hz is outside"),
        (["--task", "bwe", "--gap", "1-2"], "--gap given for bandwidth .*; pass --task inpaint"),
        (["--task", "inpaint"], "inpainting needs at least one gap; pass --gap START-END"),
        (["--gap", "1-2", "--cutoff", "30k"], "cutoff 30000 Hz is outside .*between 0 and 22050"),
        (["--gap", "3-2"], "reversed or empty; give its start before its end"),
        (["--gap", "1-3", "--gap", "2-4"], "overlap; merge them"),
        (["--steps", "0"], "--steps 0 is below 1"),
        (["--output-format", "flac", "--bit-depth", "32f"], "32f needs --output-format wav"),
        (["--model", "/no/such/model"], "no such folder; check the path, or give a Hub id"),
        (["--model", "./model"], "no such folder"),
    ],
)
def test_contradicting_or_out_of_range_options_are_refused(options, message):
    with pytest.raises(A2SBInputError, match=message):
        _settings(*options)


def test_summary_lists_each_file_then_the_totals():
    results = [
        RestoreOutcome("a.wav", "out/a.a2sb.wav", "restored", "cutoff 8000 Hz, 1.0 s"),
        RestoreOutcome("b.wav", "out/b.a2sb.wav", "skipped", "out/b.a2sb.wav exists"),
        RestoreOutcome("c.wav", "out/c.a2sb.wav", "failed", "cannot read c.wav"),
    ]
    assert format_summary(results).splitlines() == [
        "restored  a.wav → out/a.a2sb.wav (cutoff 8000 Hz, 1.0 s)",
        "skipped   b.wav: out/b.a2sb.wav exists",
        "failed    c.wav: cannot read c.wav",
        "3 files: 1 restored, 1 skipped, 1 failed",
    ]


@pytest.mark.parametrize(("dtype", "warned"), [("fp16", True), ("bf16", False), ("fp32", False)])
def test_fp16_on_the_cpu_is_loaded_with_a_warning(model_dir, capsys, dtype, warned):
    pipeline = load_pipeline(
        ModelChoice(model_dir, dtype=dtype), torch.device("cpu"), Console(quiet=True)
    )
    assert pipeline.unet.dtype == TORCH_DTYPES[dtype]
    warning = "warning: --dtype fp16 on the CPU runs torch's slow half-precision kernels"
    assert (warning in capsys.readouterr().err) == warned
