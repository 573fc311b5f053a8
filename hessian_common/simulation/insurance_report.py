"""The insurance run's report: matplotlib PNGs and one self-contained HTML page.

``write_insurance_report(outcome, out_dir)`` writes::

    out_dir/insurance_deciles.png     claim frequency by decile: predicted, realised, truth
    out_dir/insurance_money.png       premiums and claims paid through the policy year
    out_dir/insurance_pool.png        the pool's free capital and reserves at every check
    out_dir/insurance.html            all of it, images inlined (base64), with tables
    out_dir/insurance_summary.json    the --json summary of the insurance run
    out_dir/insurance_result.json     everything measured

(the loans report, ``report.html``, is :func:`hessian_common.simulation.report.write_report`).
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from hessian_common.errors import ConfigError
from hessian_common.simulation.insurance import InsuranceOutcome
from hessian_common.simulation.report import html_table, save_figure

ETH = 10**18


def plot_deciles(out: InsuranceOutcome, path: Path) -> None:
    rows = out.deciles
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.arange(1, len(rows) + 1)
    ax.bar(x - 0.2, [r["realised"] for r in rows], width=0.4, label="realised (paid claim)")
    ax.plot(x, [r["predicted"] for r in rows], "o-", color="#d62728", label="predicted")
    ax.plot(x, [r["truth"] for r in rows], "s--", color="#2ca02c", label="generator's truth")
    ax.set_xlabel("decile of the predicted claim probability")
    ax.set_ylabel("claim frequency")
    ax.set_title("Claim frequency: predicted vs realised, by decile")
    ax.legend()
    save_figure(fig, path)


def plot_money(out: InsuranceOutcome, path: Path) -> None:
    t0 = out.timeline[0]["time"] if out.timeline else 0
    days = [(p["time"] - t0) / 86_400 for p in out.timeline]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.step(days, [p["premiums"] / ETH for p in out.timeline], where="post", label="premiums")
    ax.step(days, [p["claims_paid"] / ETH for p in out.timeline], where="post", label="claims paid")
    ax.set_xlabel("days since the capital was deposited")
    ax.set_ylabel("ETH")
    ax.set_title(
        f"Loss ratio {out.loss_ratio:.1%} (the pricing rule's target {out.target_loss_ratio:.1%})"
    )
    ax.legend()
    save_figure(fig, path)


def plot_pool(out: InsuranceOutcome, path: Path) -> None:
    t0 = out.timeline[0]["time"] if out.timeline else 0
    days = [(p["time"] - t0) / 86_400 for p in out.timeline]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.stackplot(
        days,
        [p["reserved"] / ETH for p in out.timeline],
        [p["free"] / ETH for p in out.timeline],
        labels=["reserves (policies in force)", "free capital"],
        step="post",
    )
    bad = [d for d, p in zip(days, out.timeline, strict=True) if not p["ok"]]
    if bad:
        ax.plot(bad, [0] * len(bad), "rx", label="pool short")
    ax.set_xlabel("days since the capital was deposited")
    ax.set_ylabel("ETH")
    ax.set_title(f"The pool at {out.pool_checks} checks: never short = {out.pool_never_short}")
    ax.legend(loc="upper right")
    save_figure(fig, path)


def _html(out: InsuranceOutcome, images: dict[str, bytes]) -> str:
    s = out.summary()

    def fig(name: str, caption: str) -> str:
        data = base64.b64encode(images[name]).decode()
        return (
            f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )

    figures = [
        ["customers", s["customers"]],
        ["quoted / bought", f"{s['quoted']} / {s['bought']}"],
        ["claim frequency predicted / realised", f"{s['claim_frequency_predicted']:.2%} / "
         f"{s['claim_frequency_realised']:.2%}"],
        ["loss ratio (claims paid / premiums)", f"{s['loss_ratio']:.2%}"],
        ["target loss ratio (Σ EL / Σ premium)", f"{s['target_loss_ratio']:.2%}"],
        ["claims paid", f"{s['claims_paid']} ({s['claims_paid_eth']:.4f} ETH)"],
        ["claims settled unanswered", s["claims_settled_unanswered"]],
        ["premiums", f"{s['premiums_eth']:.4f} ETH"],
        ["pool never short", f"{s['pool_never_short']} ({s['pool_checks']} checks)"],
        ["insurer's return on capital", f"{s['insurer_return']:.3%}"],
        ["claims model AUC on the customers", f"{s['auc']:.4f}"],
    ]  # fmt: skip
    deciles = [
        [r["decile"], r["policies"], f"{r['predicted']:.2%}", f"{r['realised']:.2%}",
         f"{r['truth']:.2%}"]
        for r in out.deciles
    ]  # fmt: skip
    phases = [[k, f"{v:.1f} s"] for k, v in out.phases.items()]
    scen = ", ".join(f"{k}={v}" for k, v in out.scenario.items())
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Hessian simulation: insurance</title>
<style>body{{font-family:system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse;margin:1rem 0}}td,th{{border:1px solid #ccc;padding:.3rem .6rem}}
img{{max-width:100%}}</style></head><body>
<h1>Insurance: a claims model sells a policy year on chain</h1>
<p>{html.escape(scen)}</p>
<h2>Figures</h2>{html_table(["figure", "value"], figures)}
<h2>Claim frequency by decile of the prediction</h2>
{html_table(["decile", "policies", "predicted", "realised", "truth"], deciles)}
{fig("insurance_deciles", "Predicted vs realised claim frequency by decile")}
{fig("insurance_money", "Premiums and claims paid through the year")}
{fig("insurance_pool", "The capital pool at every check")}
<h2>Wall-clock</h2>{html_table(["phase", "time"], phases)}
<p>{html.escape(json.dumps(out.conditions))}</p>
</body></html>"""


def write_insurance_report(out: InsuranceOutcome, out_dir: str | Path) -> Path:
    """Write the PNGs, ``insurance.html`` and the JSON files into ``out_dir``; the page."""
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create report folder {folder}: {exc}") from exc
    images = {}
    for name, paint in (
        ("insurance_deciles", plot_deciles),
        ("insurance_money", plot_money),
        ("insurance_pool", plot_pool),
    ):
        path = folder / f"{name}.png"
        paint(out, path)
        images[name] = path.read_bytes()
    page = folder / "insurance.html"
    page.write_text(_html(out, images), encoding="utf-8")
    (folder / "insurance_summary.json").write_text(
        json.dumps(out.summary(), indent=2), encoding="utf-8"
    )
    (folder / "insurance_result.json").write_text(
        json.dumps(out.to_dict(), indent=2, default=str), encoding="utf-8"
    )
    return page


__all__ = ["write_insurance_report"]
