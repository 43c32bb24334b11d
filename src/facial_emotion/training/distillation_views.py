"""Distillation on a CPU without paying for the teachers every batch: augmented views cached with their outputs.

Online distillation runs the teachers forward on every augmented batch; for a compact student that costs about
as much again as the student's own forward and backward pass. Here the training faces are augmented `rounds`
times once (seeded), the teachers' probabilities on each view are computed once, and both are cached on disk
(keyed by the faces, the teachers' files, the augmentation and the seed). Epoch e trains on round e mod
`rounds`, so a resumed run sees the very views it would have seen.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.data import Dataset

from facial_emotion.augmentation.batch_augmentation import BatchAugmentation
from facial_emotion.augmentation.preprocessing import to_network_input
from facial_emotion.core.hardware import cpu_trains_faster_in_bf16
from facial_emotion.core.options import OptionError
from facial_emotion.core.plain_values import plain_hyperparameters
from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.core.whole_files import write_whole
from facial_emotion.data.datamodule import FaceTensorDataset, FERDataModule
from facial_emotion.inference.onnx_graph import file_sha256
from facial_emotion.models.teacher import TeacherEnsemble

log = logging.getLogger(__name__)

TEACHER_BATCH = 512


class DistillationViews(Dataset):
    """Items of the current round: (normalised augmented crop (1, c, c) float32, label, teacher probabilities),
    then the face's soft label target (FER2013 label mixed with the FER+ votes) when `targets` is given."""

    def __init__(
        self,
        views: torch.Tensor,
        labels: torch.Tensor,
        probabilities: torch.Tensor,
        targets: torch.Tensor | None = None,
    ) -> None:
        lined_up = views.shape[:2] == probabilities.shape[:2] and views.shape[1] == len(labels)
        if not lined_up or (targets is not None and len(targets) != len(labels)):
            soft = "" if targets is None else f", {len(targets)} soft targets"
            raise ValueError(
                f"views {tuple(views.shape)}, probabilities {tuple(probabilities.shape)}{soft} and "
                f"{len(labels)} labels do not line up"
            )
        self.views, self.labels, self.probabilities = views, labels, probabilities
        self.targets = targets  # as FaceTensorDataset's: what the logit adjustment counts the class prior from
        self.round = 0

    @property
    def rounds(self) -> int:
        return self.views.shape[0]

    def use_round_of_epoch(self, epoch: int) -> None:
        """Serve the views of round `epoch mod rounds`."""
        self.round = epoch % self.rounds

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        item = (self.views[self.round, index].float(), self.labels[index], self.probabilities[self.round, index])
        return item if self.targets is None else (*item, self.targets[index])


@torch.no_grad()
def augmented_views_with_teacher(
    images: torch.Tensor,
    augmentation: BatchAugmentation,
    preprocessing: Preprocessing,
    teacher: TeacherEnsemble,
    rounds: int,
    seed: int,
    flip_average: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 faces (N, 1, 48, 48) -> views (rounds, N, 1, c, c) float16 and teacher probabilities (rounds, N, C).

    Views are the training augmentation's geometry and erasing (mixup is not cached: the teachers' output on
    a mixed image is not the mix of their outputs). With `flip_average` the target of a view is the mean of
    the teachers' probabilities on it and on its mirror image: a better teacher for twice its cost, once.
    """
    bf16 = cpu_trains_faster_in_bf16()
    views, probabilities = [], []
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for _ in range(rounds):
            round_views, round_probs = [], []
            for start in range(0, len(images), TEACHER_BATCH):
                x = to_network_input(images[start : start + TEACHER_BATCH], preprocessing)
                x = augmentation.erase(augmentation.geometric(x))
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    probs = teacher(x).float()
                    if flip_average:
                        probs = (probs + teacher(x.flip(-1)).float()) / 2
                round_probs.append(probs)
                round_views.append(x.half())
            views.append(torch.cat(round_views))
            probabilities.append(torch.cat(round_probs))
    return torch.stack(views), torch.stack(probabilities)


def cache_key(images: torch.Tensor, teacher_paths: Sequence[str | Path], description: dict) -> str:
    """Hash of the faces, the teachers' file contents and everything else that shapes the views."""
    digest = hashlib.sha256(images.numpy().tobytes())
    digest.update(json.dumps(description, sort_keys=True).encode())
    for path in teacher_paths:
        digest.update(file_sha256(Path(path)).encode())
    return digest.hexdigest()[:16]


class DistillationDataModule(FERDataModule):
    """FERDataModule whose training set is `rounds` cached augmented views with the teachers' probabilities.

    Needs `trainer.reload_dataloaders_every_n_epochs=1` so each epoch asks for its round. Validation and test
    are FERDataModule's (plain faces, FER2013 labels).
    """

    def __init__(
        self,
        teachers: Sequence[str],
        augmentation: BatchAugmentation,
        mean: float,
        std: float,
        tone: Sequence[float] | None = None,
        crop_size: int = 40,
        rounds: int = 8,
        teacher_temperature: float = 1.0,
        view_seed: int = 0,
        teacher_flip_average: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        # Saved again without the augmentation module, which checkpoints would otherwise pickle.
        self.save_hyperparameters(logger=False, ignore=["augmentation"])
        plain_hyperparameters(self.hparams)  # checkpoints load with weights_only=True
        if rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {rounds}")
        self.teacher_paths = [str(p) for p in teachers]
        self.view_augmentation = augmentation
        self.teacher_temperature = float(teacher_temperature)
        self.teacher_flip_average = bool(teacher_flip_average)
        self.rounds, self.view_seed = rounds, view_seed
        self.preprocessing = Preprocessing(crop_size=crop_size, mean=float(mean), std=float(std), tone=tone)
        self.teacher_records: list[dict] = []

    def setup(self, stage: str | None = None) -> None:
        super().setup(stage)
        if isinstance(self.train_set, FaceTensorDataset):
            self.train_set = self._distillation_views(self.train_set)

    def _description(self) -> dict:
        aug = self.view_augmentation
        return {
            "rounds": self.rounds,
            "seed": self.view_seed,
            "mean": self.preprocessing.mean,
            "std": self.preprocessing.std,
            **({"tone": list(self.preprocessing.tone)} if self.preprocessing.tone else {}),  # older keys unchanged
            "temperature": self.teacher_temperature,
            **({"flip_average": True} if self.teacher_flip_average else {}),  # older caches keep their keys
            "augmentation": {k: v for k, v in vars(aug).items() if not k.startswith("_") and k != "training"},
        }

    def _distillation_views(self, faces: FaceTensorDataset) -> DistillationViews:
        teacher = TeacherEnsemble(self.teacher_paths, self.teacher_temperature)
        prep = self.preprocessing
        if teacher.normalisation != (prep.mean, prep.std, prep.tone):
            raise OptionError(
                f"teachers normalise input as (mean, std, tone) {teacher.normalisation}, the student "
                f"(augmentation.eval) as {(prep.mean, prep.std, prep.tone)}: cached views need one preprocessing; "
                "give the teachers' values, or distil online (experiment=fer_vgg_large_distill)"
            )
        self.teacher_records = teacher.records
        key = cache_key(faces.images, self.teacher_paths, self._description())
        cache_dir = Path(self.hparams.cache_dir or ".cache") / "distillation_views"
        path = cache_dir / f"{key}.pt"
        if path.exists():
            cached = torch.load(path, map_location="cpu", weights_only=True)
            log.info("distillation views: %s (cached)", path)
        else:
            log.info(
                "distillation views: %d rounds x %d faces through %d teacher(s)",
                self.rounds,
                len(faces),
                len(teacher.members),
            )
            views, probs = augmented_views_with_teacher(
                faces.images,
                self.view_augmentation,
                self.preprocessing,
                teacher,
                self.rounds,
                self.view_seed,
                flip_average=self.teacher_flip_average,
            )
            cached = {"views": views, "probabilities": probs}
            cache_dir.mkdir(parents=True, exist_ok=True)
            write_whole(path, lambda tmp: torch.save(cached, tmp))
            log.info("distillation views written to %s", path)
        # The soft label targets are not in the cache key: they are per face, not per view, and read afresh.
        return DistillationViews(cached["views"], faces.labels, cached["probabilities"], faces.targets)

    def distillation_record(self) -> dict:
        """What the exported model file records of its teachers."""
        return {
            "temperature": self.teacher_temperature,
            "teachers": self.teacher_records,
            "cached_rounds": self.rounds,
            "view_seed": self.view_seed,
            "teacher_flip_average": self.teacher_flip_average,
        }

    def train_dataloader(self):
        epoch = self.trainer.current_epoch if self.trainer is not None else 0
        self.train_set.use_round_of_epoch(epoch)
        return super().train_dataloader()
