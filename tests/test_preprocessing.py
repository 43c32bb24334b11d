"""Test-time views: which crops each mode takes, in which order, and that the predictor can use them all."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from facial_emotion.augmentation.preprocessing import test_time_views as views_of  # not a test for pytest
from facial_emotion.augmentation.preprocessing import zoomed_out
from facial_emotion.core.preprocessing import ALL_VIEWS, TTA_MODES, Preprocessing, views_per_image, views_within_all
from facial_emotion.export.exporter import export_model
from facial_emotion.export.temperatures import uncalibrated_view_logits
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.models.vgg import VGGNet


def per_image_constant_faces(n: int, size: int = 48) -> torch.Tensor:
    """n faces, face i filled with the value i: any view of face i must hold only i."""
    return torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, size, size).clone()


@pytest.mark.parametrize("tta", TTA_MODES)
def test_every_mode_makes_its_views_image_major(tta: str) -> None:
    faces = per_image_constant_faces(3)
    views = views_of(faces, 40, tta)
    k = views_per_image(tta)
    assert views.shape == (3 * k, 1, 40, 40)
    # Image-major: the first k views belong to face 0, the next k to face 1, ...
    expected = torch.arange(3, dtype=torch.float32).repeat_interleave(k).view(-1, 1, 1, 1).expand_as(views)
    assert torch.allclose(views, expected, atol=1e-5)


@pytest.mark.parametrize("tta", TTA_MODES)
def test_every_mode_is_a_subset_of_the_twenty_views(tta: str) -> None:
    faces = torch.rand(3, 1, 48, 48)
    twenty = views_of(faces, 40, ALL_VIEWS).unflatten(0, (3, -1))
    picked = twenty[:, views_within_all(tta)]
    assert torch.equal(picked, views_of(faces, 40, tta).unflatten(0, (3, -1)))  # same views, same order


def test_ten_crop_takes_the_corners_the_centre_and_their_mirrors() -> None:
    face = torch.arange(48 * 48, dtype=torch.float32).view(1, 1, 48, 48)
    views = views_of(face, 40, "ten_crop")
    assert torch.equal(views[0], face[0, :, :40, :40]) and torch.equal(views[3], face[0, :, 8:, 8:])
    assert torch.equal(views[4], face[0, :, 4:44, 4:44])
    assert torch.equal(views[5:], views[:5].flip(-1))


def test_multi_scale_adds_the_same_views_of_the_zoomed_out_face() -> None:
    faces = torch.rand(2, 1, 48, 48)
    shrunk = zoomed_out(faces, 40)
    assert shrunk.shape == (2, 1, 44, 44)  # halfway between 48 and the 40-px crop
    for single in ("hflip", "ten_crop"):
        views = views_of(faces, 40, f"multi_scale_{single}").unflatten(0, (2, -1))
        k = views_per_image(single)
        assert views.shape[1] == 2 * k
        assert torch.equal(views[:, :k], views_of(faces, 40, single).unflatten(0, (2, -1)))
        assert torch.allclose(views[:, k:], views_of(shrunk, 40, single).unflatten(0, (2, -1)))
    assert torch.allclose(shrunk, F.interpolate(faces, size=(44, 44), mode="bilinear", antialias=True))
    # The zoomed-out centre crop (the live stream's one view) reaches rows the plain 40-px centre crop
    # (rows 4..43) cuts off; it is the third of multi_scale_hflip's views.
    rows = torch.arange(48, dtype=torch.float32).view(1, 1, 48, 1).expand(1, 1, 48, 48)
    zoomed_centre = views_of(rows, 40, "zoomed_center")
    assert zoomed_centre.shape == (1, 1, 40, 40) and torch.equal(
        zoomed_centre[0], views_of(rows, 40, "multi_scale_hflip")[2]
    )
    assert zoomed_centre.min() < 4 - 0.5 and zoomed_centre.max() > 43 + 0.5


def test_predictor_multi_scale_probabilities_are_distributions_with_input_gradients(tmp_path: Path) -> None:
    torch.manual_seed(0)
    path = tmp_path / "model.pkl"
    export_model(VGGNet(widths=(8, 16), convs_per_stage=1), Preprocessing(tta="multi_scale_ten_crop"), path)
    predictor = EmotionPredictor(path, bf16=False)
    assert predictor.tta == "multi_scale_ten_crop"
    faces = torch.randint(0, 256, (3, 48, 48)).float().requires_grad_(True)
    probabilities = predictor.probabilities(faces)
    assert probabilities.shape == (3, 7)
    assert torch.allclose(probabilities.sum(-1), torch.ones(3), atol=1e-5)
    probabilities[:, 3].sum().backward()  # the attack differentiates through the zoom too
    assert faces.grad is not None and faces.grad.abs().sum() > 0
    batched = predictor.predict_proba(faces.detach().numpy().astype(np.uint8))
    one_by_one = np.concatenate([predictor.predict_proba(f) for f in faces.detach().numpy().astype(np.uint8)])
    assert np.allclose(batched, one_by_one, atol=1e-5)


def test_temperature_fit_logits_equal_each_modes_own_predictor(tmp_path: Path) -> None:
    torch.manual_seed(0)
    path = tmp_path / "model.pkl"
    export_model(VGGNet(widths=(8, 16), convs_per_stage=1), Preprocessing(tta="ten_crop"), path)
    faces = np.random.default_rng(0).integers(0, 256, (5, 48, 48), dtype=np.uint8)
    from_twenty = uncalibrated_view_logits(path, faces, "torch")  # one pass over the 20 views
    assert set(from_twenty) == set(TTA_MODES)
    for tta, logits in from_twenty.items():
        predictor = EmotionPredictor(path, tta=tta, temperature=1.0)  # the same precision as the fit's (bf16 on AMX)
        atol = 1e-5 if predictor.precision == "fp32" else 2e-2  # bf16 keeps 8 bits: other batch shapes round apart
        torch.testing.assert_close(logits, predictor.view_logits(torch.from_numpy(faces)), atol=atol, rtol=0)


def test_live_view_is_recorded_per_file_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    export_model(VGGNet(widths=(8, 16), convs_per_stage=1), Preprocessing(tta=ALL_VIEWS, live_view="hflip"), path)
    live = EmotionPredictor(path, tta="live", bf16=False)
    assert (live.tta, live.temperature) == ("hflip", live.model.temperature_for("hflip"))
    assert EmotionPredictor(path, bf16=False).tta == ALL_VIEWS  # photos keep the file's default views
    with pytest.raises(ValueError, match="live_view must be one of"):
        Preprocessing(live_view="five_crop")
    with pytest.raises(ValueError, match="tta must be one of"):
        EmotionPredictor(path, tta="lively")
