"""The training loop: optimiser, LR schedule, logging, validation, checkpoints, resume."""

import dataclasses
import datetime
import logging
import os
import random
import sys
import time
from collections import Counter
from typing import Dict, Optional

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from dypose.engine import checkpoint as ckpt
from dypose.engine.distributed import (
    DistContext,
    barrier,
    broadcast_buffers,
    cleanup_distributed,
    init_distributed,
)
from dypose.engine.evaluate import build_loader, run_evaluation
from dypose.engine.logger import CONFIG_NAME, MetricsWriter, get_log_dir, get_output_dir
from dypose.engine.losses import build_loss
from dypose.engine.metrics import keypoint_accuracy
from dypose.utils.io import atomic_write_text

logger = logging.getLogger(__name__)


# Epoch e of rank r reseeds the dataset with e * EPOCH_SEED_STRIDE + r (ranks < stride).
EPOCH_SEED_STRIDE = 65536


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; training cannot continue meaningfully."""


@dataclasses.dataclass
class TrainResult:
    """What a call to `train` did.

    Attributes:
        output_dir: folder of checkpoints, metrics and results.
        model: the trained network (unwrapped), None when nothing was built.
        begin_epoch: first epoch this call ran (or would have run).
        end_epoch: epoch after the last one completed.
        best_ap: best validation AP so far (-1 before any validation).
        last_stats: statistics of the last validation, if any.
        interrupted: True when SIGINT (Ctrl-C) stopped the run.
    """

    output_dir: str
    model: Optional[nn.Module] = None
    begin_epoch: int = 0
    end_epoch: int = 0
    best_ap: float = -1.0
    last_stats: Optional[Dict[str, float]] = None
    interrupted: bool = False


class AverageMeter:
    """Running mean of a scalar, weighted by sample count."""

    def __init__(self):
        self.value, self.sum, self.count = 0.0, 0.0, 0

    def update(self, value: float, n: int = 1) -> None:
        self.value = value
        self.sum += value * n
        self.count += n

    @property
    def avg(self) -> float:
        return self.sum / max(self.count, 1)


def scheduled_lr(cfg, epoch: int) -> float:
    """Learning rate of `epoch`: TRAIN.LR times LR_FACTOR once per LR_STEP <= epoch.

    Multiplied step by step, as MultiStepLR does, so the float values match its own.
    """
    lr = cfg.TRAIN.LR
    for step in cfg.TRAIN.LR_STEP:
        if step <= epoch:
            lr *= cfg.TRAIN.LR_FACTOR
    return lr


def build_optimizer(cfg, model: nn.Module) -> torch.optim.Optimizer:
    """Adam (the paper's) or SGD over all parameters, per cfg.TRAIN."""
    params = model.parameters()
    if cfg.TRAIN.OPTIMIZER == "adam":
        return torch.optim.Adam(params, lr=cfg.TRAIN.LR, weight_decay=cfg.TRAIN.WD)
    return torch.optim.SGD(
        params,
        lr=cfg.TRAIN.LR,
        momentum=cfg.TRAIN.MOMENTUM,
        weight_decay=cfg.TRAIN.WD,
        nesterov=cfg.TRAIN.NESTEROV,
    )


def seed_everything(seed: int) -> None:
    """Seeds Python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _configure_backends(cfg, device: torch.device) -> None:
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = cfg.CUDNN.BENCHMARK
        torch.backends.cudnn.deterministic = cfg.CUDNN.DETERMINISTIC
        torch.backends.cudnn.enabled = cfg.CUDNN.ENABLED


def _debug_image_saver(cfg):
    """VIS's save_debug_images when DEBUG asks for images and it is importable, else None."""
    dbg = cfg.DEBUG
    wanted = dbg.SAVE_BATCH_IMAGES_GT or dbg.SAVE_BATCH_IMAGES_PRED
    wanted = wanted or dbg.SAVE_HEATMAPS_GT or dbg.SAVE_HEATMAPS_PRED
    if not (dbg.DEBUG and wanted):
        return None
    try:
        from dypose.visualization import save_debug_images
    except ImportError:
        logger.warning("DEBUG images requested but dypose.visualization is unavailable")
        return None
    return save_debug_images


def _format_eta(seconds: float) -> str:
    return str(datetime.timedelta(seconds=int(max(seconds, 0))))


class Trainer:
    """One training run; `train()` below is the entry point."""

    def __init__(self, cfg, cfg_path: Optional[str], ctx: DistContext):
        self.cfg, self.ctx, self.device = cfg, ctx, ctx.device
        self.output_dir = get_output_dir(cfg, cfg_path)
        self.tb_dir = get_log_dir(cfg, cfg_path)
        self.ckpt_path = os.path.join(self.output_dir, ckpt.CHECKPOINT_NAME)
        self.begin_epoch = cfg.TRAIN.BEGIN_EPOCH
        self.epoch = self.begin_epoch
        # Epoch after the last one completed (validated and checkpointed).
        self.next_epoch = self.begin_epoch
        self.best_ap = -1.0
        self.last_stats = None
        self.resumed = False
        self.amp = cfg.TRAIN.AMP and self.device.type == "cuda"
        if cfg.TRAIN.AMP and not self.amp:
            logger.warning("TRAIN.AMP needs CUDA; training in float32 on %s", self.device)

    # ----------------------------------------------------------------- setup
    def setup(self) -> None:
        """Builds model, loss, optimiser and schedule; resumes; saves the config."""
        from dypose.models import build_model  # heavy import kept out of module load

        cfg = self.cfg
        if self.ctx.is_main:
            os.makedirs(self.output_dir, exist_ok=True)
            ckpt.remove_stale_temporaries(self.output_dir)
            atomic_write_text(os.path.join(self.output_dir, CONFIG_NAME), cfg.dump())
        seed_everything(cfg.SEED + self.ctx.rank)
        _configure_backends(cfg, self.device)

        self.model = build_model(cfg).to(self.device)
        self.criterion = build_loss(cfg).to(self.device)
        self.optimizer = build_optimizer(cfg, self.model)
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(
            self.optimizer, list(cfg.TRAIN.LR_STEP), cfg.TRAIN.LR_FACTOR
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        if cfg.AUTO_RESUME and os.path.isfile(self.ckpt_path):
            self.resume(self.ckpt_path)
        self._sync_schedule(self.begin_epoch)
        self.epoch = self.next_epoch = self.begin_epoch

    def resume(self, path: str) -> None:
        """Restores model, optimiser, schedule, best AP and RNG states from `path`."""
        state = ckpt.load_checkpoint(path)
        ckpt.check_state_dict(self.model, state["model"], path)
        self.model.load_state_dict(state["model"], strict=True)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if "scaler" in state and self.amp:
            self.scaler.load_state_dict(state["scaler"])
        ckpt.set_rng_state(state["rng"])
        self.begin_epoch = int(state["epoch"])
        self.best_ap = float(state["best_ap"])
        self.resumed = True
        logger.info(
            "resumed from %s: next epoch %d, best AP %.4f", path, self.begin_epoch, self.best_ap
        )

    def _sync_schedule(self, epoch: int) -> None:
        """Makes the LR schedule at `epoch` that of an uninterrupted run of this config.

        A resumed scheduler carries the milestones of the run that saved it; the
        config's TRAIN.LR, LR_STEP and LR_FACTOR are authoritative.
        """
        self.scheduler.milestones = Counter(self.cfg.TRAIN.LR_STEP)
        self.scheduler.gamma = self.cfg.TRAIN.LR_FACTOR
        self.scheduler.base_lrs = [self.cfg.TRAIN.LR] * len(self.optimizer.param_groups)
        # MultiStepLR's last_epoch is the index of the epoch being trained (0 after
        # construction); its step() at the end of epoch e applies the drops at e + 1.
        self.scheduler.last_epoch = epoch
        lr = scheduled_lr(self.cfg, epoch)
        for group in self.optimizer.param_groups:
            group["initial_lr"] = self.cfg.TRAIN.LR
            group["lr"] = lr
        self.scheduler._last_lr = [lr] * len(self.optimizer.param_groups)

    def build_data(self) -> None:
        """Datasets and loaders for training and validation."""
        from dypose.data import build_dataset

        cfg, dist = self.cfg, self.ctx.distributed
        self.train_set = build_dataset(cfg, "train")
        self.val_set = build_dataset(cfg, "val")
        self.train_loader = build_loader(
            cfg, self.train_set, cfg.TRAIN.BATCH_SIZE_PER_GPU, True, self.device, dist
        )
        self.val_loader = build_loader(
            cfg, self.val_set, cfg.TEST.BATCH_SIZE_PER_GPU, False, self.device, dist
        )
        logger.info(
            "%d training and %d validation persons; %d iterations per epoch",
            len(self.train_set),
            len(self.val_set),
            len(self.train_loader),
        )

    # ----------------------------------------------------------------- loop
    def run(self) -> None:
        """Trains from `begin_epoch` to TRAIN.END_EPOCH, validating and checkpointing."""
        cfg = self.cfg
        if self.ctx.distributed:
            self.model = nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
        self.writer = MetricsWriter(self.output_dir, self.tb_dir, self.ctx.is_main, self.resumed)
        self._saver = _debug_image_saver(cfg)
        self._run_start, self._iters_done = time.time(), 0
        try:
            for epoch in range(self.begin_epoch, cfg.TRAIN.END_EPOCH):
                self.epoch = epoch
                self.train_one_epoch(epoch)
                self.scheduler.step()
                self.end_of_epoch(epoch)
            if self.ctx.is_main:
                ckpt.save_file(self._bare_state(), os.path.join(self.output_dir, ckpt.FINAL_NAME))
                logger.info("training done; best AP %.4f", self.best_ap)
        finally:
            self.writer.close()

    def _bare_state(self) -> Dict[str, torch.Tensor]:
        return ckpt.unwrap_model(self.model).state_dict()

    def _should_validate(self, epoch: int) -> bool:
        interval = self.cfg.TRAIN.EVAL_INTERVAL
        last = epoch == self.cfg.TRAIN.END_EPOCH - 1
        return last or (interval > 0 and (epoch + 1) % interval == 0)

    def end_of_epoch(self, epoch: int) -> None:
        """Validation, then model_best.pth and checkpoint.pth (rank 0)."""
        broadcast_buffers(self.model)
        stats = None
        if self._should_validate(epoch):
            stats = run_evaluation(
                self.cfg,
                self.model,
                self.val_set,
                self.output_dir,
                self.device,
                self.ctx.distributed,
                loader=self.val_loader,
            )
        if self.ctx.is_main:
            self._save_epoch(epoch, stats)
        self.next_epoch = epoch + 1
        barrier()

    def _save_epoch(self, epoch: int, stats: Optional[Dict[str, float]]) -> None:
        if stats:
            self.last_stats = dict(stats)
            self.writer.write({"type": "val", "epoch": epoch, **stats}, epoch)
            if stats["AP"] > self.best_ap:
                self.best_ap = float(stats["AP"])
                # Best model first: a kill between the two writes redoes this epoch.
                ckpt.save_file(self._bare_state(), os.path.join(self.output_dir, ckpt.BEST_NAME))
        state = {
            "epoch": epoch + 1,
            "model": self._bare_state(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "best_ap": self.best_ap,
            "rng": ckpt.get_rng_state(),
            "config": self.cfg.dump(),
        }
        ckpt.save_checkpoint(state, self.output_dir)
        logger.info("saved %s (next epoch %d)", self.ckpt_path, epoch + 1)

    # ----------------------------------------------------------------- epoch
    def train_one_epoch(self, epoch: int) -> None:
        """One pass over the training loader with a log line every PRINT_FREQ iterations."""
        cfg, model = self.cfg, self.model
        model.train()
        sampler = self.train_loader.sampler
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        if hasattr(self.train_set, "reseed"):
            # The in-process dataset's augmentation stream restarts from (epoch, rank)
            # each epoch, so a resumed run augments exactly as an uninterrupted one
            # (WORKERS 0; workers are seeded from the restored torch RNG).
            self.train_set.reseed(epoch * EPOCH_SEED_STRIDE + self.ctx.rank)
        total = len(self.train_loader)
        meters = {k: AverageMeter() for k in ("loss", "acc", "batch_time", "data_time")}
        logger.info("epoch %d: lr %.3g", epoch, self.optimizer.param_groups[0]["lr"])
        show_bar = self.ctx.is_main and sys.stderr.isatty()
        batches = tqdm(self.train_loader, total=total, disable=not show_bar, leave=False)

        end = time.time()
        for i, (images, target, target_weight, meta) in enumerate(batches):
            meters["data_time"].update(time.time() - end)
            images = images.to(self.device, non_blocking=True)
            target = target.to(self.device, non_blocking=True)
            target_weight = target_weight.to(self.device, non_blocking=True)

            output, loss = self._step(images, target, target_weight, epoch, i, total)

            n = images.shape[0]
            meters["loss"].update(loss, n)
            _, acc, counted, _ = keypoint_accuracy(
                output.detach().float().cpu().numpy(), target.cpu().numpy()
            )
            meters["acc"].update(acc, counted)
            meters["batch_time"].update(time.time() - end)
            self._iters_done += 1
            if i % cfg.PRINT_FREQ == 0 or i == total - 1:
                self._log_iteration(epoch, i, total, meters)
                self._save_debug(images, meta, target, output, epoch, i)
            end = time.time()

    def _step(self, images, target, target_weight, epoch: int, i: int, total: int):
        """Forward, loss, finiteness check, backward and optimiser step; returns (output, loss)."""
        with torch.autocast(device_type=self.device.type, enabled=self.amp):
            output = self.model(images)
        loss = self.criterion(output.float(), target, target_weight)
        loss_value = loss.item()
        if not np.isfinite(loss_value):
            self._raise_non_finite(output, target, target_weight, loss_value, epoch, i, total)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return output, loss_value

    def _raise_non_finite(self, output, target, target_weight, loss_value, epoch, i, total):
        per_keypoint = self.criterion.per_keypoint(output.detach().float(), target, target_weight)
        values = ", ".join(f"{v:.4g}" for v in per_keypoint.mean(dim=0).tolist())
        global_iter = epoch * total + i
        raise NonFiniteLossError(
            f"non-finite loss {loss_value} at epoch {epoch}, iteration {i}/{total} (global "
            f"iteration {global_iter}); per-keypoint losses (batch mean): [{values}]; network "
            f"output finite: {bool(torch.isfinite(output).all())}. Lower TRAIN.LR or check "
            "the data; resume from the last checkpoint.pth"
        )

    def _log_iteration(self, epoch: int, i: int, total: int, meters: Dict) -> None:
        lr = self.optimizer.param_groups[0]["lr"]
        remaining = (total - i - 1) + total * (self.cfg.TRAIN.END_EPOCH - epoch - 1)
        eta = meters["batch_time"].avg * remaining
        logger.info(
            "epoch %d [%d/%d] loss %.6f (%.6f) acc %.3f (%.3f) lr %.3g "
            "time %.3fs (%.3fs) data %.3fs (%.3fs) eta %s",
            epoch, i + 1, total,
            meters["loss"].value, meters["loss"].avg,
            meters["acc"].value, meters["acc"].avg,
            lr,
            meters["batch_time"].value, meters["batch_time"].avg,
            meters["data_time"].value, meters["data_time"].avg,
            _format_eta(eta),
        )  # fmt: skip
        global_iter = epoch * total + i
        record = {
            "type": "train",
            "epoch": epoch,
            "iter": i,
            "global_iter": global_iter,
            "loss": meters["loss"].avg,
            "acc": meters["acc"].avg,
            "lr": lr,
            "batch_time": meters["batch_time"].avg,
            "data_time": meters["data_time"].avg,
        }
        self.writer.write(record, global_iter)

    def _save_debug(self, images, meta, target, output, epoch: int, i: int) -> None:
        if self._saver is None or not self.ctx.is_main:
            return
        prefix = os.path.join(self.output_dir, "debug", f"train_e{epoch:03d}_i{i:05d}")
        os.makedirs(os.path.dirname(prefix), exist_ok=True)
        self._saver(self.cfg, images, meta, target, output.detach(), prefix)


def train(cfg, cfg_path: Optional[str] = None) -> TrainResult:
    """Trains the model of `cfg`; the entry point of tools/train.py.

    Single process, or one rank of a `torchrun` launch (rank 0 alone logs and saves).
    With AUTO_RESUME and an existing checkpoint.pth the run continues from the start
    of the first unfinished epoch; a run already at TRAIN.END_EPOCH returns at once.
    SIGINT (Ctrl-C) stops at once without writing anything; the result then has
    `interrupted` set and the last checkpoint is left as it was.

    Args:
        cfg: frozen config (see dypose.config.defaults).
        cfg_path: the experiment yaml; its basename names the output folder.

    Returns:
        TrainResult.

    Raises:
        NonFiniteLossError: the loss became NaN or infinite (names the iteration).
        CheckpointError: checkpoint.pth exists but cannot be resumed.
    """
    ctx = init_distributed(cfg.DEVICE)
    trainer = Trainer(cfg, cfg_path, ctx)
    result = TrainResult(output_dir=trainer.output_dir)
    try:
        trainer.setup()
        result.begin_epoch = trainer.begin_epoch
        if trainer.begin_epoch >= cfg.TRAIN.END_EPOCH:
            logger.info(
                "checkpoint %s is at epoch %d of %d: nothing to train",
                trainer.ckpt_path,
                trainer.begin_epoch,
                cfg.TRAIN.END_EPOCH,
            )
        else:
            trainer.build_data()
            trainer.run()
    except KeyboardInterrupt:
        result.interrupted = True
        logger.warning(
            "interrupted (SIGINT) during epoch %d; nothing more written, %s left as it was",
            trainer.epoch,
            trainer.ckpt_path,
        )
    finally:
        cleanup_distributed()
    result.model = ckpt.unwrap_model(trainer.model) if hasattr(trainer, "model") else None
    result.end_epoch = trainer.next_epoch
    result.best_ap, result.last_stats = trainer.best_ap, trainer.last_stats
    return result
