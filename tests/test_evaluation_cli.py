import json
import os
import re
import signal

import pytest
import torch
from synth import synth_music

from a2sb.cli import evaluate as evaluate_command
from a2sb.cli import main
from a2sb.io.audio import save_audio

RATE = 44100


@pytest.fixture
def data_folder(tmp_path):
    folder = tmp_path / "music"
    for index in range(2):
        save_audio(folder / f"{index}.wav", synth_music(3 * RATE, seed=20 + index), RATE)
    return folder


def test_evaluate_baseline_end_to_end(data_folder, tmp_path, capsys):
    output = tmp_path / "results.json"
    argv = ["evaluate", "--model", "baseline:crossfade", "--data", str(data_folder)]
    argv += ["--task", "inpaint", "--gaps", "0.3,0.5", "--output", str(output)]
    assert main(argv) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("| model | condition | LSD")
    assert table[2].startswith("| baseline:crossfade | inpainting-300ms |")
    assert table[3].startswith("| baseline:crossfade | inpainting-500ms |")
    assert table[2].split("|")[7].strip() == "2"  # files
    saved = json.loads(output.read_text())
    assert saved["model"] == "baseline:crossfade"
    assert {(r["file"], r["condition"]) for r in saved["results"]} == {
        (f"{i}.wav", c) for i in range(2) for c in ("inpainting-300ms", "inpainting-500ms")
    }


def test_rerun_calls_the_restorer_only_for_new_pairs(data_folder, tmp_path, monkeypatch, capsys):
    calls = []

    def counting_loader(model_spec, task, *settings):
        def restorer(degraded, sampling_rate, task_info):
            calls.append(task_info.cutoff_hz)
            return degraded

        return restorer

    monkeypatch.setattr(evaluate_command, "load_restorer", counting_loader)
    argv = ["evaluate", "--model", "my-model", "--data", str(data_folder), "--task", "bwe"]
    argv += ["--output", str(tmp_path / "r.json")]
    assert main([*argv, "--cutoffs", "4000", "--limit", "1"]) == 0
    assert main([*argv, "--cutoffs", "4000,8000"]) == 0
    assert calls == [4000, 8000, 4000, 8000]
    assert "| my-model | bwe-8000Hz |" in capsys.readouterr().out


def test_a_model_rerun_with_other_steps_does_not_resume(data_folder, tmp_path, monkeypatch, capsys):
    def loader(model_spec, task, *settings):
        return lambda degraded, sampling_rate, task_info: degraded

    monkeypatch.setattr(evaluate_command, "load_restorer", loader)
    argv = ["evaluate", "--model", "my-model", "--data", str(data_folder), "--task", "bwe"]
    argv += ["--cutoffs", "4000", "--limit", "1", "--output", str(tmp_path / "r.json")]
    assert main([*argv, "--steps", "25"]) == 0
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["settings"] == {"channels": "mono", "visqol": False, "steps": 25, "seed": 0}

    assert main([*argv, "--steps", "49"]) == 2
    assert "'steps': 25" in capsys.readouterr().err


def test_a_model_without_steps_samples_with_its_own_default(data_folder, tmp_path, monkeypatch):
    received = []

    def loader(model_spec, task, device, num_inference_steps, *settings):
        received.append(num_inference_steps)
        return lambda degraded, sampling_rate, task_info: degraded

    monkeypatch.setattr(evaluate_command, "load_restorer", loader)
    argv = ["evaluate", "--model", "my-model", "--data", str(data_folder), "--task", "bwe"]
    argv += ["--cutoffs", "4000", "--limit", "1", "--output", str(tmp_path / "r.json")]
    assert main(argv) == 0
    assert received == [None]  # the pipeline then takes its sampling_defaults
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["settings"]["steps"] == "model default"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--model", "baseline:zeros"],
            "unknown baseline 'zeros'; choose one of baseline:degraded",
        ),
        (
            ["--model", "baseline:crossfade"],
            "baseline:crossfade restores inpainting, not bandwidth",
        ),
        (["--cutoffs", "4000,30000"], r"cutoff 30000 Hz is outside \(0, 22050\) Hz"),
        (
            ["--cutoffs", "4k"],
            "--cutoffs '4k' is not a comma-separated list of numbers; write e.g.",
        ),
        (
            ["--task", "inpaint", "--model", "baseline:silence", "--gaps", "6"],
            "gap of 6 s does not fit",
        ),
        (["--task", "denoise"], "unknown task 'denoise'; choose bandwidth-extension"),
        (
            ["--model", "someone/not-a-model", "--steps", "2"],
            "cannot load someone/not-a-model from the Hugging Face Hub",
        ),
        (["--limit", "0"], "--limit 0 is below 1; give 1 or more"),
        (["--steps", "1000000000"], "--steps 1000000000 is above 1000; give 1000 or less"),
        (["--seed", str(2**64)], f"--seed {2**64} is above {2**64 - 1}; give"),
        (["--seed", "-1"], "--seed -1 is below 0; give 0 or more"),
        (["--window-batch-size", "0"], "--window-batch-size 0 is below 1; give 1 or more"),
        (["--output", "."], r"--output \. is a folder; give the path of a \.json results file"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(data_folder, tmp_path, capsys, arguments, message):
    argv = ["evaluate", "--model", "baseline:sbr", "--data", str(data_folder), "--task", "bwe"]
    if "--output" not in arguments:
        argv += ["--output", str(tmp_path / "r.json")]
    assert main([*argv, *arguments]) == 2
    error = capsys.readouterr().err
    assert error.startswith("a2sb: ")
    assert error.count("\n") == 1
    assert re.search(message, error)
    assert not (tmp_path / "r.json").exists()


def test_empty_folder_exits_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    argv = [
        "evaluate",
        "--model",
        "baseline:sbr",
        "--data",
        str(tmp_path / "empty"),
        "--task",
        "bwe",
    ]
    assert main([*argv, "--output", str(tmp_path / "r.json")]) == 2
    assert "holds no audio files" in capsys.readouterr().err


def test_evaluate_a_saved_pipeline_end_to_end(data_folder, tmp_path, capsys):
    from fakes import micro_unet

    from a2sb.pipelines import A2SBPipeline
    from a2sb.schedulers import I2SBScheduler

    A2SBPipeline(micro_unet(), I2SBScheduler()).save_pretrained(tmp_path / "model")
    output = tmp_path / "results.json"
    argv = ["evaluate", "--model", str(tmp_path / "model"), "--data", str(data_folder)]
    argv += ["--task", "bwe", "--cutoffs", "4000", "--steps", "2", "--output", str(output)]
    assert main(argv) == 0
    row = capsys.readouterr().out.splitlines()[2].split("|")
    assert row[2].strip() == "bwe-4000Hz"
    assert float(row[3]) > 0  # LSD of a random network: finite and positive
    assert row[7].strip() == "2"


def test_dtype_loads_the_model_in_it_and_is_recorded(data_folder, tmp_path, monkeypatch):
    from fakes import micro_unet

    from a2sb.pipelines import A2SBPipeline
    from a2sb.schedulers import I2SBScheduler

    A2SBPipeline(micro_unet(), I2SBScheduler()).save_pretrained(tmp_path / "model")
    loaded = []
    real_from_pretrained = A2SBPipeline.from_pretrained

    def recording_from_pretrained(*arguments, **options):
        loaded.append(real_from_pretrained(*arguments, **options))
        return loaded[-1]

    monkeypatch.setattr(A2SBPipeline, "from_pretrained", recording_from_pretrained)
    output = tmp_path / "results.json"
    argv = ["evaluate", "--model", str(tmp_path / "model"), "--data", str(data_folder)]
    argv += ["--task", "bwe", "--cutoffs", "4000", "--steps", "1", "--limit", "1"]
    assert main([*argv, "--dtype", "bf16", "--output", str(output)]) == 0
    assert loaded[0].unet.dtype == torch.bfloat16
    assert json.loads(output.read_text())["settings"]["dtype"] == "bf16"
    assert main([*argv, "--output", str(tmp_path / "fp32.json")]) == 0
    assert "dtype" not in json.loads((tmp_path / "fp32.json").read_text())["settings"]


@pytest.mark.parametrize(
    ("signal_number", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)]
)
def test_a_signal_mid_evaluation_is_one_line_and_keeps_the_results_saved(
    data_folder, tmp_path, monkeypatch, capsys, signal_number, exit_code
):
    calls = []

    def loader(model_spec, task, *settings):
        def restorer(degraded, sampling_rate, task_info):
            calls.append(task_info.cutoff_hz)
            if len(calls) == 2:  # the second restoration is interrupted
                os.kill(os.getpid(), signal_number)
            return degraded

        return restorer

    monkeypatch.setattr(evaluate_command, "load_restorer", loader)
    output = tmp_path / "r.json"
    argv = ["evaluate", "--model", "my-model", "--data", str(data_folder), "--task", "bwe"]
    assert main([*argv, "--cutoffs", "4000", "--output", str(output)]) == exit_code
    assert capsys.readouterr().err.splitlines()[-1] == "a2sb: interrupted"
    assert [result["file"] for result in json.loads(output.read_text())["results"]] == ["0.wav"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["music", "r.json"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored


def test_device_auto_takes_what_the_machine_has_and_an_absent_one_is_refused(
    data_folder, tmp_path, monkeypatch, capsys
):
    devices = []

    def loader(model_spec, task, device, *settings):
        devices.append(device)
        return lambda degraded, sampling_rate, task_info: degraded

    monkeypatch.setattr(evaluate_command, "load_restorer", loader)
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    monkeypatch.setattr("torch.backends.mps.is_available", lambda: False)
    argv = ["evaluate", "--model", "m", "--data", str(data_folder), "--task", "bwe"]
    argv += ["--cutoffs", "4000", "--limit", "1", "--output", str(tmp_path / "r.json")]
    assert main(argv) == 0
    assert devices == ["cpu"]

    assert main([*argv, "--device", "cuda"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith("a2sb: --device cuda: CUDA is not available")
    assert devices == ["cpu"]
