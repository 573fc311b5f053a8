"""Server-side charts as inline SVG (matplotlib's SVG backend; no JavaScript library).

Only numbers reach the chart (no user text), so the SVG is safe to inline.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

INK, MUTED, LINE, BRAND, OK, BAD = "#1c2430", "#667085", "#e4e7ec", "#1f4e79", "#12805c", "#b42318"


@dataclass(frozen=True)
class ScorePoint:
    """One point of the score history: ``step`` 0 is the initial model."""

    step: int
    score: float
    accepted: bool = True
    label: str = ""


def score_history_svg(
    points: Sequence[ScorePoint],
    target: float,
    initial: float,
    metric_label: str = "AUC",
    width_in: float = 8.0,
    height_in: float = 3.2,
) -> str:
    """SVG text of the score history: the current model's score after each evaluation
    (step line), candidates' scores as dots (green accepted, red rejected), the initial
    score and the target as horizontal lines."""
    fig = Figure(figsize=(width_in, height_in), dpi=100)
    ax = fig.add_subplot(111)
    steps = [p.step for p in points] or [0]
    # The current model after each step: best accepted score so far.
    current, best = [], initial
    for p in points:
        if p.step == 0 or p.accepted:
            best = p.score
        current.append(best)
    if points:
        ax.step(steps, current, where="post", color=BRAND, linewidth=2.2, label="current model")
    acc = [p for p in points if p.step > 0 and p.accepted]
    rej = [p for p in points if p.step > 0 and not p.accepted]
    if acc:
        ax.scatter(
            [p.step for p in acc],
            [p.score for p in acc],
            color=OK,
            s=36,
            zorder=3,
            label="accepted update",
        )
    if rej:
        ax.scatter(
            [p.step for p in rej],
            [p.score for p in rej],
            color=BAD,
            s=36,
            zorder=3,
            marker="x",
            label="rejected update",
        )
    ax.axhline(target, color=OK, linestyle="--", linewidth=1.2, label=f"target {target:.3f}")
    ax.axhline(initial, color=MUTED, linestyle=":", linewidth=1.2, label=f"initial {initial:.3f}")
    values = [p.score for p in points] + [target, initial]
    lo, hi = min(values), max(values)
    pad = max(0.01, (hi - lo) * 0.15)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlim(-0.3, max(max(steps), 1) + 0.6)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("evaluation", color=MUTED, fontsize=9)
    ax.set_ylabel(metric_label, color=MUTED, fontsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(LINE)
    ax.tick_params(colors=MUTED, labelsize=8)
    ax.grid(axis="y", color=LINE, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(0.0, 1.01),
        fontsize=8,
        frameon=False,
        ncol=5,
        borderaxespad=0.0,
        handlelength=1.8,
    )
    fig.tight_layout()
    buf = io.StringIO()
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "hessian"}):
        fig.savefig(buf, format="svg", transparent=True)
    svg = buf.getvalue()
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg
