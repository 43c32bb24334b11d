"""LightningDataModule over the FER2013 CSVs: seeded stratified validation split, uint8 batches.

Batches hold raw uint8 faces (N, 1, 48, 48); augmentation and normalisation run batch-wise on the
training device inside the LightningModule, so data loading stays trivially cheap on CPU and GPU.
"""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from facial_emotion.core.options import OptionError
from facial_emotion.core.plain_values import plain_hyperparameters
from facial_emotion.data.cache import load_fer_csv
from facial_emotion.data.fer_csv import FERArrays, FERDataError
from facial_emotion.data.ferplus import load_ferplus_votes, soft_targets
from facial_emotion.data.locate import default_data_dir, require_csv

log = logging.getLogger(__name__)


class FaceTensorDataset(Dataset):
    """uint8 faces and labels held in memory as tensors; with `targets`, items are (face, label, target)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, targets: np.ndarray | None = None) -> None:
        self.images = torch.from_numpy(np.ascontiguousarray(images)).unsqueeze(1)
        self.labels = torch.from_numpy(np.asarray(labels, dtype=np.int64))
        self.targets = None if targets is None else torch.from_numpy(np.asarray(targets, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        if self.targets is None:
            return self.images[index], self.labels[index]
        return self.images[index], self.labels[index], self.targets[index]


def stratified_split(labels: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val): `val_fraction` of every class goes to validation, chosen with `seed`."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    rng = np.random.default_rng(seed)
    val_parts = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        n_val = int(round(len(members) * val_fraction))
        val_parts.append(rng.permutation(members)[:n_val])
    val_idx = np.sort(np.concatenate(val_parts))
    train_mask = np.ones(len(labels), dtype=bool)
    train_mask[val_idx] = False
    return np.flatnonzero(train_mask), val_idx


# Under this many validation faces val/acc moves in steps of more than a point: a warning, not an error (tiny
# debug data is legitimate).
FEW_VALIDATION_FACES = 100


def check_split_sizes(val_fraction: float, n_train: int, n_val: int) -> None:
    """OptionError, in one line naming `data.val_fraction`, when the split leaves validation or training empty (a
    valid but tiny fraction rounds every class's share to no rows; Lightning would then skip validation silently
    and the checkpoints, early stopping and export would have no val/acc to go by); a warning when validation is so
    small that its accuracy is mostly chance."""
    for name, rows in (("validation", n_val), ("training", n_train)):
        if rows == 0:
            raise OptionError(
                f"data.val_fraction={val_fraction:g} gives {n_val} validation and {n_train} training rows of "
                f"{n_train + n_val}: the {name} split is empty; give a fraction that leaves rows in both"
            )
    if n_val < FEW_VALIDATION_FACES:
        log.warning(
            "data.val_fraction=%g gives only %d validation faces: val/acc moves in steps of %.3g points, so the best "
            "checkpoint, early stopping and the fitted temperatures follow chance",
            val_fraction,
            n_val,
            100 / n_val,
        )


def check_batch_size(batch_size: int, n_train: int) -> None:
    """OptionError naming `data.batch_size` when it exceeds the training rows: every epoch drops its last, incomplete
    batch (a stray small batch would skew batch norm), so there would be no step to train (the one-cycle schedule
    failed on "total_steps 0" instead)."""
    if batch_size > n_train:
        raise OptionError(
            f"data.batch_size={batch_size} is more than the {n_train} training rows: no whole batch to train on "
            f"(each epoch drops its last, incomplete batch); give data.batch_size={n_train} or less"
        )


class FERDataModule(L.LightningDataModule):
    """train.csv -> train/val (stratified, seeded); test_with_emotions.csv -> test.

    With `soft_labels_file` (FER+'s fer2013new.csv), training items also carry soft targets: the FER2013
    label mixed with the FER+ vote distribution at `soft_labels_weight`. Validation and test keep FER2013's
    labels, so their figures stay comparable with every earlier run.
    """

    def __init__(
        self,
        data_dir: str | None = None,
        train_file: str = "train.csv",
        test_file: str = "test_with_emotions.csv",
        val_fraction: float = 0.1,
        split_seed: int = 42,
        batch_size: int = 128,
        eval_batch_size: int = 256,
        num_workers: int = 0,
        pin_memory: bool = False,
        cache_dir: str | None = None,
        skip_bad_rows: bool = False,
        soft_labels_file: str | None = None,
        soft_labels_weight: float = 0.5,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(logger=False)
        plain_hyperparameters(self.hparams)  # checkpoints load with weights_only=True
        self.data_dir = Path(data_dir) if data_dir else default_data_dir()
        self.train_set: FaceTensorDataset | None = None
        self.val_set: FaceTensorDataset | None = None
        self.test_set: FaceTensorDataset | None = None

    def _load(self, file_name: str) -> FERArrays:
        path = require_csv(self.data_dir, file_name)
        arrays = load_fer_csv(path, self.hparams.cache_dir, self.hparams.skip_bad_rows)
        if arrays.skipped_lines:  # the one word on them, from a fresh parse or the cache alike
            log.warning("%s", arrays.skipped_message(path))
        return arrays

    def setup(self, stage: str | None = None) -> None:
        """Load (cached) arrays and build the datasets needed for `stage`."""
        if stage in (None, "fit", "validate") and self.train_set is None:
            full = self._load(self.hparams.train_file)
            train_idx, val_idx = stratified_split(full.labels, self.hparams.val_fraction, self.hparams.split_seed)
            check_split_sizes(self.hparams.val_fraction, len(train_idx), len(val_idx))
            targets = self._soft_targets(full)
            self.train_set = FaceTensorDataset(
                full.images[train_idx], full.labels[train_idx], None if targets is None else targets[train_idx]
            )
            self.val_set = FaceTensorDataset(full.images[val_idx], full.labels[val_idx])
        if stage in (None, "test", "predict") and self.test_set is None:
            test = self._load(self.hparams.test_file)
            self.test_set = FaceTensorDataset(test.images, test.labels)

    def _soft_targets(self, full: FERArrays) -> np.ndarray | None:
        file_name = self.hparams.soft_labels_file
        if not file_name:
            return None
        if full.skipped_lines:
            raise FERDataError(
                f"{self.hparams.train_file}: {len(full.skipped_lines)} bad rows were skipped, so its rows no longer "
                f"line up with {file_name}; fix the CSV or drop soft_labels_file"
            )
        labels = full.labels
        path = Path(file_name) if Path(file_name).is_absolute() else self.data_dir / file_name
        votes = load_ferplus_votes(path)
        if len(votes) != len(labels):
            train_csv = require_csv(self.data_dir, self.hparams.train_file)
            raise FERDataError(
                f"{path} has {len(votes)} Training rows, {train_csv} {len(labels)}: data.soft_labels_file must be the "
                "FER+ file of this train.csv (one line per row, in its order)"
            )
        targets = soft_targets(labels, votes, self.hparams.soft_labels_weight)
        agree = float((targets.argmax(axis=1) == labels).mean())
        log.info(
            "soft targets from %s at weight %.2f (argmax = FER2013 label on %.1f%%)",
            path,
            self.hparams.soft_labels_weight,
            100 * agree,
        )
        return targets

    def _loader(self, dataset: Dataset, shuffle: bool, batch_size: int) -> DataLoader:
        workers = self.hparams.num_workers
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle,
            drop_last=shuffle,
            num_workers=workers,
            persistent_workers=workers > 0,
            pin_memory=self.hparams.pin_memory,
        )

    def train_dataloader(self) -> DataLoader:
        check_batch_size(self.hparams.batch_size, len(self.train_set))  # here: calibrate.py splits, never trains
        return self._loader(self.train_set, shuffle=True, batch_size=self.hparams.batch_size)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, shuffle=False, batch_size=self.hparams.eval_batch_size)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, shuffle=False, batch_size=self.hparams.eval_batch_size)
