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
   pays every instalment, one a month, a minute after the last-funded loan's is due (the book
   takes at most the payoff, which for the final instalment is the instalment only once it
   is due); a *Charged Off* one pays
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

:class:`~.result.LendingOutcome` holds what was measured (plain data, JSON-safe); the tables
(:mod:`.tables`: by grade, PD buckets, portfolio returns) are pure functions of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hessian_common.chain.compile import load_artifact
from hessian_common.chain.deploy import deploy_loanbook
from hessian_common.chain.loanbook import LoanBook
from hessian_common.data.generator import generate_loans
from hessian_common.errors import ChainError, HessianError
from hessian_common.lending import borrower as borrower_flow
from hessian_common.lending.application import application_from_row
from hessian_common.lending.desk import LendingDesk
from hessian_common.lending.pricing import balances, expected_cash_flows
from hessian_common.simulation.gas import transactions_by_role
from hessian_common.simulation.phases import (
    NO_PROGRESS,
    PhaseClock,
    account,
    advance_time,
)
from hessian_common.simulation.result import BorrowerOutcome, LendingOutcome
from hessian_common.simulation.scenario import lending_policy

DAY = 86_400
BORROWER_GAS_WEI = 10**17  # 0.1 ETH of gas money per borrower
PAY_AFTER_DUE = 60
"""Seconds after the last-funded loan's instalment is due at which the month's payments go."""
REPAY_GAS = 250_000
"""Gas limit of a batched ``repay`` (receipts: ~35-80k; a revert still fails the batch)."""


def gas_per_operation(
    w3: Any, first_block: int, last_block: int, roles: Mapping[str, str], abi: list[dict]
) -> dict[str, dict[str, dict[str, int]]]:
    """``{role: {operation: {"count", "gas"}}}`` from the receipts of blocks
    ``first_block..last_block`` (the transactions of
    :func:`hessian_common.simulation.gas.transactions_by_role`, counted and summed)."""
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
    phase = _LendingPhase(setup, lending_policy(policy_overrides), progress or NO_PROGRESS)
    return phase.run(int(borrowers), int(seed))


class _LendingPhase:
    """The steps of :func:`run_lending`, sharing the book, the desk and the gas log."""

    def __init__(self, setup: LendingSetup, policy: Any, bars: Any) -> None:
        self.setup = setup
        self.policy = policy
        self.bars = bars
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
                    borrower_flow.apply(
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
            borrower_flow.accept(b_book, o.loan_id)
            self.desk.fund(o.loan_id)
            borrower_flow.withdraw(b_book)
            o.status = "funded"
            self.bars.advance()

    def months(
        self, funded: list[BorrowerOutcome], accounts: list[Any], rng: np.random.Generator
    ) -> int:
        """Run the loans month by month to repayment or default; returns months simulated.

        Month ``m``: the clock moves to a minute after the m-th instalment is due; every
        borrower still paying pays it (``repay``, the exact instalment, sent as one batch:
        :meth:`LoanBook.repay_batch`, the chain client's batch send); for one who stopped,
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
        t0 = max((int(self.book.loan(o.loan_id).funded_at) for o in funded), default=0)
        open_loans = {o.loan_id: o for o in funded}
        horizon = max((o.term for o in funded), default=0) + default_after // period + 3
        self.bars.start("lending: months", horizon)
        late_marked: set[int] = set()
        month = 0
        for month in range(1, horizon + 1):
            if not open_loans:
                break
            now = self.client.block_timestamp()
            advance_time(self.setup.w3, t0 + month * period + PAY_AFTER_DUE - now)
            paying = [o for o in open_loans.values() if o.instalments_paid < stop_after[o.loan_id]]
            batch = [(accounts[o.index], o.loan_id, _next_instalment(o)) for o in paying]
            for (_a, _id, amount), o, receipt in zip(
                batch, paying, self.book.repay_batch(batch, gas=REPAY_GAS), strict=True
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
    return account(seed, f"borrower/{index}")


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
    b = balances(o.principal_wei / 1.0, o.apr_bps / 10_000, o.term)
    return round(float(recovery_rate) * float(b[o.instalments_paid]))


def _expected_flows(funded: list[BorrowerOutcome], policy: Any) -> list[float]:
    """Σ over the funded loans of the pricing rule's expected cash flows (dollars/month)."""
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
