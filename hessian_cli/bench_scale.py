"""``hessian bench scale``: page reads at 100, 1,000 and 5,000 submissions (issue 20).

On a local anvil (started on a free port, stopped by its PID), for each size ``N`` a fresh
``ModelRepository`` and ``LoanBook`` get a model with ``N`` submissions from 4 owners (half of
them evaluated, in queue order) and a deployed model with ``N`` loan applications from 4
borrowers (half of them decided). The transactions are signed here and sent in batches, mined
200 to a block. Then the library functions behind four pages are timed, each with an empty
event index (cold: the index is built on the way), then warm (median of ``--repeat`` rounds,
interleaved over the sizes once all are built), and once through plain ``eth_getLogs`` without
an index (the baseline, same run):

- the owner's *open models* (``owner.open_models_page``, page 1);
- the owner's *my submissions* (``owner.my_submissions_page``, page 1 of the owner's journal);
- the lender's *model page* (``tasks.summaries.model_detail``: a page of submissions, rewards per
  owner, score history, next stale time);
- the lender's *loan book* (``chain.pages.loans_page``: a page of the decided and one of the
  pending loans of the lender's deployed models, with what the book page reads per loan, and
  ``chain.pages.loan_states``, the whole book folded from its events for the page's realised
  vs predicted table; opening the sealed applications, cached by the desk, is not timed).

Printed: one row per size, ``warm_ratio_<max>_<min>`` (warm time of the four pages at the
largest size ÷ at the smallest; the goal is at most 1.5) and the cold indexing time per event
(linear: the same at every size).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

DEFAULT_SIZES = "100,1000,5000"
OWNERS = 4
PER_BLOCK = 200
GAS = 600_000
SPEC_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
UPDATE_CID = "bafkreidon73zkcrwdb5iafqtijxildoonbwnpv7dyd6ef3qdgads2jc4su"
PAGES = ("open_models", "my_submissions", "model_page", "loan_book")


def _rpc(w3: Any, method: str, params: list[Any] | None = None) -> Any:
    answer = w3.provider.make_request(method, params or [])
    if "error" in answer:
        raise click.ClickException(f"{method}: {answer['error']}")
    return answer.get("result")


class Batch:
    """Sign calls here and send them in blocks of :data:`PER_BLOCK` (anvil: automine off,
    ``evm_mine`` per block); every receipt is checked."""

    def __init__(self, w3: Any) -> None:
        self.w3 = w3
        self.chain_id = int(w3.eth.chain_id)
        self.gas_price = 2 * int(w3.eth.gas_price)
        self.nonces: dict[str, int] = {}
        self.pending: list[bytes] = []

    def add(self, account: Any, fn: Any, value: int = 0) -> None:
        addr = account.address
        if addr not in self.nonces:
            self.nonces[addr] = int(self.w3.eth.get_transaction_count(addr, "pending"))
        tx = {
            "to": fn.address,
            "data": fn._encode_transaction_data(),
            "gas": GAS,
            "gasPrice": self.gas_price,
            "nonce": self.nonces[addr],
            "chainId": self.chain_id,
            "value": int(value),
        }
        self.nonces[addr] += 1
        self.pending.append(bytes(account.sign_transaction(tx).raw_transaction))
        if len(self.pending) >= PER_BLOCK:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        _rpc(self.w3, "evm_setAutomine", [False])
        try:
            hashes = [self.w3.eth.send_raw_transaction(raw) for raw in self.pending]
            _rpc(self.w3, "evm_mine")
        finally:
            _rpc(self.w3, "evm_setAutomine", [True])
        self.pending = []
        for h in hashes:
            receipt = self.w3.eth.get_transaction_receipt(h)
            if int(receipt["status"]) != 1:
                raise click.ClickException(f"a batched transaction reverted: {h.hex()}")


@dataclass
class Built:
    """One size's contracts and what is on them."""

    size: int
    repo: Any
    book: Any
    model_id: int
    deployed_id: int
    owner: Any
    journal: Any
    events: int = 0
    build_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _build(w3: Any, size: int, root: Path) -> Built:
    from hessian_common.chain import ChainClient, dev_account
    from hessian_common.chain.deploy import deploy_loanbook, deploy_repository
    from hessian_common.chain.loanbook import LoanBook
    from hessian_common.chain.repository import ModelRepository, test_set_commitment
    from hessian_common.journal import Journal

    t0 = time.perf_counter()
    lender = dev_account(0)
    owners = [dev_account(1 + k) for k in range(OWNERS)]
    client = ChainClient(w3, lender)
    first = client.block_number()
    repo = ModelRepository(client, deploy_repository(client, record=False), from_block=first)
    book = LoanBook(client, deploy_loanbook(client, repo.address, record=False), from_block=first)
    now = int(w3.eth.get_block("latest")["timestamp"])
    commitment = test_set_commitment(SPEC_CID, b"\1" * 32)
    terms = dict(
        bounty=10**19, initial_score=500_000, target_score=990_000, deadline=now + 300 * 86_400,
        evaluation_window=30 * 86_400, test_set_commitment=commitment,
    )  # fmt: skip
    deployed_id = repo.create_model(SPEC_CID, **terms)
    repo.close_model(deployed_id)
    book.deploy_model(deployed_id, SPEC_CID, b"\2" * 32)
    model_id = repo.create_model(SPEC_CID, **terms)

    batch = Batch(w3)
    journal = Journal(root / f"journal-{size}.sqlite")
    mine = []  # (entry id, update id) of owner 0's submissions
    first_uid = repo.submission_count() + 1
    for i in range(size):
        who = owners[i % OWNERS]
        digest = (size * 1_000_000 + i + 1).to_bytes(32, "big")
        batch.add(who, repo.fn.submitUpdate(model_id, UPDATE_CID, digest, 100 + i % 50, 0))
        if who is owners[0]:
            entry = journal.add(
                model_id=model_id, owner=who.address, digest=digest, rows=100 + i % 50,
                blob=b"{}", label=f"file-{i}.csv",
            )  # fmt: skip
            mine.append((entry.id, first_uid + i))
    batch.flush()
    for entry_id, uid in mine:
        journal.mark_confirmed(entry_id, uid, "0x" + "00" * 32)
        journal.mark_published(entry_id)
    score = 500_000
    for i in range(size // 2):  # the lender evaluates the oldest half, in queue order
        accepted = i % 4 != 3
        score += 10 if accepted else 0
        batch.add(
            lender,
            repo.fn.evaluateUpdate(first_uid + i, accepted, 0 if accepted else 1,
                                   score if accepted else score - 5, UPDATE_CID),
        )  # fmt: skip
    batch.flush()

    first_loan = book.loan_count() + 1
    for i in range(size):
        who = owners[i % OWNERS]
        digest = (size * 1_000_000 + i + 7).to_bytes(32, "big")
        batch.add(who, book.fn.applyForLoan(deployed_id, digest, UPDATE_CID, 10**17, 36))
    batch.flush()
    for i in range(size // 2):
        approve = i % 5 != 4
        args = (1200, 10**17, 36) if approve else (0, 0, 0)
        batch.add(lender, book.fn.decide(first_loan + i, approve, 100_000 + i % 1000, *args))
    batch.flush()
    events = 2 * size + 2 * (size // 2) + 5
    return Built(size, repo, book, model_id, deployed_id, owners[0], journal, events,
                 time.perf_counter() - t0)  # fmt: skip


def _record(built: Built) -> Any:
    from hessian_common.tasks.state import ModelRecord

    return ModelRecord(
        model_id=built.model_id, name=f"Bench model ({built.size})",
        chain_id=int(built.repo.client.chain_id), contract=built.repo.address,
        spec_cid=SPEC_CID, initial_model_cid=SPEC_CID, current_model_cid=SPEC_CID,
        metric="auc", initial_score=0.5, current_score=0.5, target=0.99, test_set_cid="",
        commitment="0x", params={"update_rule": "newton", "key_size": 2048},
        feature_names=[], seed_rows=1000, holdout_rows=2000,
    )  # fmt: skip


def _pages(built: Built, repo: Any, book: Any, store: Any) -> dict[str, Callable[[], Any]]:
    """The four page reads of one size, on the given wrappers."""
    from hessian_common import owner
    from hessian_common.chain import pages
    from hessian_common.tasks.summaries import model_detail

    lender = repo.client.address
    as_owner = repo.as_account(repo.client.with_account(built.owner))
    record = _record(built)

    def loan_book() -> Any:
        mine = pages.deployed_model_ids(book, lender)
        shown = pages.loans_page(book, 1, model_ids=mine, state="decided")
        for loan in shown:  # what the book page reads per loan (next due, lateness, default)
            if loan.status.name == "FUNDED":
                book.next_due(loan.loan_id)
                book.is_late(loan.loan_id)
                book.can_default(loan.loan_id)
        queue = pages.loans_page(book, 1, model_ids=mine, state="pending", order="asc")
        totals = pages.loan_states(book, mine)  # what the page's realised-vs-predicted folds
        return shown, queue, totals

    return {
        "open_models": lambda: owner.open_models_page(as_owner, store, 1),
        "my_submissions": lambda: owner.my_submissions_page(
            built.journal, as_owner, built.owner.address, None, 1
        ),
        "model_page": lambda: model_detail(repo, record, 1),
        "loan_book": loan_book,
    }


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds of ``fn()`` run as a page's GET runs it (a read-only chain scope)."""
    from hessian_common.chain.outage import chain_scope

    t0 = time.perf_counter()
    with chain_scope(stale_ok=True):
        out = fn()
    return time.perf_counter() - t0, out


def measure(
    sizes: list[int], *, repeat: int = 5, plain: bool = True, progress: Callable[[str], None]
) -> dict[str, Any]:
    """Build each size on a fresh anvil's contracts and time the pages (see the module doc)."""
    from hessian_common.chain import ChainClient, connect, dev_account
    from hessian_common.chain.loanbook import LoanBook
    from hessian_common.chain.node import launch, wait_for_rpc
    from hessian_common.chain.repository import ModelRepository
    from hessian_common.simulation.phases import free_port as _free_port
    from hessian_common.store import EmbeddedStore

    rows: list[dict[str, Any]] = []
    warm: list[dict[str, Callable[[], Any]]] = []
    with tempfile.TemporaryDirectory(prefix="hessian-bench-scale-") as tmp:
        root = Path(tmp)
        port = _free_port()
        proc = launch("anvil", port, state_dir=root / "anvil", log_path=root / "anvil.log")
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for_rpc(url, timeout=90, proc=proc)
            w3 = connect(url)
            _rpc(w3, "evm_setBlockGasLimit", [hex(PER_BLOCK * GAS + 10_000_000)])
            store = EmbeddedStore(root / "store")
            for size in sizes:
                progress(f"size {size}: sending {size} submissions, {size} loans and decisions")
                built = _build(w3, size, root)
                row: dict[str, Any] = {
                    "size": size, "events": built.events, "build_s": round(built.build_s, 2),
                    "pages": {},
                }  # fmt: skip
                progress(f"size {size}: timing the pages (cold, without an index)")
                client = ChainClient(w3, dev_account(0))
                repo = ModelRepository(client, built.repo.address, from_block=built.repo.from_block)
                book = LoanBook(client, built.book.address, from_block=built.book.from_block)
                idx = root / f"index-{size}"
                repo.attach_index(idx)
                book.attach_index(idx)
                index_s = 0.0
                for name, fn in _pages(built, repo, book, store).items():
                    cold, _ = _timed(fn)
                    row["pages"][name] = {"cold_s": cold}
                cold_dir = root / f"cold-{size}"
                index_s = _fresh_refresh(repo, cold_dir) + _fresh_refresh(book, cold_dir)
                row["cold_total_s"] = sum(p["cold_s"] for p in row["pages"].values())
                row["cold_index_s"] = index_s
                row["cold_index_ms_per_event"] = 1000 * index_s / built.events
                if plain:
                    prepo = ModelRepository(client, built.repo.address,
                                            from_block=built.repo.from_block)  # fmt: skip
                    pbook = LoanBook(client, built.book.address, from_block=built.book.from_block)
                    total = 0.0
                    for name, fn in _pages(built, prepo, pbook, store).items():
                        t, _ = _timed(fn)
                        row["pages"][name]["plain_s"] = t
                        total += t
                    row["plain_total_s"] = total
                rows.append(row)
                warm.append(_pages(built, repo, book, store))
            # warm runs interleaved over the sizes (round r times every size), so a change of
            # the machine's load during the run weighs on every size alike
            progress(f"warm: {max(1, repeat)} rounds over the sizes")
            runs: list[dict[str, list[float]]] = [{p: [] for p in PAGES} for _ in rows]
            totals: list[list[float]] = [[] for _ in rows]
            for _ in range(max(1, repeat)):
                for k, fns in enumerate(warm):
                    total = 0.0
                    for name, fn in fns.items():
                        t, _ = _timed(fn)
                        runs[k][name].append(t)
                        total += t
                    totals[k].append(total)
            for k, row in enumerate(rows):
                for name in PAGES:
                    row["pages"][name]["warm_s"] = statistics.median(runs[k][name])
                row["warm_total_s"] = statistics.median(totals[k])
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except Exception:  # then by force, still by its PID
                proc.kill()
    return summarise(rows)


def _fresh_refresh(wrapper: Any, directory: Path) -> float:
    """Seconds to build an empty index of ``wrapper``'s contract to the head (the cold
    indexing cost)."""
    from hessian_common.chain.index import EventIndex, index_file

    path = index_file(directory, wrapper.client.chain_id, wrapper.address)
    index = EventIndex(path, wrapper.client.w3, wrapper.address, wrapper.abi, wrapper.from_block)
    t0 = time.perf_counter()
    index.refresh()
    return time.perf_counter() - t0


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``--json`` object: rows, the warm ratio largest ÷ smallest size, cold per event."""
    small, large = rows[0], rows[-1]
    ratio = large["warm_total_s"] / small["warm_total_s"] if small["warm_total_s"] else None
    per_event = [r["cold_index_ms_per_event"] for r in rows]
    out: dict[str, Any] = {
        "sizes": [r["size"] for r in rows],
        "rows": rows,
        "warm_ratio": ratio,
        f"warm_ratio_{large['size']}_{small['size']}": ratio,
        "warm_goal": 1.5,
        "cold_index_ms_per_event": per_event,
        "cold_linearity": (per_event[-1] / per_event[0]) if per_event[0] else None,
        "pages": list(PAGES),
    }
    return out


def table(result: dict[str, Any]) -> str:
    """The Markdown table of the README."""
    head = (
        "| submissions (and loans) | events | "
        + " | ".join(f"{p.replace('_', ' ')} warm / cold" for p in PAGES)
        + " | warm, 4 pages | without index | cold indexing per event |"
    )
    lines = [head, "|" + "---:|" * (len(PAGES) + 5)]
    for r in result["rows"]:
        cells = [
            f"{1000 * r['pages'][p]['warm_s']:.1f} / {1000 * r['pages'][p]['cold_s']:.0f} ms"
            for p in PAGES
        ]
        plain = f"{1000 * r['plain_total_s']:.0f} ms" if "plain_total_s" in r else "—"
        lines.append(
            f"| {r['size']:,} | {r['events']:,} | " + " | ".join(cells)
            + f" | {1000 * r['warm_total_s']:.1f} ms | {plain} | "
            f"{r['cold_index_ms_per_event']:.3f} ms |"
        )  # fmt: skip
    ratio = result["warm_ratio"]
    lines.append("")
    lines.append(
        f"warm ratio {result['sizes'][-1]:,} ÷ {result['sizes'][0]:,}: "
        + (f"{ratio:.2f}x" if ratio is not None else "n/a")
        + f" (goal ≤ {result['warm_goal']}x); cold indexing per event, largest ÷ smallest: "
        + (f"{result['cold_linearity']:.2f}" if result["cold_linearity"] else "n/a")
    )
    return "\n".join(lines)


@click.command("scale")
@click.option(
    "--sizes", default=DEFAULT_SIZES, show_default=True,
    help="Submissions (and loans) per model, comma-separated, smallest first.",
)  # fmt: skip
@click.option("--repeat", type=int, default=5, show_default=True, help="Warm runs (median).")
@click.option("--no-plain", is_flag=True, help="Skip the baseline without an index.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def bench_scale(sizes: str, repeat: int, no_plain: bool, as_json: bool) -> None:
    """Page reads at growing history sizes on anvil: cold, warm and without an index."""
    try:
        wanted = [int(s) for s in sizes.split(",") if s.strip()]
    except ValueError:
        raise click.BadParameter(f"{sizes!r} is not a comma-separated list of integers",
                                 param_hint="--sizes") from None  # fmt: skip
    if not wanted or any(s < 1 for s in wanted) or wanted != sorted(wanted):
        raise click.BadParameter("give positive sizes, smallest first", param_hint="--sizes")
    say = (lambda m: click.echo(m, err=True)) if as_json else click.echo
    result = measure(wanted, repeat=repeat, plain=not no_plain, progress=say)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(table(result))
