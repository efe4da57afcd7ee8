"""Numeric junk in every numeric option and API argument: NaN, infinities, 1e309, negative
zero, huge step counts and seeds. Each is refused in one line before any model loads."""

import contextlib
import math

import numpy as np
import pytest
from test_cli_restore import write_music

from a2sb.cli import main
from a2sb.errors import A2SBInputError
from a2sb.pipelines import A2SBPipeline
from a2sb.schedulers import scheduler_classes

CLI_JUNK = {
    ("--cutoff", "nan"): "--cutoff 'nan' is not a frequency",
    ("--cutoff", "inf"): "--cutoff 'inf' is not a frequency",
    ("--cutoff", "1e309"): "--cutoff '1e309' is not a frequency",
    ("--cutoff", "-0"): "--cutoff '-0' is not a frequency",
    ("--gap", "nan-1"): "gap 'nan-1' is not START-END: 'nan' is not a time",
    ("--gap", "0.1-inf"): "gap '0.1-inf' is not START-END: 'inf' is not a time",
    ("--steps", "5000"): "--steps 5000 is above 1000; give 1000 or less",
    ("--seed", str(2**64)): f"--seed {2**64} is above {2**64 - 1}; give {2**64 - 1} or less",
    ("--seed", "1e309"): "argument --seed: invalid int value: '1e309'",
    ("--window-batch-size", "nan"): "argument --window-batch-size: invalid int value: 'nan'",
}

USAGE_ERRORS = {("--seed", "1e309"), ("--window-batch-size", "nan")}
"""Not integers at all: argparse's usage error, one line, exit code 2."""


@pytest.mark.parametrize("option", CLI_JUNK, ids=" ".join)
def test_the_command_line_refuses_junk_in_one_line(option, tmp_path, capsys):
    song = write_music(tmp_path / "song.wav")
    empty_model = tmp_path / "empty-model"  # had it been loaded, the run would stop on that
    empty_model.mkdir()
    cutoff = [] if option[0] in ("--cutoff", "--gap") else ["--cutoff", "4k"]
    arguments = ["restore", str(song), *option, *cutoff, "--model", str(empty_model)]
    with pytest.raises(SystemExit) if option in USAGE_ERRORS else contextlib.nullcontext():
        assert main(arguments) == 2
    err = capsys.readouterr().err
    assert err.startswith("a2sb: ") and err.count("\n") == 1
    assert CLI_JUNK[option] in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty-model", "song.wav"]


@pytest.mark.parametrize("scheduler_class", scheduler_classes())
@pytest.mark.parametrize("steps", [0, 1001, 10**9])
def test_schedulers_refuse_step_counts_outside_one_to_a_thousand(scheduler_class, steps):
    with pytest.raises(A2SBInputError, match=r"must lie in \[1, 1000\]"):
        scheduler_class().set_timesteps(steps)
    scheduler_class().set_timesteps(1000)  # the largest allowed still works


@pytest.mark.parametrize(
    "arguments",
    [
        ({"cutoff_hz": math.nan}, "cutoff"),
        ({"cutoff_hz": math.inf}, "cutoff"),
        ({"cutoff_hz": -0.0}, "cutoff"),
        (
            {"task": "inpainting", "gaps": [(math.nan, 0.1)]},
            "gap nan-0.1 s is not a pair of finite",
        ),
        (
            {"task": "inpainting", "gaps": [(0.1, math.inf)]},
            "gap 0.1-inf s is not a pair of finite",
        ),
    ],
    ids=["cutoff nan", "cutoff inf", "cutoff -0", "gap nan", "gap inf"],
)
def test_the_pipeline_refuses_junk_arguments(arguments, model_dir):
    arguments, expected = arguments
    pipe = A2SBPipeline.from_pretrained(model_dir)
    audio = np.zeros((1, 44100), dtype=np.float32)
    with pytest.raises(A2SBInputError, match=expected) as refusal:
        pipe(audio, 44100, num_inference_steps=1, **arguments)
    assert "\n" not in str(refusal.value)
