"""The fault families of `a2sb restore` walked through `a2sb evaluate`, `a2sb train` and
`a2sb app`: numeric junk, names the OS allows but UTF-8 does not, paths of the wrong kind,
malformed files and addresses. Each ends in one `a2sb:` line (exit code 2), before any work."""

import os
import sys

import pytest
import yaml
from training_setup import tiny_overrides, write_music

from a2sb.cli import main
from a2sb.errors import A2SBInputError
from a2sb.training.config import load_training_config

UNDECODABLE = os.fsdecode(b"caf\xe9")
"""A name whose bytes are not UTF-8 (Latin-1 `café`), as Python receives it from the OS."""

needs_bytes_names = pytest.mark.skipif(
    sys.platform in ("darwin", "win32"), reason="the file system takes only Unicode names"
)


def music_in(folder):
    """Synthetic music in `folder`, whose name may not be UTF-8 (soundfile cannot write there by
    name: the files are written elsewhere and the folder renamed)."""
    plain = folder.with_name("plain")
    write_music(plain, count=1)
    plain.rename(folder)
    return folder


def one_line(capsys) -> str:
    error = capsys.readouterr().err
    assert error.startswith("a2sb: ") and error.count("\n") == 1, error
    assert "Traceback" not in error
    return error.strip()


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--port", "70000"], "a2sb: --port 70000 is above 65535; give 65535 or less"),
        (["--port", "0"], "a2sb: --port 0 is below 1; give 1 or more"),
        (["--max-file-mb", "nan"], "a2sb: --max-file-mb nan is not a positive size; give MB"),
        (["--max-file-mb", "1e309"], "a2sb: --max-file-mb inf is not a positive size; give MB"),
        (["--max-file-mb", "-1"], "a2sb: --max-file-mb -1 is not a positive size; give MB"),
    ],
)
def test_app_numbers_out_of_range_are_one_line(arguments, message, capsys):
    assert main(["app", "--model", "no/such-model", *arguments]) == 2
    assert one_line(capsys).startswith(message)


def test_app_host_that_is_not_this_machine_is_one_line_before_any_model_loads(capsys):
    pytest.importorskip("gradio")
    assert main(["app", "--host", "new\nline", "--model", "no/such-model"]) == 2
    assert one_line(capsys).startswith(
        r"a2sb: --host new\nline is not an address of this machine ("
    )


@pytest.mark.parametrize(
    "override, message",
    [
        (f"seed={2**64}", f"seed {2**64} is outside [0, 4294967295]; give a seed in that range"),
        ("seed=-1", "seed -1 is outside [0, 4294967295]"),
        ("validation.seed=-1", "validation.seed -1 is outside [0, 4294967295]"),
        ("max_steps", "override 'max_steps' is not of the form key.sub=value; write e.g. "),
        ("max_steps=nan", "config key max_steps must be an integer, got 'nan'"),
        ("optimizer.learning_rate=inf", "optimizer.learning_rate must be a number, got 'inf'"),
    ],
)
def test_train_numbers_and_overrides_out_of_range_are_one_line(override, message, capsys):
    assert main(["train", override]) == 2
    assert message in one_line(capsys)


def test_train_config_that_does_not_parse_says_where_in_one_line(tmp_path, capsys):
    config = tmp_path / "run.yaml"
    config.write_text("max_steps: [1, 2\nseed: 3\n")
    assert main(["train", "--config", str(config)]) == 2
    assert one_line(capsys) == (
        f"a2sb: cannot parse training config {config}: expected ',' or ']', but got ':' "
        "(line 2, column 5); fix the file"
    )


@needs_bytes_names
def test_train_override_keeps_a_name_that_is_not_utf8(tmp_path):
    folder = tmp_path / UNDECODABLE
    config = load_training_config(None, [f"data.folders=[{folder}]", f"output_dir={folder}"])
    assert config.data.folders == [str(folder)]
    assert config.output_dir == str(folder)
    assert load_training_config(None, ["data.folders=[a, 'b c']"]).data.folders == ["a", "b c"]


@needs_bytes_names
def test_train_writes_a_run_whose_folders_are_not_utf8(tmp_path, capsys):
    music = music_in(tmp_path / f"{UNDECODABLE}-music")
    output = tmp_path / f"{UNDECODABLE}-run"
    assert main(["train", *tiny_overrides(output, music), "max_steps=1"]) == 0
    card = (output / "pipeline" / "README.md").read_text(encoding="utf-8")
    assert "caf\\udce9-music" in card  # the name, shown escaped
    saved = yaml.safe_load((output / "training_config.yaml").read_text(encoding="utf-8"))
    assert saved["data"]["folders"] == [str(music)]


@pytest.mark.parametrize("kind", ["file", "missing"])
def test_evaluate_data_that_is_not_a_folder_is_one_line(kind, tmp_path, capsys):
    data = tmp_path / "notes.txt"
    if kind == "file":
        data.write_text("not a folder")
    argv = ["evaluate", "--model", "baseline:sbr", "--data", str(data), "--task", "bwe"]
    assert main([*argv, "--output", str(tmp_path / "r.json")]) == 2
    expected = "is a file" if kind == "file" else "does not exist"
    assert one_line(capsys) == (
        f"a2sb: data folder {data} {expected}; pass a folder of audio files"
    )


@needs_bytes_names
def test_evaluate_reads_and_writes_names_that_are_not_utf8(tmp_path, capsys):
    music = music_in(tmp_path / UNDECODABLE)
    results = tmp_path / f"{UNDECODABLE}.json"
    argv = ["evaluate", "--model", "baseline:sbr", "--data", str(music), "--task", "bwe"]
    assert main([*argv, "--cutoffs", "4000", "--output", str(results)]) == 0
    assert results.exists()
    assert "Traceback" not in capsys.readouterr().err


def test_a_library_refusal_is_an_input_error():
    with pytest.raises(A2SBInputError, match="seed -1 is outside"):
        load_training_config(None, ["seed=-1"])


@pytest.mark.parametrize("command", ["evaluate", "train", "app"])
def test_a_malformed_model_folder_is_one_line_in_every_command(command, tmp_path, capsys):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model_index.json").write_text("{not json")
    music = tmp_path / "music"
    write_music(music, count=1)
    if command == "app":
        pytest.importorskip("gradio")
    argv = {
        "evaluate": ["evaluate", "--model", str(folder), "--data", str(music), "--task", "bwe",
                     "--output", str(tmp_path / "r.json")],
        "train": ["train", "--init-from", str(folder), *tiny_overrides(tmp_path / "run", music)],
        "app": ["app", "--model", str(folder)],
    }[command]  # fmt: skip
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert "Traceback" not in error
    assert error.splitlines()[-1].startswith(f"a2sb: {folder}/model_index.json is not valid JSON (")
