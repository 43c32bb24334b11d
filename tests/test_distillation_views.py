"""Distillation on cached views: the views and teacher outputs, their cache, the step's loss, the experiment."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hydra.utils import instantiate

from facial_emotion.augmentation.batch_augmentation import BatchAugmentation
from facial_emotion.core.crop_geometry import CropGeometry
from facial_emotion.core.model_file import ModelFile, save_model_file
from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.models.loading import load_model_file
from facial_emotion.models.registry import architecture_of, build_model
from facial_emotion.models.teacher import TeacherEnsemble
from facial_emotion.tasks.train import train
from facial_emotion.training.distillation_views import DistillationViews, augmented_views_with_teacher
from tests.conftest import compose_train_config, write_ferplus

GEOMETRY = CropGeometry("landmarks", targets=((16.0, 19.0), (32.5, 18.5), (24.0, 28.5), (17.5, 37.0), (31.0, 37.0)))


PLAIN = Preprocessing(mean=0.5, std=0.25)  # the views' normalisation, no tone


def _teacher_file(path: Path, preprocessing: Preprocessing) -> Path:
    torch.manual_seed(3)
    net = build_model("vgg", widths=[8, 16]).eval()
    save_model_file(
        path,
        ModelFile(net=net, architecture=architecture_of(net), preprocessing=preprocessing, crop_geometry=GEOMETRY),
    )
    return path


def test_views_are_seeded_augmentations_with_the_teachers_probabilities_on_them(tmp_path: Path) -> None:
    teacher = TeacherEnsemble([_teacher_file(tmp_path / "t.pkl", Preprocessing())])
    images = torch.randint(0, 256, (20, 1, 48, 48), dtype=torch.uint8)
    augmentation = BatchAugmentation(crop_size=40)
    views, probs = augmented_views_with_teacher(images, augmentation, PLAIN, teacher, rounds=3, seed=7)
    assert views.shape == (3, 20, 1, 40, 40) and views.dtype == torch.float16
    assert probs.shape == (3, 20, 7)
    torch.testing.assert_close(probs.sum(-1), torch.ones(3, 20))
    # the probabilities are the teacher's on exactly these views (up to the cache's float16 and bf16 autocast)
    torch.testing.assert_close(probs[1], teacher(views[1].float()), atol=0.03, rtol=0)
    assert not torch.equal(views[0], views[1]), "every round must be a new augmentation"
    again, _ = augmented_views_with_teacher(images, augmentation, PLAIN, teacher, rounds=3, seed=7)
    assert torch.equal(views, again)
    other, _ = augmented_views_with_teacher(images, augmentation, PLAIN, teacher, rounds=3, seed=8)
    assert not torch.equal(views, other)


def test_views_of_a_toned_student_carry_the_tone(tmp_path: Path) -> None:
    toned = Preprocessing(mean=0.5, std=0.25, tone=(134.3, 49.3))
    teacher = TeacherEnsemble([_teacher_file(tmp_path / "t.pkl", toned)])
    images = torch.randint(90, 170, (6, 1, 48, 48), dtype=torch.uint8)
    dim = ((images.float() - 130) * 0.5 + 80).round().to(torch.uint8)  # the same faces, darker and flatter
    augmentation = BatchAugmentation(crop_size=40, erasing_prob=0.0)
    views, probs = augmented_views_with_teacher(images, augmentation, toned, teacher, rounds=1, seed=7)
    dim_views, dim_probs = augmented_views_with_teacher(dim, augmentation, toned, teacher, rounds=1, seed=7)
    torch.testing.assert_close(dim_views.float(), views.float(), atol=0.1, rtol=0)
    torch.testing.assert_close(dim_probs, probs, atol=0.03, rtol=0)


class _LeftRightTeacher(torch.nn.Module):
    """Probabilities that depend on which half of the face is brighter: mirroring the view changes them."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        half = x.shape[-1] // 2
        contrast = x[..., :half].mean((1, 2, 3)) - x[..., half:].mean((1, 2, 3))
        return torch.softmax(torch.stack([4 * contrast, -4 * contrast, *[torch.zeros_like(contrast)] * 5], 1), 1)


def test_flip_average_targets_are_the_mean_over_the_view_and_its_mirror() -> None:
    teacher = _LeftRightTeacher()
    images = torch.randint(0, 256, (16, 1, 48, 48), dtype=torch.uint8)
    images[:8, ..., :20] //= 4  # darker left halves
    augmentation = BatchAugmentation(crop_size=40)
    views, plain = augmented_views_with_teacher(images, augmentation, PLAIN, teacher, rounds=2, seed=7)
    same_views, averaged = augmented_views_with_teacher(
        images, augmentation, PLAIN, teacher, rounds=2, seed=7, flip_average=True
    )
    assert torch.equal(views, same_views), "the option changes the targets, not the views"
    assert (plain[..., 0] - plain[..., 1]).abs().max() > 0.2, "the plain targets see the asymmetry"
    expected = (teacher(views.flatten(0, 1).float()) + teacher(views.flatten(0, 1).float().flip(-1))) / 2
    torch.testing.assert_close(averaged.flatten(0, 1), expected, atol=0.02, rtol=0)
    torch.testing.assert_close(averaged[..., 0], averaged[..., 1], atol=0.02, rtol=0)  # mirror-invariant


def test_each_epoch_serves_its_round() -> None:
    views = torch.arange(3 * 4, dtype=torch.float16).view(3, 4, 1, 1, 1)
    dataset = DistillationViews(views, torch.arange(4), torch.full((3, 4, 7), 1 / 7))
    dataset.use_round_of_epoch(4)  # 4 mod 3
    view, label, probs = dataset[2]
    assert view.dtype == torch.float32 and view.item() == 1 * 4 + 2 and label.item() == 2
    with pytest.raises(ValueError, match="do not line up"):
        DistillationViews(views, torch.arange(5), torch.full((3, 4, 7), 1 / 7))


def test_views_carry_each_faces_soft_target_in_every_round() -> None:
    views = torch.zeros(3, 4, 1, 1, 1, dtype=torch.float16)
    soft = torch.softmax(torch.randn(4, 7), -1)
    dataset = DistillationViews(views, torch.arange(4), torch.full((3, 4, 7), 1 / 7), soft)
    assert dataset.targets is soft  # what the logit adjustment counts the class prior from
    for epoch in (0, 2):
        dataset.use_round_of_epoch(epoch)
        *_, target = dataset[1]
        assert torch.equal(target, soft[1])
    assert len(DistillationViews(views, torch.arange(4), torch.full((3, 4, 7), 1 / 7))[1]) == 3
    with pytest.raises(ValueError, match="3 soft targets"):
        DistillationViews(views, torch.arange(4), torch.full((3, 4, 7), 1 / 7), soft[:3])


def test_precomputed_step_mixes_label_and_distillation_losses(tmp_path: Path, fer_dir: Path) -> None:
    cfg = compose_train_config(tmp_path, fer_dir, ["experiment=fer_compact_distill", "model.net.dropout=0"])
    module = instantiate(cfg.model)
    module.net.eval()
    views, labels = torch.randn(8, 1, 40, 40), torch.randint(0, 7, (8,))
    teacher_probs = torch.softmax(torch.randn(8, 7), -1)
    loss = module._precomputed_distillation_step(views, labels, teacher_probs, batch_idx=0)
    logits = module(views).float()
    expected = 0.2 * F.cross_entropy(logits, labels, label_smoothing=0.1) + 0.8 * F.kl_div(
        logits.log_softmax(-1), teacher_probs, reduction="batchmean"
    )
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert all(p.grad is not None for p in module.net.parameters() if p.requires_grad)

    # with FER+ votes the label term is the cross-entropy to the soft targets
    soft = torch.softmax(torch.randn(8, 7), -1)
    with torch.no_grad():
        soft_loss = module._precomputed_distillation_step(views, labels, teacher_probs, soft, batch_idx=0)
    soft_expected = 0.2 * F.cross_entropy(logits, soft, label_smoothing=0.1) + 0.8 * F.kl_div(
        logits.log_softmax(-1), teacher_probs, reduction="batchmean"
    )
    torch.testing.assert_close(soft_loss, soft_expected.detach())
    assert not torch.isclose(soft_loss, expected.detach())


def test_compact_distill_experiment_caches_views_and_records_teacher_and_geometry(
    tmp_path: Path, fer_dir: Path
) -> None:
    teacher_path = tmp_path / "teacher.pkl"
    overrides = ["experiment=fer_compact_distill", f"teachers=[{teacher_path}]", "data.rounds=2", "test=false"]
    cfg = compose_train_config(tmp_path, fer_dir, [*overrides, "trainer.max_epochs=3"])
    _teacher_file(teacher_path, Preprocessing(**cfg.augmentation.eval))
    train(cfg)
    cached = list((Path(cfg.paths.cache_dir) / "distillation_views").glob("*.pt"))
    assert len(cached) == 1
    model = load_model_file(Path(cfg.export.path))
    assert model.crop_geometry == GEOMETRY, "the student must cut real faces like its teacher"
    distillation = model.training["distillation"]
    assert distillation["cached_rounds"] == 2 and distillation["weight"] == 0.8
    assert [t["path"] for t in distillation["teachers"]] == [str(teacher_path)]

    # a second run with the same faces, teacher and augmentation reads the cache instead of recomputing it
    stamp = cached[0].stat().st_mtime_ns
    second = compose_train_config(tmp_path, fer_dir, overrides)
    train(second)
    assert cached[0].stat().st_mtime_ns == stamp
    assert len(list(cached[0].parent.glob("*.pt"))) == 1

    # mirror-averaged targets are other targets: their own cache file, recorded in the model file
    flipped = compose_train_config(tmp_path, fer_dir, [*overrides, "data.teacher_flip_average=true"])
    train(flipped)
    assert len(list(cached[0].parent.glob("*.pt"))) == 2
    assert load_model_file(Path(flipped.export.path)).training["distillation"]["teacher_flip_average"] is True

    # FER+ votes add soft label targets to the cached views without new views: the same cache file
    write_ferplus(fer_dir / "fer2013new.csv", 140)
    voted = compose_train_config(tmp_path, fer_dir, [*overrides, "data.soft_labels_file=fer2013new.csv"])
    metrics = train(voted)
    assert len(list(cached[0].parent.glob("*.pt"))) == 2 and cached[0].stat().st_mtime_ns == stamp
    assert torch.isfinite(torch.tensor(metrics["train/loss"]))
