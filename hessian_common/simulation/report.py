"""The simulation report: matplotlib PNGs and one self-contained HTML page.

``write_report(result, out_dir)`` writes::

    out_dir/score_vs_submissions.png   federated score per arrival, centralized baseline
    out_dir/reward_vs_rows.png         reward per owner vs rows, one panel per mechanism
    out_dir/reward_vs_contribution.png reward per owner vs Shapley value, per mechanism
    out_dir/bad_owner_earnings.png     share of the bounty paid to each misbehaviour
    out_dir/gas_per_role.png           gas by role and operation
    out_dir/phases.png                 wall-clock per phase
    out_dir/lending_by_grade.png       approval and default rate by grade   } when the run
    out_dir/lending_calibration.png    predicted vs realised default by PD  } had a lending
    out_dir/lending_returns.png        realised vs expected cash flows      } phase
    out_dir/report.html                all of it, images inlined (base64), with tables
    out_dir/summary.json               the --json summary
    out_dir/result.json                everything measured

Nothing else is read or written.
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
from hessian_common.simulation.result import WEI_PER_ETH, SimulationResult

KIND_COLOURS = {
    "honest": "#1f77b4",
    "label_flip": "#d62728",
    "noise": "#9467bd",
    "replay": "#8c564b",
    "tiny": "#ff7f0e",
    "copy": "#e377c2",
    "crash": "#7f7f7f",
    "copy_other": "#bcbd22",
    "inflate_rows": "#17becf",
    "frontrun": "#2ca02c",
}
PLOTS = (
    "score_vs_submissions",
    "reward_vs_rows",
    "reward_vs_contribution",
    "bad_owner_earnings",
    "gas_per_role",
    "phases",
)
LENDING_PLOTS = ("lending_by_grade", "lending_calibration", "lending_returns")
"""Drawn only when the run had a lending phase (``result.lending``)."""


def _eth(wei: int) -> float:
    return wei / WEI_PER_ETH


def save_figure(fig: plt.Figure, path: Path) -> None:
    """Lay ``fig`` out, write it to ``path`` (PNG, 110 dpi) and close it (every report's)."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_scores(result: SimulationResult, path: Path) -> None:
    """Score (hold-out AUC) after each arrival: federated per mechanism, centralized."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    xs = list(range(len(result.centralized_history)))
    ax.plot(xs, result.centralized_history, "k--", label="centralized (pooled honest data)")
    for run in result.runs:
        ax.plot(range(len(run.history)), run.history, label=f"federated ({run.mechanism})")
    main = result.primary()
    for s in main.submissions:
        if s.status != "accepted":
            marker = "x" if s.status == "rejected" else "s"
            ax.plot(s.arrival + 1, s.score_after, marker, color="#d62728", ms=6)
    ax.axhline(main.target_score, color="grey", lw=0.8, ls=":", label="target")
    ax.plot([], [], "x", color="#d62728", label="rejected by the lender")
    ax.plot([], [], "s", color="#d62728", label="refused by the contract")
    ax.set_xlabel("submissions (arrivals)")
    ax.set_ylabel("hold-out AUC")
    ax.set_title("Model score vs submissions")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    save_figure(fig, path)


def payout_panels(result: SimulationResult) -> list[tuple[str, dict[int, int], int]]:
    """``(title, wei by owner, bounty)`` for every mechanism: on-chain payouts where that
    mechanism ran on chain, else the off-chain mirror's replay of the primary run's
    evaluations (checked equal to the chain wherever both exist)."""
    panels = [(r.mechanism + " (on chain)", r.rewards_wei, r.bounty_wei) for r in result.runs]
    done = {r.mechanism for r in result.runs}
    main = result.primary()
    for mech, per in main.mirror_wei.items():
        if mech not in done:
            panels.append((mech + " (mirror)", per, main.bounty_wei))
    return panels


def _scatter_per_mechanism(result: SimulationResult, path: Path, x_of, xlabel: str, title: str):
    panels = payout_panels(result)
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, (name, rewards, _bounty) in zip(axes[0], panels, strict=True):
        seen: set[str] = set()
        for o in result.owners:
            label = None if o.kind in seen else o.kind
            seen.add(o.kind)
            ax.scatter(
                x_of(o),
                _eth(rewards.get(o.index, 0)),
                color=KIND_COLOURS.get(o.kind, "k"),
                label=label,
                s=22,
                alpha=0.85,
            )
        ax.set_title(name)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("reward (ETH)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title)
    save_figure(fig, path)


def plot_rewards_vs_rows(result: SimulationResult, path: Path) -> None:
    """Reward per owner against the rows they declared, one panel per mechanism."""
    _scatter_per_mechanism(
        result, path, lambda o: o.rows, "rows declared", "Reward per owner vs rows"
    )


def plot_rewards_vs_contribution(result: SimulationResult, path: Path) -> None:
    """Reward per owner against their Monte-Carlo Shapley value, per mechanism."""
    _scatter_per_mechanism(
        result,
        path,
        lambda o: o.shapley,
        "Shapley value (hold-out AUC points)",
        "Reward per owner vs contribution",
    )


def plot_bad_owner_earnings(result: SimulationResult, path: Path) -> None:
    """Share of each mechanism's bounty credited to each kind of misbehaving owner."""
    kinds = sorted({o.kind for o in result.owners if not o.honest})
    fig, ax = plt.subplots(figsize=(7, 4))
    panels = payout_panels(result)
    names = [p[0] for p in panels]
    bottom = [0.0] * len(names)
    for kind in kinds:
        members = {o.index for o in result.owners if o.kind == kind}
        shares = [
            sum(v for k, v in per.items() if k in members) / bounty * 100
            for _, per, bounty in panels
        ]
        ax.bar(names, shares, bottom=bottom, label=kind, color=KIND_COLOURS.get(kind))
        bottom = [a + b for a, b in zip(bottom, shares, strict=True)]
    ax.axhline(1, color="grey", ls=":", lw=1, label="1% line (per kind)")
    ax.set_ylabel("% of the bounty")
    ax.set_title("What the misbehaving owners earned")
    if kinds:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    save_figure(fig, path)


def plot_gas(result: SimulationResult, path: Path) -> None:
    """Total gas per role, stacked by operation."""
    roles = list(result.gas)
    ops = sorted({op for per in result.gas.values() for op in per})
    fig, ax = plt.subplots(figsize=(8, 4))
    bottom = [0.0] * len(roles)
    for op in ops:
        vals = [result.gas[r].get(op, 0) / 1e6 for r in roles]
        ax.bar(roles, vals, bottom=bottom, label=op)
        bottom = [a + b for a, b in zip(bottom, vals, strict=True)]
    ax.set_ylabel("gas (millions)")
    ax.set_title("Gas spent per role")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3, axis="y")
    save_figure(fig, path)


def plot_phases(result: SimulationResult, path: Path) -> None:
    """Wall-clock seconds per phase."""
    names = list(result.phases)
    secs = [result.phases[n] for n in names]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(names) + 1.2))
    ax.barh(names[::-1], secs[::-1], color="#2ca02c")
    for y, v in enumerate(secs[::-1]):
        ax.text(v, y, f" {v:.1f} s", va="center", fontsize=8)
    ax.set_xlabel("seconds")
    ax.set_title(f"Wall-clock per phase (total {sum(secs):.1f} s)")
    save_figure(fig, path)


def plot_lending_by_grade(result: SimulationResult, path: Path) -> None:
    """Approval rate and default rates by credit grade (lending phase)."""
    rows = result.lending.summary()["by_grade"]
    grades = list(rows)
    x = np.arange(len(grades))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    axes[0].bar(x, [rows[g]["approval_rate"] * 100 for g in grades], color="#2ca02c")
    for i, g in enumerate(grades):
        axes[0].text(i, rows[g]["approval_rate"] * 100, f"{rows[g]['approved']}/"
                     f"{rows[g]['applied']}", ha="center", va="bottom", fontsize=8)  # fmt: skip
    axes[0].set_ylabel("% of applications approved")
    axes[0].set_title("Approval rate by grade")
    w = 0.38

    def pct(v: float | None) -> float:
        return 0.0 if v is None else v * 100

    axes[1].bar(x - w / 2, [pct(rows[g]["default_rate_funded"]) for g in grades], w,
                label="funded loans, realised on chain", color="#d62728")  # fmt: skip
    axes[1].bar(x + w / 2, [pct(rows[g]["default_rate_applicants_truth"]) for g in grades], w,
                label="all applicants (ground truth)", color="#7f7f7f")  # fmt: skip
    axes[1].set_ylabel("% defaulted")
    axes[1].set_title("Default rate by grade")
    axes[1].legend(fontsize=8)
    for ax in axes:
        ax.set_xticks(x, grades)
        ax.set_xlabel("credit grade")
        ax.grid(alpha=0.3, axis="y")
    save_figure(fig, path)


def plot_lending_calibration(result: SimulationResult, path: Path) -> None:
    """Mean predicted PD vs realised default rate per PD bucket, 95 % Wilson intervals."""
    s = result.lending.summary()
    fig, ax = plt.subplots(figsize=(6, 5))
    top = 0.4
    for key, label, colour, style in (  # funded last: on top where the two coincide
        ("pd_buckets_applicants", "all applicants (ground truth)", "#7f7f7f", "s--"),
        ("pd_buckets_funded", "funded loans (defaults on chain)", "#d62728", "o-"),
    ):
        rows = s[key]
        if not rows:
            continue
        xs = [r["mean_pd"] for r in rows]
        ys = [r["default_rate"] for r in rows]
        err = [[y - r["ci_low"] for y, r in zip(ys, rows, strict=True)],
               [r["ci_high"] - y for y, r in zip(ys, rows, strict=True)]]  # fmt: skip
        ax.errorbar(xs, ys, yerr=err, fmt=style, color=colour, label=label, capsize=3, ms=4)
        top = max(top, *xs, *[r["ci_high"] for r in rows])
    ax.plot([0, top], [0, top], "k:", lw=1, label="perfect calibration")
    ax.set_xlabel("mean predicted PD (bucket)")
    ax.set_ylabel("realised default rate")
    ax.set_title("Predicted vs realised default by PD bucket")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save_figure(fig, path)


def plot_lending_returns(result: SimulationResult, path: Path) -> None:
    """Cumulative portfolio cash flow (the loans' currency), realised on chain vs the rule."""
    lending = result.lending
    r = lending.summary()["returns"]
    lent = r["lent"]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for flows, label, style in (
        (lending.realised_flows(), "realised (repayments on chain)", "-"),
        (lending.expected_flows, "expected (pricing rule)", "--"),
    ):
        cum = np.concatenate([[-lent], -lent + np.cumsum(flows)]) if lent else np.zeros(1)
        ax.plot(np.arange(len(cum)), cum / 1000, style, label=label)
    ax.axhline(0, color="grey", lw=0.8)
    irr, exp_irr = r["irr"], r["expected_irr"]
    ax.set_title(
        "Portfolio: realised IRR "
        + ("-" if irr is None else f"{irr * 100:.2f}%")
        + " vs expected "
        + ("-" if exp_irr is None else f"{exp_irr * 100:.2f}%")
        + " a year"
    )
    ax.set_xlabel("months after funding")
    ax.set_ylabel(f"cumulative cash flow (thousand {r.get('currency', '')})")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save_figure(fig, path)


def _fmt_pct(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x * 100:.{digits}f}%"


def _lending_html(result: SimulationResult, figure) -> str:
    """The lending section of the page ('' when the run had none)."""
    if result.lending is None:
        return ""
    s = result.lending.summary()
    r = s["returns"]
    head = html_table(
        ["figure", "value"],
        [
            ["model deployed", f"{s['model_id']} ({s['mechanism']}), LoanBook {s['loanbook']}"],
            ["borrowers (applied)", f"{s['borrowers']} ({s['applied']})"],
            ["approved and funded", f"{s['approved']} ({_fmt_pct(s['approval_rate'])})"],
            ["defaulted (of funded)", f"{s['defaulted']} ({_fmt_pct(s['default_rate'])})"],
            ["applicants' default rate (ground truth)",
             _fmt_pct(s["applicant_default_rate_truth"])],
            ["declined applicants' default rate (ground truth)",
             _fmt_pct(s["declined_default_rate_truth"])],
            ["mean PD / APR of funded loans",
             f"{_fmt_pct(s['mean_pd_funded'])} / {_fmt_pct(s['mean_apr_funded'], 2)}"],
            ["lent / received",
             f"{r['lent']:,.0f} / {r['received']:,.0f} {r.get('currency', '')}"],
            ["money multiple: realised / expected",
             f"{_num(r['money_multiple'])} / {_num(r['expected_money_multiple'])}"],
            ["annualised IRR: realised / expected",
             f"{_fmt_pct(r['irr'], 2)} / {_fmt_pct(r['expected_irr'], 2)}"],
            ["principal-weighted quoted return / required",
             f"{_fmt_pct(r['mean_quoted_return'], 2)} / {_fmt_pct(r['required_return'], 2)}"],
            ["recovered after defaults", f"{r['recovered']:,.0f} {r.get('currency', '')}"],
            ["months simulated on chain", s["months_simulated"]],
            ["chain totals match the simulated payments", s["chain_matches"]],
            ["wall-clock of the phase", f"{s['total_s']:.1f} s"],
        ],
    )  # fmt: skip
    grades = html_table(
        ["grade", "applied", "approved", "approval", "mean PD", "mean APR", "defaulted",
         "default rate (funded)", "default rate (all, truth)", "default rate (declined, truth)"],
        [
            [g, v["applied"], v["approved"], _fmt_pct(v["approval_rate"]),
             _fmt_pct(v["mean_pd_approved"]), _fmt_pct(v["mean_apr_approved"], 2),
             v["defaulted"], _fmt_pct(v["default_rate_funded"]),
             _fmt_pct(v["default_rate_applicants_truth"]),
             _fmt_pct(v["default_rate_declined_truth"])]
            for g, v in s["by_grade"].items()
        ],
    )  # fmt: skip

    def buckets(rows: list[dict]) -> str:
        return html_table(
            ["PD bucket", "loans", "mean predicted PD", "realised default rate", "95% interval"],
            [
                [f"{b['lo'] * 100:.0f}-{b['hi'] * 100:.0f}%", b["count"],
                 _fmt_pct(b["mean_pd"]), _fmt_pct(b["default_rate"]),
                 f"{_fmt_pct(b['ci_low'])} - {_fmt_pct(b['ci_high'])}"]
                for b in rows
            ],
        )  # fmt: skip

    gas = html_table(
        ["operation", "mean gas per call"],
        [[op, f"{g:,}"] for op, g in s["gas_mean_per_operation"].items()],
    )
    phases = html_table(["phase", "seconds"], [[k, f"{v:.2f}"] for k, v in s["phases_s"].items()])
    return f"""<h1>Lending: the trained model decides {s["borrowers"]} loans</h1>
<p>The closed model is deployed on a LoanBook on the same chain. Generated borrowers (a seed
distinct from the training data's) apply with sealed applications; the lender decides each as
its pricing rule suggests; approved loans are accepted and funded, and then run month by month
on chain: a borrower whose generated loan was <em>Fully Paid</em> pays every instalment, a
<em>Charged Off</em> one stops after k instalments (k from the pricing rule's constant-hazard
model, conditioned on default); the lender marks the default once an instalment is overdue by
more than the book's defaultAfter, and a recovery of recovery_rate &times; the scheduled
balance is paid (the pricing rule's assumption, about four months later than it assumes).
Realised returns come from the repayments on chain; expected ones from the pricing rule's
expected cash flows of the same loans.</p>
<h2>Headline</h2>{head}
{figure("lending_by_grade", "Approval and default rate by grade")}
<h2>By grade</h2>{grades}
{figure("lending_calibration", "Predicted vs realised default by PD bucket")}
<h2>Calibration: funded loans (defaults on chain)</h2>{buckets(s["pd_buckets_funded"])}
<h2>Calibration: all applicants (ground truth)</h2>{buckets(s["pd_buckets_applicants"])}
{figure("lending_returns", "Cumulative cash flow of the portfolio, realised vs expected")}
<h2>Gas per lending operation</h2>{gas}
<h2>Wall-clock of the lending phase</h2>{phases}
"""


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


def html_table(header: list[str], rows: list[list[object]]) -> str:
    """An HTML table of ``rows`` under ``header``, every cell escaped (every report's)."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html(result: SimulationResult, images: dict[str, bytes]) -> str:
    s = result.summary()
    img = {k: base64.b64encode(v).decode("ascii") for k, v in images.items()}

    def figure(name: str, caption: str) -> str:
        return (
            f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{img[name]}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )

    headline = html_table(
        ["figure", "value"],
        [
            ["owners (misbehaving)", f"{s['owners']} ({s['bad_owners']})"],
            ["federated AUC", f"{s['federated_auc']:.4f}"],
            ["centralized AUC", f"{s['centralized_auc']:.4f}"],
            ["auc_ratio", f"{s['auc_ratio']:.4f}"],
            [f"bad_owner_share ({s['mechanism']})", f"{s['bad_owner_share'] * 100:.2f}%"],
            ["largest misbehaving kind's share", f"{s['max_bad_kind_share'] * 100:.3f}%"],
            *[
                [f"{kind} stopped (refused or rejected)", f"{n} / {s['attempts_by_kind'][kind]}"]
                for kind, n in s["stopped_by_kind"].items()
            ],
            ["audit mismatches", s["audit_mismatches"]],
            ["wall-clock total", f"{s['total_s']:.1f} s"],
        ],
    )
    kinds = html_table(
        ["kind", "owners", "share of the bounty", "largest owner"],
        [
            [k, v["owners"], f"{v['share'] * 100:.3f}%", f"{v['max_owner_share'] * 100:.3f}%"]
            for k, v in s["share_by_kind"].items()
        ],
    )
    audit_rows = []
    for run in result.runs:
        if run.audit is None:
            continue
        a = run.audit
        audit_rows.append(
            [run.mechanism, "ok" if a.ok else "MISMATCH", a.checked, a.matched,
             a.unverifiable, len(a.mismatches), ""]
        )  # fmt: skip
        for m in a.mismatches:
            audit_rows.append(["", "", "", "", "", m["label"], "; ".join(m["evidence"])])
        for lie in a.lies:
            audit_rows.append(
                ["", "lie told", "", "", "", f"update #{lie['update_id']}", lie["lie"]]
            )
    audit = html_table(
        ["model", "verdict", "checked", "matched", "unverifiable", "mismatches", "evidence"],
        audit_rows,
    )
    mech_rows = [
        [
            name,
            f"{m['paid_share'] * 100:.1f}%",
            f"{m['bad_owner_share'] * 100:.2f}%",
            m["accepted"],
            m["rejected"],
            m["refused_by_contract"],
            ", ".join(f"{k} {v}" for k, v in m["rejections_by_reason"].items()) or "-",
            f"{m['final_auc']:.4f}",
            {True: "yes", False: "NO", None: "-"}[m["mirror_matches_chain"]],
        ]
        for name, m in s["mechanisms"].items()
    ]
    mech = html_table(
        [
            "mechanism",
            "bounty paid",
            "to bad owners",
            "accepted",
            "rejected",
            "refused",
            "rejections by reason",
            "final AUC",
            "mirror == chain",
        ],
        mech_rows,
    )
    owner_rows = []
    for o in sorted(result.owners, key=lambda o: o.arrival):
        rewards = [f"{_eth(r.rewards_wei.get(o.index, 0)):.4f}" for r in result.runs]
        status = next(
            (
                x.status + (f" ({x.reason or x.error})" if x.reason or x.error else "")
                for x in result.primary().submissions
                if x.owner == o.index
            ),
            "-",
        )
        owner_rows.append(
            [
                o.arrival,
                o.name,
                o.kind,
                "" if o.victim is None else f"owner_{o.victim:02d}",
                o.rows,
                status,
                f"{o.loo:+.4f}",
                f"{o.shapley:+.4f} ± {o.shapley_stderr:.4f}",
                *rewards,
            ]
        )
    owners = html_table(
        [
            "arrival",
            "owner",
            "kind",
            "copied from",
            "rows",
            f"status ({result.primary().mechanism})",
            "leave-one-out",
            "Shapley",
            *[f"ETH ({r.mechanism})" for r in result.runs],
        ],
        owner_rows,
    )
    gas_rows = [
        [role, op, f"{g:,}"] for role, per in result.gas.items() for op, g in sorted(per.items())
    ]
    gas = html_table(["role", "operation", "gas"], gas_rows)
    phases = html_table(["phase", "seconds"], [[k, f"{v:.2f}"] for k, v in result.phases.items()])
    cond = html_table(["condition", "value"], [[k, v] for k, v in result.conditions.items()])
    scen = html_table(["knob", "value"], [[k, v] for k, v in result.scenario.items()])
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0;font-size:0.85em}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
        "th{background:#f3f3f3}figure{margin:1.5em 0}img{max-width:100%}"
        "figcaption{color:#555;font-size:0.9em}"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hessian simulation report</title>
<style>{style}</style></head><body>
<h1>Hessian simulation: {s["owners"]} data owners, {s["bad_owners"]} misbehaving</h1>
<p>Real protocol: ModelRepository on a local chain, Paillier-encrypted updates, content store.
Contribution values are computed off-chain on the lender's hold-out set (utility = hold-out AUC
of the model built from a coalition's updates, applied in plaintext).</p>
<h2>Headline</h2>{headline}
<h2>Bounty by owner kind ({s["mechanism"]})</h2>{kinds}
<h2>Mechanisms</h2>{mech}
<h2>Audit after the reveal</h2>
<p>Anyone's audit of each revealed model (<code>hessian audit MODEL_ID</code>): every opening
re-encrypted, every score recomputed on the revealed test set, the acceptance rule re-run.</p>
{audit}
{figure("score_vs_submissions", "Hold-out AUC after each submission")}
{figure("reward_vs_rows", "Reward per owner vs rows declared")}
{figure("reward_vs_contribution", "Reward per owner vs Shapley value")}
{figure("bad_owner_earnings", "Share of the bounty earned by misbehaving owners")}
{figure("gas_per_role", "Gas per role")}
{figure("phases", "Wall-clock per phase")}
{_lending_html(result, figure)}
<h2>Owners</h2>{owners}
<h2>Gas</h2>{gas}
<h2>Wall-clock</h2>{phases}
<h2>Conditions</h2>{cond}
<h2>Scenario</h2>{scen}
</body></html>
"""


def write_report(result: SimulationResult, out_dir: str | Path) -> Path:
    """Write the PNGs, ``report.html``, ``summary.json`` and ``result.json`` into ``out_dir``.

    Returns the path of ``report.html``.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create report folder {out}: {exc}") from exc
    painters = {
        "score_vs_submissions": plot_scores,
        "reward_vs_rows": plot_rewards_vs_rows,
        "reward_vs_contribution": plot_rewards_vs_contribution,
        "bad_owner_earnings": plot_bad_owner_earnings,
        "gas_per_role": plot_gas,
        "phases": plot_phases,
    }
    if result.lending is not None:
        painters |= {
            "lending_by_grade": plot_lending_by_grade,
            "lending_calibration": plot_lending_calibration,
            "lending_returns": plot_lending_returns,
        }
    images: dict[str, bytes] = {}
    for name, paint in painters.items():
        path = out / f"{name}.png"
        paint(result, path)
        images[name] = path.read_bytes()
    page = out / "report.html"
    page.write_text(_html(result, images), encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(result.summary(), indent=2), encoding="utf-8")
    (out / "result.json").write_text(json.dumps(result.to_dict(), indent=2), encoding="utf-8")
    return page
