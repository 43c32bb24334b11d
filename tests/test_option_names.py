"""A misspelt option is refused in one line naming the closest options; what Hydra allows still runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from facial_emotion import EmotionRecognizer
from facial_emotion.api.option_names import unknown_option_message
from facial_emotion.tasks import cli

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("config", "arguments", "expected"),
    [
        ("predict_image", ["pth=photos/"], "predict_image has no option pth (did you mean path=?)"),
        ("predict_live_stream", ["max_second=5"], "no option max_second (did you mean max_seconds=?)"),
        ("predict_live_stream", ["face_pipeline.detect_evry=3"], "(did you mean face_pipeline.detect_every=?)"),
        ("train", ["trainer.max_epoch=3"], "trainer has no option max_epoch (did you mean trainer.max_epochs=?)"),
        ("train", ["model.net.widht=[8,16]"], "model.net has no option widht (did you mean model.net.widths=?)"),
        ("train", ["-m", "data.val_fracton=0.1,0.2"], "data has no option val_fracton"),
        ("train", ["-m", "model=vgg_small,vgg_large", "trainer.max_epoch=1"], "trainer has no option max_epoch"),
    ],
)
def test_a_misspelt_option_is_named_with_the_closest_one(config: str, arguments: list[str], expected: str) -> None:
    message = unknown_option_message(config, arguments)
    assert message is not None and expected in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["model=vgg_smal"], "train has no model vgg_smal (did you mean model=vgg_small?); its choices: "),
        (["-m", "model=vgg_small,vgg_larg"], "train has no model vgg_larg (did you mean model=vgg_large?)"),
        (["+experiment=fer_vgg_large_distil"], "(did you mean experiment=fer_vgg_large_distill?)"),
        (["hparams_search=nope"], "train has no hparams_search nope; its choices: fer_vgg_small_optuna"),
    ],
)
def test_a_misspelt_config_choice_is_named_with_the_choices_there_are(arguments: list[str], expected: str) -> None:
    message = unknown_option_message("train", arguments)
    assert message is not None and expected in message
    choices = sorted(path.stem for path in (PROJECT_ROOT / "configs" / "model").glob("*.yaml"))
    if "model" in arguments[-1]:
        assert message.endswith(f"its choices: {', '.join(choices)}")


def test_an_option_the_config_file_says_to_add_is_named_with_its_plus() -> None:
    """train.yaml documents `+init_from=<model file>`; without the `+` the user is told how to add it."""
    message = unknown_option_message("train", ["init_from=results/model/my_own_model.pkl"])
    assert message is not None
    assert message.startswith("train has no option init_from (add it with +init_from=, as configs/train.yaml says)")


def test_a_loose_guess_is_not_offered() -> None:
    """`video=` is not `save_video=` (which would write over the clip): no guess, the options are listed."""
    message = unknown_option_message("predict_live_stream", ["video=clip.mp4"])
    assert message is not None and "did you mean" not in message
    assert "its options: face_pipeline, source, " in message and "_target_" not in message


@pytest.mark.parametrize(
    ("config", "arguments"),
    [
        ("predict_image", ["path=photos/", "log=faces.csv"]),  # path is `???` in the file: still an option
        ("predict_live_stream", ["face_pipeline.detect_every=3", "source=0"]),
        ("train", ["experiment=fer_vgg_large_distill", "init_from=a.pkl", "model.distillation_weight=0.5"]),
        ("train", ["+extra=1", "++also=2", "~logger"]),  # adding and deleting are Hydra's
        ("train", ["hydra.run.dir=out", "hydra/launcher=submitit_local"]),
        ("train", ["-m", "model=vgg_small,vgg_large", "model.net.dropout=0.1,0.3"]),
        ("train", ["-m", "model=glob(vgg_*)", "no_such=1"]),  # a glob needs Hydra's config loader: Hydra checks
        ("train", ["model=null", "hparams_search=null"]),  # null leaves a group out
        ("train", ["+experiment=fer_vgg_large_distill", "-m", "model=vgg_small,vgg_large"]),
        ("train", ["hydra/sweeper=optuna"]),  # a plugin's choice, not in configs/
        ("train", ["hydra.searchpath=[file:///tmp/more_configs]", "hparams_search=mine"]),  # choices from there
        ("train", ["--cfg", "job", "seed=1"]),
        ("train", ["--help", "no_such=1"]),
        ("train", ["broken=[1,"]),  # unparsable: Hydra says where
    ],
)
def test_what_hydra_accepts_or_explains_itself_is_left_to_it(config: str, arguments: list[str]) -> None:
    assert unknown_option_message(config, arguments) is None


def test_a_script_refuses_an_unknown_option_in_one_line_before_loading_anything() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/predict_live_stream.py", "video=clip.mp4", "max_seconds=1"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: predict_live_stream has no option video; its options: ")
    assert lines[0].endswith("(--help shows them with their values)")
    assert result.stdout == ""  # no webcam, no fallback video: nothing ran


def test_the_facial_emotion_command_refuses_it_too(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["predict_image", "pth=photos/"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith("error: predict_image has no option pth (did you mean path=?)")


def test_the_api_raises_it_as_a_value_error_before_loading_a_model() -> None:
    with pytest.raises(ValueError, match=r"^EmotionRecognizer overrides: face_pipeline has no option detect_evry"):
        EmotionRecognizer(overrides=["face_pipeline.detect_evry=1"])


def test_a_group_its_config_does_not_use_is_checked_as_an_option() -> None:
    """`compare_runs paths=...` (a typo for path=) was 'compare_runs has no paths ...; its choices: default': paths
    is a config group of other scripts, which compare_runs does not compose (Hydra refuses it too)."""
    message = unknown_option_message("compare_runs", ["paths=outputs/train/runs"])
    assert message is not None and message.startswith("compare_runs has no option paths (did you mean path=?)")
    assert unknown_option_message("calibrate", ["paths=default"]) is None  # calibrate composes it
    assert unknown_option_message("average_models", ["data=fer2013"]) is None  # through calibrate.yaml, its base
    message = unknown_option_message("predict", ["debug=limit"])  # Hydra's answer: add it with +debug=limit
    assert message is not None and message.startswith("predict has no option debug;")


def test_adding_a_group_the_script_does_not_use_is_refused_not_ignored() -> None:
    """`predict.py +debug=limit` was accepted and ignored: the whole test set ran."""
    message = unknown_option_message("predict", ["+debug=limit"])
    assert message == "predict does not use the config group debug (nothing of it would be read); its groups: paths"
    assert unknown_option_message("train", ["+experiment=fer_vgg_small"]) is None  # train composes experiment
    assert unknown_option_message("train", ["experiment=fer_vgg_large_distill", "debug=limit"]) is None
    message = unknown_option_message("train", ["+face_pipeline=photo"])
    assert message is not None and message.startswith("train does not use the config group face_pipeline")
