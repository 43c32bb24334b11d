"""Tone normalisation: each face brought to one brightness and contrast, recorded in the model file, applied in
training and in every inference path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate

from facial_emotion.augmentation.preprocessing import normalize_tone, to_network_input
from facial_emotion.core.model_file import ModelFileError
from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.export.exporter import export_model
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.models.loading import load_model_file
from facial_emotion.models.teacher import TeacherEnsemble
from facial_emotion.models.vgg import VGGNet
from facial_emotion.tasks.train import train
from tests.conftest import compose_train_config, tiny_teacher_distill_config

TONE = (134.3, 49.3)


def _faces(count: int = 4) -> np.ndarray:
    """Mid-grey faces with structure, so that darker and flatter versions stay within 0..255 unclipped."""
    rng = np.random.default_rng(0)
    return rng.integers(90, 170, (count, 48, 48)).astype(np.uint8)


def _dim(faces: np.ndarray) -> np.ndarray:
    """The same faces under a dim, flat camera: half the contrast, 50 levels darker."""
    return ((faces.astype(np.float32) - 130) * 0.5 + 80).round().astype(np.uint8)


def test_each_face_central_square_is_brought_to_the_tone() -> None:
    faces = torch.from_numpy(_faces()).unsqueeze(1).float()
    toned = normalize_tone(faces, TONE, region=40)
    centre = toned[..., 4:44, 4:44]
    means, stds = centre.mean(dim=(-2, -1)).flatten(), centre.std(dim=(-2, -1), unbiased=False).flatten()
    torch.testing.assert_close(means, torch.full((4,), TONE[0]), atol=0.05, rtol=0)
    torch.testing.assert_close(stds, torch.full((4,), TONE[1]), atol=0.05, rtol=0)
    assert toned.min() >= 0 and toned.max() <= 255
    flat = normalize_tone(torch.full((1, 1, 48, 48), 7.0), TONE, region=40)
    assert torch.isfinite(flat).all(), "a uniform face (no contrast) must not divide by zero"


def test_brightness_and_contrast_no_longer_reach_the_network() -> None:
    faces, dim = (torch.from_numpy(f).unsqueeze(1) for f in (_faces(), _dim(_faces())))
    toned = Preprocessing(mean=0.5, std=0.25, tone=TONE)
    # Rounding the dim faces to integers loses a little; the rest is the same input.
    torch.testing.assert_close(to_network_input(dim, toned), to_network_input(faces, toned), atol=0.05, rtol=0)
    plain = Preprocessing(mean=0.5, std=0.25)
    assert (to_network_input(dim, plain) - to_network_input(faces, plain)).abs().mean() > 0.5


def test_the_tone_is_recorded_in_the_model_file_and_applied_by_the_predictor(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = VGGNet(widths=(8, 16), convs_per_stage=1)
    toned_path, plain_path = tmp_path / "toned.pkl", tmp_path / "plain.pkl"
    export_model(net, Preprocessing(tta="ten_crop", tone=TONE), toned_path)
    export_model(net, Preprocessing(tta="ten_crop"), plain_path)
    assert load_model_file(toned_path).preprocessing.tone == TONE
    assert load_model_file(plain_path).preprocessing.tone is None
    assert torch.load(toned_path, weights_only=True)["preprocessing"]["tone"] == list(TONE)
    faces, dim = _faces(), _dim(_faces())
    for backend in ("torch", "onnxruntime"):
        toned = EmotionPredictor(toned_path, backend=backend, bf16=False)
        np.testing.assert_allclose(toned.predict_proba(dim), toned.predict_proba(faces), atol=2e-3)
    plain = EmotionPredictor(plain_path, bf16=False)
    assert np.abs(plain.predict_proba(dim) - plain.predict_proba(faces)).max() > 1e-3


def test_a_bad_tone_is_refused() -> None:
    with pytest.raises(ValueError, match="tone must be"):
        Preprocessing(tone=(120.0, 0.0))
    with pytest.raises(ValueError, match="tone must be"):
        Preprocessing(tone=(120.0,))


def test_teachers_must_share_the_students_tone(tmp_path: Path) -> None:
    toned, plain = tmp_path / "toned.pkl", tmp_path / "plain.pkl"
    export_model(VGGNet(widths=(8, 16), convs_per_stage=1), Preprocessing(tone=TONE), toned)
    export_model(VGGNet(widths=(8, 16), convs_per_stage=1), Preprocessing(), plain)
    with pytest.raises(ModelFileError, match="normalise their input differently"):
        TeacherEnsemble([toned, plain])


def test_training_with_a_tone_records_it_and_trains_on_toned_faces(tmp_path: Path, fer_dir: Path) -> None:
    overrides = ["trainer.max_epochs=1", "augmentation=real_camera", f"augmentation.eval.tone=[{TONE[0]},{TONE[1]}]"]
    cfg = compose_train_config(tmp_path, fer_dir, overrides)
    module = instantiate(cfg.model)
    assert module.photometric is not None, "the camera effects run before the tone"
    prep = module.preprocessing
    pixels = (module._training_input(torch.from_numpy(_dim(_faces())).unsqueeze(1)) * prep.std + prep.mean) * 255
    centre = pixels[..., 4:44, 4:44]
    torch.testing.assert_close(centre.mean(dim=(-2, -1)).flatten(), torch.full((4,), TONE[0]), atol=0.5, rtol=0)
    metrics = train(cfg)
    assert np.isfinite(metrics["test/acc"])
    loaded = load_model_file(Path(cfg.export.path))
    assert loaded.preprocessing.tone == TONE


def test_a_toned_student_learns_from_an_untoned_teacher_on_the_teachers_own_input(
    tmp_path: Path, fer_dir: Path
) -> None:
    overrides = [f"augmentation.eval.tone=[{TONE[0]},{TONE[1]}]"]
    cfg, teacher_path = tiny_teacher_distill_config(tmp_path, fer_dir, Preprocessing(mean=0.5, std=0.25), overrides)
    module = instantiate(cfg.model)
    seen: list[torch.Tensor] = []
    module.teacher.register_forward_pre_hook(lambda _, args: seen.append(args[0].clone()))
    module.augmentation.mixup_alpha = 0.0  # one face per crop, so the two inputs can be compared pixel by pixel
    dim = torch.from_numpy(_dim(_faces())).unsqueeze(1)
    torch.manual_seed(1)
    module.training_step((dim, torch.zeros(4, dtype=torch.long)), 0)
    torch.manual_seed(1)
    student_crops, _ = module.augmentation(to_network_input(dim, module.preprocessing), torch.zeros(4, 7))
    torch.manual_seed(1)
    teacher_crops, _ = module.augmentation(to_network_input(dim, Preprocessing(mean=0.5, std=0.25)), torch.zeros(4, 7))
    # The teacher gets the dim faces as it was trained to read them, cut exactly as the student's toned ones.
    torch.testing.assert_close(seen[0], teacher_crops)
    assert (seen[0] - student_crops).abs().mean() > 0.5

    metrics = train(cfg)
    assert np.isfinite(metrics["train/loss"])
    loaded = load_model_file(Path(cfg.export.path))
    assert loaded.preprocessing.tone == TONE
    assert [t["path"] for t in loaded.training["distillation"]["teachers"]] == [str(teacher_path)]
