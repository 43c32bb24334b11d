"""Figures for the adversarial attack: before/difference/after comparison and success rate vs budget."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from facial_emotion.adversarial.robustness import BudgetSuccess  # noqa: E402
from facial_emotion.adversarial.single_image import AttackResult  # noqa: E402


def top_probabilities_text(probabilities: np.ndarray, class_names: Sequence[str], top: int = 3) -> str:
    """'Happy 91.2%\\nSad 3.1%\\n...' for the `top` most probable classes."""
    order = np.argsort(probabilities)[::-1][:top]
    return "\n".join(f"{class_names[i]} {probabilities[i]:.1%}" for i in order)


def plot_attack_comparison(result: AttackResult, class_names: Sequence[str], path: Path) -> Path:
    """Input face, amplified difference and hacked face side by side, each with its top probabilities."""
    difference = result.adversarial.astype(np.int16) - result.original.astype(np.int16)
    limit = max(int(np.abs(difference).max()), 1)
    fig, axes = plt.subplots(1, 3, figsize=(10, 4.2))
    axes[0].imshow(result.original, cmap="gray", vmin=0, vmax=255)
    axes[0].set_title("input")
    axes[0].set_xlabel(top_probabilities_text(result.probabilities_before, class_names))
    shown = axes[1].imshow(difference, cmap="seismic", vmin=-limit, vmax=limit)
    axes[1].set_title(f"difference (amplified x{255 // (2 * limit)})")
    axes[1].set_xlabel(
        f"max |change| {result.stats.max_abs_change} grey levels\n"
        f"L2 {result.stats.l2_norm:.1f}, PSNR {result.stats.psnr_db:.1f} dB"
    )
    fig.colorbar(shown, ax=axes[1], fraction=0.046, pad=0.04, label="grey levels")
    axes[2].imshow(result.adversarial, cmap="gray", vmin=0, vmax=255)
    axes[2].set_title("hacked")
    axes[2].set_xlabel(top_probabilities_text(result.probabilities_after, class_names))
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_robustness(rows: Sequence[BudgetSuccess], source_name: str, target_name: str, title: str, path: Path) -> Path:
    """Targeted and untargeted success rate against the L-infinity budget."""
    budgets = [r.budget for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    targeted_label = f"targeted {source_name}->{target_name}"
    ax.plot(budgets, [100 * r.targeted_rate for r in rows], "o-", label=targeted_label)
    ax.plot(budgets, [100 * r.untargeted_rate for r in rows], "s-", label="untargeted")
    ax.set_xscale("log", base=2)
    ax.set_xticks(budgets, [str(b) for b in budgets])
    ax.set_ylim(0, 100)
    ax.set_xlabel("L-infinity budget (grey levels of 255)")
    ax.set_ylabel("attack success rate (%)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
