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

from facial_emotion.data.cache import load_fer_csv
from facial_emotion.data.fer_csv import FERArrays
from facial_emotion.data.locate import default_data_dir, require_csv

log = logging.getLogger(__name__)


class FaceTensorDataset(Dataset):
    """uint8 faces and labels held in memory as tensors."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images = torch.from_numpy(np.ascontiguousarray(images)).unsqueeze(1)
        self.labels = torch.from_numpy(np.asarray(labels, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[index], self.labels[index]


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


class FERDataModule(L.LightningDataModule):
    """train.csv -> train/val (stratified, seeded); test_with_emotions.csv -> test."""

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
    ) -> None:
        super().__init__()
        self.save_hyperparameters(logger=False)
        self.data_dir = Path(data_dir) if data_dir else default_data_dir()
        self.train_set: FaceTensorDataset | None = None
        self.val_set: FaceTensorDataset | None = None
        self.test_set: FaceTensorDataset | None = None

    def _load(self, file_name: str) -> FERArrays:
        path = require_csv(self.data_dir, file_name)
        arrays = load_fer_csv(path, self.hparams.cache_dir, self.hparams.skip_bad_rows)
        if arrays.skipped_lines:
            log.warning("%s: %d bad rows skipped", path, len(arrays.skipped_lines))
        return arrays

    def setup(self, stage: str | None = None) -> None:
        """Load (cached) arrays and build the datasets needed for `stage`."""
        if stage in (None, "fit", "validate") and self.train_set is None:
            full = self._load(self.hparams.train_file)
            train_idx, val_idx = stratified_split(full.labels, self.hparams.val_fraction, self.hparams.split_seed)
            self.train_set = FaceTensorDataset(full.images[train_idx], full.labels[train_idx])
            self.val_set = FaceTensorDataset(full.images[val_idx], full.labels[val_idx])
        if stage in (None, "test", "predict") and self.test_set is None:
            test = self._load(self.hparams.test_file)
            self.test_set = FaceTensorDataset(test.images, test.labels)

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
        return self._loader(self.train_set, shuffle=True, batch_size=self.hparams.batch_size)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, shuffle=False, batch_size=self.hparams.eval_batch_size)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, shuffle=False, batch_size=self.hparams.eval_batch_size)
