"""Run by `torchrun --nproc_per_node 2` in test_training.py: train two steps on two CPU
processes; each rank writes its world size, first loss and final weights to
`REPORT_DIR/rank{rank}.json` / `.safetensors` for the test to compare."""

import json
import sys
from pathlib import Path

from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).parent))

from training_setup import tiny_config  # noqa: E402

from a2sb.training import Trainer  # noqa: E402

output_dir, report_dir = Path(sys.argv[1]), Path(sys.argv[2])
trainer = Trainer(tiny_config(output_dir, output_dir.parent / "music", "max_steps=2"))
result = trainer.train()
rank = trainer.accelerator.process_index
weights = {name: value.contiguous() for name, value in trainer.unet.state_dict().items()}
save_file(weights, report_dir / f"rank{rank}.safetensors")
report = {"world_size": trainer.accelerator.num_processes, "first_loss": result.losses[1]}
(report_dir / f"rank{rank}.json").write_text(json.dumps(report))
