"""The data options of train.py: where the CSVs come from, what a bad train.csv says, quoted CSVs, FER+ votes."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from facial_emotion.data.datamodule import FERDataModule
from facial_emotion.data.fer_csv import FERDataError, parse_fer_csv
from tests.conftest import CONFIG_DIR, train_script_error, write_fer_csv, write_ferplus


def _data_with_train_csv(tmp_path: Path, fer_dir: Path, text: str) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(fer_dir / "test_with_emotions.csv.gz", data)
    (data / "train.csv").write_text(text)
    return data


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda lines: ["label,pixels", *lines[1:]], "train.csv, line 1: missing column 'emotion' (header is "),
        (lambda lines: [*lines[:4], "3,12 x 7", *lines[4:]], "train.csv, line 5: pixel string contains a character"),
        (lambda lines: [], "train.csv: the file is empty (expected a header 'emotion,pixels' and rows)"),
        (lambda lines: [*lines[:9], "7," + lines[9].split(",")[1]], "train.csv, line 10: emotion label '7' is not an"),
    ],
)
def test_a_bad_train_csv_is_one_line_naming_file_and_line(tmp_path: Path, fer_dir: Path, edit, message: str) -> None:
    lines = (fer_dir / "train.csv").read_text().splitlines()
    data = _data_with_train_csv(tmp_path, fer_dir, "\n".join(edit(lines)) + "\n")
    error = train_script_error(
        tmp_path / "run", data, [f"paths.cache_dir={tmp_path / 'cache'}", "trainer.max_epochs=1"]
    )
    assert error.startswith(f"error: {data / 'train.csv'}") and message in error, error


def test_a_quoted_csv_reads_as_the_plain_one(tmp_path: Path) -> None:
    """A spreadsheet's or pandas' quoting ("emotion","pixels" / "3","12 34 ...") was 'not a digit or a space' on
    every row."""
    images, labels = write_fer_csv(tmp_path / "plain.csv", 14)
    rows = (tmp_path / "plain.csv").read_text().splitlines()[1:]
    quoted = ['"emotion","pixels"', *('"{}","{}"'.format(*row.split(",")) for row in rows)]
    (tmp_path / "quoted.csv").write_text("\r\n".join(quoted) + "\r\n")
    parsed = parse_fer_csv(tmp_path / "quoted.csv")
    np.testing.assert_array_equal(parsed.images, images)
    np.testing.assert_array_equal(parsed.labels, labels)
    (tmp_path / "half.csv").write_text('emotion,pixels\n3,"12 34\n')
    with pytest.raises(FERDataError, match="half.csv, line 2: pixel string"):
        parse_fer_csv(tmp_path / "half.csv")


def test_fer_data_dir_is_where_the_data_comes_from_and_is_named_when_wrong(
    tmp_path: Path, fer_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FER_DATA_DIR", str(fer_dir))
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(config_name="train")
    assert cfg.paths.data_dir == str(fer_dir)
    datamodule = FERDataModule(cache_dir=str(tmp_path / "cache"), batch_size=16)
    datamodule.setup("fit")
    assert len(datamodule.train_set) + len(datamodule.val_set) == 140
    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path / "moved"))
    with pytest.raises(FileNotFoundError, match=r"moved does not exist \(the folder \$FER_DATA_DIR names\); "):
        FERDataModule(cache_dir=str(tmp_path / "cache")).setup("fit")


def test_ferplus_votes_of_another_train_csv_name_both_files(tmp_path: Path, fer_dir: Path) -> None:
    """Was 'FER+ has 150 rows for 140 FER2013 rows: the files do not match', naming neither."""
    write_ferplus(fer_dir / "fer2013new.csv", 150)
    datamodule = FERDataModule(
        data_dir=str(fer_dir), cache_dir=str(tmp_path / "cache"), soft_labels_file="fer2013new.csv"
    )
    with pytest.raises(FERDataError) as refused:
        datamodule.setup("fit")
    assert str(refused.value) == (
        f"{fer_dir / 'fer2013new.csv'} has 150 Training rows, {fer_dir / 'train.csv'} 140: data.soft_labels_file "
        "must be the FER+ file of this train.csv (one line per row, in its order)"
    )
