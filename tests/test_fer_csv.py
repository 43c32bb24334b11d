"""CSV parsing: values, gzip, cache, and one clear message per kind of bad data."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

from facial_emotion.data.cache import load_fer_csv
from facial_emotion.data.datamodule import FERDataModule, stratified_split
from facial_emotion.data.fer_csv import FERDataError, parse_fer_csv
from facial_emotion.data.locate import require_csv
from tests.conftest import write_fer_csv


def test_parses_pixels_and_labels_exactly(tmp_path: Path) -> None:
    images, labels = write_fer_csv(tmp_path / "train.csv", 20)
    parsed = parse_fer_csv(tmp_path / "train.csv")
    np.testing.assert_array_equal(parsed.images, images)
    np.testing.assert_array_equal(parsed.labels, labels)
    assert parsed.images.dtype == np.uint8 and parsed.images.shape == (20, 48, 48)


def test_gzip_and_plain_give_the_same_arrays(tmp_path: Path) -> None:
    write_fer_csv(tmp_path / "a.csv", 10, seed=3)
    write_fer_csv(tmp_path / "b.csv.gz", 10, seed=3, gz=True)
    np.testing.assert_array_equal(parse_fer_csv(tmp_path / "a.csv").images, parse_fer_csv(tmp_path / "b.csv.gz").images)


def test_a_truncated_gzip_file_is_named(tmp_path: Path) -> None:
    write_fer_csv(tmp_path / "whole.csv.gz", 10, seed=3, gz=True)
    data = (tmp_path / "whole.csv.gz").read_bytes()
    (tmp_path / "cut.csv.gz").write_bytes(data[: len(data) // 2])
    (tmp_path / "plain.csv.gz").write_bytes(b"emotion,pixels\n")  # named .gz, not gzip
    for name in ("cut.csv.gz", "plain.csv.gz"):
        with pytest.raises(FERDataError, match=f"{name}: not a complete gzip file"):
            parse_fer_csv(tmp_path / name)


def _bad_csv(tmp_path: Path, bad_line: str, header: str = "emotion,pixels") -> Path:
    good = "3," + " ".join(["7"] * 2304)
    path = tmp_path / "bad.csv"
    path.write_text(f"{header}\n{good}\n{bad_line}\n{good}\n")
    return path


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("3," + " ".join(["7"] * 2303), "line 3: pixel string has 2303 values, expected 2304"),
        ("3," + " ".join(["7"] * 2303 + ["256"]), "line 3: pixel value outside 0..255"),
        ("3," + " ".join(["7"] * 2303 + ["4294967296"]), "line 3: pixel value outside 0..255"),  # 0 in int32
        ("3," + " ".join(["7"] * 2303 + ["x1"]), "line 3: pixel string contains a character"),
        ("9," + " ".join(["7"] * 2304), "line 3: emotion label '9' is not an integer in 0..6"),
        ("3", "line 3: expected 2 comma-separated fields, found 1"),
    ],
)
def test_bad_rows_name_file_line_and_problem(tmp_path: Path, bad_line: str, message: str) -> None:
    path = _bad_csv(tmp_path, bad_line)
    with pytest.raises(FERDataError) as error:
        parse_fer_csv(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_skip_bad_rows_drops_and_reports(tmp_path: Path) -> None:
    parsed = parse_fer_csv(_bad_csv(tmp_path, "3,1 2 3"), skip_bad_rows=True)
    assert len(parsed) == 2 and parsed.skipped_lines == (3,)
    assert parsed.skipped_problems == ("pixel string has 3 values, expected 2304",)


def test_skipped_rows_are_one_warning_naming_file_lines_and_problems(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The parser and the data module each warned on a first parse (the one with the problem, the other a count);
    from the cache only the count was left."""
    data = tmp_path / "data"
    data.mkdir()
    write_fer_csv(data / "train.csv", 40)
    lines = (data / "train.csv").read_text().splitlines()
    lines[3], lines[7], lines[9], lines[12] = "3,1 2 3", "9," + lines[7].split(",")[1], "2", "4"
    (data / "train.csv").write_text("\n".join(lines) + "\n")
    expected = (
        f"{data / 'train.csv'}: skipped 4 bad rows of 40 (data.skip_bad_rows=true): "
        "line 4: pixel string has 3 values, expected 2304; line 8: emotion label '9' is not an integer in 0..6; "
        "line 10: expected 2 comma-separated fields, found 1; and 1 more"
    )
    for parse in ("first", "cached"):
        caplog.clear()
        dm = FERDataModule(str(data), cache_dir=str(tmp_path / "cache"), skip_bad_rows=True, val_fraction=0.2)
        with caplog.at_level(logging.WARNING):
            dm.setup("fit")
        assert [r.getMessage() for r in caplog.records if "bad row" in r.getMessage()] == [expected], parse
        assert len(dm.train_set) + len(dm.val_set) == 36


def test_a_cache_without_the_problems_of_its_skipped_rows_is_parsed_again(tmp_path: Path) -> None:
    csv = _bad_csv(tmp_path, "3,1 2 3")
    load_fer_csv(csv, tmp_path / "cache", skip_bad_rows=True)
    (cache,) = (tmp_path / "cache").glob("*.npz")
    with np.load(cache) as written:
        np.savez(cache, **{k: written[k] for k in written.files if k != "skipped_problems"})  # as version 1 wrote
    again = load_fer_csv(csv, tmp_path / "cache", skip_bad_rows=True)
    assert again.skipped_lines == (3,) and again.skipped_problems == ("pixel string has 3 values, expected 2304",)


def test_missing_column_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(FERDataError, match="line 1: missing column 'emotion'"):
        parse_fer_csv(_bad_csv(tmp_path, "1 2", header="label,pixels"))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(FERDataError, match="empty"):
        parse_fer_csv(empty)


def test_missing_data_dir_says_where_and_how(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nowhere.*does not exist.*Kaggle"):
        require_csv(tmp_path / "nowhere", "train.csv")


def test_cache_is_used_then_invalidated_when_csv_changes(tmp_path: Path) -> None:
    csv = tmp_path / "train.csv"
    write_fer_csv(csv, 14, seed=1)
    first = load_fer_csv(csv, tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
    np.testing.assert_array_equal(load_fer_csv(csv, tmp_path / "cache").images, first.images)
    images, _ = write_fer_csv(csv, 21, seed=5)
    os.utime(csv, ns=(1, 10**18))  # a different mtime, as any rewrite gives
    np.testing.assert_array_equal(load_fer_csv(csv, tmp_path / "cache").images, images)


def test_stratified_split_is_seeded_and_keeps_class_shares() -> None:
    labels = np.repeat(np.arange(7), [400, 40, 400, 700, 480, 310, 490])
    train, val = stratified_split(labels, 0.1, seed=42)
    assert set(train).isdisjoint(val) and len(train) + len(val) == len(labels)
    np.testing.assert_array_equal(np.bincount(labels[val]), np.round(np.bincount(labels) * 0.1))
    np.testing.assert_array_equal(val, stratified_split(labels, 0.1, seed=42)[1])


def test_datamodule_yields_uint8_batches(fer_dir: Path, tmp_path: Path) -> None:
    dm = FERDataModule(str(fer_dir), batch_size=8, cache_dir=str(tmp_path / "c"))
    dm.setup("fit")
    dm.setup("test")
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (8, 1, 48, 48) and str(images.dtype) == "torch.uint8"
    assert len(dm.val_set) == 14 and len(dm.test_set) == 42


def test_a_damaged_cache_is_parsed_again(tmp_path: Path) -> None:
    csv = tmp_path / "train.csv"
    write_fer_csv(csv, 6, seed=2)
    first = load_fer_csv(csv, tmp_path / "cache")
    (cache,) = (tmp_path / "cache").glob("*.npz")
    cache.write_bytes(cache.read_bytes()[:100])  # a write cut short
    again = load_fer_csv(csv, tmp_path / "cache")
    np.testing.assert_array_equal(again.images, first.images)
    np.testing.assert_array_equal(again.labels, first.labels)
