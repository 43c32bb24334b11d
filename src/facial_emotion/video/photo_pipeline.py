"""Photo -> every face's emotion: the video pipeline's detect -> crop -> predict step, without tracking."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.video.face_aligner import FaceWarper
from facial_emotion.video.face_detector import FaceDetector
from facial_emotion.video.pipeline import FaceEmotion, clip_box

WHOLE_IMAGE_PAD = 0.2  # sfew_train, classifier only: 46.0% unpadded, 49.2% at 0.1, 50.2% at 0.2


class PhotoPipeline:
    """Detects the faces of one image, crops them as the model file says, and classifies them in one batch."""

    def __init__(self, detector: FaceDetector, cropper: FaceWarper, predictor: EmotionPredictor) -> None:
        self.detector = detector
        self.cropper = cropper
        self.predictor = predictor

    def process(self, image: np.ndarray, whole_image_if_no_face: bool = False) -> list[FaceEmotion]:
        """Faces numbered 1, 2, ... (best detector score first); an empty list when none is found, or with
        `whole_image_if_no_face` the whole image classified (`classify_whole`, id 0, `whole_image` set)."""
        return self.process_batch([image], whole_image_if_no_face)[0]

    def process_batch(
        self, images: Sequence[np.ndarray], whole_image_if_no_face: bool = False
    ) -> list[list[FaceEmotion]]:
        """`[process(image) for image in images]`, with the classifier run once over the faces of all images."""
        detected = [self.detector.detect(image) for image in images]
        if not detected:
            return []
        crops = np.concatenate(
            [self.cropper.crop_all(image, faces) for image, faces in zip(images, detected, strict=True)]
        )
        probabilities = np.split(self.predictor.predict_proba(crops), np.cumsum([len(f) for f in detected])[:-1])
        results = [
            [
                self._face(image, index, face.box, probs, face.landmarks)
                for index, (face, probs) in enumerate(zip(faces, image_probs, strict=True), start=1)
            ]
            for image, faces, image_probs in zip(images, detected, probabilities, strict=True)
        ]
        if whole_image_if_no_face:
            results = [faces or [self.classify_whole(image)] for image, faces in zip(images, results, strict=True)]
        return results

    def classify_whole(self, image: np.ndarray, pad: float = WHOLE_IMAGE_PAD) -> FaceEmotion:
        """The classifier alone on an image that is already a face crop: replicate-padded by `pad` times each
        side's length, then its centre square, resized (id 0, `whole_image` set; its box is the part of the image
        that square covers: all of it unless one side is over `1 + 2 * pad` times the other). A tight dataset
        crop shows less around the face than FER2013's faces do, so padding helps (WHOLE_IMAGE_PAD)."""
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        pad_y, pad_x = (int(round(pad * side)) for side in gray.shape)
        padded = cv2.copyMakeBorder(gray, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_REPLICATE)
        height, width = padded.shape
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        size = self.predictor.model.preprocessing.input_size
        face = cv2.resize(padded[top : top + side, left : left + side], (size, size), interpolation=cv2.INTER_AREA)
        box = np.array([left - pad_x, top - pad_y, left - pad_x + side, top - pad_y + side], dtype=np.float32)
        return self._face(image, 0, box, self.predictor.predict_proba(face)[0], whole_image=True)

    def _face(
        self,
        image: np.ndarray,
        index: int,
        box: np.ndarray,
        probabilities: np.ndarray,
        landmarks: np.ndarray | None = None,
        whole_image: bool = False,
    ) -> FaceEmotion:
        """One face of `image`, its box clipped to the image (reported only: its crop was taken unclipped)."""
        label = self.predictor.class_names[int(probabilities.argmax())]
        return FaceEmotion(index, clip_box(box, image.shape), probabilities, label, landmarks, whole_image)
