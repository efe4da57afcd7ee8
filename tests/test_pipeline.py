import json

import numpy as np
import pytest
import torch
from fakes import RecordingUNet, micro_unet
from synth import synth_music

from a2sb.errors import A2SBInputError
from a2sb.models import A2SBPartitionedModel
from a2sb.pipelines import A2SBPipeline
from a2sb.pipelines.keyed_noise import FILL_STEP, KeyedNoise
from a2sb.pipelines.multidiffusion import padded_frames, tile_frames
from a2sb.pipelines.pipeline_checks import ArgumentNames
from a2sb.pipelines.wavefront import OutputSums
from a2sb.representations import ComplexSTFT, FactorizedSTFT
from a2sb.schedulers import I2SBScheduler, sample_bridge

FAST = {"num_inference_steps": 2, "window_frames": 32, "hop_frames": 16, "window_batch_size": 16}


def pipeline(unet=None, ot_ode: bool = False) -> A2SBPipeline:
    """A pipeline of `unet`; a partitioned one gets the released split at t = 0.5."""
    t_cutoffs = [0.5] if isinstance(unet, A2SBPartitionedModel) else []
    scheduler = I2SBScheduler(ot_ode=ot_ode, t_cutoffs=t_cutoffs)
    pipe = A2SBPipeline(unet if unet is not None else RecordingUNet(), scheduler)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize(
    ("channels", "seconds", "rate"),
    [
        (1, 0.5, 44100),
        (2, 2.97, 44100),
        (1, 10.3, 44100),
        (1, 2.97, 8000),
        (2, 0.5, 16000),
        (1, 2.97, 48000),
    ],
)
def test_output_keeps_channels_and_duration(channels, seconds, rate):
    audio = synth_music(int(seconds * rate), sampling_rate=rate, channels=channels)
    cutoff = min(3000, rate // 2 - 500)
    output = pipeline()(audio, rate, cutoff_hz=cutoff, **FAST)
    assert output.sampling_rate == 44100
    assert output.audios.shape == (1, channels, round(audio.shape[-1] * 44100 / rate))
    assert np.isfinite(output.audios).all()


@pytest.mark.parametrize("rate", [16000, 48000])
def test_output_at_the_input_rate_has_exactly_the_input_samples(rate):
    audio = synth_music(12345, sampling_rate=rate, channels=2)
    output = pipeline()(audio, rate, cutoff_hz=4000, output_sampling_rate=rate, **FAST)
    assert output.sampling_rate == rate
    assert output.audios.shape == (1, 2, 12345)


def test_batch_of_items_and_torch_output():
    audio = torch.from_numpy(np.stack([synth_music(20000, channels=2, seed=s) for s in (0, 1)]))
    output = pipeline()(audio, 44100, cutoff_hz=4000, output_type="pt", **FAST)
    assert isinstance(output.audios, torch.Tensor)
    assert output.audios.shape == (2, 2, 20000)
    assert output.cutoff_hz == [4000.0, 4000.0]


def test_bandwidth_extension_keeps_content_below_the_cutoff_exactly():
    audio = synth_music(30000, channels=2)
    pipe = pipeline(micro_unet())
    latent = pipe(audio, 44100, cutoff_hz=4000, output_type="latent", **FAST).audios
    known = FactorizedSTFT().encode(torch.from_numpy(audio))
    assert latent.shape == (1, 2, 3, 1024, known.shape[-1])
    assert torch.equal(latent[0, :, :, :185], known[:, :, :185])
    assert not torch.allclose(latent[0, :, :, 185:], known[:, :, 185:])


def test_inpainting_keeps_frames_outside_the_gap_in_the_waveform():
    audio = synth_music(44100, channels=1)
    gap = (0.4, 0.6)
    restored = pipeline(micro_unet())(audio, 44100, task="inpainting", gaps=[gap], **FAST).audios
    representation = FactorizedSTFT()
    before = representation.spectrum(torch.from_numpy(audio))
    after = representation.spectrum(torch.from_numpy(restored[0]))
    gap_frames = slice(int(gap[0] * 86.13), int(gap[1] * 86.13))
    # frames whose 2048-sample window does not reach into the gap are unchanged, DC included
    untouched = torch.ones(before.shape[-1], dtype=torch.bool)
    untouched[gap_frames.start - 4 : gap_frames.stop + 4] = False
    torch.testing.assert_close(after[..., untouched], before[..., untouched], atol=1e-4, rtol=0)
    assert not torch.allclose(after[..., gap_frames], before[..., gap_frames], atol=1e-2)


def test_one_window_over_the_whole_input_equals_the_plain_bridge_sampler():
    audio = synth_music(20000, channels=1)  # 40 frames → one window of 64
    unet = micro_unet()
    latent = pipeline(unet, ot_ode=True)(
        audio,
        44100,
        cutoff_hz=4000,
        num_inference_steps=3,
        window_frames=64,
        hop_frames=32,
        output_type="latent",
        generator=seeded(0),
    ).audios[0]

    known = FactorizedSTFT().encode(torch.from_numpy(audio))
    mask = torch.zeros(1, 1, 1024, 40)
    mask[..., 185:, :] = 1
    # the fill noise is keyed noise seeded by the generator's first draw: [items, 1, 3, 1024, T]
    keyed = KeyedNoise.from_generator(seeded(0), items=1, noise_channels=1, frame_shape=(3, 1024))
    noise = keyed.draw(FILL_STEP, 0, 40)[0]
    x1 = known * (1 - mask) + mask * 0.5 * noise
    with torch.no_grad():
        expected = sample_bridge(
            lambda x, t: unet(x, t.expand(x.shape[0])).sample,
            tile_frames(x1, 64),
            torch.linspace(1, 0.05, 4),
            mask=tile_frames(mask, 64),
            ot_ode=True,
        )[..., :40]
    torch.testing.assert_close(latent, expected, atol=1e-5, rtol=0)


def test_multidiffusion_averages_overlapping_windows_exactly():
    sums = OutputSums(rows=1, frame_shape=(1, 2))
    for j, start in enumerate(range(0, 65, 16)):  # window j at 16 j returns the constant j
        sums.add(0, start, torch.full((1, 2, 32), float(j)))
    averaged = sums.mean(0, 96)
    expected = torch.tensor(
        [0.0] * 16 + [0.5] * 16 + [1.5] * 16 + [2.5] * 16 + [3.5] * 16 + [4.0] * 16
    )
    torch.testing.assert_close(averaged[0, 0, 0], expected)


def test_padding_reproduces_the_released_sampler():
    assert padded_frames(200, 256, 128) == 256
    assert padded_frames(256, 256, 128) == 256
    assert padded_frames(257, 256, 128) == 384
    assert padded_frames(1000, 256, 128) == 1024
    tiled = tile_frames(torch.arange(5.0), 12)
    assert tiled.tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]


@pytest.mark.parametrize("seconds", [1.0, 12.0])
def test_model_batch_does_not_grow_with_the_audio_length(seconds):
    unet = RecordingUNet()
    pipeline(unet)(synth_music(int(seconds * 44100), channels=2), 44100, cutoff_hz=4000, **FAST)
    shapes = {shape for shape, _ in unet.calls}
    assert max(shape[0] for shape in shapes) <= 16
    assert {shape[1:] for shape in shapes} == {(3, 1024, 32)}


def test_partition_k_receives_exactly_the_steps_in_its_range():
    partitions = [RecordingUNet(), RecordingUNet()]
    model = A2SBPartitionedModel.from_partitions([micro_unet(0), micro_unet(1)])
    for index, partition in enumerate(model.partitions):
        partition.register_forward_pre_hook(
            lambda module, args, index=index: partitions[index].calls.append(
                (tuple(args[0].shape), args[1].flatten().tolist())
            )
        )
    pipe = pipeline(model)
    pipe(
        synth_music(8000),
        44100,
        cutoff_hz=4000,
        num_inference_steps=9,
        window_frames=32,
        hop_frames=16,
    )
    grid = torch.linspace(1, 0.05, 10)[:-1]
    times = [{round(t, 5) for _, ts in p.calls for t in ts} for p in partitions]
    assert times[0] == {round(t, 5) for t in grid.tolist() if t < 0.5}
    assert times[1] == {round(t, 5) for t in grid.tolist() if t >= 0.5}


def test_same_generator_same_output_and_other_seed_differs():
    audio = synth_music(10000, channels=2)
    pipe = pipeline(micro_unet())
    first = pipe(audio, 44100, cutoff_hz=4000, generator=seeded(1), **FAST).audios
    second = pipe(audio, 44100, cutoff_hz=4000, generator=seeded(1), **FAST).audios
    third = pipe(audio, 44100, cutoff_hz=4000, generator=seeded(2), **FAST).audios
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, third)


def test_a_generator_per_item_restores_each_item_as_alone_with_its_generator():
    items = [synth_music(10000, seed=seed) for seed in (0, 1)]
    pipe = pipeline(micro_unet())
    batch = pipe(np.stack(items), 44100, cutoff_hz=4000, generator=[seeded(1), seeded(2)], **FAST)
    for item, audio, seed in zip(batch.audios, items, (1, 2), strict=True):
        alone = pipe(audio, 44100, cutoff_hz=4000, generator=seeded(seed), **FAST).audios[0]
        np.testing.assert_allclose(item, alone, atol=1e-6)  # batched model calls round apart


def test_callback_on_step_end_sees_every_step_of_the_whole_batch_and_keeps_the_result():
    audio = np.stack([synth_music(20000, channels=2, seed=s) for s in (0, 1)])  # 40 frames
    pipe = pipeline(micro_unet())
    seen = []

    def watch(pipe, step_index, timestep, tensors):
        seen.append((step_index, tuple(tensors["pred_original_sample"].shape)))
        return tensors

    arguments = {"cutoff_hz": 4000, "output_type": "latent", **FAST}
    watched = pipe(audio, 44100, generator=seeded(3), callback_on_step_end=watch, **arguments)
    plain = pipe(audio, 44100, generator=seeded(3), **arguments)
    assert seen == [(0, (4, 3, 1024, 48)), (1, (4, 3, 1024, 48))]  # padded to W + ⌈8 / H⌉ H
    torch.testing.assert_close(watched.audios, plain.audios, atol=1e-6, rtol=0)


def test_a_list_of_generators_not_one_per_item_is_refused():
    audio = np.stack([synth_music(10000, seed=seed) for seed in (0, 1)])
    with pytest.raises(A2SBInputError, match="got 3 generators for a batch of 2 items"):
        pipeline()(audio, 44100, cutoff_hz=4000, generator=[seeded(i) for i in range(3)], **FAST)


def test_ot_ode_sampling_depends_only_on_the_fill_noise():
    audio = synth_music(10000)
    pipe = pipeline(micro_unet(), ot_ode=True)
    first = pipe(audio, 44100, cutoff_hz=4000, generator=seeded(1), **FAST).audios
    second = pipe(audio, 44100, cutoff_hz=4000, generator=seeded(1), **FAST).audios
    np.testing.assert_array_equal(first, second)


def test_stereo_channels_share_one_noise_draw_by_default():
    mono = synth_music(10000)
    stereo = np.concatenate([mono, mono])
    shared = pipeline(micro_unet())(
        stereo, 44100, cutoff_hz=4000, generator=seeded(0), **FAST
    ).audios
    np.testing.assert_allclose(shared[0, 0], shared[0, 1], atol=1e-6)
    separate = pipeline(micro_unet())(
        stereo,
        44100,
        cutoff_hz=4000,
        generator=seeded(0),
        share_noise_across_channels=False,
        **FAST,
    ).audios
    assert not np.allclose(separate[0, 0], separate[0, 1], atol=1e-3)


def test_detected_cutoff_is_reported():
    audio = synth_music(44100 * 2)
    spectrum = np.fft.rfft(audio)
    spectrum[..., np.fft.rfftfreq(audio.shape[-1], 1 / 44100) > 8000] = 0
    lowpassed = np.fft.irfft(spectrum, n=audio.shape[-1]).astype(np.float32)
    output = pipeline()(lowpassed, 44100, **FAST)
    assert output.cutoff_hz[0] == pytest.approx(8000, rel=0.02)


@pytest.mark.parametrize(
    "unet_factory",
    [
        micro_unet,
        lambda: A2SBPartitionedModel.from_partitions([micro_unet(0), micro_unet(1)]),
    ],
)
def test_save_and_load_round_trip_gives_identical_output(tmp_path, unet_factory):
    pipe = pipeline(unet_factory())
    pipe.save_pretrained(tmp_path)
    loaded = A2SBPipeline.from_pretrained(tmp_path)
    loaded.set_progress_bar_config(disable=True)
    assert type(loaded.unet) is type(pipe.unet)
    audio = synth_music(6000)
    first = pipe(audio, 44100, cutoff_hz=4000, generator=seeded(3), **FAST).audios
    second = loaded(audio, 44100, cutoff_hz=4000, generator=seeded(3), **FAST).audios
    np.testing.assert_array_equal(first, second)


def test_representation_is_saved_with_the_pipeline(tmp_path):
    representation_config = FactorizedSTFT(magnitude_power=0.5)
    pipe = A2SBPipeline(
        micro_unet(), I2SBScheduler(), json.loads(representation_config.to_json_string())
    )
    pipe.save_pretrained(tmp_path)
    loaded = A2SBPipeline.from_pretrained(tmp_path)
    assert loaded.representation.config.magnitude_power == 0.5


def test_model_and_representation_channel_mismatch_is_refused():
    with pytest.raises(A2SBInputError, match="takes 3 input channels but the representation has 2"):
        A2SBPipeline(micro_unet(), I2SBScheduler(), json.loads(ComplexSTFT().to_json_string()))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cutoff_hz": 30000}, r"cutoff 30000 Hz is outside \(0, 22050\)"),
        ({"cutoff_hz": 0}, r"cutoff 0 Hz is outside"),
        ({"task": "denoise"}, "unknown task 'denoise'"),
        ({"task": "inpainting"}, r"inpainting needs at least one gap; pass gaps=\[\(start_s"),
        ({"task": "inpainting", "gaps": [(0.1, 9.0)]}, "outside the audio"),
        ({"task": "inpainting", "gaps": [(0.2, 0.1)]}, "reversed"),
        ({"gaps": [(0.1, 0.2)], "cutoff_hz": 4000}, "gaps are for inpainting.*task='inpainting'"),
        (
            {"task": "inpainting", "gaps": [(0.1, 0.2)], "cutoff_hz": 40000},
            r"cutoff 40000 Hz is outside \(0, 22050\)",
        ),
        ({"cutoff_hz": 4000, "output_type": "mp3"}, "unknown output_type 'mp3'"),
        ({"cutoff_hz": 4000, "window_frames": 100}, "multiple of 32"),
        ({"cutoff_hz": 4000, "window_batch_size": 0}, "window_batch_size=0"),
        ({"cutoff_hz": 4000, "num_inference_steps": 0}, r"must lie in \[1, 1000\]"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(A2SBInputError, match=message):
        pipeline()(synth_music(20000), 44100, **kwargs)


def test_check_inputs_refuses_before_any_model_exists_in_the_callers_own_names():
    cli_names = ArgumentNames(gaps="--gap", inpainting="--task inpaint")
    with pytest.raises(A2SBInputError, match="^--gap given for bandwidth extension.*--task inp"):
        A2SBPipeline.check_inputs("bandwidth_extension", gaps=[(1.0, 2.0)], names=cli_names)
    with pytest.raises(A2SBInputError, match="overlap"):
        A2SBPipeline.check_inputs("inpainting", gaps=[(1.0, 2.0), (1.5, 3.0)])
    with pytest.raises(A2SBInputError, match="outside the audio, which lasts 2.500 s"):
        A2SBPipeline.check_inputs("inpainting", gaps=[(1.0, 3.0)], duration_s=2.5)
    with pytest.raises(A2SBInputError, match=r"outside \(0, 8000\) Hz"):
        A2SBPipeline.check_inputs("bandwidth_extension", cutoff_hz=9000, sampling_rate=16000)
    A2SBPipeline.check_inputs("inpainting", gaps=[(2.0, 3.0), (0.5, 1.0)], duration_s=3.0)
    A2SBPipeline.check_inputs("bandwidth_extension", cutoff_hz=4000)


def test_cutoff_above_the_input_nyquist_is_refused():
    with pytest.raises(A2SBInputError, match=r"outside \(0, 8000\) Hz, the band of 16000 Hz"):
        pipeline()(synth_music(16000, sampling_rate=16000), 16000, cutoff_hz=10000)


@pytest.mark.parametrize(
    ("audio", "rate", "message"),
    [
        (np.zeros((1, 0), np.float32), 44100, "is empty"),
        (np.full((1, 100), np.nan, np.float32), 44100, "NaN or infinite"),
        (np.zeros((1, 1, 1, 5), np.float32), 44100, r"pass \[samples\], \[channels, samples\]"),
        (np.zeros((1, 5000), np.float32), 0, "sampling_rate=0 must be a positive integer"),
    ],
)
def test_bad_audio_is_refused(audio, rate, message):
    with pytest.raises(A2SBInputError, match=message):
        pipeline()(audio, rate, cutoff_hz=4000)


def test_silent_input_without_cutoff_is_refused():
    with pytest.raises(A2SBInputError, match="input is silent"):
        pipeline()(np.zeros((1, 20000), np.float32), 44100)


def test_full_band_input_without_cutoff_is_refused():
    noise = np.random.default_rng(0).standard_normal((1, 44100)).astype(np.float32) * 0.1
    with pytest.raises(A2SBInputError, match="no cutoff found"):
        pipeline()(noise, 44100)


def test_restore_file_writes_the_result_and_never_the_input(tmp_path):
    from a2sb.io.audio import load_audio, save_audio

    source = tmp_path / "song.wav"
    save_audio(source, synth_music(12000, sampling_rate=48000, channels=2), 48000)
    pipe = pipeline()
    output = pipe.restore_file(
        source, tmp_path / "out" / "song.flac", bit_depth="24", cutoff_hz=4000, **FAST
    )
    restored, rate = load_audio(tmp_path / "out" / "song.flac")
    assert rate == 44100 and restored.shape == (2, round(12000 * 44100 / 48000))
    assert output.cutoff_hz == [4000.0]
    with pytest.raises(A2SBInputError, match="never overwrites its input"):
        pipe.restore_file(source, source, cutoff_hz=4000, **FAST)


def test_bfloat16_pipeline_runs_the_model_in_bfloat16():
    unet = RecordingUNet(scale=0.5)
    pipe = pipeline(unet).to(dtype=torch.bfloat16)
    output = pipe(synth_music(6000), 44100, cutoff_hz=4000, output_type="pt", **FAST)
    assert unet.anchor.dtype == torch.bfloat16
    assert output.audios.dtype == torch.float32
    assert torch.isfinite(output.audios).all()
