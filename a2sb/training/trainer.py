"""The training loop: Accelerate, exact resumption, checkpoints, validation and the pipeline.

    trainer = Trainer(load_training_config("train.yaml"))
    result = trainer.train()

Launched with `accelerate launch -m a2sb.training` (or `torchrun`), every process runs the
same code: each streams its own segments (seeded by its rank), gradients are averaged across
processes, and the main process writes the pipeline and the logs. Every random draw of step s
is seeded by (seed, rank, micro-batch index) — the data, the masks, the times, the noise — and
Accelerate's checkpoint restores the optimizer, the EMA and each rank's global random state
(dropout), so a resumed run reproduces the losses of the uninterrupted one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.utils import ProjectConfiguration, is_tensorboard_available, set_seed
from diffusers.training_utils import EMAModel
from safetensors import SafetensorError
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from a2sb.errors import A2SBInputError
from a2sb.io.atomic_output import folder_written_atomically, partial_path
from a2sb.pipelines import A2SBPipeline
from a2sb.schedulers import I2SBScheduler
from a2sb.training.checkpoints import (
    PIPELINE_FOLDER,
    checkpoint_path,
    failed_save_note,
    read_step,
    remove_old_checkpoints,
    remove_unfinished_checkpoints,
    resolve_resume,
    write_step,
)
from a2sb.training.components import (
    build_optimizer,
    build_representation,
    build_unet,
    learning_rate_at,
)
from a2sb.training.config import TrainingConfig, config_to_dict, save_training_config
from a2sb.training.data import AudioFileScan, SegmentStream, scan_audio_files
from a2sb.training.hub import check_hub_access, upload_pipeline
from a2sb.training.model_card import TrainingFacts, model_card
from a2sb.training.objective import bridge_loss, make_bridge_batch
from a2sb.training.seeding import BRIDGE_STREAM, torch_generator
from a2sb.training.validation import (
    build_validation_set,
    restoration_scores,
    validation_losses,
)

logger = logging.getLogger(__name__)

SAVE_ERRORS = (RuntimeError, SafetensorError)
"""What torch and safetensors raise, besides `OSError`, when a file cannot be written."""


@dataclass
class TrainingResult:
    """What `Trainer.train` returns (on every process).

    Args:
        step: the optimizer step reached.
        losses: training loss of each step this call ran, on this process (the mean over its
            micro-batches), by step number (1-based).
        validation: the last validation metrics (main process; empty if none ran).
        pipeline_dir: the final pipeline folder.
    """

    step: int
    losses: dict[int, float] = field(default_factory=dict)
    validation: dict[str, float] = field(default_factory=dict)
    pipeline_dir: Path | None = None


class Trainer:
    """Trains a `RoPEUNet2DModel` for one range of bridge time with Accelerate.

    Everything that can be wrong in the configuration or the data is checked on construction,
    before any training step.

    Args:
        config: the run's configuration.
    """

    def __init__(self, config: TrainingConfig):
        self.config = config
        self.output_dir = Path(config.output_dir).expanduser()
        check_hub_access(config.hub)
        tracker = self._tracker()
        self.accelerator = Accelerator(
            mixed_precision=config.mixed_precision,
            log_with=tracker,
            project_config=ProjectConfiguration(
                project_dir=str(self.output_dir), logging_dir=str(self.output_dir / "logs")
            ),
        )
        self.rank = self.accelerator.process_index
        self.is_main_process = self.accelerator.is_main_process
        if tracker is None and config.tracking.report_to == "auto" and self.is_main_process:
            logger.info(
                "TensorBoard is not installed: metrics go to the log only "
                "(pip install tensorboard to record them)"
            )
        resume = resolve_resume(self.output_dir, config.checkpointing.resume_from)
        self.representation = build_representation(config)
        self.scan = self._scan_data()
        if self.is_main_process:
            logger.info("training data: %s", self.scan.summary())
        self.validation_set = None
        if config.validation.interval_steps:
            self.validation_set = build_validation_set(config, self.scan.files)
        self.scheduler = I2SBScheduler(
            beta_max=config.bridge.beta_max, prediction_type=config.bridge.prediction_type
        )

        set_seed(config.seed)
        unet = build_unet(config, self.representation)
        self.num_parameters = sum(parameter.numel() for parameter in unet.parameters())
        set_seed(config.seed, device_specific=True)
        optimizer = build_optimizer(list(unet.parameters()), config.optimizer)
        self.model, self.optimizer = self.accelerator.prepare(unet, optimizer)
        self.ema = None
        if config.ema.enabled:
            self.ema = EMAModel(self.unet.parameters(), decay=config.ema.decay)
            self.ema.to(self.accelerator.device)
            self.accelerator.register_for_checkpointing(self.ema)

        self.step = 0
        if resume is not None:
            self.accelerator.load_state(str(resume))
            self.step = read_step(resume)
            if self.is_main_process:
                logger.info("resumed from %s at step %d", resume, self.step)
        self.batches = iter(self._data_loader(start_batch=self.step * self._accumulation))

    @property
    def unet(self) -> torch.nn.Module:
        """The network without its distributed wrapper."""
        return self.accelerator.unwrap_model(self.model)

    @property
    def _accumulation(self) -> int:
        return self.config.gradient_accumulation_steps

    def train(self) -> TrainingResult:
        """Train up to `max_steps`, checkpointing, validating and logging on the way; save the
        final pipeline (and push it to the Hub if configured)."""
        config = self.config
        if self.is_main_process:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            save_training_config(config, self.output_dir / "training_config.yaml")
            self.accelerator.init_trackers(config.tracking.project_name, _flat_config(config))
        result = TrainingResult(step=self.step)
        interval_losses = []
        last_checkpoint = self.step
        progress = tqdm(
            initial=self.step,
            total=config.max_steps,
            desc="training",
            disable=not (config.progress_bar and self.is_main_process),
        )
        while self.step < config.max_steps:
            loss = self.training_step()
            result.losses[self.step] = loss
            interval_losses.append(loss)
            progress.update(1)
            progress.set_postfix(loss=f"{loss:.4f}")
            if self.step % config.tracking.log_interval_steps == 0:
                self._log_training_loss(interval_losses)
                interval_losses = []
            if (
                config.validation.interval_steps
                and self.step % config.validation.interval_steps == 0
            ):
                result.validation = self.validate() or result.validation
            if config.checkpointing.interval_steps and (
                self.step % config.checkpointing.interval_steps == 0
            ):
                self.save_checkpoint()
                last_checkpoint = self.step
        progress.close()
        if last_checkpoint != self.step:
            self.save_checkpoint()
        result.step = self.step
        result.pipeline_dir = self.output_dir / PIPELINE_FOLDER
        # Past the last barrier: a failing upload on the main process cannot hang the others.
        try:
            if self.is_main_process:
                with folder_written_atomically(
                    result.pipeline_dir, SAVE_ERRORS, failed_save_note(self.output_dir)
                ) as partial:
                    self.save_pipeline(partial)
                logger.info("trained %d steps; pipeline in %s", self.step, result.pipeline_dir)
                if config.hub.push_to_hub:
                    upload_pipeline(result.pipeline_dir, config.hub, self.step)
        finally:
            self.accelerator.end_training()
        return result

    def validate(self) -> dict[str, float]:
        """Validation losses of the current weights (main process; others return {})."""
        metrics = {}
        if self.is_main_process and self.validation_set is not None:
            unet = self.unet
            unet.eval()
            with self._ema_weights():
                metrics = validation_losses(
                    unet,
                    self.validation_set,
                    self.representation,
                    self.config.masks,
                    self.scheduler,
                    self.config.validation.seed,
                    self.config.batch_size,
                    self.config.data.bandwidth_loss_mask,
                    self.config.endpoint,
                    self.config.model.sees_degraded,
                    self.config.bridge.channel_weights,
                )
                metrics.update(self._restoration_scores())
            unet.train()
            self.accelerator.log(metrics, step=self.step)
            logger.info(
                "step %d: validation loss %.5f (%s)",
                self.step,
                metrics["validation/loss"],
                "segments of the training files"
                if self.validation_set.from_training_files
                else "held-out segments",
            )
        self.accelerator.wait_for_everyone()
        return metrics

    def _restoration_scores(self) -> dict[str, float]:
        """LSD/SiSpec of a few restored validation segments; {} when not asked for, or when
        this model serves only part of the times (it cannot restore alone)."""
        settings = self.config.validation
        if not settings.restored_clips:
            return {}
        if tuple(self.config.bridge.t_range) != (0.0, 1.0):
            logger.info("no restoration check: a partition model cannot restore on its own")
            return {}
        pipeline = A2SBPipeline(
            unet=self.unet,
            scheduler=self.scheduler,
            representation_config=json.loads(self.representation.to_json_string()),
            **self._pipeline_config(),
        )
        pipeline.set_progress_bar_config(disable=True)
        return restoration_scores(
            pipeline,
            self.validation_set,
            settings.restored_clips,
            settings.restoration_steps,
            settings.restoration_cutoff_hz,
            settings.seed,
        )

    def save_checkpoint(self) -> Path:
        """Save the full state of every rank, and a ready pipeline, after the current step.

        Every rank writes into the checkpoint's partial folder, which the main process renames
        once all are done (see `a2sb.training.checkpoints`).

        Raises:
            A2SBWriteError: the save failed (a full disk, ...); the earlier checkpoints are
                kept, and the message names the latest.
        """
        folder = checkpoint_path(self.output_dir, self.step)
        if self.is_main_process:
            remove_unfinished_checkpoints(self.output_dir)
        self.accelerator.wait_for_everyone()
        writing = (
            folder_written_atomically(folder, SAVE_ERRORS, failed_save_note(self.output_dir))
            if self.is_main_process
            else contextlib.nullcontext(partial_path(folder))
        )
        with writing as partial:
            self.accelerator.save_state(str(partial))
            self.accelerator.wait_for_everyone()  # every rank's files are in before the rename
            if self.is_main_process:
                self.save_pipeline(partial / PIPELINE_FOLDER)
                write_step(partial, self.step)
        if self.is_main_process:
            for removed in remove_old_checkpoints(
                self.output_dir, self.config.checkpointing.total_limit
            ):
                logger.info("removed old checkpoint %s", removed)
            logger.info("saved checkpoint %s", folder)
        self.accelerator.wait_for_everyone()
        return folder

    def save_pipeline(self, folder: str | os.PathLike) -> A2SBPipeline:
        """Write an `A2SBPipeline` (with the EMA weights if kept) and its model card."""
        folder = Path(folder)
        with self._ema_weights():
            pipeline = A2SBPipeline(
                unet=self.unet,
                scheduler=self.scheduler,
                representation_config=json.loads(self.representation.to_json_string()),
                **self._pipeline_config(),
            )
            pipeline.save_pretrained(folder, safe_serialization=True)
        facts = TrainingFacts(
            step=self.step,
            num_processes=self.accelerator.num_processes,
            num_parameters=self.num_parameters,
            data_summary=self.scan.summary(),
        )
        card = model_card(self.config, facts)  # names that are not UTF-8 show as \xe9
        (folder / "README.md").write_text(card, encoding="utf-8", errors="backslashreplace")
        return pipeline

    def training_step(self) -> float:
        """One optimizer step: accumulate the gradients of `gradient_accumulation_steps`
        micro-batches (synchronised across processes on the last), clip, step, update the EMA.

        Returns:
            The mean loss of this process's micro-batches.
        """
        losses = []
        for index in range(self._accumulation):
            micro_batch = self.step * self._accumulation + index
            is_last = index == self._accumulation - 1
            sync = contextlib.nullcontext() if is_last else self.accelerator.no_sync(self.model)
            with sync:
                loss = self._micro_batch_loss(next(self.batches), micro_batch)
                self.accelerator.backward(loss / self._accumulation)
            losses.append(loss.item())
        if self.config.optimizer.max_grad_norm > 0:
            self.accelerator.clip_grad_norm_(
                self.model.parameters(), self.config.optimizer.max_grad_norm
            )
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate_at(self.step, self.config.optimizer)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.ema is not None:
            self.ema.step(self.unet.parameters())
        self.step += 1
        return sum(losses) / len(losses)

    def _pipeline_config(self) -> dict[str, Any]:
        """The fill and default sampling of this run, as `A2SBPipeline` records them."""
        return {
            **dataclasses.asdict(self.config.endpoint),
            "sampling_defaults": self.config.sampling_defaults,
        }

    def _micro_batch_loss(self, examples: dict, micro_batch: int) -> torch.Tensor:
        generator = torch_generator(self.config.seed, BRIDGE_STREAM, self.rank, micro_batch)
        waveforms = examples["waveform"].to(self.accelerator.device, non_blocking=True)
        bandwidth_hz = examples["bandwidth_hz"] if self.config.data.bandwidth_loss_mask else None
        batch = make_bridge_batch(
            waveforms,
            bandwidth_hz,
            self.representation,
            self.config.masks,
            self.scheduler,
            generator,
            tuple(self.config.bridge.t_range),
            self.config.endpoint,
            self.config.model.sees_degraded,
        )
        return bridge_loss(self.model, batch, self.config.bridge.channel_weights)

    def _log_training_loss(self, losses: list[float]) -> None:
        local_mean = torch.tensor(sum(losses) / len(losses), device=self.accelerator.device)
        mean = self.accelerator.reduce(local_mean, reduction="mean").item()
        learning_rate = self.optimizer.param_groups[0]["lr"]
        self.accelerator.log({"train/loss": mean, "train/lr": learning_rate}, step=self.step)
        if self.is_main_process:
            logger.info("step %d: loss %.5f", self.step, mean)

    def _data_loader(self, start_batch: int) -> DataLoader:
        stream = SegmentStream(
            self.scan.files,
            self.config.data,
            seed=self.config.seed,
            rank=self.rank,
            batch_size=self.config.batch_size,
            start_batch=start_batch,
        )
        # The stream seeds itself; a generator of its own keeps the loader from drawing its
        # base seed from the global random state, which a resumed run must find as it was saved.
        return DataLoader(
            stream,
            batch_size=self.config.batch_size,
            num_workers=self.config.data.num_workers,
            pin_memory=self.accelerator.device.type == "cuda",
            generator=torch.Generator().manual_seed(self.config.seed),
        )

    def _scan_data(self) -> AudioFileScan:
        data = self.config.data
        return scan_audio_files(data.folders, data.manifest, data.extensions, data.min_duration_s)

    def _tracker(self) -> str | None:
        report_to = self.config.tracking.report_to
        if report_to == "none":
            return None
        if is_tensorboard_available():
            return "tensorboard"
        if report_to == "tensorboard":
            raise A2SBInputError(
                "tracking.report_to=tensorboard needs TensorBoard: pip install tensorboard, or "
                "set tracking.report_to=none"
            )
        return None

    @contextlib.contextmanager
    def _ema_weights(self):
        """Swap the EMA weights into the network for the duration of the block."""
        if self.ema is None:
            yield
            return
        parameters = list(self.unet.parameters())
        self.ema.store(parameters)
        self.ema.copy_to(parameters)
        try:
            yield
        finally:
            self.ema.restore(parameters)


def train(config: TrainingConfig) -> TrainingResult:
    """Train with `config` (see `Trainer`)."""
    return Trainer(config).train()


def _flat_config(config: TrainingConfig) -> dict[str, int | float | str | bool]:
    """The configuration as one level of `group.key` → scalar (what trackers record)."""
    flat = {}

    def visit(prefix: str, values: dict) -> None:
        for key, value in values.items():
            if isinstance(value, dict) and value:
                visit(f"{prefix}{key}.", value)
            elif isinstance(value, bool | int | float | str):
                flat[f"{prefix}{key}"] = value
            else:
                flat[f"{prefix}{key}"] = json.dumps(value)

    visit("", config_to_dict(config))
    return flat
