import torch
from conftest import TINY_CHANNELS
from official_grammar import official_state_dict, release_file_content

from a2sb.cli import main
from a2sb.models import RoPEUNet2DModel, convert_official_checkpoints
from a2sb.pipelines import A2SBPipeline


def _release_file(path, seed):
    torch.save(release_file_content(official_state_dict(TINY_CHANNELS, [3, 4], seed)), path)
    return str(path)


def test_convert_official_writes_a_loadable_partitioned_model(tmp_path, capsys):
    lower = _release_file(tmp_path / "A2SB_twosplit_0.0_0.5_release.ckpt", seed=1)
    upper = _release_file(tmp_path / "A2SB_twosplit_0.5_1.0_release.ckpt", seed=2)
    output = tmp_path / "converted"
    code = main(
        ["convert-official", upper, lower, "--num-attention-heads", "1", "--output", str(output)]
    )
    assert code == 0
    assert "A2SBPartitionedModel (2 partitions, cutoffs 0.5)" in capsys.readouterr().out
    assert (output / "model_index.json").is_file()
    assert (output / "unet" / "diffusion_pytorch_model.safetensors").is_file()

    loaded = A2SBPipeline.from_pretrained(output)
    assert loaded.scheduler.config.t_cutoffs == [0.5]
    direct, _ = convert_official_checkpoints([lower, upper], num_attention_heads=1)
    sample = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([0.2, 0.2])
    with torch.no_grad():
        for partition in (0, 1):
            torch.testing.assert_close(
                loaded.unet(sample, t, partition=partition).sample,
                direct(sample, t, partition=partition).sample,
            )


def test_convert_official_one_file_gives_a_unet(tmp_path):
    path = _release_file(tmp_path / "A2SB_onesplit_0.0_1.0_release.ckpt", seed=3)
    output = tmp_path / "onesplit"
    assert (
        main(["convert-official", path, "--num-attention-heads", "1", "--output", str(output)]) == 0
    )
    loaded = A2SBPipeline.from_pretrained(output)
    assert isinstance(loaded.unet, RoPEUNet2DModel)
    assert loaded.unet.config.num_attention_heads == 1


def test_bad_file_exits_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "A2SB_onesplit_0.0_1.0_release.ckpt"
    bad.write_bytes(b"\x00garbage")
    code = main(["convert-official", str(bad), "--output", str(tmp_path / "out")])
    error = capsys.readouterr().err
    assert code == 2
    assert error.startswith("a2sb: checkpoint ") and "could not be read" in error
    assert error.count("\n") == 1
