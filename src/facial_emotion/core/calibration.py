"""Temperature scaling and expected calibration error."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

GRID = (0.25, 4.0)  # the temperatures searched (log-spaced), then +-FINE_SPAN (in log T) around the best of them
FINE_SPAN = 0.05
SEARCH_BOUNDS = (GRID[0] * float(np.exp(-FINE_SPAN)), GRID[1] * float(np.exp(FINE_SPAN)))  # 0.238, 4.205


def mean_view_probabilities(view_logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """(N, K, classes) view logits -> (N, classes): softmax of each view at `temperature`, averaged."""
    return F.softmax(view_logits.float() / temperature, dim=-1).mean(dim=1)


def fit_temperature(view_logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The temperature minimising the NLL of view-averaged tempered softmax on held-out data.

    `view_logits` is (N, K, classes). A log-spaced grid search followed by a finer grid is robust and
    exact enough (the NLL is smooth and one-dimensional in log T).
    """
    view_logits, labels = view_logits.float(), labels.long()

    def nll(t: float) -> float:
        probs = mean_view_probabilities(view_logits, t)
        return float(F.nll_loss(probs.clamp_min(1e-12).log(), labels))

    grid = np.exp(np.linspace(np.log(GRID[0]), np.log(GRID[1]), 61))
    best = min(grid, key=nll)
    fine = best * np.exp(np.linspace(-FINE_SPAN, FINE_SPAN, 41))
    return float(min(fine, key=nll))


def search_bound(temperature: float) -> str | None:
    """`lower` or `upper` when a fitted temperature is that end of the search (`SEARCH_BOUNDS`), else None.

    The NLL still fell there: the best temperature lies beyond, and the one fitted leaves the model miscalibrated
    (an under-trained model's, far too sure or unsure of itself: its ECE stays high).
    """
    for name, bound in zip(("lower", "upper"), SEARCH_BOUNDS, strict=True):
        if np.isclose(temperature, bound, rtol=1e-9, atol=0.0):
            return name
    return None


def bound_warnings(
    temperatures: dict[str, float], prefix: str = "warning: ", ece: str = " (its ECE above)"
) -> list[str]:
    """A warning line per end of the temperature search that fits landed on, naming their view sets (none if no fit
    did): the best temperature lies beyond it, so the model stays miscalibrated, as an under-trained one does.

    `prefix` starts each line (a logger's record, which shows its level, takes ""); `ece` says where the model's ECE
    is shown (calibrate.py's table above; "" where none is).
    """
    lines = []
    for bound, value in zip(("lower", "upper"), SEARCH_BOUNDS, strict=True):
        stuck = [tta for tta, temperature in temperatures.items() if search_bound(temperature) == bound]
        if stuck:
            lines.append(
                f"{prefix}{', '.join(stuck)}: the fitted temperature is the search's {bound} bound, T = {value:.3f}; "
                f"the best lies beyond it: the model stays far from calibrated{ece}, as under-trained ones do"
            )
    return lines


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, n_bins: int = 15) -> float:
    """ECE over `n_bins` equal-width confidence bins: sum over bins of |accuracy - confidence| * weight."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        members = bins == b
        if members.any():
            ece += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(ece)


def reliability_bins(
    probs: np.ndarray, labels: np.ndarray, n_bins: int = 15
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-bin (mean confidence, accuracy, count) for a reliability diagram."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    conf = np.bincount(bins, weights=confidence, minlength=n_bins) / np.maximum(counts, 1)
    acc = np.bincount(bins, weights=correct.astype(float), minlength=n_bins) / np.maximum(counts, 1)
    return conf, acc, counts
