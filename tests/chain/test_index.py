"""The event index on eth-tester: the same answers as plain logs, queries, restart, ABI change,
and how provider refusals and rate limits are read.

Paging against real providers' caps, reorgs and the proxy are in ``test_index_nodes.py``.
"""

from __future__ import annotations

import json

import pytest
import requests
from web3.exceptions import Web3RPCError

from hessian_common.chain.client import RetryPolicy, is_rate_limited
from hessian_common.chain.index import EventIndex, index_file, iter_pages, logs_limit
from hessian_common.chain.loanbook import LoanBook
from hessian_common.chain.repository import ModelRepository, test_set_commitment
from hessian_common.errors import ConfigError
from tests.contracts.loanbook_support import (  # noqa: F401 - fixtures
    APP_CID,
    Book,
    book,
    digest,
    loanbook,
)

CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
OTHER_CID = "bafkreidon73zkcrwdb5iafqtijxildoonbwnpv7dyd6ef3qdgads2jc4su"


def _model(repo: ModelRepository, now: int) -> int:
    return repo.create_model(
        CID,
        bounty=10**18,
        initial_score=500_000,
        target_score=900_000,
        deadline=now + 86_400,
        evaluation_window=3_600,
        test_set_commitment=test_set_commitment(CID, b"\x01" * 32),
    )


@pytest.fixture
def history(repository, clients, chain_time):
    """Two models; 9 submissions by 3 owners (model 1: 6, model 2: 3); 4 evaluated."""
    owners = [repository.as_account(c) for c in clients[1:4]]
    m1, m2 = _model(repository, chain_time.now()), _model(repository, chain_time.now())
    uids = []
    for i in range(9):
        model = m1 if i % 3 != 2 else m2
        uids.append(owners[i % 3].submit_update(model, OTHER_CID, bytes([i + 1]) * 32, 10 + i))
    for j, uid in enumerate(uids[:4]):
        repository.evaluate_update(uid, j % 2 == 0, 600_000 + j * 10_000, CID)
    return m1, m2, uids, owners


def _indexed(repo: ModelRepository, tmp_path, **options) -> ModelRepository:
    other = ModelRepository(repo.client, repo.address, repo.abi, repo.from_block)
    other.attach_index(tmp_path / "index", **options)
    return other


def test_the_index_answers_what_plain_logs_answer(repository, history, tmp_path):
    m1, m2, uids, owners = history
    indexed = _indexed(repository, tmp_path)
    assert indexed.index.path == index_file(
        tmp_path / "index", repository.client.chain_id, repository.address
    )
    assert indexed.events() == repository.events()
    assert indexed.events(5, 12) == repository.events(5, 12)
    for name, filters in [
        ("UpdateSubmitted", {"modelId": m1}),
        ("UpdateSubmitted", {"owner": owners[1].client.address.lower()}),  # any case
        ("UpdateSubmitted", {"modelId": m1, "owner": owners[0].client.address}),
        ("UpdateSubmitted", {"modelId": [m1, m2], "rows": [10, 13, 17]}),  # not indexed
        ("UpdateSubmitted", {"datasetDigest": "0x" + "03" * 32}),
        ("UpdateEvaluated", {"accepted": True}),
        ("UpdateEvaluated", {"accepted": False, "modelId": str(m1)}),
        ("UpdateSubmitted", {"updateCid": OTHER_CID}),
        ("ModelCreated", None),
        ("Withdrawn", None),
    ]:
        every = repository.find_events(name, filters)
        assert indexed.find_events(name, filters) == every, (name, filters)
        assert indexed.event_count(name, filters) == repository.event_count(name, filters)
        assert indexed.event_count(name, filters) == len(every)
        pages = [(2, 0, "asc"), (2, 1, "desc"), (50, 0, "desc"), (3, 99, "asc")]
        for limit, offset, order in pages:
            page = indexed.events_page(name, filters, limit, offset, order=order)
            assert page == repository.events_page(name, filters, limit, offset, order=order)
            expected = every if order == "asc" else every[::-1]
            assert page == expected[offset : offset + limit]
    mine = indexed.events_page("UpdateSubmitted", {"owner": owners[0].client.address}, 10)
    assert [e.args["updateId"] for e in mine] == [uids[0], uids[3], uids[6]]
    assert indexed.event_count("UpdateSubmitted", {"modelId": m1}) == 6
    every = iter_pages(indexed.index, "UpdateSubmitted", page=4)
    assert [e.args["updateId"] for e in every] == uids


def test_typed_reads_use_the_index_for_cids(repository, history, tmp_path):
    m1, _, uids, _ = history
    indexed = _indexed(repository, tmp_path)
    assert indexed.model(m1) == repository.model(m1)
    assert [indexed.submission(u) for u in uids] == [repository.submission(u) for u in uids]
    # a CID of a row already in the file costs no node call: the index is not refreshed
    before = indexed.index.last_block
    uid = repository.submit_update(m1, CID, b"\x77" * 32, 5)
    fresh = ModelRepository(repository.client, repository.address, index=indexed.index)
    assert fresh.submission(uids[0]).update_cid == OTHER_CID
    assert indexed.index.last_block == before
    # a miss brings the index up to the head
    assert fresh.submission(uid).update_cid == CID
    assert indexed.index.last_block == repository.client.block_number()


def test_loanbook_reads_through_the_index(book: Book, tmp_path):  # noqa: F811
    for n in range(4):
        book.applied(n, who=n % 3)
    plain = book.lender
    indexed = LoanBook(plain.client, plain.address, plain.abi, plain.from_block)
    indexed.attach_index(tmp_path / "lb.sqlite")
    assert indexed.index.path == tmp_path / "lb.sqlite"
    assert indexed.loans() == plain.loans()
    who = book.borrowers[1].client.address
    assert indexed.loans(borrower=who) == plain.loans(borrower=who)
    assert [x.loan_id for x in indexed.loans(model_id=book.model_id)] == [1, 2, 3, 4]
    assert indexed.deployments() == plain.deployments()
    assert indexed.loan(3).application_cid == APP_CID
    assert indexed.as_account(book.borrowers[0].client).index is indexed.index
    assert indexed.event_count("LoanApplied", {"applicationDigest": digest(2)}) == 1


def test_a_restart_reads_only_new_blocks(repository, history, clients, tmp_path):
    m1, _, _, owners = history
    path = tmp_path / "i.sqlite"
    first = EventIndex(path, repository.client.w3, repository.address, repository.abi)
    done = first.refresh()
    assert done.added == len(repository.events()) and done.log_requests == 1
    head = repository.client.block_number()
    assert first.last_block == head
    # a new process: same file, nothing new on chain -> no eth_getLogs at all
    second = EventIndex(path, repository.client.w3, repository.address, repository.abi)
    assert second.last_block == head
    assert second.count() == done.added
    nothing = second.refresh()
    assert (nothing.added, nothing.log_requests, nothing.removed) == (0, 0, 0)
    # two new events: one call, from the confirmation window on
    owners[2].submit_update(m1, CID, b"\x55" * 32, 7)
    owners[2].submit_update(m1, CID, b"\x56" * 32, 7)
    third = EventIndex(path, repository.client.w3, repository.address, repository.abi,
                       confirmations=2)  # fmt: skip
    more = third.refresh()
    assert more.log_requests == 1 and more.removed == 0
    window = [e for e in repository.events() if head - 1 <= e.block_number <= head]
    assert more.added == 2 + len(window)
    assert third.events() == repository.events()
    assert third.count("UpdateSubmitted", {"modelId": m1}) == 8


def test_an_index_for_another_abi_is_rebuilt(repository, history, tmp_path):
    path = tmp_path / "i.sqlite"
    fewer = [e for e in repository.abi if e.get("name") != "UpdateEvaluated"]
    old = EventIndex(path, repository.client.w3, repository.address, fewer)
    old.refresh()
    assert old.count() == len(repository.events()) - 4
    with pytest.raises(ConfigError, match="no event 'UpdateEvaluated'"):
        old.count("UpdateEvaluated")
    new = EventIndex(path, repository.client.w3, repository.address, repository.abi)
    assert new.last_block == -1  # another ABI: nothing in the file counts
    new.refresh()
    assert new.events() == repository.events()
    assert new.count("UpdateEvaluated") == 4


def test_bad_queries_are_clear_errors_and_change_nothing(repository, history, tmp_path):
    indexed = _indexed(repository, tmp_path)
    indexed.events()
    count = indexed.index.count()
    for call, message in [
        (lambda: indexed.events_page("Nope"), "no event 'Nope'.*ModelCreated"),
        (lambda: indexed.events_page("UpdateSubmitted", {"color": 1}), "cannot filter.*color"),
        (lambda: indexed.events_page("UpdateSubmitted", {"modelId": "one"}), "not a valid uint"),
        (lambda: indexed.events_page("UpdateSubmitted", {"modelId": []}), "empty list"),
        (lambda: indexed.events_page("UpdateSubmitted", {"owner": "0x12"}), "not a valid address"),
        (lambda: indexed.events_page("UpdateSubmitted", order="up"), "order must be"),
        (lambda: indexed.events_page("UpdateSubmitted", limit=-1), "must be >= 0"),
        (lambda: indexed.index.events(filters={"modelId": 1}), "needs an event name"),
        (lambda: repository.events_page("UpdateSubmitted", {"color": 1}), "cannot filter"),
        (lambda: repository.events_page("Nope"), "no event 'Nope'"),
    ]:
        with pytest.raises(ConfigError, match=message):
            call()
    assert indexed.index.count() == count
    with pytest.raises(ConfigError, match="max_range"):
        EventIndex(tmp_path / "x.sqlite", repository.client.w3, repository.address,
                   repository.abi, max_range=0)  # fmt: skip


# ---------------------------------------------------------------- provider wordings


def _rpc_error(code: int, message: str, data=None) -> Web3RPCError:
    error = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return Web3RPCError(str(error), rpc_response={"jsonrpc": "2.0", "id": 1, "error": error})


def _http_error(status: int, body: dict) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    return requests.HTTPError(f"{status} Client Error", response=response)


@pytest.mark.parametrize(
    ("exc", "kind", "span"),
    [
        # Infura: result cap with a suggested range, and the block-range cap
        (_rpc_error(-32005, "query returned more than 10000 results. Try with this block range "
                    "[0xBDE5F8, 0x102DBCC].", {"from": "0xBDE5F8", "limit": 10000}),
         "results", 0x102DBCC - 0xBDE5F8 + 1),
        (_rpc_error(-32005, "query returned more than 10000 results"), "results", None),
        (_rpc_error(-32602, "range 1000000 exceeds limit of 10000"), "range", 10_000),
        # Alchemy: response size (suggested range) and block range (suggested range)
        (_rpc_error(-32602, "Log response size exceeded. You can make eth_getLogs requests with "
                    "up to a 2K block range and no limit on the response size, or you can request"
                    " any block range with a cap of 10K logs in the response. Based on your "
                    "parameters and the response size limit, this block range should work: "
                    "[0x0, 0x3e7]"), "results", 1000),
        (_rpc_error(-32600, "You can make eth_getLogs requests with up to a 500 block range. Based"
                    " on your parameters, this block range should work: [0x123c9b2, 0x123cba5]"),
         "range", 0x123CBA5 - 0x123C9B2 + 1),
        (_rpc_error(-32602, "You can make eth_getLogs requests with up to a 2K block range"),
         "range", 2000),
        # QuickNode: HTTP 413 with the JSON-RPC error in the body
        (_http_error(413, {"jsonrpc": "2.0", "id": 1, "error": {
            "code": -32614, "message": "eth_getLogs is limited to a 10,000 range"}}),
         "range", 10_000),
        # geth / reth / llamarpc / others
        (_rpc_error(-32602, "query exceeds max block range 100000"), "range", 100_000),
        (_rpc_error(-32602, "query exceeds max results 20000, retry with the range "
                    "23879634-23879696"), "results", 63),
        (_rpc_error(-32603, "eth_getLogs range is too large, max is 1k blocks"), "range", 1000),
        (_rpc_error(-32602, "eth_getLogs is limited to 1024 block range. Please check the "
                    "parameter requirements"), "range", 1024),
        (_rpc_error(-32602, "invalid params", "range 20000 is bigger than range limit 2000"),
         "range", 2000),
        (_rpc_error(-32000, "Block range limit exceeded."), "range", None),
        (_rpc_error(-32000, "logs matched by query exceeds limit of 10000"), "results", None),
        (_rpc_error(-32000, "backend response too large"), "results", None),
    ],
)  # fmt: skip
def test_logs_limit_reads_each_provider_wording(exc, kind, span):
    limit = logs_limit(exc)
    assert limit is not None and (limit.kind, limit.span) == (kind, span)


@pytest.mark.parametrize(
    "exc",
    [
        _rpc_error(-32005, "daily request count exceeded, request rate limited"),
        _rpc_error(429, "Your app has exceeded its compute units per second capacity."),
        _http_error(
            429, {"error": {"code": -32005, "message": "project ID request rate exceeded"}}
        ),
        _rpc_error(-32000, "execution reverted"),
        _rpc_error(-32602, "invalid argument 0: hex string without 0x prefix"),
        KeyError("not a node error"),
    ],
)
def test_logs_limit_leaves_other_errors_alone(exc):
    assert logs_limit(exc) is None


def test_rate_limit_wordings_and_backoff_bounds():
    for error in [
        {"code": -32005, "message": "project ID request rate exceeded"},
        {"code": -32005, "message": "daily request count exceeded, request rate limited"},
        {"code": 429, "message": "Your app has exceeded its compute units per second capacity"},
        {"code": -32007, "message": "15/second request limit reached - reduce calls per second"},
        "429 Too Many Requests",
    ]:
        assert is_rate_limited(error), error
    for error in [
        {"code": -32005, "message": "query returned more than 10000 results"},
        {"code": -32000, "message": "execution reverted"},
        {"code": -32000, "message": "nonce too low"},
    ]:
        assert not is_rate_limited(error), error
    policy = RetryPolicy(attempts=6, base=0.25, cap=8.0, max_wait=30.0)
    waits = [policy.wait(k) for k in range(10)]
    assert all(0.125 <= w <= 8.0 for w in waits)
    assert policy.wait(0, asked=5.0) == 5.0  # the node's own backoff, when longer
    assert policy.wait(0, asked=600.0) == 30.0  # but never beyond max_wait


def test_staleness_and_reset(repository, history, tmp_path):
    m1, _, _, owners = history
    index = EventIndex(tmp_path / "s.sqlite", repository.client.w3, repository.address,
                       repository.abi, max_staleness=3_600)  # fmt: skip
    assert index.refresh().added == len(repository.events())
    owners[0].submit_update(m1, CID, b"\x99" * 32, 3)
    assert index.refresh() is None  # trusted for an hour: no node call
    assert index.count("UpdateSubmitted") == 9
    assert index.refresh(force=True).added >= 1
    assert index.count("UpdateSubmitted") == 10
    index.reset()
    assert (index.count(), index.last_block) == (0, -1)
    assert index.refresh(force=True).added == len(repository.events())
    assert index.events() == repository.events()


# ---------------------------------------------------------------- running folds


def _counting_fold(index: EventIndex, key="subs"):
    """A fold of the UpdateSubmitted ids per model, counting the events it steps."""
    from hessian_common.chain.index import FoldSource

    seen: list[int] = []

    def step(state, name, values):
        uid, model = values
        seen.append(int(uid))
        state.setdefault(int(model), []).append(int(uid))

    def run():
        return index.fold(key, [FoldSource("UpdateSubmitted", None, ("updateId", "modelId"))],
                          dict, step, lambda s: {m: list(u) for m, u in s.items()})  # fmt: skip

    return run, seen


def _plain_subs(repo: ModelRepository) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for e in repo.find_events("UpdateSubmitted"):
        out.setdefault(int(e.args["modelId"]), []).append(int(e.args["updateId"]))
    return out


def test_a_running_fold_steps_only_what_is_new(repository, history, tmp_path):
    m1, _, _, owners = history
    index = EventIndex(tmp_path / "f.sqlite", repository.client.w3, repository.address,
                       repository.abi, confirmations=3)  # fmt: skip
    index.refresh()
    run, seen = _counting_fold(index)
    assert run() == _plain_subs(repository) and len(seen) == 9
    epoch = index.epoch
    for k in range(2):
        owners[k].submit_update(m1, CID, bytes([0x90 + k]) * 32, 3)
    index.refresh()  # the head moved: the confirmation window is read again, unchanged
    assert index.epoch == epoch
    assert run() == _plain_subs(repository) and len(seen) == 11  # only the 2 new ones
    assert run() == _plain_subs(repository) and len(seen) == 11  # nothing new: nothing stepped


def test_a_late_event_below_the_newest_restarts_the_fold(repository, history, tmp_path):
    """A lagging provider answered a block's logs empty; a later re-read of the confirmation
    window writes its event below the newest one: the fold starts over and takes it."""
    import sqlite3

    m1, _, uids, owners = history
    index = EventIndex(tmp_path / "l.sqlite", repository.client.w3, repository.address,
                       repository.abi, confirmations=10)  # fmt: skip
    index.refresh()
    last = max(e.block_number for e in index.events("UpdateSubmitted"))
    with sqlite3.connect(index.path) as db:  # what the lagging answer left: no event there
        db.execute("DELETE FROM events WHERE block_number = ?", (last,))
        db.execute("DELETE FROM event_args WHERE block_number = ?", (last,))
    owners[0].submit_update(m1, CID, b"\x77" * 32, 3)  # a newer event, then a refresh
    run, seen = _counting_fold(index)
    before = index.epoch
    index.refresh()
    assert index.epoch != before
    assert run() == _plain_subs(repository)
    assert sorted(seen) == [*sorted(uids), uids[-1] + 1]


def test_a_fold_follows_reset_restart_and_a_failing_step(repository, history, tmp_path):
    from hessian_common.chain.index import FoldSource

    m1, _, _, _ = history
    path = tmp_path / "r.sqlite"
    index = EventIndex(path, repository.client.w3, repository.address, repository.abi)
    index.refresh()
    run, _ = _counting_fold(index)
    assert run() == _plain_subs(repository)
    index.reset()
    assert run() == {} and index.refresh().added == len(repository.events())
    assert run() == _plain_subs(repository)
    # a restart keeps the file, not the fold: the new process folds from the file once
    again = EventIndex(path, repository.client.w3, repository.address, repository.abi)
    run2, seen2 = _counting_fold(again)
    assert run2() == _plain_subs(repository) and len(seen2) == 9
    # a step that fails leaves no half-stepped state behind
    calls = []

    def flaky(state, name, values):
        calls.append(values)
        if len(calls) == 5:
            raise RuntimeError("boom")
        state.append(int(values[0]))

    src = [FoldSource("UpdateSubmitted", {"modelId": m1}, ("updateId",))]
    with pytest.raises(RuntimeError):
        again.fold("flaky", src, list, flaky)
    assert again.fold("flaky", src, list, flaky) == _plain_subs(repository)[m1]


def test_page_sums_read_through_folds_equal_the_plain_ones(repository, history, tmp_path):
    """Owners' totals, scores before, the queue: the same with an index (folded, then
    advanced) as without one, before and after new events."""
    from hessian_common.chain import pages

    m1, m2, uids, owners = history
    indexed = _indexed(repository, tmp_path)

    def same():
        for m in (m1, m2):
            assert pages.owner_totals(indexed, m) == pages.owner_totals(repository, m)
            assert dict(pages.scores_before(indexed, m, 500_000)) == dict(
                pages.scores_before(repository, m, 500_000))  # fmt: skip
            assert pages.waiting_ids(indexed, m) == pages.waiting_ids(repository, m)

    same()
    uid = owners[1].submit_update(m1, CID, b"\x55" * 32, 7)
    assert pages.waiting_ids(indexed, m1) == [uids[4], uids[6], uids[7], uid]
    for u, ok, score in ((uids[4], False, 0), (uids[6], True, 650_000), (uids[7], False, 0)):
        repository.evaluate_update(u, ok, score, CID)
    same()
    repository.evaluate_update(uid, True, 700_000, CID)
    same()
    assert pages.waiting_ids(indexed, m1) == []
    assert pages.scores_before(indexed, m1, 500_000)[uid] == 650_000
