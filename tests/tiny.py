"""The tiny RoPEUNet2DModel configurations of the tests, all in one place, each derived from
the one before it.

- `TINY_CONFIG`: six levels with attention at encoder levels 3 and 4, as the released network
  has; what the conversion and model tests need (every kind of block, under the real names).
- `MICRO_UNET`: the same depth, 8 channels, attention only in the middle: the cheapest real
  UNet for pipeline and docs tests (windows must still be multiples of 32 frames).
- `TRAINING_UNET`: `MICRO_UNET` cut to two levels and one block per level, so the training
  tests' 16-frame segments fit (a multiple of 4).
"""

TINY_CHANNELS = [32, 32, 64, 64, 64, 64]
TINY_CONFIG = {
    "block_out_channels": TINY_CHANNELS,
    "attention_levels": [3, 4],
    "num_attention_heads": 1,
}

MICRO_UNET = {
    **TINY_CONFIG,
    "block_out_channels": (8, 8, 8, 8, 8, 64),
    "attention_levels": (),
    "norm_num_groups": 8,
    "time_embedding_dim": 16,
    "frequency_embedding_dim": 4,
}

TRAINING_UNET = {**MICRO_UNET, "block_out_channels": [8, 8, 64], "layers_per_block": 1}
