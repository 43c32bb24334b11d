"""Keep the random number generators' states in every checkpoint, so a resumed run draws what the run would have.

Seeding alone does not make a resume exact: epoch e's shuffle, augmentation, dropout and mixup draw from the global
generators where epoch e - 1 left them, and a resumed process starts them afresh from the seed. The states are
saved as tensors and plain numbers (checkpoints load with `weights_only=True`) and put back just before the first
resumed epoch, after whatever building the network and the data drew from them.
"""

from __future__ import annotations

import random
from typing import Any

import lightning as L
import numpy as np
import torch


def generator_states() -> dict[str, Any]:
    """The states of torch's CPU (and initialised CUDA) generators, numpy's and Python's, as plain values."""
    name, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "name": str(name),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
        "python": {"version": version, "internal": torch.tensor(internal, dtype=torch.int64), "gauss_next": gauss_next},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_generator_states(states: dict[str, Any]) -> None:
    """Put back what `generator_states` returned (CUDA's where the machine has as many GPUs)."""
    torch.set_rng_state(states["torch"])
    saved = states["numpy"]
    keys = saved["keys"].numpy().astype(np.uint32)
    np.random.set_state((saved["name"], keys, saved["position"], saved["has_gauss"], saved["cached_gaussian"]))
    python = states["python"]
    random.setstate((python["version"], tuple(python["internal"].tolist()), python["gauss_next"]))
    cuda = states.get("cuda")
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)  # queued until CUDA starts, after the seed's own queued call


class RandomState(L.Callback):
    """Saves the generators' states with each checkpoint and restores them when a run resumes from one.

    Restored as soon as Lightning reads the checkpoint: the training loader's first iterator, which draws its seed
    from the generators, is made right after (while the optimizer's schedule counts the batches), and the sanity
    check that follows runs on a copy of the generators (Lightning's `isolate_rng`)."""

    def state_dict(self) -> dict[str, Any]:
        return generator_states()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        set_generator_states(state_dict)
