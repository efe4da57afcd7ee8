"""Training of A2SB networks with Hugging Face Accelerate (paper §3.5, §4.1).

`Trainer(load_training_config("train.yaml")).train()` trains one network for one range of
bridge time and writes a ready `A2SBPipeline`; `assemble_partitions` joins networks trained on
separate ranges. The modules hold one idea each: `config` (every knob), `data` (streamed
segments), `objective` (masks, bridge, masked loss), `trainer` (the Accelerate loop),
`checkpoints`, `validation`, `model_card`, `hub` and `partitions`.

The names below are imported on first use, so that the command line can register its
arguments without loading torch.
"""

import importlib

_EXPORTS = {
    "AudioFile": "a2sb.training.data",
    "AudioFileScan": "a2sb.training.data",
    "BridgeBatch": "a2sb.training.objective",
    "SegmentStream": "a2sb.training.data",
    "Trainer": "a2sb.training.trainer",
    "TrainingConfig": "a2sb.training.config",
    "TrainingResult": "a2sb.training.trainer",
    "assemble_partitions": "a2sb.training.partitions",
    "load_training_config": "a2sb.training.config",
    "make_bridge_batch": "a2sb.training.objective",
    "masked_mse": "a2sb.training.objective",
    "save_training_config": "a2sb.training.config",
    "scan_audio_files": "a2sb.training.data",
    "train": "a2sb.training.trainer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'a2sb.training' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
