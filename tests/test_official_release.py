import logging

import pytest
import torch
from conftest import TINY_CONFIG, randomized

from a2sb.errors import A2SBInputError
from a2sb.models import A2SBPartitionedModel, RoPEUNet2DModel
from a2sb.notices import notice_once
from a2sb.official import OFFICIAL_REPO_ID, to_official_state_dict
from a2sb.pipelines import A2SBPipeline


def write_release_file(path, model: RoPEUNet2DModel) -> None:
    state_dict = {f"vf_model.{k}": v for k, v in to_official_state_dict(model).items()}
    state_dict["t_to_emb.multipliers"] = torch.linspace(0.5, 16, 64)[None]
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": state_dict}, path)


@pytest.fixture
def release_folder(tmp_path):
    """A local folder in the layout of the Hub release, with tiny random networks."""
    folder = tmp_path / "release"
    models = [randomized(RoPEUNet2DModel(**TINY_CONFIG), seed) for seed in (1, 2)]
    write_release_file(folder / "ckpt/A2SB_twosplit_0.0_0.5_release.ckpt", models[0])
    write_release_file(folder / "ckpt/A2SB_twosplit_0.5_1.0_release.ckpt", models[1])
    return folder, models


def test_release_folder_loads_as_a_two_partition_pipeline(release_folder, tmp_path):
    folder, models = release_folder
    pipe = A2SBPipeline.from_pretrained(
        folder, conversion_cache_dir=tmp_path / "cache", release_num_attention_heads=1
    )
    assert isinstance(pipe.unet, A2SBPartitionedModel)
    assert list(pipe.scheduler.config.t_cutoffs) == [0.5]
    for partition, model in zip(pipe.unet.partitions, models, strict=True):
        for (name, converted), original in zip(
            partition.state_dict().items(), model.state_dict().values(), strict=True
        ):
            assert torch.equal(converted, original), name


def test_conversion_is_cached_and_the_pickles_read_once(release_folder, tmp_path):
    folder, _ = release_folder
    cache = tmp_path / "cache"
    first = A2SBPipeline.from_pretrained(
        folder, conversion_cache_dir=cache, release_num_attention_heads=1
    )
    for checkpoint in folder.glob("ckpt/*.ckpt"):
        checkpoint.write_bytes(b"gone")  # a second read would fail
    second = A2SBPipeline.from_pretrained(
        folder, conversion_cache_dir=cache, release_num_attention_heads=1
    )
    sample = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([0.7])
    with torch.no_grad():
        for partition in (0, 1):
            torch.testing.assert_close(
                first.unet(sample, t, partition=partition).sample,
                second.unet(sample, t, partition=partition).sample,
            )
    assert (cache / next(p.name for p in cache.iterdir())).joinpath("model_index.json").exists()


def test_licence_is_logged_once(release_folder, tmp_path, caplog):
    folder, _ = release_folder
    notice_once.cache_clear()
    with caplog.at_level(logging.WARNING, logger="a2sb.pipelines.pipeline_a2sb"):
        A2SBPipeline.from_pretrained(
            folder, conversion_cache_dir=tmp_path / "cache", release_num_attention_heads=1
        )
        A2SBPipeline.from_pretrained(
            folder, conversion_cache_dir=tmp_path / "cache", release_num_attention_heads=1
        )
    notices = [r for r in caplog.records if "non-commercial licence" in r.getMessage()]
    assert len(notices) == 1


def test_missing_variant_file_is_named(release_folder, tmp_path):
    folder, _ = release_folder
    with pytest.raises(A2SBInputError, match="lacks ckpt/A2SB_onesplit_0.0_1.0_release.ckpt"):
        A2SBPipeline.from_pretrained(
            folder, release_variant="onesplit", conversion_cache_dir=tmp_path / "cache"
        )


def test_unknown_variant_is_refused(release_folder, tmp_path):
    folder, _ = release_folder
    with pytest.raises(A2SBInputError, match="unknown release variant 'threesplit'"):
        A2SBPipeline.from_pretrained(
            folder, release_variant="threesplit", conversion_cache_dir=tmp_path / "cache"
        )


def test_offline_hub_release_says_how_to_pass_a_local_path(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(A2SBInputError, match="pass a local path instead"):
        A2SBPipeline.from_pretrained(
            OFFICIAL_REPO_ID, conversion_cache_dir=tmp_path / "cache", local_files_only=True
        )


def test_path_that_is_neither_folder_nor_repo_is_refused(tmp_path):
    with pytest.raises(A2SBInputError, match="neither a local folder nor a Hub repository"):
        A2SBPipeline.from_pretrained("no-such-model-folder")


def test_checkpoint_files_load_as_a_pipeline_converted_once(release_folder, tmp_path):
    folder, models = release_folder
    files = sorted(folder.glob("ckpt/*.ckpt"), reverse=True)  # the names give the order
    cache = tmp_path / "cache"
    pipe = A2SBPipeline.from_official_checkpoints(
        files, conversion_cache_dir=cache, release_num_attention_heads=1
    )
    assert list(pipe.scheduler.config.t_cutoffs) == [0.5]
    for partition, model in zip(pipe.unet.partitions, models, strict=True):
        assert torch.equal(partition.conv_in.weight, model.conv_in.weight)
    again = A2SBPipeline.from_official_checkpoints(
        files, conversion_cache_dir=cache, release_num_attention_heads=1
    )
    assert torch.equal(again.unet.partitions[1].conv_in.weight, models[1].conv_in.weight)
    assert len(list(cache.iterdir())) == 1


def test_a_changed_checkpoint_file_is_converted_again(release_folder, tmp_path):
    folder, models = release_folder
    path = folder / "ckpt/A2SB_twosplit_0.5_1.0_release.ckpt"
    cache = tmp_path / "cache"
    first = A2SBPipeline.from_official_checkpoints(
        [path], conversion_cache_dir=cache, release_num_attention_heads=1
    )
    assert torch.equal(first.unet.conv_in.weight, models[1].conv_in.weight)
    write_release_file(path, models[0])
    second = A2SBPipeline.from_official_checkpoints(
        [path], conversion_cache_dir=cache, release_num_attention_heads=1
    )
    assert torch.equal(second.unet.conv_in.weight, models[0].conv_in.weight)


def test_release_options_are_ignored_for_a_saved_pipeline(release_folder, tmp_path):
    folder, _ = release_folder
    converted = A2SBPipeline.from_official_checkpoints(
        folder, conversion_cache_dir=tmp_path / "cache", release_num_attention_heads=1
    )
    converted.save_pretrained(tmp_path / "saved")
    loaded = A2SBPipeline.from_pretrained(
        tmp_path / "saved", release_variant="onesplit", trust_checkpoint=True
    )
    assert isinstance(loaded.unet, A2SBPartitionedModel)


def test_a_missing_checkpoint_file_is_named(tmp_path):
    with pytest.raises(A2SBInputError, match="checkpoint .*nothing.ckpt does not exist"):
        A2SBPipeline.from_official_checkpoints(
            [tmp_path / "nothing.ckpt"], conversion_cache_dir=tmp_path / "cache"
        )
