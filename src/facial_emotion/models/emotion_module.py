"""LightningModule for 7-class emotion classification; the network is injected from config."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MaxMetric, MeanMetric
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix

from facial_emotion.augmentation.batch_augmentation import BatchAugmentation
from facial_emotion.augmentation.framing import TightFraming
from facial_emotion.augmentation.photometric import PhotometricAugmentation
from facial_emotion.augmentation.preprocessing import average_view_logits, test_time_views, to_network_input
from facial_emotion.core.labels import EMOTIONS, NUM_CLASSES
from facial_emotion.core.plain_values import plain_hyperparameters
from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.models.teacher import TeacherEnsemble

# The checkpoint entry holding the best validation accuracy so far (a metric state, not a weight).
VAL_ACC_BEST_KEY = "val_acc_best"


class EmotionClassifier(L.LightningModule):
    """Cross-entropy (label smoothing, optional mixup) over uint8 face batches, optionally distilled.

    `photometric` (optional) imitates real cameras on the training faces before normalisation; `framing`
    (optional, augmentation/framing.py) then cuts random sides as a tightly cropped photo does, for the student
    alone: a teacher reads the whole face and the student learns to say the same from what is left. With a
    `teacher`, the loss is `(1 - distillation_weight) * cross-entropy + distillation_weight * T^2 *
    KL(teacher || student)` at the teacher's temperature T, on the same augmented batch. Teachers whose files
    normalise differently (another mean, std or tone) see that batch as their own preprocessing makes it: the
    same crops, flips, erasing and mixing, applied to both inputs at once. So a student trained with a tone
    learns from teachers trained without one what they read in the untoned face.

    With `precomputed_teacher`, training batches are already augmented views with the teachers' probabilities
    on them, `(views, labels, probabilities)` (training/distillation_views.py), distilled at
    `distillation_temperature`; no augmentation runs in the step.

    `logit_adjustment` tau > 0 trains on the logit-adjusted loss (Menon et al. 2021, "Long-tail learning via
    logit adjustment"): the label loss sees `logits + tau * log(prior)`, the prior being the training targets'
    class frequencies, so the plain logits used at inference lean less towards frequent classes (Happy) and
    more towards rare ones (Disgust, Fear). tau = 1 targets balanced accuracy; 0 (default) is plain training.

    Augmentation runs on the batch after it reaches the device. Validation uses a centre crop; the test
    stage uses the test-time augmentation in `preprocessing.tta` and reports per-class accuracy and a
    confusion matrix.
    """

    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable | None = None,
        augmentation: BatchAugmentation | None = None,
        preprocessing: dict | None = None,
        label_smoothing: float = 0.0,
        channels_last: bool = True,
        compile: bool = False,
        teacher: TeacherEnsemble | None = None,
        distillation_weight: float = 0.0,
        photometric: PhotometricAugmentation | None = None,
        framing: TightFraming | None = None,
        logit_adjustment: float = 0.0,
        precomputed_teacher: bool = False,
        distillation_temperature: float = 1.0,
    ) -> None:
        super().__init__()
        # Plain values only: a checkpoint must load with torch.load(weights_only=True), so the optimizer and
        # scheduler factories (Hydra partials) stay out of it; the run's config records them.
        ignored = ["net", "augmentation", "teacher", "photometric", "framing", "optimizer", "scheduler"]
        self.save_hyperparameters(logger=False, ignore=ignored)
        plain_hyperparameters(self.hparams)
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.net = net
        self.augmentation = augmentation or BatchAugmentation()
        self.photometric = photometric
        self.framing = framing
        self.preprocessing = Preprocessing(**(preprocessing or {}))
        self.train_loss, self.val_loss, self.test_loss = MeanMetric(), MeanMetric(), MeanMetric()
        self.train_acc = MulticlassAccuracy(NUM_CLASSES, average="micro")
        self.val_acc = MulticlassAccuracy(NUM_CLASSES, average="micro")
        self.test_acc = MulticlassAccuracy(NUM_CLASSES, average="micro")
        self.test_class_acc = MulticlassAccuracy(NUM_CLASSES, average=None)
        self.test_confusion = MulticlassConfusionMatrix(NUM_CLASSES)
        self.val_acc_best = MaxMetric()
        self._resumed_val_acc_best: torch.Tensor | None = None
        self._set_teacher(teacher, distillation_weight)
        if logit_adjustment < 0:
            raise ValueError(f"logit_adjustment must be >= 0, got {logit_adjustment}")
        self._log_prior: torch.Tensor | None = None
        if channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)

    def _set_teacher(self, teacher: TeacherEnsemble | None, weight: float) -> None:
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"distillation_weight must lie in [0, 1], got {weight}")
        if self.hparams.get("precomputed_teacher") and teacher is not None:
            raise ValueError("precomputed_teacher takes the teachers' outputs from the data: give no teacher")
        prep = self.preprocessing
        self._teacher_preprocessing: Preprocessing | None = None
        if teacher is not None and teacher.normalisation != (prep.mean, prep.std, prep.tone):
            mean, std, tone = teacher.normalisation
            self._teacher_preprocessing = Preprocessing(crop_size=prep.crop_size, mean=mean, std=std, tone=tone)
        # Kept out of the registered children: checkpoints hold the student alone, and resuming rebuilds the
        # teacher from its files. Moved to the training device in on_fit_start.
        object.__setattr__(self, "teacher", teacher)

    def on_fit_start(self) -> None:
        if self.teacher is not None:
            self.teacher.to(self.device)
        if self.hparams.logit_adjustment > 0:
            self._log_prior = self._training_log_prior().to(self.device)

    def _training_log_prior(self) -> torch.Tensor:
        """Log class frequencies of what the model is trained towards (soft targets where given)."""
        train_set = getattr(getattr(self.trainer, "datamodule", None), "train_set", None)
        if train_set is None:
            raise ValueError("logit_adjustment needs a datamodule with a train_set to count the classes")
        if train_set.targets is not None:
            prior = train_set.targets.float().mean(dim=0)
        else:
            prior = torch.bincount(train_set.labels, minlength=NUM_CLASSES).float()
        prior = prior.clamp_min(1e-8)
        return (prior / prior.sum()).log()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.hparams.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.net(x)

    def _normalize(self, images: torch.Tensor) -> torch.Tensor:
        return to_network_input(images, self.preprocessing)

    def on_train_start(self) -> None:
        self.val_acc_best.reset()  # forget the sanity check's batches
        resumed = self._resumed_val_acc_best
        if resumed is not None and torch.isfinite(resumed):  # a resumed run's best includes the epochs before it
            self.val_acc_best.update(resumed.to(self.device))
            self._resumed_val_acc_best = None

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Torchmetrics keeps metric states out of the state_dict; without this a resume restarts val/acc_best.
        checkpoint[VAL_ACC_BEST_KEY] = self.val_acc_best.max_value.detach().float().cpu()  # -inf: none yet

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._resumed_val_acc_best = checkpoint.get(VAL_ACC_BEST_KEY)

    def _training_input(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 faces -> the student's network input; with teachers that see another input (another
        preprocessing, or the faces before `framing`), theirs as a second channel (the same camera effects in both)."""
        if self.photometric is not None:
            # The camera acts before the tone normalisation, as it does on a real face.
            images = self.photometric(images.float() / 255.0) * 255.0
        framed = self.framing(images) if self.framing is not None else images
        student = to_network_input(framed, self.preprocessing)
        if not self._teacher_sees_other_input:
            return student
        teacher_preprocessing = self._teacher_preprocessing or self.preprocessing
        return torch.cat([student, to_network_input(images, teacher_preprocessing)], dim=1)

    @property
    def _teacher_sees_other_input(self) -> bool:
        return self.teacher is not None and (self._teacher_preprocessing is not None or self.framing is not None)

    def training_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> torch.Tensor:
        """Batches are (faces, labels) or, with soft labels (FER+ votes), (faces, labels, soft targets)."""
        if self.hparams.precomputed_teacher:
            return self._precomputed_distillation_step(*batch, batch_idx=batch_idx)
        images, labels, *soft = batch
        targets = soft[0] if soft else F.one_hot(labels, NUM_CLASSES).float()
        x, targets = self.augmentation(self._training_input(images), targets)
        channels = images.shape[1]
        x, teacher_x = (x[:, :channels], x[:, channels:]) if self._teacher_sees_other_input else (x, x)
        logits = self(x)
        loss = self._label_loss(logits, targets)
        if self.teacher is not None:
            loss = self._distilled(loss, logits.float(), self.teacher(teacher_x))
        return self._logged_training_loss(loss, logits, labels, batch_idx)

    def _precomputed_distillation_step(
        self,
        views: torch.Tensor,
        labels: torch.Tensor,
        teacher_probs: torch.Tensor,
        soft_targets: torch.Tensor | None = None,
        *,
        batch_idx: int,
    ) -> torch.Tensor:
        """Cached views: label loss (to the soft targets where the data has FER+ votes) mixed with the KL to the
        teachers' precomputed probabilities."""
        logits = self(views)
        label_loss = self._label_loss(logits, labels if soft_targets is None else soft_targets)
        loss = self._distilled(label_loss, logits.float(), teacher_probs, self.hparams.distillation_temperature)
        return self._logged_training_loss(loss, logits, labels, batch_idx)

    def _label_loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Cross-entropy to class indices or soft targets, logit-adjusted when `logit_adjustment` > 0."""
        label_logits = logits.float()
        if self._log_prior is not None:
            label_logits = label_logits + self.hparams.logit_adjustment * self._log_prior
        return F.cross_entropy(label_logits, targets, label_smoothing=self.hparams.label_smoothing)

    def _logged_training_loss(
        self, loss: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor, batch_idx: int
    ) -> torch.Tensor:
        if not torch.isfinite(loss):
            raise FloatingPointError(f"training loss is {loss.item()} at epoch {self.current_epoch}, batch {batch_idx}")
        self.train_loss(loss)
        self.train_acc(logits.detach(), labels)
        self.log("train/loss", self.train_loss, on_step=False, on_epoch=True, prog_bar=True)
        self.log("train/acc", self.train_acc, on_step=False, on_epoch=True, prog_bar=True)
        return loss

    def _distilled(
        self,
        label_loss: torch.Tensor,
        logits: torch.Tensor,
        teacher_probs: torch.Tensor,
        temperature: float | None = None,
    ) -> torch.Tensor:
        temperature = self.teacher.temperature if temperature is None else temperature
        student_log_probs = F.log_softmax(logits / temperature, dim=-1)
        # T^2 keeps the gradient scale of the soft term independent of the temperature (Hinton et al. 2015).
        distill_loss = F.kl_div(student_log_probs, teacher_probs, reduction="batchmean") * temperature**2
        self.log("train/distill_loss", distill_loss, on_step=False, on_epoch=True)
        weight = self.hparams.distillation_weight
        return (1 - weight) * label_loss + weight * distill_loss

    def _eval_log_probs(self, images: torch.Tensor, tta: str) -> torch.Tensor:
        views = test_time_views(self._normalize(images), self.preprocessing.crop_size, tta)
        return average_view_logits(self(views), tta)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        images, labels = batch
        log_probs = self._eval_log_probs(images, "center")
        self.val_loss(F.nll_loss(log_probs, labels))
        self.val_acc(log_probs, labels)
        self.log("val/loss", self.val_loss, on_step=False, on_epoch=True, prog_bar=True)
        self.log("val/acc", self.val_acc, on_step=False, on_epoch=True, prog_bar=True)

    def on_validation_epoch_end(self) -> None:
        self.val_acc_best(self.val_acc.compute())
        self.log("val/acc_best", self.val_acc_best.compute(), sync_dist=True, prog_bar=True)

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        images, labels = batch
        log_probs = self._eval_log_probs(images, self.preprocessing.tta)
        self.test_loss(F.nll_loss(log_probs, labels))
        self.test_acc(log_probs, labels)
        self.test_class_acc(log_probs, labels)
        self.test_confusion(log_probs, labels)
        self.log("test/loss", self.test_loss, on_step=False, on_epoch=True)
        self.log("test/acc", self.test_acc, on_step=False, on_epoch=True)

    def on_test_epoch_end(self) -> None:
        for name, value in zip(EMOTIONS, self.test_class_acc.compute(), strict=True):
            self.log(f"test/acc_{name}", value)
        self.test_confusion_matrix = self.test_confusion.compute().cpu()
        self.test_class_acc.reset()
        self.test_confusion.reset()

    def setup(self, stage: str) -> None:
        if self.hparams.compile and stage == "fit":
            self.net = torch.compile(self.net)

    def _parameter_groups(self) -> list[dict]:
        """The net's own groups (e.g. a pretrained backbone at a lower `lr_scale`), else one group."""
        if hasattr(self.net, "parameter_groups"):
            return self.net.parameter_groups()
        return [{"params": list(self.net.parameters())}]

    def configure_optimizers(self) -> dict:
        optimizer = self.optimizer_factory(params=self._parameter_groups())
        for group in optimizer.param_groups:
            group["lr"] *= group.get("lr_scale", 1.0)
        if self.scheduler_factory is None:
            return {"optimizer": optimizer}
        extra = {}
        if "max_lr" in getattr(self.scheduler_factory, "keywords", {}):
            # OneCycleLR takes its peak from max_lr, not from the groups: give it one peak per group.
            extra["max_lr"] = [
                self.scheduler_factory.keywords["max_lr"] * g.get("lr_scale", 1.0) for g in optimizer.param_groups
            ]
        scheduler = self.scheduler_factory(
            optimizer=optimizer, total_steps=self.trainer.estimated_stepping_batches, **extra
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
