"""One evaluation path for tools/test.py and in-training validation."""

import logging
from typing import Dict, Optional

import torch
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

from dypose import evaluation
from dypose.engine.distributed import gather_predictions

logger = logging.getLogger(__name__)


def worker_init_fn():
    """DATA's worker seeding function, or None before that module exists."""
    try:
        from dypose.data import worker_init_fn as fn
    except ImportError:
        return None
    return fn


def build_loader(
    cfg, dataset: Dataset, batch_size: int, train: bool, device: torch.device, distributed: bool
) -> DataLoader:
    """The DataLoader used for training (shuffled) or evaluation (in order).

    Distributed runs use a DistributedSampler: shuffled per epoch for training (call
    `sampler.set_epoch`), in order for evaluation, where it pads the last ranks with
    repeated records that `gather_predictions` removes again.
    """
    sampler = None
    shuffle = train and cfg.TRAIN.SHUFFLE
    # Evaluation loaders draw their worker seeds from their own generator, so that
    # validating (or not) leaves the training random stream, and a resumed run, unchanged.
    generator = None if train else torch.Generator().manual_seed(int(cfg.SEED))
    if distributed:
        sampler = DistributedSampler(dataset, shuffle=shuffle, seed=cfg.SEED, drop_last=False)
        shuffle = False
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        sampler=sampler,
        num_workers=cfg.WORKERS,
        worker_init_fn=worker_init_fn(),
        pin_memory=cfg.PIN_MEMORY and device.type == "cuda",
        persistent_workers=cfg.WORKERS > 0,
        drop_last=False,
        generator=generator,
    )


def run_evaluation(
    cfg,
    model: torch.nn.Module,
    dataset: Dataset,
    output_dir: str,
    device: torch.device,
    distributed: bool = False,
    loader: Optional[DataLoader] = None,
) -> Optional[Dict[str, float]]:
    """Predicts keypoints for `dataset`, gathers all ranks and runs COCOeval on rank 0.

    The statistics table is logged by `dypose.evaluation.evaluate_predictions`.

    Args:
        cfg: frozen config (TEST.* switches: flip test, boxes, rescoring, NMS).
        model: network in any wrapper; put in eval mode here.
        dataset: a "val" dataset from `dypose.data.build_dataset` (needs
            `.annotation_file` and `.keypoint_info`).
        output_dir: folder of the results json.
        device: where the network runs.
        distributed: each rank predicts its share, rank 0 evaluates.
        loader: a reusable loader over `dataset` (built here when None).

    Returns:
        OrderedDict of the ten COCO statistics on rank 0; None on other ranks.
    """
    if loader is None:
        loader = build_loader(cfg, dataset, cfg.TEST.BATCH_SIZE_PER_GPU, False, device, distributed)
    # Predict with the bare network: DDP's forward would add collective calls that
    # ranks with different batch counts could not match.
    if isinstance(model, torch.nn.parallel.DistributedDataParallel):
        model = model.module
    was_training = model.training
    model.eval()
    with torch.no_grad():
        preds = evaluation.predict(model, loader, cfg, device)
    model.train(was_training)

    preds = gather_predictions(preds)
    rank = torch.distributed.get_rank() if distributed else 0
    if rank != 0:
        return None
    logger.info("evaluating %d person predictions", len(preds["indices"]))
    stats, results_path = evaluation.evaluate_predictions(
        preds, cfg, dataset.annotation_file, output_dir, dataset.keypoint_info
    )
    # evaluate_predictions logs the statistics table itself (and None without ground truth).
    logger.info("results written to %s", results_path)
    return stats
