"""``hessian bench lending``: the lender's per-application cost, against same-run baselines.

What is timed, per application (generated applicants, ``generate_loans`` ->
``application_from_row``), each over the same N applications, one at a time:

- score: ``CreditModel.score(app)`` (reference rate, features frame, preprocessing, x·w,
  calibration), against the bare predict_proba of the same preprocessed row,
  ``p = 1 / (1 + exp(−x·w))``; ratio = score time / dot-product time.
- price: ``pricing.quote(policy, pd, amount, term)`` (NPV on the APR grid), against
  :func:`quote_by_bisection`, which finds the break-even APR as the root of NPV(r) = 0 by
  Brent's method and rounds it up to the grid; both must give the same decision and APRs
  that agree to the grid step; ratio = grid time / bisection time.
- ``--chain``: the round trip of ``LoanBook.decide`` on eth-tester (sign, send, mine,
  receipt) for the first K applications, as seconds per decision and as a ratio to the
  off-chain score + price of one application.

The credit model: a generated hold-out split in two, ``fit_taylor`` on the first part, then
``build_credit_model`` (Platt calibration, reference rates) on the second; no chain needed.
"""

from __future__ import annotations

import io
import json
import math
import time
from dataclasses import dataclass
from typing import Any

import click
import numpy as np

from hessian_common.lending.pricing import (
    BPS,
    MAX_APR_BPS,
    PricingPolicy,
    Quote,
    expected_cash_flows,
    expected_loss,
    installment,
    irr_annual,
    npv,
)

CHAIN_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
"""A well-formed CIDv1 used for the policy and the applications in the chain round trip (the
applications are not sealed or stored: only ``decide`` is timed)."""


# --------------------------------------------------------------------------- the alternative


def break_even_apr(policy: PricingPolicy, pd: float, amount: float, term: int) -> float | None:
    """The break-even APR r* (a fraction): the root of ``NPV(r) = 0`` on [0, MAX_APR_BPS].

    NPV(r) is increasing in r (see :mod:`hessian_common.lending.pricing`), so: 0 if NPV(0) ≥ 0,
    None if NPV(100 %) < 0, else Brent's method on [0, 100 %] to |Δr| ≤ 1e-10.
    """
    from scipy.optimize import brentq

    def f(r: float) -> float:
        return npv(pd, r, term, amount, policy.recovery_rate, policy.required_return)

    hi = MAX_APR_BPS / BPS
    if f(0.0) >= 0.0:
        return 0.0
    if f(hi) < 0.0:
        return None
    return float(brentq(f, 0.0, hi, xtol=1e-10, rtol=1e-12, maxiter=200))


def _round_up(r: float, start_bps: int, step_bps: int) -> int:
    """The smallest ``start + k·step`` (k ≥ 0) at or above ``r`` (a fraction), in bps."""
    k = math.ceil((r * BPS - start_bps) / step_bps - 1e-9)
    return int(start_bps + max(k, 0) * step_bps)


def quote_by_bisection(policy: PricingPolicy, pd: float, amount: float, term: int) -> Quote:
    """:func:`~hessian_common.lending.pricing.quote` with the grid search replaced by a root.

    The rule is the same: decline if the term or amount is not offered or ``pd > max_pd``;
    else APR = r* rounded up to the grid ``min_apr_bps + k·step_bps`` (at least
    ``min_apr_bps``), declined when that is above ``max_apr_bps``; ``break_even_apr_bps`` = r*
    rounded up to ``0 + k·step_bps`` (None above 100 %). Return and loss as in ``quote``.
    Where NPV crosses zero within ~1e-9 of a grid point the two may differ by one step.
    """
    p, a, n = float(pd), float(amount), int(term)
    rho = policy.recovery_rate

    def declined(reason: str, be: int | None = None) -> Quote:
        ret = loss = 0.0
        if be is not None:
            ret = irr_annual(expected_cash_flows(p, be / BPS, n, a, rho), a)
            loss = expected_loss(p, be / BPS, n, a, rho)
        return Quote(False, 0, p, reason, 0.0, ret, loss, be, a, n)

    if n not in tuple(policy.terms):
        return declined(f"a {n}-month term is not offered")
    if not policy.min_amount <= a <= policy.max_amount:
        return declined(f"amount ${a:,.2f} is not offered")
    r = break_even_apr(policy, p, a, n)
    be = None if r is None else min(_round_up(r, 0, policy.step_bps), MAX_APR_BPS)
    if p > policy.max_pd:
        return declined(f"PD {p:.1%} is above the policy's maximum", be)
    if r is None:
        return declined("the break-even APR is above 100%", be)
    apr_bps = _round_up(r, policy.min_apr_bps, policy.step_bps)
    if apr_bps > policy.max_apr_bps:
        return declined("the break-even APR is above the cap", be)
    apr = apr_bps / BPS
    return Quote(
        approved=True,
        apr_bps=apr_bps,
        pd=p,
        reason="smallest grid APR at or above the break-even APR",
        installment=installment(a, apr, n),
        expected_return=irr_annual(expected_cash_flows(p, apr, n, a, rho), a),
        expected_loss=expected_loss(p, apr, n, a, rho),
        break_even_apr_bps=be,
        amount=a,
        term=n,
    )


# --------------------------------------------------------------------------- set-up


@dataclass
class Bench:
    """What the timings run on: the model, the applications and their preprocessed rows."""

    model: Any
    calibration: Any
    apps: list[Any]
    X: np.ndarray
    skipped: int
    train_rows: int
    holdout_rows: int
    holdout_auc: float


def _loaded(frame: Any, source: str) -> Any:
    from hessian_common.data.generator import write_export
    from hessian_common.data.loader import load_bytes

    buf = io.StringIO()
    write_export(frame, buf)
    return load_bytes(buf.getvalue().encode(), source=source)


class _Spec:
    """The three things ``build_credit_model`` reads from a ModelSpec."""

    def __init__(self, pre: Any) -> None:
        self.preprocessing = pre.to_dict()
        self.feature_names = list(pre.feature_names_)
        self.schema_name = "lending_club"


def prepare(applicants: int, seed: int, train_rows: int = 4000) -> Bench:
    """A credit model from a generated hold-out and ``applicants`` generated applications.

    The hold-out (``train_rows`` loans) is split 3:1: ``fit_taylor`` on the first part,
    calibration and reference rates (``build_credit_model``) on the second. Applicants are
    drawn with another seed; rows the form rejects are counted in ``skipped``.
    """
    from hessian_common.data.generator import generate_loans
    from hessian_common.data.preprocess import Preprocessor
    from hessian_common.errors import HessianError
    from hessian_common.learning.metrics import score as metrics
    from hessian_common.learning.updates import fit_taylor
    from hessian_common.lending.application import application_from_row, features_frame
    from hessian_common.lending.pricing import installment as inst
    from hessian_common.lending.scoring import build_credit_model

    frame = generate_loans(train_rows, np.random.default_rng([seed, 1]))
    cut = (3 * len(frame)) // 4
    fit, hold = _loaded(frame.iloc[:cut], "bench-fit"), _loaded(frame.iloc[cut:], "bench-hold")
    pre = Preprocessor("lending_club").fit(fit.features)
    w = fit_taylor(pre.transform(fit.features), fit.y.astype(float))
    X_hold = pre.transform(hold.features)
    model, calibration = build_credit_model(w, _Spec(pre), X_hold, hold.y, 0, "bench")
    auc = float(metrics(hold.y, model.predict(X_hold))["auc"])

    rows = generate_loans(
        applicants, np.random.default_rng([seed, 2]), policy_fraction=0, unresolved_fraction=0
    )
    apps, skipped = [], 0
    for _, row in rows.iterrows():
        try:
            apps.append(application_from_row(row.to_dict()))
        except HessianError:
            skipped += 1
    xs = []
    for app in apps:
        rate = model.reference_rates[app.grade]
        m = inst(app.amount, rate / 100.0, app.term)
        xs.append(model.preprocessor.transform(features_frame(app, rate, m))[0])
    X = np.asarray(xs, dtype=float).reshape(len(apps), len(model.weights))
    return Bench(model, calibration, apps, X, skipped, int(fit.rows), int(hold.rows), auc)


# --------------------------------------------------------------------------- timings


def _per_item(fn: Any, items: list[Any]) -> tuple[float, list[Any]]:
    """Mean seconds of ``fn(item)`` over ``items`` (one pass, after one warm-up call)."""
    if not items:
        return float("nan"), []
    fn(items[0])
    t = time.perf_counter()
    out = [fn(x) for x in items]
    return (time.perf_counter() - t) / len(items), out


def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 and math.isfinite(a) and math.isfinite(b) else None


def _chain_round_trip(bench: Bench, quotes: list[Quote], policy: PricingPolicy, k: int) -> dict:
    """Time ``LoanBook.decide`` for the first ``k`` applications on a fresh eth-tester chain."""
    from hessian_cli.chain import bench_chain, closed_bench_model
    from hessian_common.chain.client import ChainClient
    from hessian_common.chain.compile import load_artifact
    from hessian_common.chain.deploy import deploy_loanbook
    from hessian_common.chain.loanbook import LoanBook

    w3, accounts = bench_chain(2)
    abis = [load_artifact("ModelRepository").abi, load_artifact("LoanBook").abi]
    lender = ChainClient(w3, accounts[0], abis=abis)
    repo, model_id = closed_bench_model(lender, CHAIN_CID, b"\x01" * 32)
    book = LoanBook(lender, deploy_loanbook(lender, repo.address, record=False))
    book.deploy_model(model_id, CHAIN_CID, bytes(range(1, 33)))
    borrower = book.as_account(lender.with_account(accounts[1]))
    todo = []
    for app, q in list(zip(bench.apps, quotes, strict=True))[:k]:
        loan_id = borrower.apply(
            model_id, app.digest(), CHAIN_CID, policy.to_units(app.amount), app.term
        )
        todo.append((loan_id, app, q))
    gas, t = [], time.perf_counter()
    for loan_id, app, q in todo:
        pd_ppm = min(round(q.pd * 1_000_000), 1_000_000)
        if q.approved:
            r = book.decide(loan_id, True, pd_ppm, q.apr_bps, policy.to_units(app.amount), app.term)
        else:
            r = book.decide(loan_id, False, pd_ppm)
        gas.append(int(r["gasUsed"]))
    per = (time.perf_counter() - t) / max(len(todo), 1)
    return {"decisions": len(todo), "per_decision_s": per, "mean_gas": float(np.mean(gas))}


def run(
    applicants: int = 1000,
    seed: int = 0,
    chain: bool = False,
    chain_decisions: int = 20,
    train_rows: int = 4000,
    policy: PricingPolicy | None = None,
    say: Any = None,
) -> dict[str, Any]:
    """Run the benchmark and return the report (the ``--json`` document)."""
    say = say or (lambda msg: None)
    policy = (policy or PricingPolicy()).check()
    say(f"credit model from {train_rows} generated loans; {applicants} applicants ...")
    bench = prepare(applicants, seed, train_rows)
    model, apps, X = bench.model, bench.apps, bench.X
    w = model.weights

    say("timing score vs dot product ...")
    t_score, scores = _per_item(model.score, apps)
    t_dot, dots = _per_item(lambda x: 1.0 / (1.0 + math.exp(-float(x @ w))), list(X))
    t = time.perf_counter()
    batch = 1.0 / (1.0 + np.exp(-(X @ w)))
    t_batch = (time.perf_counter() - t) / max(len(apps), 1)
    raw_diff = max((abs(s.pd_raw - d) for s, d in zip(scores, dots, strict=True)), default=0.0)
    batch_diff = float(np.max(np.abs(batch - np.asarray(dots)))) if len(dots) else 0.0

    say("timing quote (grid) vs quote_by_bisection ...")
    from hessian_common.lending.pricing import quote

    jobs = [(s.pd, a.amount, a.term) for s, a in zip(scores, apps, strict=True)]
    t_grid, grid = _per_item(lambda j: quote(policy, *j), jobs)
    t_bis, bis = _per_item(lambda j: quote_by_bisection(policy, *j), jobs)
    same_decision = sum(g.approved == b.approved for g, b in zip(grid, bis, strict=True))
    apr_diff = max(
        (abs(g.apr_bps - b.apr_bps) for g, b in zip(grid, bis, strict=True) if g.approved),
        default=0,
    )
    be_pairs = [
        (g.break_even_apr_bps, b.break_even_apr_bps)
        for g, b in zip(grid, bis, strict=True)
        if g.break_even_apr_bps is not None or b.break_even_apr_bps is not None
    ]
    be_diff = max(
        (abs(g - b) if g is not None and b is not None else MAX_APR_BPS for g, b in be_pairs),
        default=0,
    )
    agree = (
        same_decision == len(grid) and apr_diff <= policy.step_bps and be_diff <= policy.step_bps
    )
    offchain = t_score + t_grid
    report: dict[str, Any] = {
        "applicants": len(apps),
        "skipped": bench.skipped,
        "seed": seed,
        "model": {
            "train_rows": bench.train_rows,
            "holdout_rows": bench.holdout_rows,
            "features": len(w),
            "holdout_auc": bench.holdout_auc,
            "calibration": bench.calibration.chosen,
        },
        "score": {
            "per_app_s": t_score,
            "dot_per_row_s": t_dot,
            "ratio_to_dot": _ratio(t_score, t_dot),
            "dot_batched_per_row_s": t_batch,
            "ratio_to_batched_dot": _ratio(t_score, t_batch),
            "max_abs_diff_pd_raw": raw_diff,
            "max_abs_diff_batched": batch_diff,
            "mean_pd": float(np.mean([s.pd for s in scores])) if scores else None,
        },
        "price": {
            "grid_per_app_s": t_grid,
            "bisection_per_app_s": t_bis,
            "grid_over_bisection": _ratio(t_grid, t_bis),
            "approved": sum(q.approved for q in grid),
            "same_decision": same_decision,
            "max_apr_diff_bps": int(apr_diff),
            "max_break_even_diff_bps": int(be_diff),
            "step_bps": policy.step_bps,
            "agree": bool(agree),
        },
        "offchain": {
            "per_app_s": offchain,
            "ratio_to_dot": _ratio(offchain, t_dot),
        },
        "chain": None,
    }
    if chain:
        k = min(chain_decisions, len(apps))
        say(f"chain: deploying on eth-tester and timing {k} decide() round trips ...")
        c = _chain_round_trip(bench, grid, policy, k)
        c["ratio_to_offchain"] = _ratio(c["per_decision_s"], offchain)
        report["chain"] = c
    return report


def _print(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    def us(s: float | None) -> str:
        return "-" if s is None else f"{1e6 * s:,.1f}"

    def x(r: float | None) -> str:
        return "-" if r is None else f"{r:,.1f}x"

    s, p, o, m = report["score"], report["price"], report["offchain"], report["model"]
    table = Table(
        title=f"lending: per-application cost, {report['applicants']} generated applicants "
        f"(seed {report['seed']})"
    )
    for col in ("operation", "per app (µs)", "baseline", "baseline (µs)", "ratio"):
        table.add_column(col, justify="left" if col in ("operation", "baseline") else "right")
    table.add_row(
        "CreditModel.score", us(s["per_app_s"]), "σ(x·w), per row",
        us(s["dot_per_row_s"]), x(s["ratio_to_dot"]),
    )  # fmt: skip
    table.add_row(
        "", "", "σ(x·w), batched", us(s["dot_batched_per_row_s"]),
        x(s["ratio_to_batched_dot"]),
    )  # fmt: skip
    table.add_row(
        "quote (APR grid)", us(p["grid_per_app_s"]), "NPV root (Brent)",
        us(p["bisection_per_app_s"]), x(p["grid_over_bisection"]),
    )  # fmt: skip
    table.add_row(
        "score + quote", us(o["per_app_s"]), "σ(x·w), per row", us(s["dot_per_row_s"]),
        x(o["ratio_to_dot"]),
    )  # fmt: skip
    c = report["chain"]
    if c is not None:
        table.add_row(
            "decide() on eth-tester", us(c["per_decision_s"]),
            "score + quote", us(o["per_app_s"]), x(c["ratio_to_offchain"]),
        )  # fmt: skip
    console = Console()
    console.print(table)
    verdict = "agree" if p["agree"] else "DISAGREE"
    console.print(
        f"quote methods {verdict}: same decision for {p['same_decision']}/"
        f"{report['applicants']}, max APR difference {p['max_apr_diff_bps']} bps, break-even "
        f"{p['max_break_even_diff_bps']} bps (grid step {p['step_bps']} bps); "
        f"{p['approved']} approved"
    )
    console.print(
        f"model: fit on {m['train_rows']} rows, calibrated ({m['calibration']}) on "
        f"{m['holdout_rows']}, hold-out AUC {m['holdout_auc']:.3f}, d = {m['features']}; "
        f"{report['skipped']} applicants skipped by the form"
    )
    if c is not None:
        console.print(f"chain: mean gas per decide() {c['mean_gas']:,.0f}")


@click.command("lending")
@click.option("--applicants", type=click.IntRange(1, 1_000_000), default=1000, show_default=True,
              help="generated applications to score and price")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--train-rows", type=click.IntRange(400, 1_000_000), default=4000,
              show_default=True,
              help="generated hold-out for the credit model (3:1 fit : calibrate)")  # fmt: skip
@click.option("--chain", is_flag=True,
              help="also time the decide() round trip on eth-tester, for context")  # fmt: skip
@click.option("--chain-decisions", type=click.IntRange(1, 10_000), default=20,
              show_default=True, help="decisions sent with --chain")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
def bench_lending(
    applicants: int,
    seed: int,
    train_rows: int,
    chain: bool,
    chain_decisions: int,
    as_json: bool,
) -> None:
    """Score and price one application off chain, against baselines measured in the same run.

    Score: CreditModel.score vs the bare x·w + sigmoid of the same preprocessed row. Price:
    quote() on the APR grid vs the break-even APR by root-finding on the NPV (both must
    agree to the grid step). --chain: the LoanBook.decide round trip on eth-tester, as a
    ratio to the off-chain cost.
    """
    say = (lambda msg: None) if as_json else (lambda msg: click.echo(msg, err=True))
    report = run(applicants, seed, chain, chain_decisions, train_rows, say=say)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        _print(report)
