"""``hessian simulate``: many data owners through the real protocol, and a report.

Example::

    hessian simulate --owners 50 --bad 5 --partition iid --mechanism all --out docs/simulation
    hessian simulate --owners 50 --bad 5 --borrowers 200 --required-return 8 --max-apr 30

After training, ``--borrowers N`` generated applicants (default 200; 0 skips the phase) apply
to the closed model deployed on a LoanBook; their loans run to repayment or default on chain.

Progress bars go to stderr; the wall-clock per phase is printed at the end (stderr), and
``--json`` prints the summary object on stdout, with ``throughput``: the run's wall clock and
the lender's evaluation throughput (submissions decrypted, scored and evaluated on chain per
minute of its evaluation phase).

``--rpc-proxy`` runs everything through a provider-like proxy
(:class:`~hessian_common.chain.proxy.RpcProxy`: a log range cap, a result cap, a rate limit
and random 429s) in front of the local node it starts, as on a public network; the summary's
``rpc_proxy`` block counts what the proxy refused::

    hessian simulate --owners 500 --borrowers 0 --chain anvil --rpc-proxy --json
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from hessian_common.errors import ConfigError

ROWS_PER_OWNER = 400
"""Loans generated per owner when --rows is not given: 70% go to the owners (280 each), 30% to
the lender (its seed rows and its hold-out)."""


class _Bars:
    """tqdm progress bars on stderr, one per phase (quiet when stderr is not wanted)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._bar = None

    def start(self, phase: str, total: int | None) -> None:
        self.close()
        if self.enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=phase, file=sys.stderr, unit="step", leave=True)

    def advance(self, n: int = 1, note: str | None = None) -> None:
        if self._bar is not None:
            if note:
                self._bar.set_postfix_str(note, refresh=False)
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


@click.command()
@click.option("--owners", type=int, default=10, show_default=True, help="Data owners.")
@click.option("--bad", type=int, default=2, show_default=True, help="Misbehaving owners.")
@click.option(
    "--partition",
    type=click.Choice(["iid", "state", "grade"]),
    default="iid",
    show_default=True,
    help="How honest data is split among owners.",
)
@click.option(
    "--mechanism",
    type=click.Choice(["improvement", "equal", "pro_rata_gain", "all"]),
    default="improvement",
    show_default=True,
    help="Reward mechanism run on chain ('all': one model each, same owners and data).",
)
@click.option(
    "--bad-kinds",
    default="label_flip,noise,replay,tiny,copy",
    show_default=True,
    help="Misbehaviours handed out round-robin (comma-separated): label_flip, noise, replay, "
    "tiny, copy, crash, copy_other, inflate_rows, frontrun.",
)
@click.option(
    "--lying-lender",
    is_flag=True,
    help="The lender rejects one update it would pay and inflates one score; the audit after "
    "the reveal must name both (--json: audit_mismatches).",
)
@click.option(
    "--rows",
    type=int,
    default=None,
    help="Loans generated in total [400 per owner: 280 each, the rest the lender's].",
)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--key-bits", type=int, default=2048, show_default=True, help="Paillier key size.")
@click.option(
    "--bounty",
    "bounty_eth",
    type=float,
    default=10.0,
    show_default=True,
    help="Bounty per model, in whole units of --currency.",
)
@click.option(
    "--currency",
    type=click.Choice(["eth", "hsn", "usd"]),
    default="usd",
    show_default=True,
    help="What the whole run is in: ether, a fresh HSN or a fresh TestUSD (bounty, deposits, "
    "rewards, loans, repayments; amounts reported in it).",
)
@click.option(
    "--target", type=float, default=None, help="Target AUC [centralized baseline + 0.01]."
)
@click.option(
    "--rule",
    type=click.Choice(["gradient", "epochs", "newton"]),
    default="newton",
    show_default=True,
    help="Update rule of the models.",
)
@click.option("--mu", type=float, default=0.5, show_default=True, help="Proximal weight (newton).")
@click.option(
    "--plain-newton",
    is_flag=True,
    help="Owners take the plain proximal step (fixed --mu) instead of passing the model's "
    "rows (seed + accepted, from the chain) for the recursive least-squares step.",
)
@click.option("--lr", type=float, default=None, help="Learning rate (gradient, epochs).")
@click.option("--epochs", type=int, default=None, help="Local epochs (epochs rule).")
@click.option(
    "--shapley-permutations",
    type=int,
    default=100,
    show_default=True,
    help="Bound on Monte-Carlo Shapley permutations (0: skip valuation).",
)
@click.option(
    "--borrowers",
    type=int,
    default=200,
    show_default=True,
    help="Borrowers of the lending phase after training (0: no lending phase).",
)
@click.option(
    "--required-return",
    type=float,
    default=None,
    metavar="PCT",
    help="Lender's required annual return, percent [8].",
)
@click.option("--max-apr", type=float, default=None, metavar="PCT", help="APR cap, percent [30].")
@click.option(
    "--max-pd",
    type=float,
    default=None,
    metavar="PCT",
    help="Decline above this probability of default, percent [35].",
)
@click.option(
    "--recovery-rate",
    type=float,
    default=None,
    metavar="PCT",
    help="Share of the balance recovered after a default, percent [10].",
)
@click.option(
    "--chain",
    "chain_kind",
    type=click.Choice(["ganache", "anvil", "eth-tester"]),
    default="ganache",
    show_default=True,
    help="Local chain to start when --rpc is not given.",
)
@click.option("--rpc", default=None, help="Use this JSON-RPC endpoint (dev accounts funded).")
@click.option(
    "--rpc-proxy",
    is_flag=True,
    help="Start the --chain node behind a provider-like proxy (caps, rate limit, 429s).",
)
@click.option(
    "--proxy-caps",
    default="max_range=2000,max_results=10000,rate=200,burst=100,random_429=0.02",
    show_default=True,
    help="The proxy's limits (RpcProxy options), comma-separated key=value.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("simulation_report"),
    show_default=True,
    help="Report folder.",
)
@click.option(
    "--product",
    type=click.Choice(["loans", "insurance", "both"]),
    default="loans",
    show_default=True,
    help="What the trained model is deployed for: loans (the LoanBook phase), insurance (a "
    "claims model sells a policy year on a PolicyBook), or both (two runs).",
)
@click.option(
    "--customers",
    type=int,
    default=200,
    show_default=True,
    help="Insurance: generated customers who apply for a policy.",
)
@click.option(
    "--unanswered",
    type=float,
    default=10.0,
    show_default=True,
    metavar="PCT",
    help="Insurance: share of the claims the insurer leaves unanswered (settled by anyone).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary object as JSON.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def simulate(
    owners: int,
    bad: int,
    partition: str,
    mechanism: str,
    bad_kinds: str,
    lying_lender: bool,
    rows: int | None,
    seed: int,
    key_bits: int,
    bounty_eth: float,
    currency: str,
    target: float | None,
    rule: str,
    mu: float,
    plain_newton: bool,
    lr: float | None,
    epochs: int | None,
    shapley_permutations: int,
    borrowers: int,
    required_return: float | None,
    max_apr: float | None,
    max_pd: float | None,
    recovery_rate: float | None,
    chain_kind: str,
    rpc: str | None,
    rpc_proxy: bool,
    proxy_caps: str,
    out_dir: Path,
    product: str,
    customers: int,
    unanswered: float,
    as_json: bool,
    quiet: bool,
) -> None:
    """Run N owners (K misbehaving) through the real protocol and write a report.

    --product insurance: N owners train a claims model, M customers buy policies priced by
    the insurer's desk, a policy year of claims runs on chain (insurance.html)."""
    if product == "insurance":
        ins = _insurance(owners, rows, seed, key_bits, customers, unanswered, chain_kind, rpc,
                         out_dir, quiet)  # fmt: skip
        if as_json:
            click.echo(json.dumps(ins, indent=2))
        return
    from hessian_common.rewards.mechanisms import Mechanism
    from hessian_common.simulation.report import write_report
    from hessian_common.simulation.run import run_simulation
    from hessian_common.simulation.scenario import Scenario

    if rows is not None and rows < 1:
        raise ConfigError(f"--rows must be positive, not {rows}")
    mechanisms = tuple(Mechanism) if mechanism == "all" else (Mechanism.parse(mechanism),)
    policy = _policy_overrides(required_return, max_apr, max_pd, recovery_rate)
    scenario = Scenario(
        owners=owners,
        bad=bad,
        partition=partition,
        mechanisms=mechanisms,
        bad_kinds=tuple(bad_kinds.split(",")),
        rows=rows if rows is not None else ROWS_PER_OWNER * owners,
        seed=seed,
        key_bits=key_bits,
        bounty_eth=bounty_eth,
        currency=currency,
        target=target,
        shapley_permutations=shapley_permutations,
        update_rule=rule,
        owners_pass_model_rows=not plain_newton,
        borrowers=borrowers,
        lending_policy=policy,
        lying_lender=lying_lender,
        hyper={
            k: v
            for k, v in {"mu": mu if rule == "newton" else None, "lr": lr, "epochs": epochs}.items()
            if v is not None
        },
    )
    bars = _Bars(enabled=not quiet)
    proxied, given_rpc = None, rpc  # the insurance run of --product both starts its own node
    if rpc_proxy:
        if rpc or chain_kind == "eth-tester":
            raise click.UsageError("--rpc-proxy starts its own --chain ganache|anvil node")
        proxied = _ProxiedNode(chain_kind, _caps(proxy_caps))
        rpc = proxied.url
    started = time.perf_counter()
    try:
        result = run_simulation(scenario, chain=chain_kind, rpc_url=rpc, progress=bars)
        wall = time.perf_counter() - started
        page = write_report(result, out_dir)
    finally:
        bars.close()
        if proxied is not None:
            proxied.stop()
    summary = result.summary()
    summary["throughput"] = throughput(result, wall)
    if proxied is not None:
        summary["rpc_proxy"] = proxied.summary()
    err = click.get_text_stream("stderr")
    click.echo("wall-clock per phase:", file=err)
    for name, secs in result.phases.items():
        click.echo(f"  {name:<22} {secs:8.2f} s", file=err)
    click.echo(f"  {'total':<22} {sum(result.phases.values()):8.2f} s", file=err)
    click.echo(
        f"federated AUC {summary['federated_auc']:.4f} / centralized "
        f"{summary['centralized_auc']:.4f} = {summary['auc_ratio']:.4f}; bad owners earned "
        f"{summary['bad_owner_share'] * 100:.2f}% ({summary['mechanism']}); audit "
        f"mismatches {summary['audit_mismatches']}; report: {page}",
        file=err,
    )
    for kind, row in summary["share_by_kind"].items():
        click.echo(
            f"  {kind:<14} {row['owners']:3d} owners  {row['share'] * 100:7.3f}% of the bounty "
            f"(largest owner {row['max_owner_share'] * 100:.3f}%)",
            file=err,
        )
    for run in result.runs:
        for row in run.audit.mismatches if run.audit else []:
            click.echo(
                f"  audit of model {run.model_id}: {row['label']}: {'; '.join(row['evidence'])}",
                file=err,
            )
    lending = summary.get("lending")
    if lending:
        r = lending["returns"]
        click.echo(
            f"lending: {lending['approved']}/{lending['applied']} approved "
            f"({lending['approval_rate'] * 100:.1f}%), {lending['defaulted']} defaulted "
            f"({lending['default_rate'] * 100:.1f}%); return {_pct(r['irr'])} a year "
            f"(x{_num(r['money_multiple'])}) vs expected {_pct(r['expected_irr'])} "
            f"(x{_num(r['expected_money_multiple'])}); {lending['total_s']:.1f} s",
            file=err,
        )
    t = summary["throughput"]
    click.echo(
        f"wall clock {t['wall_s']:.1f} s; the lender evaluated {t['evaluated']} submissions in "
        f"{t['evaluation_s']:.1f} s: {t['evaluations_per_minute']:.1f} a minute",
        file=err,
    )
    if proxied is not None:
        r = summary["rpc_proxy"]
        click.echo(
            f"through the proxy ({r['caps']}): {r['requests']} requests, {r['refused']} "
            "refused (range / results / rate / random 429), all ridden out",
            file=err,
        )
    if product == "both":
        summary["insurance"] = _insurance(
            owners, None, seed, key_bits, customers, unanswered, chain_kind, given_rpc, out_dir,
            quiet,
        )
    if as_json:
        click.echo(json.dumps(summary, indent=2))


def _insurance(
    owners: int,
    rows: int | None,
    seed: int,
    key_bits: int,
    customers: int,
    unanswered: float,
    chain_kind: str,
    rpc: str | None,
    out_dir: Path,
    quiet: bool,
) -> dict:
    """The insurance run (:mod:`hessian_common.simulation.insurance`), its report and the
    lines on stderr; its summary."""
    from hessian_common.simulation.insurance import InsuranceScenario, run_insurance
    from hessian_common.simulation.insurance_report import write_insurance_report

    if customers < 1 or owners < 1:
        raise ConfigError(f"--customers and --owners must be positive ({customers}, {owners})")
    if not 0 <= unanswered <= 100:
        raise ConfigError(f"--unanswered must be a percent in 0..100, not {unanswered}")
    scenario = InsuranceScenario(
        owners=owners,
        customers=customers,
        seed=seed,
        key_bits=key_bits,
        unanswered=unanswered / 100,
        **({"rows": rows} if rows is not None else {}),
    )
    bars = _Bars(enabled=not quiet)
    try:
        out = run_insurance(scenario, chain=chain_kind, rpc_url=rpc, progress=bars)
        page = write_insurance_report(out, out_dir)
    finally:
        bars.close()
    s = out.summary()
    err = click.get_text_stream("stderr")
    click.echo(
        f"insurance: {s['bought']}/{s['customers']} policies bought; claim frequency predicted "
        f"{_pct(s['claim_frequency_predicted'])}, realised {_pct(s['claim_frequency_realised'])}"
        f"; loss ratio {_pct(s['loss_ratio'])} vs target {_pct(s['target_loss_ratio'])}; "
        f"{s['claims_paid']} claims paid ({s['claims_settled_unanswered']} settled unanswered); "
        f"pool never short: {s['pool_never_short']}; insurer's return "
        f"{_pct(s['insurer_return'])}; {sum(out.phases.values()):.1f} s; report: {page}",
        file=err,
    )
    return s


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.2f}%"


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


def _policy_overrides(
    required_return: float | None,
    max_apr: float | None,
    max_pd: float | None,
    recovery_rate: float | None,
) -> dict[str, float | int]:
    """Pricing-policy overrides from the percent options (only those given)."""
    out: dict[str, float | int] = {}
    if required_return is not None:
        out["required_return"] = required_return / 100
    if max_apr is not None:
        if max_apr != max_apr or max_apr < 0:
            raise ConfigError(f"--max-apr must be a percent >= 0, not {max_apr}")
        out["max_apr_bps"] = round(max_apr * 100)
    if max_pd is not None:
        out["max_pd"] = max_pd / 100
    if recovery_rate is not None:
        out["recovery_rate"] = recovery_rate / 100
    return out


EVALUATION_PHASE = "lender: decrypt, score, evaluate"


def throughput(result: Any, wall_s: float) -> dict[str, Any]:
    """The run's wall clock and the lender's evaluation throughput: submissions it decided on
    chain (accepted or rejected) per minute of its evaluation phase."""
    evaluated = sum(
        1 for run in result.runs for s in run.submissions if s.status in ("accepted", "rejected")
    )
    seconds = float(result.phases.get(EVALUATION_PHASE, 0.0))
    return {
        "wall_s": round(wall_s, 2),
        "evaluated": evaluated,
        "evaluation_s": round(seconds, 2),
        "evaluations_per_minute": round(60.0 * evaluated / seconds, 2) if seconds else 0.0,
    }


def _caps(text: str) -> dict[str, Any]:
    """``"max_range=2000,rate=200"`` -> RpcProxy options (ints, floats, or the style name)."""
    out: dict[str, Any] = {}
    for item in filter(None, (x.strip() for x in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or key not in PROXY_OPTIONS:
            raise click.BadParameter(
                f"{item!r}: give key=value with key in {', '.join(PROXY_OPTIONS)}",
                param_hint="--proxy-caps",
            )
        try:
            out[key] = value if key == "style" else PROXY_OPTIONS[key](value)
        except ValueError:
            raise click.BadParameter(f"{item!r}: not a number", param_hint="--proxy-caps") from None
    return out


PROXY_OPTIONS: dict[str, Any] = {
    "max_range": int, "max_results": int, "rate": float, "burst": int, "random_429": float,
    "seed": int, "style": str,
}  # fmt: skip


class _ProxiedNode:
    """A local node started on a free port (stopped by its PID) behind an :class:`RpcProxy`."""

    def __init__(self, kind: str, caps: dict[str, Any]) -> None:
        from hessian_common.chain.node import launch, wait_for_rpc
        from hessian_common.chain.proxy import RpcProxy
        from hessian_common.simulation.phases import free_port

        self.tmp = tempfile.TemporaryDirectory(prefix="hessian-simulate-node-")
        port = free_port()
        self.caps = caps
        self.proc = launch(kind, port, state_dir=Path(self.tmp.name) / kind)
        try:
            wait_for_rpc(f"http://127.0.0.1:{port}", timeout=90, proc=self.proc)
            self.proxy = RpcProxy(f"http://127.0.0.1:{port}", **caps).start()
        except BaseException:
            self._stop_node()
            raise
        self.url = self.proxy.url

    def summary(self) -> dict[str, Any]:
        stats = dict(self.proxy.stats)
        refused = sum(
            stats.get(k, 0) for k in ("range_refused", "results_refused", "rate_limited",
                                      "random_429")
        )  # fmt: skip
        return {
            "caps": ", ".join(f"{k}={v}" for k, v in self.caps.items()),
            "requests": stats.get("requests", 0),
            "refused": refused,
            **{k: v for k, v in stats.items() if not k.startswith("method:")},
            "get_logs": stats.get("method:eth_getLogs", 0),
        }

    def stop(self) -> None:
        self.proxy.stop()
        self._stop_node()

    def _stop_node(self) -> None:
        self.proc.terminate()  # our child, by its PID
        try:
            self.proc.wait(timeout=15)
        except Exception:  # still by its PID
            self.proc.kill()
        self.tmp.cleanup()
