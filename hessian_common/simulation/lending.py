"""The simulation's lending phase: the trained model decides real loans on a real LoanBook.

After the training phase has closed the model, on the same chain:

1. **deploy**: a ``LoanBook`` linked to the run's ``ModelRepository``
   (:func:`hessian_common.chain.deploy.deploy_loanbook`); the lender's
   :class:`~hessian_common.lending.desk.LendingDesk` deploys the closed model (decrypts the
   weights, calibrates on its hold-out, publishes the pricing policy, ``deployModel``).
2. **applications**: ``N`` borrowers drawn with the data room's generator
   (:func:`~hessian_common.data.generator.generate_loans`, seed ``[seed, 21]``, distinct from
   the training data's ``[seed, 3]``; no unresolved loans, so every borrower has an outcome),
   each from its own fresh eth-account key funded by the faucet, apply through the borrower
   workflow (:func:`~hessian_common.lending.borrower.apply` with
   :func:`~hessian_common.lending.application.application_from_row`): sealed application on
   the store, ``apply`` on chain.
3. **decisions**: the lender decides every pending application as the pricing rule suggests
   (:meth:`LendingDesk.decide_all_pending`); approved borrowers ``accept``, the lender
   ``fund``\\ s, the borrower withdraws the principal.
4. **outcomes** follow the generator's ground truth (``loan_status``): a *Fully Paid* borrower
   pays every instalment, one a month, about a day before it is due; a *Charged Off* one pays
   ``k`` instalments and stops, ``k`` drawn (seed ``[seed, 22]``) from the pricing rule's own
   constant-hazard model conditioned on default::

       h = 1 − (1 − p)^(1/n)                   p: the loan's PD as recorded on chain
       P(default in month t | default) = (1 − h)^(t−1)·h / p,   t = 1..n;   k = t − 1

   Time moves by ``evm_increaseTime`` + ``evm_mine`` (Ganache / anvil) or eth-tester's time
   travel, one payment period at a time. The lender marks a loan late once an instalment is
   overdue and defaulted once it is overdue by more than the book's ``defaultAfter``; right
   after the default the borrower pays a recovery of::

       recovery = ρ · B(k)      ρ: the policy's recovery rate, B(k): the scheduled balance
                                 after the k instalments paid (pricing.balances)

   which mirrors the pricing rule's assumption (``S(t−1)·h·ρ·B(t−1)``), except that the chain
   lets the lender default a loan only ``defaultAfter`` (120 days) after the missed
   instalment, so the recovery arrives about four months later than the rule assumes. (The
   contract's ``outstanding`` = total owed − repaid includes unearned interest; the recovery
   is on the principal balance, as in the rule.) Every payment is a ``repay`` on the chain.
5. **accounting**: the portfolio's month-indexed cash flows (month 0: −Σ principal; month m:
   every repayment of the m-th payment period after funding) give the realised money multiple
   ``Σ received / Σ lent`` and annualised IRR ``(1 + irr_m)^12 − 1`` (``pricing.irr_annual``);
   the pricing rule's expected flows of the same loans (``pricing.expected_cash_flows`` at each
   loan's PD, APR, term and principal) give the expected ones. Per-loan totals are checked
   against the chain's ``repaid``. Gas per lending operation comes from receipts: every block
   mined from the LoanBook's deployment to the last funding is scanned; the month loop logs the
   receipts of its own ``repay`` / ``markLate`` / ``markDefault`` calls.

:class:`LendingOutcome` holds what was measured (plain data, JSON-safe); the tables
(:func:`by_grade`, :func:`pd_buckets`, :func:`portfolio_returns`) are pure functions of it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hessian_common.errors import ChainError, ConfigError, HessianError

DAY = 86_400
BORROWER_GAS_WEI = 10**17  # 0.1 ETH of gas money per borrower
PD_EDGES = (0.0, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 1.0)
"""Edges of the PD buckets of the calibration table (the policy declines above ``max_pd``)."""
GRADES = tuple("ABCDEFG")


# ------------------------------------------------------------------------------ results


@dataclass
class BorrowerOutcome:
    """One simulated borrower, from application to the end of the loan.

    ``status``: ``declined`` / ``funded`` (approved, accepted, funded) / ``failed`` (the
    application could not be made, ``error`` says why). ``truth_default`` is the generator's
    ground truth (``Charged Off``). Amounts on chain are wei; ``amount`` is dollars.
    ``payments`` are ``[month, wei]`` pairs (month 1 = the first payment period after
    funding), the recovery included.
    """

    index: int
    address: str
    grade: str
    term: int
    amount: float
    truth_default: bool
    status: str = "failed"
    loan_id: int | None = None
    pd: float | None = None
    apr_bps: int = 0
    reason: str = ""
    error: str | None = None
    principal_wei: int = 0
    installment_wei: int = 0
    total_owed_wei: int = 0
    expected_return: float | None = None
    instalments_paid: int = 0
    defaulted: bool = False
    default_month: int | None = None
    recovery_wei: int = 0
    repaid_wei: int = 0
    chain_status: str = ""
    payments: list[list[int]] = field(default_factory=list)

    @property
    def funded(self) -> bool:
        """True when the lender funded the loan."""
        return self.status == "funded"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (wei as strings)."""
        d = asdict(self)
        for k in ("principal_wei", "installment_wei", "total_owed_wei", "recovery_wei"):
            d[k] = str(d[k])
        d["repaid_wei"] = str(d["repaid_wei"])
        d["payments"] = [[m, str(w)] for m, w in self.payments]
        return d


@dataclass
class LendingOutcome:
    """What the lending phase measured (see the module docstring)."""

    model_id: int
    mechanism: str
    loanbook: str
    policy: dict[str, Any]
    calibration: dict[str, Any]
    borrowers: list[BorrowerOutcome]
    expected_flows: list[float]
    """The pricing rule's expected portfolio cash flow (dollars) of month 1, 2, ... (funded
    loans only; month 0 is −Σ principal)."""
    payment_period: int = 30 * DAY
    default_after: int = 120 * DAY
    wei_per_dollar: int = 10**14
    gas: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    months_simulated: int = 0
    chain_matches: bool | None = None
    lender_withdrawn_wei: int = 0

    @property
    def funded(self) -> list[BorrowerOutcome]:
        """The funded loans."""
        return [b for b in self.borrowers if b.funded]

    def realised_flows(self) -> list[float]:
        """Portfolio cash flow (dollars) of month 1, 2, ... from the on-chain repayments."""
        months = max((m for b in self.funded for m, _ in b.payments), default=0)
        flows = np.zeros(months)
        for b in self.funded:
            for m, wei in b.payments:
                flows[m - 1] += wei / self.wei_per_dollar
        return flows.tolist()

    def summary(self) -> dict[str, Any]:
        """The ``lending`` block of the run's ``--json`` summary."""
        applied = [b for b in self.borrowers if b.status != "failed"]
        funded = self.funded
        returns = portfolio_returns(self)
        return {
            "model_id": self.model_id,
            "mechanism": self.mechanism,
            "loanbook": self.loanbook,
            "borrowers": len(self.borrowers),
            "applied": len(applied),
            "failed_applications": len(self.borrowers) - len(applied),
            "approved": len(funded),
            "approval_rate": len(funded) / len(applied) if applied else 0.0,
            "defaulted": sum(1 for b in funded if b.defaulted),
            "default_rate": (sum(1 for b in funded if b.defaulted) / len(funded))
            if funded
            else 0.0,
            "applicant_default_rate_truth": (
                sum(1 for b in applied if b.truth_default) / len(applied) if applied else 0.0
            ),
            "declined_default_rate_truth": _rate(
                [b.truth_default for b in applied if b.status == "declined"]
            ),
            "mean_pd_funded": _mean([b.pd for b in funded]),
            "mean_apr_funded": _mean([b.apr_bps / 10_000 for b in funded]),
            "returns": returns,
            "by_grade": by_grade(self.borrowers),
            "pd_buckets_funded": pd_buckets([b for b in funded]),
            "pd_buckets_applicants": pd_buckets(applied, truth=True),
            "gas_mean_per_operation": gas_means(self.gas),
            "months_simulated": self.months_simulated,
            "chain_matches": self.chain_matches,
            "phases_s": {k: round(v, 3) for k, v in self.phases.items()},
            "total_s": round(sum(self.phases.values()), 3),
            "policy": self.policy,
            "calibration": self.calibration,
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-safe."""
        d = {k: v for k, v in asdict(self).items() if k != "borrowers"}
        d["borrowers"] = [b.to_dict() for b in self.borrowers]
        d["lender_withdrawn_wei"] = str(self.lender_withdrawn_wei)
        return d


def _mean(xs: list[float | None]) -> float | None:
    vals = [float(x) for x in xs if x is not None]
    return float(np.mean(vals)) if vals else None


def _rate(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


# ------------------------------------------------------------------------------ the tables


def monthly_irr_annual(flows: list[float], amount: float) -> float:
    """Annualised IRR of lending ``amount`` at month 0 for ``flows`` of months 1, 2, ...

    ``(1 + irr_m)^12 − 1`` where ``Σ_m flows_m / (1 + irr_m)^m = amount``
    (:func:`hessian_common.lending.pricing.irr_annual`); −1 when nothing came back.
    """
    from hessian_common.lending.pricing import irr_annual

    if amount <= 0 or not flows:
        return float("nan")
    return float(irr_annual(np.asarray(flows, dtype=float), float(amount)))


def portfolio_returns(outcome: LendingOutcome) -> dict[str, Any]:
    """Realised vs expected return of the funded portfolio.

    ``money_multiple = Σ received / Σ lent``; ``irr`` = annualised IRR of the month-indexed
    flows; ``expected_*`` the same for the pricing rule's expected flows of the same loans;
    ``mean_quoted_return`` the principal-weighted mean of the per-loan quoted expected
    returns.
    """
    funded = outcome.funded
    lent = sum(b.principal_wei for b in funded) / outcome.wei_per_dollar
    realised = outcome.realised_flows()
    expected = list(outcome.expected_flows)
    weights = [b.principal_wei for b in funded if b.expected_return is not None]
    quoted = (
        float(
            np.average(
                [b.expected_return for b in funded if b.expected_return is not None],
                weights=weights,
            )
        )
        if weights
        else None
    )
    return {
        "lent_usd": lent,
        "received_usd": float(sum(realised)),
        "expected_received_usd": float(sum(expected)),
        "money_multiple": float(sum(realised)) / lent if lent else None,
        "expected_money_multiple": float(sum(expected)) / lent if lent else None,
        "irr": monthly_irr_annual(realised, lent) if lent else None,
        "expected_irr": monthly_irr_annual(expected, lent) if lent else None,
        "mean_quoted_return": quoted,
        "required_return": outcome.policy.get("required_return"),
        "recovered_usd": sum(b.recovery_wei for b in funded) / outcome.wei_per_dollar,
    }


def by_grade(borrowers: list[BorrowerOutcome]) -> dict[str, dict[str, Any]]:
    """Per credit grade: applied, approved, approval rate, mean PD / APR of the approved,
    realised default rate of the funded loans, and the ground-truth default rate of all
    applicants and of the declined ones (what the model kept away)."""
    out: dict[str, dict[str, Any]] = {}
    for g in GRADES:
        applied = [b for b in borrowers if b.grade == g and b.status != "failed"]
        if not applied:
            continue
        funded = [b for b in applied if b.funded]
        declined = [b for b in applied if b.status == "declined"]
        out[g] = {
            "applied": len(applied),
            "approved": len(funded),
            "approval_rate": len(funded) / len(applied),
            "mean_pd_approved": _mean([b.pd for b in funded]),
            "mean_apr_approved": _mean([b.apr_bps / 10_000 for b in funded]),
            "defaulted": sum(1 for b in funded if b.defaulted),
            "default_rate_funded": _rate([b.defaulted for b in funded]),
            "default_rate_applicants_truth": _rate([b.truth_default for b in applied]),
            "default_rate_declined_truth": _rate([b.truth_default for b in declined]),
        }
    return out


def pd_buckets(
    borrowers: list[BorrowerOutcome], edges: tuple[float, ...] = PD_EDGES, truth: bool = False
) -> list[dict[str, Any]]:
    """Mean predicted PD vs realised default rate per PD bucket ``[lo, hi)``.

    ``truth=False`` (funded loans): realised = defaulted on chain. ``truth=True`` (every
    applicant, approved or not): realised = the generator's ground truth. Each row carries a
    95 % Wilson interval of the realised rate (few loans per bucket: read it).
    """
    rows = []
    scored = [b for b in borrowers if b.pd is not None]
    for lo, hi in itertools.pairwise(edges):
        members = [b for b in scored if lo <= b.pd < hi or (hi == edges[-1] and b.pd == hi)]
        if not members:
            continue
        hits = [b.truth_default if truth else b.defaulted for b in members]
        n, k = len(members), sum(hits)
        low, high = wilson(k, n)
        rows.append(
            {
                "lo": lo,
                "hi": hi,
                "count": n,
                "mean_pd": float(np.mean([b.pd for b in members])),
                "default_rate": k / n,
                "ci_low": low,
                "ci_high": high,
            }
        )
    return rows


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a binomial rate ``k / n``."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, mid - half), min(1.0, mid + half))


def gas_means(gas: Mapping[str, Mapping[str, Mapping[str, int]]]) -> dict[str, int]:
    """Mean gas per call of each LoanBook operation, over every role."""
    total: dict[str, list[int]] = {}
    for per in gas.values():
        for op, g in per.items():
            t = total.setdefault(op, [0, 0])
            t[0] += int(g["gas"])
            t[1] += int(g["count"])
    return {op: round(g / n) for op, (g, n) in sorted(total.items()) if n}


# ------------------------------------------------------------------------------ chain helpers


def advance_time(w3: Any, seconds: int) -> int:
    """Move the chain's clock forward by ``seconds`` and mine a block; returns the new time.

    eth-tester: ``time_travel``; Ganache / anvil (or any dev node): ``evm_increaseTime`` +
    ``evm_mine``. Raises :class:`ChainError` if the node refuses (not a dev chain).
    """
    from hessian_common.chain.client import node_errors, node_url

    seconds = int(seconds)
    tester = getattr(w3.provider, "ethereum_tester", None)
    with node_errors(node_url(w3)):
        now = int(w3.eth.get_block("latest")["timestamp"])
        if seconds <= 0:
            return now
        if tester is not None:
            tester.time_travel(now + seconds)
            tester.mine_blocks(1)
        else:
            for method, params in (("evm_increaseTime", [seconds]), ("evm_mine", [])):
                reply = w3.provider.make_request(method, params)
                if isinstance(reply, dict) and reply.get("error"):
                    raise ChainError(
                        f"{method} refused by {node_url(w3)}: {reply['error']} (the lending "
                        "phase needs a dev chain that can move time)"
                    )
        return int(w3.eth.get_block("latest")["timestamp"])


def gas_per_operation(
    w3: Any, first_block: int, last_block: int, roles: Mapping[str, str], abi: list[dict]
) -> dict[str, dict[str, dict[str, int]]]:
    """``{role: {operation: {"count", "gas"}}}`` from the receipts of blocks
    ``first_block..last_block`` (the transactions of
    :func:`hessian_common.simulation.gas.transactions_by_role`, counted and summed)."""
    from hessian_common.simulation.gas import transactions_by_role

    out: dict[str, dict[str, dict[str, int]]] = {}
    for role, op, gas in transactions_by_role(w3, first_block, last_block, roles, abi):
        slot = out.setdefault(role, {}).setdefault(op, {"count": 0, "gas": 0})
        slot["count"] += 1
        slot["gas"] += gas
    return out


def draw_instalments_paid(pd: float, term: int, rng: np.random.Generator) -> int:
    """``k`` instalments paid before a default, from the pricing rule's hazard model.

    Constant monthly hazard ``h = 1 − (1 − p)^(1/n)``; conditioned on a default within the
    term, the default month ``t`` has ``P(t) = (1 − h)^(t−1)·h / (1 − (1 − h)^n)``,
    ``t = 1..n``; the borrower paid ``k = t − 1`` instalments. ``p = 0`` (no hazard): ``t`` is
    uniform on ``1..n``.
    """
    n = int(term)
    p = min(max(float(pd), 0.0), 1.0)
    t = np.arange(1, n + 1, dtype=float)
    if p <= 0.0:
        w = np.ones(n)
    elif p >= 1.0:
        w = (t == 1).astype(float)
    else:
        h = 1.0 - (1.0 - p) ** (1.0 / n)
        w = (1.0 - h) ** (t - 1) * h
    return int(rng.choice(n, p=w / w.sum()))


# ------------------------------------------------------------------------------ the phase


@dataclass
class LendingSetup:
    """What the training run hands the lending phase.

    Attributes
    ----------
    w3 : Web3 of the run's chain.
    lender : :class:`hessian_common.tasks.Lender` that trained (and closed) the model.
    lender_client : its ChainClient.
    repository_address : the run's ModelRepository.
    store : the run's content store.
    model_id, mechanism : the closed model to deploy and its reward mechanism's name.
    fund : ``fund(accounts, amounts_wei)`` sends each account its amount from the faucet and
        returns the faucet's address.
    root : working folder (deployments, borrowers' state).
    """

    w3: Any
    lender: Any
    lender_client: Any
    repository_address: str
    store: Any
    model_id: int
    mechanism: str
    fund: Callable[[list[Any], list[int]], Any]
    root: Path


def lending_policy(overrides: Mapping[str, Any] | None) -> Any:
    """The :class:`~hessian_common.lending.pricing.PricingPolicy` with ``overrides`` (checked).

    Raises :class:`ConfigError` naming the bad option.
    """
    from hessian_common.errors import LendingInputError
    from hessian_common.lending.pricing import PricingPolicy

    known = set(PricingPolicy.__dataclass_fields__)
    unknown = sorted(set(overrides or {}) - known)
    if unknown:
        raise ConfigError(f"unknown lending policy option(s): {', '.join(unknown)}")
    try:
        return PricingPolicy(**dict(overrides or {})).check()
    except LendingInputError as exc:
        detail = "; ".join(f"{k}: {v}" for k, v in getattr(exc, "errors", {}).items())
        raise ConfigError(f"lending policy: {detail or exc}") from exc


def run_lending(
    setup: LendingSetup,
    borrowers: int,
    seed: int,
    policy_overrides: Mapping[str, Any] | None = None,
    progress: Any = None,
) -> LendingOutcome:
    """Run the lending phase (module docstring) and return what it measured.

    Parameters
    ----------
    setup : LendingSetup
        The trained run's chain, lender, store and closed model.
    borrowers : int
        Applicants to generate (>= 1).
    seed : int
        The run's seed (borrowers use ``[seed, 21]``, default timing ``[seed, 22]``).
    policy_overrides : mapping, optional
        Fields of the lender's :class:`~hessian_common.lending.pricing.PricingPolicy`.
    progress : Progress, optional
        ``start(phase, total)`` / ``advance(n, note)`` (the CLI's bars).
    """
    phase = _LendingPhase(setup, lending_policy(policy_overrides), progress or _NoBars())
    return phase.run(int(borrowers), int(seed))


class _NoBars:
    def start(self, phase: str, total: int | None) -> None:
        return None

    def advance(self, n: int = 1, note: str | None = None) -> None:
        return None


REPAY_GAS = 250_000
"""Gas limit of a batched ``repay`` (receipts: ~35-80k; a revert still fails the batch)."""


class _RepayBatch:
    """One month's repayments, sent together: signed locally, then the receipts collected.

    The month loop makes thousands of ``repay`` calls; going one by one through
    :meth:`ChainClient.transact` (gas estimate, nonce and fee look-ups, then a wait per
    transaction) costs ~50 ms each on Ganache. Here every borrower's nonce is tracked
    locally, the fee is read once per month and the gas limit is fixed (:data:`REPAY_GAS`),
    so a payment is one ``eth_sendRawTransaction`` and one receipt read. Same contract call,
    same signer (the borrower's key); a mined revert raises :class:`ChainError` naming the
    loan.
    """

    def __init__(self, book: Any) -> None:
        self.book = book
        self.w3 = book.client.w3
        self.nonces: dict[str, int] = {}

    def send(self, payments: list[tuple[Any, int, int]]) -> list[dict[str, Any]]:
        """``[(account, loan_id, wei)]`` -> receipts, in order."""
        from hessian_common.chain.client import DEFAULT_PRIORITY_FEE, node_errors, node_url

        if not payments:
            return []
        url = node_url(self.w3)
        with node_errors(url):
            base = self.w3.eth.get_block("latest").get("baseFeePerGas")
            fees = (
                {"gasPrice": int(self.w3.eth.gas_price)}
                if base is None
                else {
                    "maxPriorityFeePerGas": DEFAULT_PRIORITY_FEE,
                    "maxFeePerGas": 2 * int(base) + DEFAULT_PRIORITY_FEE,
                }
            )
            hashes = []
            for account, loan_id, wei in payments:
                addr = account.address
                if addr not in self.nonces:
                    self.nonces[addr] = int(self.w3.eth.get_transaction_count(addr, "pending"))
                tx = {
                    "to": self.book.address,
                    "data": self.book.contract.encode_abi("repay", args=[int(loan_id)]),
                    "value": int(wei),
                    "gas": REPAY_GAS,
                    "nonce": self.nonces[addr],
                    "chainId": self.book.client.chain_id,
                    **fees,
                }
                signed = account.sign_transaction(tx)
                hashes.append(self.w3.eth.send_raw_transaction(signed.raw_transaction))
                self.nonces[addr] += 1
            receipts = [
                dict(self.w3.eth.wait_for_transaction_receipt(h, timeout=120, poll_latency=0.01))
                for h in hashes
            ]
        for (_account, loan_id, _wei), receipt in zip(payments, receipts, strict=True):
            if receipt["status"] != 1:
                raise ChainError(
                    f"repay of loan {loan_id} reverted in block {receipt['blockNumber']} on "
                    f"{url} (LoanBook {self.book.address})"
                )
        return receipts


class _LendingPhase:
    """The steps of :func:`run_lending`, sharing the book, the desk and the gas log."""

    def __init__(self, setup: LendingSetup, policy: Any, bars: Any) -> None:
        self.setup = setup
        self.policy = policy
        self.bars = bars
        from hessian_common.simulation.run import PhaseClock

        self.clock = PhaseClock()
        self.client = setup.lender_client
        self.gas: dict[str, dict[str, dict[str, int]]] = {}
        self.books: dict[int, Any] = {}  # loan id -> LoanBook signing as its borrower

    def run(self, borrowers: int, seed: int) -> LendingOutcome:
        first_block = self.client.block_number() + 1
        with self.clock.phase("lending: deploy (LoanBook, model, policy)"):
            deployed = self.deploy()
        accounts = [_borrower_account(seed, i) for i in range(borrowers)]
        with self.clock.phase("lending: borrowers apply"):
            faucet = self.setup.fund(accounts, [BORROWER_GAS_WEI] * len(accounts))
            outcomes = self.apply(accounts, seed)
        with self.clock.phase("lending: lender decides"):
            self.decide(outcomes)
        with self.clock.phase("lending: accept, fund, withdraw"):
            self.fund(outcomes, accounts)
        roles = {self.client.address.lower(): "lender", str(faucet).lower(): "faucet"}
        roles |= {a.address.lower(): "borrowers" for a in accounts}
        with self.clock.phase("lending: gas from receipts"):
            self.gas = gas_per_operation(
                self.setup.w3, first_block, self.client.block_number(), roles, self.abi
            )
        funded = [o for o in outcomes if o.funded]
        with self.clock.phase("lending: repayments, defaults, recoveries"):
            months = self.months(funded, accounts, np.random.default_rng([seed, 22]))
        with self.clock.phase("lending: accounting"):
            withdrawn = int(self.desk.withdraw() or 0) if int(self.book.pending()) > 0 else 0
            matches = self.check_against_chain(outcomes)
            expected = _expected_flows(funded, self.policy)
        return LendingOutcome(
            model_id=int(self.setup.model_id),
            mechanism=self.setup.mechanism,
            loanbook=str(self.book.address),
            policy=self.policy.to_dict(),
            calibration=_calibration_of(deployed),
            borrowers=outcomes,
            expected_flows=expected,
            payment_period=int(self.book.payment_period),
            default_after=int(self.book.default_after),
            wei_per_dollar=int(self.policy.wei_per_dollar),
            gas=self.gas,
            phases=self.clock.phases,
            months_simulated=months,
            chain_matches=matches,
            lender_withdrawn_wei=withdrawn,
        )

    # -- steps

    def deploy(self) -> Any:
        """A LoanBook linked to the repository; the desk deploys the closed model on it."""
        from hessian_common.chain.compile import load_artifact
        from hessian_common.chain.deploy import deploy_loanbook
        from hessian_common.chain.loanbook import LoanBook
        from hessian_common.lending.desk import LendingDesk

        self.bars.start("lending: deploy", 2)
        self.abi = load_artifact("LoanBook").abi
        address = deploy_loanbook(
            self.client, self.setup.repository_address, self.setup.root / "deployments"
        )
        self.book = LoanBook(self.client, address, self.abi)
        self.bars.advance(note="LoanBook deployed")
        self.desk = LendingDesk(self.setup.lender, self.book)
        deployed = self.desk.deploy(self.setup.model_id, self.policy)
        self.bars.advance(note=f"model {self.setup.model_id} deployed")
        return deployed

    def apply(self, accounts: list[Any], seed: int) -> list[BorrowerOutcome]:
        """Each generated borrower applies from its own account (borrower workflow)."""
        from hessian_common.data.generator import generate_loans
        from hessian_common.lending import borrower as borrower_mod
        from hessian_common.lending.application import application_from_row

        rows = generate_loans(
            len(accounts), np.random.default_rng([seed, 21]), unresolved_fraction=0.0
        )
        self.bars.start("lending: borrowers apply", len(accounts))
        outcomes = []
        for i, acct in enumerate(accounts):
            row = rows.iloc[i]
            out = BorrowerOutcome(
                index=i,
                address=acct.address,
                grade=str(row["grade"]),
                term=int(row["term"]),
                amount=float(row["loan_amnt"]),
                truth_default=str(row["loan_status"]).endswith("Charged Off"),
            )
            outcomes.append(out)
            b_book = self.book.as_account(self.client.with_account(acct))
            try:
                app = application_from_row(row)
                out.amount = float(app.amount)  # the form clips amounts below its minimum
                out.loan_id = int(
                    borrower_mod.apply(
                        b_book,
                        self.setup.store,
                        self.setup.model_id,
                        app,
                        state_dir=self.setup.root / "borrowers" / f"borrower_{i:03d}",
                    )
                )
                out.status = "applied"
                self.books[out.loan_id] = b_book
            except HessianError as exc:
                out.error = f"{type(exc).__name__}: {exc}"
            self.bars.advance()
        return outcomes

    def decide(self, outcomes: list[BorrowerOutcome]) -> None:
        """The lender decides every pending application as the pricing rule suggests."""
        by_loan = {o.loan_id: o for o in outcomes if o.loan_id is not None}
        self.bars.start("lending: lender decides", len(by_loan))

        def step(done: int = 0, total: int = 0, message: str = "") -> None:
            if done:
                self.bars.advance(note=message)

        views = self.desk.decide_all_pending(self.setup.model_id, progress=step)
        for view in views:
            out = by_loan.get(int(_get(view, "loan_id", "loan.loan_id")))
            q = getattr(view, "quote", None)
            if out is not None and q is not None:
                out.reason = str(q.reason)
                out.expected_return = float(q.expected_return) if q.approved else None
        for loan_id, out in by_loan.items():  # the chain's record is what counts
            info = self.book.loan(loan_id)
            out.pd = int(info.pd_ppm) / 1_000_000
            if _status_name(info.status) == "OFFERED":
                out.status = "offered"
                out.apr_bps = int(info.apr_bps)
                out.principal_wei = int(info.principal)
                out.installment_wei = int(info.installment)
                out.total_owed_wei = int(info.total_owed)
                out.term = int(info.term_months)
            else:
                out.status = "declined"

    def fund(self, outcomes: list[BorrowerOutcome], accounts: list[Any]) -> None:
        """Approved borrowers accept, the lender funds, the borrower withdraws the principal.

        The faucet gives the lender the principal and each borrower the interest it will owe
        (a borrower pays back principal + interest out of the principal it withdrew).
        """
        from hessian_common.lending import borrower as borrower_mod

        offered = [o for o in outcomes if o.status == "offered"]
        self.bars.start("lending: accept, fund, withdraw", len(offered))
        if not offered:
            return
        need = sum(o.principal_wei for o in offered)
        self.setup.fund([self.client.account], [need + 10**18])
        self.setup.fund(
            [accounts[o.index] for o in offered],
            [o.total_owed_wei - o.principal_wei for o in offered],
        )
        for o in offered:
            b_book = self.books[o.loan_id]
            borrower_mod.accept(b_book, o.loan_id)
            self.desk.fund(o.loan_id)
            borrower_mod.withdraw(b_book)
            o.status = "funded"
            self.bars.advance()

    def months(
        self, funded: list[BorrowerOutcome], accounts: list[Any], rng: np.random.Generator
    ) -> int:
        """Run the loans month by month to repayment or default; returns months simulated.

        Month ``m``: the clock moves to a day before the m-th instalment is due; every
        borrower still paying pays it (``repay``, the exact instalment, sent as one batch:
        :class:`_RepayBatch`); for one who stopped,
        the lender marks the loan late once an instalment is overdue and defaulted once it is
        overdue by more than ``defaultAfter``; the recovery follows at once.
        """
        stop_after = {  # instalments each borrower pays (the whole term when it repays)
            o.loan_id: draw_instalments_paid(o.pd or 0.0, o.term, rng)
            if o.truth_default
            else o.term
            for o in funded
        }
        period, default_after = int(self.book.payment_period), int(self.book.default_after)
        t0 = min((int(self.book.loan(o.loan_id).funded_at) for o in funded), default=0)
        open_loans = {o.loan_id: o for o in funded}
        horizon = max((o.term for o in funded), default=0) + default_after // period + 3
        self.bars.start("lending: months", horizon)
        late_marked: set[int] = set()
        sender = _RepayBatch(self.book)
        month = 0
        for month in range(1, horizon + 1):
            if not open_loans:
                break
            now = self.client.block_timestamp()
            advance_time(self.setup.w3, t0 + month * period - DAY - now)
            paying = [o for o in open_loans.values() if o.instalments_paid < stop_after[o.loan_id]]
            batch = [(accounts[o.index], o.loan_id, _next_instalment(o)) for o in paying]
            for (_a, _id, amount), o, receipt in zip(
                batch, paying, sender.send(batch), strict=True
            ):
                self._log_gas("borrowers", "repay", receipt)
                o.payments.append([month, amount])
                o.instalments_paid += 1
                if o.instalments_paid == o.term:
                    del open_loans[o.loan_id]
            for loan_id, o in list(open_loans.items()):
                if o.instalments_paid >= stop_after[loan_id] and self._follow_default(
                    o, month, late_marked
                ):
                    del open_loans[loan_id]
            self.bars.advance(note=f"{len(open_loans)} loans open")
        if open_loans:
            raise ChainError(
                f"{len(open_loans)} loans still open after {horizon} simulated months "
                f"(first: loan {next(iter(open_loans))}) on {self.book.address}"
            )
        return month

    def _follow_default(self, o: BorrowerOutcome, month: int, late_marked: set[int]) -> bool:
        """The lender's follow-up of a borrower who stopped paying; True once defaulted."""
        loan_id = o.loan_id
        now = self.client.block_timestamp()
        repaid = sum(w for _, w in o.payments)
        if loan_id not in late_marked and int(self.book.due_by(loan_id, now)) > repaid:
            self._log_gas("lender", "markLate", self.desk.mark_late(loan_id))
            late_marked.add(loan_id)
        if int(self.book.due_by(loan_id, now - int(self.book.default_after))) <= repaid:
            return False
        self._log_gas("lender", "markDefault", self.desk.mark_default(loan_id))
        o.defaulted, o.default_month = True, month
        recovery = min(
            _recovery_wei(o, self.policy.recovery_rate),
            int(self.book.loan(loan_id).outstanding),
        )
        if recovery > 0:
            receipt = self.books[loan_id].repay(loan_id, recovery)
            self._log_gas("borrowers", "repay (recovery)", receipt)
            o.payments.append([month, recovery])
            o.recovery_wei = recovery
        return True

    def check_against_chain(self, outcomes: list[BorrowerOutcome]) -> bool:
        """Read every loan back: True when each funded loan's ``repaid`` equals the payments
        made and its status is REPAID / DEFAULTED as simulated."""
        matches = True
        for o in outcomes:
            if o.loan_id is None:
                continue
            info = self.book.loan(o.loan_id)
            o.chain_status = _status_name(info.status)
            if not o.funded:
                continue
            o.repaid_wei = int(info.repaid)
            want = "DEFAULTED" if o.defaulted else "REPAID"
            if sum(w for _, w in o.payments) != o.repaid_wei or o.chain_status != want:
                matches = False
        return matches

    def _log_gas(self, role: str, op: str, receipt: Any) -> None:
        """Add a receipt's ``gasUsed`` under ``role`` / ``op`` (no-op without a receipt)."""
        if not isinstance(receipt, Mapping) or "gasUsed" not in receipt:
            return
        slot = self.gas.setdefault(role, {}).setdefault(op, {"count": 0, "gas": 0})
        slot["count"] += 1
        slot["gas"] += int(receipt["gasUsed"])


def _borrower_account(seed: int, index: int) -> Any:
    """A fresh, deterministic key per borrower (never a dev account)."""
    import hashlib

    from eth_account import Account

    key = hashlib.sha256(f"hessian-simulation/{seed}/borrower/{index}".encode()).digest()
    return Account.from_key(key)


def _get(obj: Any, *paths: str) -> Any:
    for path in paths:
        cur = obj
        try:
            for part in path.split("."):
                cur = getattr(cur, part)
            return cur
        except AttributeError:
            continue
    raise AttributeError(f"{type(obj).__name__} has none of {paths}")


def _status_name(status: Any) -> str:
    return getattr(status, "name", str(status))


def _next_instalment(o: BorrowerOutcome) -> int:
    """The next instalment's wei (the last one is capped at what is left of the total)."""
    paid = sum(w for _, w in o.payments)
    return min(o.installment_wei, o.total_owed_wei - paid)


def _recovery_wei(o: BorrowerOutcome, recovery_rate: float) -> int:
    """``ρ · B(k)``: the recovery on the scheduled balance after ``k`` instalments paid."""
    from hessian_common.lending.pricing import balances

    b = balances(o.principal_wei / 1.0, o.apr_bps / 10_000, o.term)
    return round(float(recovery_rate) * float(b[o.instalments_paid]))


def _expected_flows(funded: list[BorrowerOutcome], policy: Any) -> list[float]:
    """Σ over the funded loans of the pricing rule's expected cash flows (dollars/month)."""
    from hessian_common.lending.pricing import expected_cash_flows

    months = max((o.term for o in funded), default=0)
    total = np.zeros(months)
    for o in funded:
        cf = expected_cash_flows(
            o.pd or 0.0,
            o.apr_bps / 10_000,
            o.term,
            o.principal_wei / policy.wei_per_dollar,
            policy.recovery_rate,
        )
        total[: len(cf)] += cf
    return total.tolist()


def _calibration_of(deployed: Any) -> dict[str, Any]:
    """The deployment's calibration summary as a dict (whatever shape the desk returns)."""
    cal = getattr(deployed, "calibration", None)
    if cal is None:
        return {}
    if hasattr(cal, "to_dict"):
        return cal.to_dict()
    try:
        return asdict(cal)
    except TypeError:
        return {"repr": repr(cal)}
