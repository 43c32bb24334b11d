"""Write a model file's architecture text: `python scripts/write_architecture.py [model_path=...] [notes=FILE]`."""

from pathlib import Path

import hydra
from omegaconf import DictConfig

from facial_emotion.export.exporter import architecture_text
from facial_emotion.export.model_file import load_model_file
from facial_emotion.training.resolvers import register_resolvers

register_resolvers()


@hydra.main(version_base="1.3", config_path="../configs", config_name="write_architecture")
def main(cfg: DictConfig) -> None:
    model_path = Path(cfg.model_path)
    notes = Path(cfg.notes).read_text() if cfg.notes else ""
    output = model_path.with_name(model_path.stem + "_architecture.txt")
    output.write_text(architecture_text(load_model_file(model_path), notes))
    print(f"Wrote {output}")


if __name__ == "__main__":
    main()
