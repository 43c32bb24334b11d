"""A run folder's record as it was before a resume into it: put back when train.py refuses the resume.

Hydra writes `<run>/.hydra/{config,hydra,overrides}.yaml` before the task starts, and the loggers write their
`hparams.yaml` (and TensorBoard a new events file) before the fit-start checks run, so a resume that train.py then
refuses (another schedule, another network, a folder that already holds a run) would leave the refused command as
the run's own options: the options the refusal message itself points to, and those compare_runs shows.
`KeepRunRecordOnRefusal` (a Hydra callback, configs/train.yaml) reads the record when the run starts;
`restore_run_record` writes it back and removes what the refused attempt added.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

# What a run's options and loggers write before training starts, relative to its folder.
RECORD_FILES = (".hydra/*.yaml", "*/hparams.yaml")
EVENTS_FILES = "*/events.out.tfevents.*"  # TensorBoard starts a new one per process: only whether it existed


@dataclass(frozen=True)
class RunRecord:
    """The record files of a run folder (their bytes) and its TensorBoard events files (their names)."""

    folder: Path
    files: dict[Path, bytes]
    events: frozenset[Path]

    @classmethod
    def read(cls, folder: Path) -> RunRecord:
        """The record of `folder` as it is now."""
        files = {path: path.read_bytes() for path in _record_files(folder)}
        return cls(folder, files, frozenset(folder.glob(EVENTS_FILES)))

    def restore(self) -> None:
        """Put the record files back as they were and remove record and events files added since."""
        for path in _record_files(self.folder):
            if path not in self.files:
                path.unlink(missing_ok=True)
        for path in set(self.folder.glob(EVENTS_FILES)) - self.events:
            path.unlink(missing_ok=True)
        for path, data in self.files.items():
            if not path.is_file() or path.read_bytes() != data:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)


def _record_files(folder: Path) -> list[Path]:
    return [path for pattern in RECORD_FILES for path in folder.glob(pattern) if path.is_file()]


def holds_a_run(folder: Path) -> bool:
    """Whether `folder` is an earlier run's folder (its summary or its Hydra options are there)."""
    return (folder / "run_summary.json").is_file() or (folder / ".hydra" / "overrides.yaml").is_file()


_records_at_start: dict[Path, RunRecord] = {}


class KeepRunRecordOnRefusal(Callback):
    """Hydra callback: reads the record of the run folder before Hydra writes this run's options into it."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        folder = Path(str(config.hydra.run.dir)).resolve()
        if folder.is_dir() and holds_a_run(folder):
            _records_at_start[folder] = RunRecord.read(folder)


def restore_run_record(output_dir: str | Path) -> bool:
    """After a refused resume (or a resume refused for other bad input before training): put `output_dir`'s record
    back as this process found it. False when there was none to keep (a new folder, or train() called outside
    scripts/train.py)."""
    record = _records_at_start.get(Path(output_dir).resolve())
    if record is None:
        return False
    record.restore()
    return True
