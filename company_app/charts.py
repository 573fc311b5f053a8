"""Server-side charts as inline SVG (matplotlib's SVG backend; no JavaScript library).

Only numbers reach the chart (no user text), so the SVG is safe to inline.
"""

from __future__ import annotations

import io
import math
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


def _style(ax) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(LINE)
    ax.tick_params(colors=MUTED, labelsize=8)
    ax.grid(color=LINE, linewidth=0.8)
    ax.set_axisbelow(True)


def _svg(fig: Figure) -> str:
    fig.tight_layout()
    buf = io.StringIO()
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "hessian"}):
        fig.savefig(buf, format="svg", transparent=True)
    svg = buf.getvalue()
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def _bin_points(bins: Sequence) -> tuple[list[float], list[float], list[int]]:
    """(mean predicted PD, observed default rate, count) of the non-empty bins."""
    xs, ys, ns = [], [], []
    for b in bins or ():
        count = int(getattr(b, "count", 0) or 0)
        if count <= 0:
            continue
        xs.append(float(b.mean_pd))
        ys.append(float(b.default_rate))
        ns.append(count)
    return xs, ys, ns


def reliability_svg(
    raw_bins: Sequence,
    calibrated_bins: Sequence,
    chosen: str = "platt",
    width_in: float = 5.2,
    height_in: float = 4.0,
) -> str:
    """SVG text of the reliability diagram: observed default rate against mean predicted PD
    per bin (equal-count bins of the out-of-fold hold-out predictions), for the raw model
    (grey) and the calibrated one (blue); the diagonal is perfect calibration.

    ``raw_bins`` / ``calibrated_bins`` are sequences of objects with ``mean_pd``,
    ``default_rate`` and ``count`` (``ReliabilityBin``); empty bins are skipped. The point
    area grows with the bin's count.
    """
    fig = Figure(figsize=(width_in, height_in), dpi=100)
    ax = fig.add_subplot(111)
    rx, ry, rn = _bin_points(raw_bins)
    cx, cy, cn = _bin_points(calibrated_bins)
    top = max([0.05, *rx, *ry, *cx, *cy]) * 1.08
    top = min(1.0, top)
    ax.plot([0, top], [0, top], color=MUTED, linestyle="--", linewidth=1.0, label="perfect")
    if rx:
        size = [12 + 40 * n / max(rn) for n in rn]
        ax.plot(rx, ry, color=MUTED, linewidth=1.2, alpha=0.8)
        ax.scatter(rx, ry, s=size, color=MUTED, zorder=3, label="raw model")
    if cx:
        size = [12 + 40 * n / max(cn) for n in cn]
        label = "calibrated (Platt)" if chosen == "platt" else "deployed (identity)"
        ax.plot(cx, cy, color=BRAND, linewidth=1.8)
        ax.scatter(cx, cy, s=size, color=BRAND, zorder=4, label=label)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("mean predicted PD", color=MUTED, fontsize=9)
    ax.set_ylabel("observed default rate", color=MUTED, fontsize=9)
    _style(ax)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    return _svg(fig)


def _finite(v: float | None) -> float:
    """``v`` as a float, 0 for None / NaN (a group without loans draws no bar)."""
    return float(v) if v is not None and math.isfinite(float(v)) else 0.0


def predicted_vs_realised_svg(
    labels: Sequence[str],
    predicted: Sequence[float | None],
    realised: Sequence[float | None],
    width_in: float = 5.2,
    height_in: float = 3.0,
) -> str:
    """SVG text of grouped bars: mean predicted PD and realised default rate per group (grade
    or PD bucket); a group without resolved loans has no realised bar."""
    fig = Figure(figsize=(width_in, height_in), dpi=100)
    ax = fig.add_subplot(111)
    xs = list(range(len(labels)))
    pred = [_finite(v) for v in predicted]
    real = [_finite(v) for v in realised]
    ax.bar([x - 0.2 for x in xs], pred, width=0.4, color=BRAND, label="mean predicted PD")
    ax.bar([x + 0.2 for x in xs], real, width=0.4, color=BAD, label="realised default rate")
    ax.set_xticks(xs, [str(lbl) for lbl in labels])
    ax.set_ylim(0, max([0.05, *pred, *real]) * 1.15)
    _style(ax)
    ax.grid(axis="x", visible=False)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    return _svg(fig)
