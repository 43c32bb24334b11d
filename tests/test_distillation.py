"""Knowledge distillation: the teacher ensemble, the distilled loss, and the distill experiment end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hydra.utils import instantiate

from facial_emotion.core.model_file import ModelFile, ModelFileError, save_model_file
from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.models.loading import load_model_file
from facial_emotion.models.registry import architecture_of, build_model
from facial_emotion.models.teacher import TeacherEnsemble
from facial_emotion.tasks.train import train
from tests.conftest import compose_train_config, train_script_error


def _model_file(path: Path, net: torch.nn.Module, preprocessing: Preprocessing | None = None) -> Path:
    model = ModelFile(net=net, architecture=architecture_of(net), preprocessing=preprocessing or Preprocessing())
    save_model_file(path, model)
    return path


def _tiny_vgg(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model("vgg", widths=[8, 16]).eval()


def test_teacher_ensemble_averages_its_members_softened_probabilities(tmp_path: Path) -> None:
    nets = [_tiny_vgg(seed) for seed in (1, 2)]
    paths = [_model_file(tmp_path / f"t{i}.pkl", net) for i, net in enumerate(nets)]
    teacher = TeacherEnsemble(paths, temperature=2.0)
    teacher.train()  # what Lightning does to modules at fit start: teachers must ignore it
    x = torch.randn(5, 1, 40, 40)
    with torch.no_grad():
        expected = torch.stack([(net(x) / 2.0).softmax(-1) for net in nets]).mean(0)
    probs = teacher(x)
    torch.testing.assert_close(probs, expected)
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
    assert [t["path"] for t in teacher.describe()["teachers"]] == [str(p) for p in paths]


def test_teachers_with_different_normalisations_are_refused(tmp_path: Path) -> None:
    a = _model_file(tmp_path / "a.pkl", _tiny_vgg(1))
    b = _model_file(tmp_path / "b.pkl", _tiny_vgg(2), Preprocessing(mean=0.4))
    with pytest.raises(ModelFileError, match="normalise their input differently"):
        TeacherEnsemble([a, b])
    with pytest.raises(ModelFileError, match="not found"):
        TeacherEnsemble([tmp_path / "missing.pkl"])


def test_distilled_loss_pulls_the_student_towards_the_teacher(tmp_path: Path, fer_dir: Path) -> None:
    teacher_path = tmp_path / "teacher.pkl"
    cfg = compose_train_config(
        tmp_path, fer_dir, ["experiment=fer_vgg_large_distill", "init_from=null", f"teachers=[{teacher_path}]"]
    )
    _model_file(teacher_path, _tiny_vgg(3), Preprocessing(**cfg.augmentation.eval))
    cfg.model.distillation_weight = 1.0
    cfg.model.net.dropout = 0.0
    module = instantiate(cfg.model)
    module.net.eval()  # BatchNorm on running statistics: the same function before and after the step
    optimizer = torch.optim.SGD(module.net.parameters(), lr=0.5)
    x = torch.randn(32, 1, 40, 40)
    targets = F.one_hot(torch.randint(0, 7, (32,)), 7).float()

    def distill_loss() -> torch.Tensor:
        return module._distilled(torch.tensor(0.0), module(x).float(), module.teacher(x))

    before = distill_loss()
    before.backward()
    optimizer.step()
    assert distill_loss().item() < before.item()
    # weight 1: labels play no part; the soft term alone is KL(teacher || student)
    expected = F.kl_div(module(x).float().log_softmax(-1), module.teacher(x), reduction="batchmean")
    label_loss = F.cross_entropy(module(x), targets)
    torch.testing.assert_close(module._distilled(label_loss, module(x).float(), module.teacher(x)), expected)
    assert "teacher" not in dict(module.named_children()), "the teacher would be saved in every checkpoint"


def test_distill_experiment_trains_exports_and_records_its_teachers(tmp_path: Path, fer_dir: Path) -> None:
    first = compose_train_config(tmp_path / "first", fer_dir, ["experiment=fer_vgg_large_mixup", "test=false"])
    train(first)
    other = _model_file(tmp_path / "other.pkl", instantiate(first.model.net), Preprocessing(**first.augmentation.eval))
    teachers = [first.export.path, str(other)]
    cfg = compose_train_config(
        tmp_path / "distill",
        fer_dir,
        [
            "experiment=fer_vgg_large_distill",
            f"init_from={first.export.path}",
            f"teachers=[{','.join(teachers)}]",
            "test=false",
        ],
    )
    train(cfg)
    training = load_model_file(Path(cfg.export.path)).training
    assert [t["path"] for t in training["distillation"]["teachers"]] == teachers
    assert training["distillation"]["weight"] == cfg.model.distillation_weight == 0.8
    assert training["init_from"]["path"] == first.export.path
    checkpoint = torch.load(Path(cfg.callbacks.model_checkpoint.dirpath) / "last.ckpt", weights_only=True)
    assert all(key.startswith("net.") for key in checkpoint["state_dict"]), "teacher weights leaked into the checkpoint"


@pytest.mark.parametrize(
    ("teachers", "message"),
    [
        ([], "error: this experiment distils trained models: give teachers=[<model file>,...]"),
        (["teachers=[missing.pkl]"], "error: model file not found: missing.pkl"),
    ],
)
def test_distill_experiment_without_its_teachers_is_a_one_line_error(
    tmp_path: Path, fer_dir: Path, teachers: list[str], message: str
) -> None:
    overrides = ["experiment=fer_vgg_large_distill", "init_from=null", *teachers]
    assert train_script_error(tmp_path / "run", fer_dir, overrides) == message
