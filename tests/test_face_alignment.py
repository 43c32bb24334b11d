"""Finding and cutting real faces: padded detection of tight crops, landmark alignment, geometry in the file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir

from facial_emotion.core.crop_geometry import CropGeometry
from facial_emotion.core.model_file import ModelFile, save_model_file
from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.models.loading import load_model_file
from facial_emotion.models.registry import architecture_of
from facial_emotion.models.vgg import VGGNet
from facial_emotion.video.build import build_cropper, build_detector
from facial_emotion.video.face_aligner import FaceCropper
from facial_emotion.video.face_detector import DetectedFace, FaceDetector
from facial_emotion.video.image_files import read_bgr
from facial_emotion.video.landmark_aligner import LandmarkAligner, similarity_transform
from tests.conftest import CONFIG_DIR

SFEW = PROJECT_ROOT.parent / "shared" / "faces" / "sfew_train"
# A film still cropped tightly around the face: MTCNN finds nothing in it as it is.
TIGHT_FACE = SFEW / "Angry" / "AlexEmma_001911440_00000042.png"
MODELS = PROJECT_ROOT / "results" / "model"
TARGETS = ((16.0, 20.0), (32.0, 20.0), (24.0, 29.0), (18.0, 37.0), (30.0, 37.0))


@pytest.fixture(scope="module")
def tight_face() -> np.ndarray:
    if not TIGHT_FACE.is_file():
        pytest.skip(f"real face photo not found: {TIGHT_FACE}")
    return read_bgr(TIGHT_FACE)


def photo_detector() -> FaceDetector:
    with initialize_config_dir(version_base="1.3", config_dir=str(PROJECT_ROOT / "configs")):
        return build_detector(compose(config_name="predict_image", overrides=["path=unused"]).face_pipeline)


def test_padding_finds_a_tightly_cropped_real_face(tight_face: np.ndarray) -> None:
    assert FaceDetector(min_face_size=30, max_side=640).detect(tight_face) == []
    faces = photo_detector().detect(tight_face)
    assert len(faces) >= 1
    height, width = tight_face.shape[:2]
    face = faces[0]
    # Mapped back to the photo's own pixels: the eyes and mouth lie inside the photo, the box covers most of it.
    assert (
        (face.landmarks >= 0).all() and (face.landmarks[:, 0] < width).all() and (face.landmarks[:, 1] < height).all()
    )
    assert face.box[2] - face.box[0] > 0.5 * width


def test_padded_detection_maps_back_to_the_unpadded_image(tight_face: np.ndarray) -> None:
    """The padded detector reports what MTCNN finds on the hand-padded photo, moved back by the padding."""
    height, width = tight_face.shape[:2]
    pad_y, pad_x = round(0.25 * height), round(0.25 * width)
    padded = cv2.copyMakeBorder(tight_face, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_REPLICATE)
    on_padded = FaceDetector(min_face_size=30, max_side=640).detect(padded)[0]
    face = FaceDetector(min_face_size=30, max_side=640, pad=0.25).detect(tight_face)[0]
    np.testing.assert_allclose(face.landmarks, on_padded.landmarks - [pad_x, pad_y], atol=1e-3)
    np.testing.assert_allclose(face.box, on_padded.box - [pad_x, pad_y, pad_x, pad_y], atol=1e-3)


def test_similarity_transform_recovers_a_known_one() -> None:
    rng = np.random.default_rng(0)
    source = rng.uniform(0, 200, (5, 2))
    angle, scale, shift = np.radians(17.0), 0.37, np.array([5.0, -8.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    target = source @ (scale * rotation).T + shift
    matrix = similarity_transform(source, target)
    np.testing.assert_allclose(matrix[:, :2], scale * rotation, atol=1e-9)
    np.testing.assert_allclose(matrix[:, 2], shift, atol=1e-9)


def test_alignment_puts_the_landmarks_at_their_targets() -> None:
    """Five bright dots at a tilted, scaled face's landmarks come out of the crop at the target positions."""
    angle, scale = np.radians(-12.0), 5.0
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    landmarks = np.array(TARGETS) @ (scale * rotation).T + [60.0, 90.0]
    frame = np.zeros((400, 400), np.uint8)
    for x, y in landmarks:
        cv2.circle(frame, (int(round(x)), int(round(y))), 6, 255, -1)
    face = DetectedFace(np.array([0, 0, 300, 300], np.float32), 0.99, landmarks.astype(np.float32))
    aligner = LandmarkAligner(TARGETS)
    matrix = aligner.matrix_for(face)
    mapped = landmarks @ matrix[:, :2].T + matrix[:, 2]
    np.testing.assert_allclose(mapped, TARGETS, atol=1e-3)
    crop = aligner.crop(frame, face).astype(float)
    for x, y in TARGETS:  # the brightness centroid of each dot's neighbourhood sits on its target
        ys, xs = np.mgrid[int(y) - 3 : int(y) + 4, int(x) - 3 : int(x) + 4]
        weights = crop[ys, xs]
        centroid = np.array([(weights * xs).sum(), (weights * ys).sum()]) / weights.sum()
        assert np.abs(centroid - [x, y]).max() < 0.75


def test_crop_geometry_round_trips_through_the_model_file(tmp_path: Path) -> None:
    net = VGGNet(widths=(8, 16))
    geometry = CropGeometry("landmarks", targets=TARGETS, source="test")
    model = ModelFile(net=net, architecture=architecture_of(net), preprocessing=Preprocessing(), crop_geometry=geometry)
    path = tmp_path / "model.pkl"
    save_model_file(path, model)
    assert torch.load(path, weights_only=True)["crop_geometry"]["method"] == "landmarks"
    assert load_model_file(path).crop_geometry == geometry


@pytest.mark.parametrize("name", ["my_own_model.pkl", "my_own_model_real_faces.pkl", "pre_trained_model.pkl"])
def test_shipped_models_record_landmark_alignment(name: str) -> None:
    geometry = load_model_file(MODELS / name).crop_geometry
    assert geometry.method == "landmarks" and geometry.source
    targets = np.array(geometry.targets)
    assert (targets > 0).all() and (targets < geometry.size).all()
    assert targets[0, 0] < targets[1, 0] and targets[0, 1] < targets[3, 1]  # left eye left of right, above mouth


def test_config_overrides_the_recorded_geometry_only_when_set() -> None:
    recorded = CropGeometry("landmarks", targets=TARGETS)
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        default = compose(config_name="predict_image", overrides=["path=x"])
        boxed = compose(config_name="predict_image", overrides=["path=x", "face_pipeline.cropper.method=box"])
    assert isinstance(build_cropper(default.face_pipeline, recorded), LandmarkAligner)
    cropper = build_cropper(boxed.face_pipeline, recorded)
    assert isinstance(cropper, FaceCropper) and (cropper.margin, cropper.center_shift) == (0.2, 0.1)
