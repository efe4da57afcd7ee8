"""Saved pipeline folders that are damaged, foreign or hostile: each is one `A2SBInputError`
line naming the file, what is wrong and the fix (one `a2sb:` line on the command line), and
nothing a pickle holds runs unless the caller trusts it."""

import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from fakes import RecordingUNet
from test_cli_restore import write_music

from a2sb.cli import main
from a2sb.errors import A2SBInputError
from a2sb.pipelines import A2SBPipeline
from a2sb.schedulers import I2SBScheduler


def edit_json(path: Path, edit) -> None:
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))


def set_entry(key, value):
    return lambda entries: {**entries, key: value}


class RunsCode:
    """A pickle that writes a file when it is unpickled: proof that code ran."""

    def __init__(self, witness: Path):
        self.witness = witness

    def __reduce__(self):
        return (Path.write_text, (self.witness, "ran"))


def pickle_weights(folder: Path) -> None:
    (folder / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    with open(folder / "unet" / "diffusion_pytorch_model.bin", "wb") as file:
        pickle.dump({"payload": RunsCode(folder / "witness")}, file)


DAMAGES = {
    "foreign class": (
        lambda f: edit_json(f / "model_index.json", set_entry("unet", ["os", "system"])),
        r'model_index.json names \["os", "system"\] for the unet, which is neither an a2sb '
        r"class \(one of A2SBPartitionedModel, RoPEUNet2DModel\) nor one of a module imported "
        r"before loading; fix the file, or import the module that defines the class first",
    ),
    "missing class": (
        lambda f: edit_json(f / "model_index.json", set_entry("scheduler", ["a2sb", "Nope"])),
        r"for the scheduler, which is neither an a2sb class "
        r"\(one of DBIMScheduler, I2SBScheduler\)",
    ),
    "not JSON": (
        lambda f: (f / "model_index.json").write_text("{not json"),
        r"model_index.json is not valid JSON \(Expecting property name.*\); download the model",
    ),
    "not a pair": (
        lambda f: edit_json(f / "model_index.json", set_entry("unet", "RoPEUNet2DModel")),
        r'gives "RoPEUNet2DModel" for the unet, not \[module, class\]',
    ),
    "a list": (
        lambda f: (f / "model_index.json").write_text("[1, 2]"),
        r"model_index.json holds a list, not the JSON object of a saved pipeline",
    ),
    "wrong type in a config": (
        lambda f: edit_json(f / "unet" / "config.json", set_entry("block_out_channels", "many")),
        r"cannot load the pipeline in .*: .*; its configs do not fit a2sb's classes",
    ),
    "no weights": (
        lambda f: (f / "unet" / "diffusion_pytorch_model.safetensors").unlink(),
        r"unet holds no weights \(no .safetensors file\); download the model again",
    ),
    "pickled weights": (
        pickle_weights,
        r"unet holds its weights as a pickle \(diffusion_pytorch_model.bin\), which can run "
        r"code when loaded; convert them to safetensors, or, if you trust the file, pass "
        r"trust_checkpoint=True \(--trust-checkpoint\)",
    ),
}


@pytest.fixture
def damaged(model_dir, tmp_path, request) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(model_dir, folder)
    DAMAGES[request.param][0](folder)
    return folder


@pytest.mark.parametrize("damaged", DAMAGES, indirect=True)
def test_the_library_refuses_a_damaged_folder_in_one_line(damaged, request):
    expected = DAMAGES[request.node.callspec.params["damaged"]][1]
    with pytest.raises(A2SBInputError, match=expected) as refusal:
        A2SBPipeline.from_pretrained(damaged)
    assert "\n" not in str(refusal.value)
    assert not (damaged / "witness").exists()  # nothing in a pickle ran


@pytest.mark.parametrize("damaged", ["foreign class", "pickled weights"], indirect=True)
def test_the_command_line_says_it_in_one_line(damaged, tmp_path, capsys):
    song = write_music(tmp_path / "song.wav")
    assert main(["restore", str(song), "--model", str(damaged), "--cutoff", "4k", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("a2sb: ") and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "song.a2sb.wav").exists()


def test_a_trusted_pickle_without_the_networks_tensors_is_refused(model_dir, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(model_dir, folder)
    (folder / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    torch.save({"unrelated": torch.zeros(1)}, folder / "unet" / "diffusion_pytorch_model.bin")
    with pytest.raises(A2SBInputError, match=r"lack \d+ of the network's tensors \(conv_in"):
        A2SBPipeline.from_pretrained(folder, trust_checkpoint=True)


def test_a_class_of_a_module_imported_before_loading_loads(tmp_path):
    """A researcher's own network (here the tests' stand-in, imported above) loads as in
    diffusers; the same entry naming a module nobody imported is refused."""
    A2SBPipeline(RecordingUNet(), I2SBScheduler()).save_pretrained(tmp_path / "own")
    assert isinstance(A2SBPipeline.from_pretrained(tmp_path / "own").unet, RecordingUNet)
    edit_json(tmp_path / "own" / "model_index.json", set_entry("unet", ["not_imported", "Net"]))
    with pytest.raises(A2SBInputError, match="nor one of a module imported before loading"):
        A2SBPipeline.from_pretrained(tmp_path / "own")


def test_truncated_weights_are_one_line(model_dir, tmp_path, capsys):
    folder = tmp_path / "model"
    shutil.copytree(model_dir, folder)
    weights = folder / "unet" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    song = write_music(tmp_path / "song.wav")
    assert main(["restore", str(song), "--model", str(folder), "--cutoff", "4k", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"a2sb: cannot load the model {folder} (Unable to load weights")
    assert err.count("\n") == 1
