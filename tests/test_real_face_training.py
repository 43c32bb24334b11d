"""Training for real faces: FER+ votes as soft targets, camera-like photometric augmentation, a real fit."""

from __future__ import annotations

import functools
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from facial_emotion.augmentation.photometric import PhotometricAugmentation
from facial_emotion.core.labels import EMOTIONS
from facial_emotion.data.datamodule import FaceTensorDataset, FERDataModule
from facial_emotion.data.fer_csv import FERDataError
from facial_emotion.data.ferplus import load_ferplus_votes, soft_targets
from facial_emotion.models.emotion_module import EmotionClassifier
from facial_emotion.models.loading import load_model_file
from facial_emotion.tasks.train import train
from tests.conftest import compose_train_config, write_ferplus


def test_ferplus_votes_come_in_fer2013_class_order_for_the_training_rows(tmp_path: Path) -> None:
    expected = write_ferplus(tmp_path / "fer2013new.csv", 20)
    votes = load_ferplus_votes(tmp_path / "fer2013new.csv")
    assert votes.shape == (20, 7)
    np.testing.assert_array_equal(votes, expected)


def test_soft_targets_mix_label_and_votes_and_keep_the_label_where_nobody_voted() -> None:
    labels = np.array([3, 6, 0])
    votes = np.array([[0, 0, 0, 8, 0, 2, 0], [0] * 7, [5, 0, 0, 0, 0, 0, 5]], np.float32)
    targets = soft_targets(labels, votes, 0.5)
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(targets[0], [0, 0, 0, 0.9, 0, 0.1, 0], atol=1e-6)
    np.testing.assert_allclose(targets[1], np.eye(7)[6])  # no class vote: the FER2013 label alone
    np.testing.assert_allclose(targets[2], [0.75, 0, 0, 0, 0, 0, 0.25], atol=1e-6)
    with pytest.raises(FERDataError, match="2 rows for 3 FER2013 rows"):
        soft_targets(labels, votes[:2], 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        soft_targets(labels, votes, 1.5)


def test_ferplus_bad_files_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(FERDataError, match="not found"):
        load_ferplus_votes(tmp_path / "missing.csv")
    (tmp_path / "other.csv").write_text("Usage,neutral\nTraining,3\n")
    with pytest.raises(FERDataError, match=r"other.csv: missing FER\+ columns \['anger'"):
        load_ferplus_votes(tmp_path / "other.csv")


def test_datamodule_gives_training_batches_soft_targets_and_validation_the_fer2013_labels(
    tmp_path: Path, fer_dir: Path
) -> None:
    write_ferplus(fer_dir / "fer2013new.csv", 140)
    data = FERDataModule(fer_dir, batch_size=16, cache_dir=str(tmp_path / "cache"), soft_labels_file="fer2013new.csv")
    data.setup("fit")
    images, labels, targets = next(iter(data.train_dataloader()))
    assert images.dtype == torch.uint8 and targets.shape == (len(labels), 7)
    torch.testing.assert_close(targets.sum(dim=1), torch.ones(len(labels)))
    assert (targets.gather(1, labels[:, None]) >= 0.5).all()  # the FER2013 label keeps at least half
    assert len(next(iter(data.val_dataloader()))) == 2


def test_photometric_augmentation_changes_faces_within_range_and_is_off_at_zero_probability() -> None:
    torch.manual_seed(0)
    faces = torch.rand(16, 1, 48, 48) * 0.6 + 0.2
    off = PhotometricAugmentation(prob=0, blur_prob=0, noise_prob=0, rescale_prob=0, jpeg_prob=0)
    assert torch.equal(off(faces), faces)
    everything = PhotometricAugmentation(prob=1, blur_prob=1, noise_prob=1, rescale_prob=1, jpeg_prob=1)
    changed = everything(faces)
    assert changed.shape == faces.shape and changed.min() >= 0 and changed.max() <= 1
    assert (changed - faces).abs().mean(dim=(1, 2, 3)).min() > 0.01  # every face was changed
    blur_only = PhotometricAugmentation(prob=0, blur_prob=1, noise_prob=0, rescale_prob=0, jpeg_prob=0)
    high_frequency = lambda x: (x[..., 1:] - x[..., :-1]).abs().mean()  # noqa: E731
    assert high_frequency(blur_only(faces)) < 0.5 * high_frequency(faces)  # blur removes pixel-level detail
    torch.testing.assert_close(blur_only(faces).mean(), faces.mean(), atol=0.01, rtol=0)


def test_real_face_recipe_trains_on_soft_targets_and_photometric_augmentation(tmp_path: Path, fer_dir: Path) -> None:
    write_ferplus(fer_dir / "fer2013new.csv", 140)
    cfg = compose_train_config(
        tmp_path, fer_dir, ["augmentation=real_camera", "+data.soft_labels_file=fer2013new.csv", "test=false"]
    )
    metrics = train(cfg)  # (faces, labels, soft targets) batches through photometric + geometric augmentation
    assert np.isfinite(metrics["train/loss"]) and 0 <= metrics["val/acc"] <= 1
    assert load_model_file(Path(cfg.export.path)).preprocessing.input_size == 48


class _BiasOnly(torch.nn.Module):
    """Logits that ignore the face: training can only learn a class prior."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = torch.nn.Parameter(torch.zeros(len(EMOTIONS)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bias.expand(len(x), -1)


class _ImbalancedFaces(L.LightningDataModule):
    def __init__(self, counts: list[int]) -> None:
        super().__init__()
        labels = np.repeat(np.arange(len(counts)), counts)
        images = np.random.default_rng(0).integers(0, 256, (len(labels), 48, 48), dtype=np.uint8)
        self.train_set = FaceTensorDataset(images, labels)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_set, batch_size=len(self.train_set), shuffle=True)


def _learnt_prior(logit_adjustment: float, counts: list[int]) -> torch.Tensor:
    torch.manual_seed(0)
    module = EmotionClassifier(
        _BiasOnly(), functools.partial(torch.optim.SGD, lr=2.0), logit_adjustment=logit_adjustment
    )
    trainer = L.Trainer(
        max_epochs=150,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(module, datamodule=_ImbalancedFaces(counts))
    return module.net.bias.detach().softmax(dim=0)


def test_logit_adjustment_removes_the_class_prior_from_what_the_network_learns() -> None:
    counts = [40, 2, 10, 80, 30, 20, 50]  # FER2013-like imbalance: Happy frequent, Disgust rare
    prior = torch.tensor(counts, dtype=torch.float32) / sum(counts)
    plain = _learnt_prior(0.0, counts)
    torch.testing.assert_close(plain, prior, atol=0.02, rtol=0)  # plain cross-entropy learns the prior
    balanced = _learnt_prior(1.0, counts)
    torch.testing.assert_close(balanced, torch.full((7,), 1 / 7), atol=0.02, rtol=0)  # tau = 1: none of it
    with pytest.raises(ValueError, match="logit_adjustment"):
        EmotionClassifier(_BiasOnly(), functools.partial(torch.optim.SGD, lr=1.0), logit_adjustment=-1.0)
