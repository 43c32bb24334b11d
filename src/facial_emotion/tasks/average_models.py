"""What scripts/average_models.py does: a new model file from the weighted mean of files of one network (WiSE-FT).

`python scripts/average_models.py 'model_paths=[BASE.pkl,FINE_TUNED.pkl]' 'weights=[0.5,0.5]' output=OUT.pkl`
writes OUT.pkl, then refits its temperatures and early exit on the validation split exactly as
scripts/calibrate.py does (the averaged network is a new network: the sources' temperatures do not fit it).
"""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from facial_emotion.core.model_file import ModelFileError, write_model_payload
from facial_emotion.core.options import prepare_output_file
from facial_emotion.core.user_paths import expand_home
from facial_emotion.export.weight_average import WeightAverageError, average_model_files, mixture_weights
from facial_emotion.models.loading import load_model_file
from facial_emotion.tasks import calibrate


def averaging_command(cfg: DictConfig) -> str:
    """The command line that rebuilds the file, with every path and weight spelled out."""
    paths = ",".join(str(path) for path in cfg.model_paths)
    weights = "null" if cfg.weights is None else ",".join(str(weight) for weight in cfg.weights)
    weights = weights if weights == "null" else f"[{weights}]"
    return f"python scripts/average_models.py 'model_paths=[{paths}]' 'weights={weights}' output={cfg.output}"


def run(cfg: DictConfig) -> int:
    """Average, write, recalibrate; the process exit code (2 with a one-line error for bad input)."""
    expand_home(cfg)
    if any(OmegaConf.is_missing(cfg, key) or not cfg[key] for key in ("model_paths", "output")) or not (
        OmegaConf.is_list(cfg.model_paths)
    ):
        print("error: give model_paths=[A.pkl,B.pkl,...] and output=OUT.pkl", file=sys.stderr)
        return 2
    output, model_paths = Path(str(cfg.output)), [Path(str(path)) for path in cfg.model_paths]  # output=5: a number
    if output.resolve() in {path.resolve() for path in model_paths}:
        print(f"error: output {output} is one of the model files; write the average to a new file", file=sys.stderr)
        return 2
    try:
        prepare_output_file(output, f"output={cfg.output}")  # a file in the way was a traceback after averaging
        # Checked before averaging_command reads them: weights=0.5 (not a list) was a traceback there.
        weights = OmegaConf.to_container(cfg.weights) if OmegaConf.is_list(cfg.weights) else cfg.weights
        mixture_weights(weights, len(cfg.model_paths))
        payload = average_model_files(model_paths, weights, averaging_command(cfg))
        write_model_payload(output, payload)
        load_model_file(output)  # the averaged state dict builds the network, before anything else is spent
    except (ModelFileError, WeightAverageError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sources = payload["training"]["weight_average"]
    mixture = ", ".join(f"{source['weight']:.3f} x {source['path']}" for source in sources)
    print(f"Wrote {output}: {mixture}")
    status = calibrate.run(OmegaConf.merge(cfg, {"model_path": str(output)}))
    if status != 0:  # a file with the sources' temperatures would pass for a finished average
        output.unlink(missing_ok=True)
        print(f"note: {output} removed: it could not be calibrated", file=sys.stderr)
    return status
