"""The token rows of ``hessian bench gas``: ModelRepository in an ERC-20 next to ether.

The same scenario runs twice, each on a fresh eth-tester chain: once with an ether model, once
with an HSN model (18 decimals, EIP-2612 permits). Each row gives both figures and what the
token path costs over the ether path; the rows only a token has (``approve``, the permit
variants, a plain ERC-20 transfer as the baseline of a first-time holder) have no ether figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hessian_cli.chain import (
    DECA10B_NB_UPDATE_GAS,
    ETH_ADDRESS,
    bench_chain,
    closed_bench_model,
)

TOKEN_GAS_TARGETS = {
    "submitUpdate": 150_000,
    "evaluateUpdate": 120_000,
    "withdraw": 60_000,
}
"""Ceilings of the token path: the same as ether's for a submission and an evaluation;
``withdraw(token)`` <= 60,000 for an account that already holds the token (a first-time
holder also pays the token's new balance slot: see the baseline row)."""

BOUNTY = 10**18
DEPOSIT = 10**15
STALE = 10**17
CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"  # a real CIDv1 raw
DAY = 86_400


@dataclass(frozen=True)
class CurrencyRow:
    """One operation in both currencies (``eth`` is ``None`` for a token-only row)."""

    op: str
    case: str
    eth: int | None
    token: int
    target: int | None = None

    @property
    def extra(self) -> int | None:
        """Gas the token path costs over the ether path."""
        return None if self.eth is None else self.token - self.eth


def _run(token_mode: bool) -> dict[tuple[str, str], int]:
    """One run of the scenario; ``(op, case) -> gas``."""
    from eth_account import Account

    from hessian_common.chain.client import ChainClient
    from hessian_common.chain.compile import load_artifact
    from hessian_common.chain.repository import Mechanism, ModelRepository, test_set_commitment
    from hessian_common.chain.token import Token

    w3, accounts = bench_chain(4)
    art = load_artifact("ModelRepository")
    lender = ChainClient(w3, accounts[0], abis=[art.abi])
    repo = ModelRepository(lender, lender.deploy(art.abi, art.bytecode)["contractAddress"])
    fn = repo.fn
    rows: dict[tuple[str, str], int] = {}
    currency, token = ETH_ADDRESS, None
    if token_mode:
        hsn = load_artifact("HessianToken")
        address = lender.deploy(hsn.abi, hsn.bytecode, lender.address, 10**27)["contractAddress"]
        token = Token(lender, address)
        currency = token.address
        for acc in accounts[1:]:
            token.transfer(acc.address, 10**21)
    owners = [repo.as_account(lender.with_account(a)) for a in accounts[1:]]
    commitment = test_set_commitment(CID, b"\x07" * 32)

    def gas(op: str, case: str, receipt: dict[str, Any]) -> None:
        rows[(op, case)] = int(receipt["gasUsed"])

    def terms(mechanism: Mechanism) -> tuple[int, ...]:
        deadline = lender.block_timestamp() + DAY
        return (0, int(mechanism), 600_000, 700_000, 1_000, deadline, 3_600, 7 * DAY,
                DEPOSIT, 10**7, STALE)  # fmt: skip

    def approve(client: ChainClient, amount: int, label: str | None = None) -> None:
        if token is not None:
            receipt = client.transact(token.fn.approve(repo.address, amount))
            if label:
                gas("approve", label, receipt)

    def create(mechanism: Mechanism, label: str | None = None) -> int:
        args = (CID, commitment, terms(mechanism), currency, BOUNTY)
        approve(lender, BOUNTY, "the lender's approve before `createModel` (without a permit)")
        value = 0 if token_mode else BOUNTY
        receipt = lender.transact(fn.createModel(*args), value=value)
        if label:
            gas("createModel", label, receipt)
        return repo.contract.events.ModelCreated().process_receipt(receipt)[0]["args"]["modelId"]

    def submit(owner: ModelRepository, model_id: int, n: int, label: str | None = None) -> int:
        approve(owner.client, DEPOSIT)
        value = 0 if token_mode else DEPOSIT
        receipt = owner.client.transact(
            fn.submitUpdate(model_id, CID, bytes([n]) * 32, 1_000 + n, 0), value=value
        )
        if label:
            gas("submitUpdate", label, receipt)
        return repo.contract.events.UpdateSubmitted().process_receipt(receipt)[0]["args"][
            "updateId"
        ]

    def submit_with_permit(owner: ModelRepository, model_id: int, n: int, label: str) -> int:
        assert token is not None
        permit = Token(owner.client, token.address).sign_permit(repo.address, DEPOSIT)
        receipt = owner.client.transact(
            fn.submitUpdateWithPermit(
                model_id, CID, bytes([n]) * 32, 1_000 + n, 0, permit.as_tuple()
            )
        )
        gas("submitUpdateWithPermit", label, receipt)
        return repo.contract.events.UpdateSubmitted().process_receipt(receipt)[0]["args"][
            "updateId"
        ]

    def evaluate(uid: int, score: int, label: str) -> None:
        gas("evaluateUpdate", label, lender.transact(fn.evaluateUpdate(uid, True, 0, score, CID)))

    m1 = create(Mechanism.IMPROVEMENT, "IMPROVEMENT; the bounty pulled after an approve")
    if token is not None:
        permit = token.sign_permit(repo.address, BOUNTY)
        gas(
            "createModelWithPermit",
            "the lender's permit + transferFrom in one transaction",
            lender.transact(
                fn.createModelWithPermit(
                    CID, commitment, terms(Mechanism.IMPROVEMENT), currency, BOUNTY,
                    permit.as_tuple(),
                )
            ),
        )  # fmt: skip
    u1 = submit(owners[0], m1, 1, "first of its model; deposit pulled after an approve")
    submit(owners[1], m1, 2, "joins the queue's tail; deposit pulled after an approve")
    if token is not None:
        submit_with_permit(owners[2], m1, 3, "joins the queue; the owner's first permit")
        submit_with_permit(owners[2], m1, 4, "joins the queue; a later permit")
    evaluate(u1, 620_000, "accepted, IMPROVEMENT reward paid; head of a queue")
    gas(
        "withdraw",
        "owner who already holds the currency",
        owners[0].client.transact(fn.withdraw(currency)),
    )
    m2 = create(Mechanism.PRO_RATA_GAIN)
    newcomer = Account.create()  # holds no ether credit and, in token mode, none of the token
    lender.send_value(newcomer.address, 10**19)
    if token is not None:
        token.transfer(newcomer.address, DEPOSIT)  # exactly the deposit: none left after it
    fresh = repo.as_account(lender.with_account(newcomer))
    w1 = submit(fresh, m2, 21)
    evaluate(
        w1,
        700_000,
        "worst case: first paid of a share model, reaches target, fixes the pool, owner's "
        "first credit",
    )
    fresh.client.transact(fn.claimShare(w1))
    gas(
        "withdraw",
        "to a first-time holder of the token (its new balance slot in the token)",
        fresh.client.transact(fn.withdraw(currency)),
    )
    if token is not None:
        gas(
            "transfer",
            "baseline: a plain ERC-20 transfer to an account that holds none of the token",
            lender.transact(token.fn.transfer(Account.create().address, 1)),
        )
    return rows


def measure_currency_gas() -> list[CurrencyRow]:
    """The scenario in ether and in HSN; one :class:`CurrencyRow` per (operation, case)."""
    eth = _run(token_mode=False)
    token = _run(token_mode=True)
    return [
        CurrencyRow(op, case, eth.get((op, case)), used, TOKEN_GAS_TARGETS.get(op))
        for (op, case), used in token.items()
    ]


LOAN_TARGETS = {"withdraw": 60_000}
"""Ceiling of the LoanBook token rows: issue 15's 60,000 for ``withdraw(token)``. A payment by
permit has no ceiling of its own: it is one transaction where the ether path's allowance would
need two (the ``approve`` alone is about 46,000)."""


def _run_loanbook(token_mode: bool) -> dict[tuple[str, str], int]:
    """One loan's life on a fresh chain, in ether (1 ETH) or in TestUSD (10,000 tUSD, 6
    decimals, paid by EIP-2612 permits through the wrapper); ``(op, case) -> gas``."""
    from hessian_common.chain.client import ChainClient
    from hessian_common.chain.compile import load_artifact
    from hessian_common.chain.deploy import deploy_test_usd
    from hessian_common.chain.loanbook import LoanBook
    from hessian_common.chain.token import TestUSD

    w3, accounts = bench_chain(2)
    lender_client = ChainClient(w3, accounts[0])
    repo, model_id = closed_bench_model(lender_client, CID, b"\x07" * 32)
    art = load_artifact("LoanBook")
    address = lender_client.deploy(
        art.abi, art.bytecode, repo.address, 30 * DAY, 120 * DAY, 7 * DAY, 7 * DAY
    )["contractAddress"]
    lender = LoanBook(lender_client, address, art.abi)
    borrower = lender.as_account(lender_client.with_account(accounts[1]))
    currency, principal = ETH_ADDRESS, 10**18
    if token_mode:
        usd = TestUSD(lender_client, deploy_test_usd(lender_client, record=False))
        currency, principal = usd.address, 10_000 * 10**6
        usd.faucet(10**11)
        usd.faucet(10**11, to=borrower.client.address)
    lender.deploy_model(model_id, CID, b"\x11" * 32, currency)
    rows: dict[tuple[str, str], int] = {}

    def gas(op: str, case: str, receipt: dict[str, Any]) -> None:
        rows[(op, case)] = int(receipt["gasUsed"])

    loan_id = borrower.apply(model_id, b"\x01" * 32, CID, principal, 36)
    lender.decide(loan_id, True, 50_000, 1_200, principal, 36)
    borrower.accept(loan_id)
    gas("fund", "the lender pays the principal (a token: its first permit, which writes its nonce)",
        lender.fund(loan_id))  # fmt: skip
    installment = lender.loan(loan_id).installment
    gas("repay", "first instalment, lender's first credit (a token: the borrower's first permit)",
        borrower.repay(loan_id, installment))  # fmt: skip
    gas("repay", "an instalment (a token: a later permit)", borrower.repay(loan_id, installment))
    gas("withdraw", "the borrower takes the principal (already holds the currency)",
        borrower.client.transact(lender.fn.withdraw(currency)))  # fmt: skip
    return rows


def measure_loanbook_currency_gas() -> list[CurrencyRow]:
    """A loan in ether and in TestUSD; one :class:`CurrencyRow` per (operation, case)."""
    eth = _run_loanbook(token_mode=False)
    token = _run_loanbook(token_mode=True)
    return [
        CurrencyRow(op, case, eth.get((op, case)), used, LOAN_TARGETS.get(op))
        for (op, case), used in token.items()
    ]


def currency_gas_table(rows: list[CurrencyRow], token: str = "HSN") -> str:
    """Markdown table: ether and token gas side by side, the token's extra, the ratio to
    0xDeCA10B's update and the target of the token path."""
    lines = [
        f"| operation | case | ETH | token ({token}) | token − ETH | ÷ 0xDeCA10B | target |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        eth = "—" if r.eth is None else f"{r.eth:,}"
        extra = "—" if r.extra is None else f"+{r.extra:,}" if r.extra >= 0 else f"{r.extra:,}"
        mark = ""
        if r.target is not None and "first-time holder" not in r.case:
            mark = f"≤ {r.target:,} {'✓' if r.token <= r.target else '✗ OVER'}"
        ratio = r.token / DECA10B_NB_UPDATE_GAS
        lines.append(
            f"| `{r.op}` | {r.case} | {eth} | {r.token:,} | {extra} | {ratio:.2f} | {mark} |"
        )
    return "\n".join(lines)


def over_target(rows: list[CurrencyRow]) -> list[CurrencyRow]:
    """Rows whose token figure is above its target (the first-time holder's withdrawal is
    judged by the baseline row, not the target)."""
    return [
        r
        for r in rows
        if r.target is not None and "first-time holder" not in r.case and r.token > r.target
    ]
