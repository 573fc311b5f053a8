"""The data-owner app's connections: account, chain, store, journal and the retry worker.

Everything is built lazily from ``app.config`` and kept on ``app.extensions["owner"]``. The
chain connection is made on first use and not cached while the node is down, so the app starts
(and shows the journal) even when the chain is unreachable, and recovers when it comes back.

Configuration keys (``create_app(test_config)`` may set any of them):

==========================  ====================================================================
``HESSIAN_SETTINGS``        a :class:`hessian_common.config.Settings` (rpc_url, store, home, ...)
``OWNER_STATE_DIR``         where the journal, uploads and secret key live (``<home>/owner``)
``OWNER_ACCOUNT``           ``"dev:N"`` (local chains' well-known keys) or an eth-account
                            ``LocalAccount``
``OWNER_KEYSTORE``          an encrypted keystore file (with ``OWNER_PASSPHRASE``, kept in memory)
``OWNER_REPO``              a ready ``ModelRepository`` (tests on eth-tester)
``OWNER_REPO_ADDRESS``      the contract address (default: ``deployments/<chainId>.json``)
``OWNER_STORE``             a ready ``ContentStore`` (default: ``open_store(settings)``)
``OWNER_WORKER``            start the background retry worker (default ``True``, not in testing)
``OWNER_RETRY_INTERVAL``    seconds between worker passes (default 3)
``OWNER_BACKOFF_BASE``      first retry delay in seconds (default 2, doubling, capped at 300)
``OWNER_LOANBOOK``          a ready ``LoanBook`` signing as the owner (tests on eth-tester)
``OWNER_LOANBOOK_ADDRESS``  the LoanBook address (default: ``deployments/<chainId>-LoanBook.json``)
``OWNER_EVENT_INDEX``       read events through ``<state>/index`` (default ``True``)
==========================  ====================================================================
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from hessian_common.config import Settings, load_settings
from hessian_common.errors import ConfigError, HessianError
from hessian_common.journal import Journal, retry_pending
from hessian_common.owner.status_cache import StatusCache
from hessian_common.tasks.state import LOCAL_CHAIN_IDS

log = logging.getLogger(__name__)


class OwnerServices:
    """Lazily built connections for one app instance (thread-safe)."""

    def __init__(self, app: Flask) -> None:
        cfg = app.config
        self.settings: Settings = cfg.get("HESSIAN_SETTINGS") or load_settings()
        self.state_dir = Path(cfg.get("OWNER_STATE_DIR") or self.settings.home / "owner")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.uploads_dir = self.state_dir / "uploads"
        self._purge_uploads()
        self.journal = Journal(
            self.state_dir / "journal.sqlite",
            backoff_base=float(cfg.get("OWNER_BACKOFF_BASE", 2.0)),
        )
        self.status_cache = StatusCache(self.state_dir / "status_cache.sqlite")
        self._cfg = cfg
        self._lock = threading.RLock()
        self._repo: Any = cfg.get("OWNER_REPO")
        self._store: Any = cfg.get("OWNER_STORE")
        self._loanbook: Any = cfg.get("OWNER_LOANBOOK")
        self._policybook: Any = cfg.get("OWNER_POLICYBOOK")
        self._account: Any = None
        self.worker: RetryWorker | None = None

    def _purge_uploads(self) -> None:
        """Delete uploaded copies left by an earlier run (staging lives in memory only)."""
        if self.uploads_dir.is_dir():
            for path in self.uploads_dir.iterdir():
                if path.is_file():
                    path.unlink(missing_ok=True)

    # ------------------------------------------------------------------ account
    @property
    def account(self) -> Any:
        """The owner's eth-account ``LocalAccount`` (never rendered or logged)."""
        with self._lock:
            if self._account is None:
                self._account = self._load_account()
            return self._account

    def _load_account(self) -> Any:
        if self._repo is not None and self._cfg.get("OWNER_ACCOUNT") is None:
            return self._repo.client.account
        spec = self._cfg.get("OWNER_ACCOUNT")
        keystore = self._cfg.get("OWNER_KEYSTORE")
        from hessian_common.chain import dev_account, load_keystore

        if keystore:
            passphrase = self._cfg.get("OWNER_PASSPHRASE")
            if passphrase is None:
                raise ConfigError(f"keystore {keystore} needs a passphrase (HESSIAN_PASSPHRASE)")
            return load_keystore(Path(keystore), passphrase)
        if spec is None:
            raise ConfigError(
                "no account: give OWNER_KEYSTORE (an encrypted keystore) or, on a local demo "
                "chain only, OWNER_ACCOUNT='dev:N'"
            )
        if isinstance(spec, str):
            kind, _, index = spec.partition(":")
            if kind != "dev" or not index.isdigit():
                raise ConfigError(f"account must be 'dev:N' or a keystore file, not {spec!r}")
            return dev_account(int(index))
        return spec

    @property
    def address(self) -> str:
        """The owner's checksummed address."""
        return self.account.address

    @property
    def account_kind(self) -> str:
        """``"keystore"`` or ``"dev account"`` (shown on the account page)."""
        return "encrypted keystore" if self._cfg.get("OWNER_KEYSTORE") else "dev account"

    # ------------------------------------------------------------------ chain and store
    @property
    def repo(self) -> Any:
        """The ``ModelRepository`` signing as the owner; raises ``ChainUnavailable``."""
        with self._lock:
            if self._repo is None:
                from hessian_common.chain import ChainClient, connect
                from hessian_common.chain.wiring import repository_for

                client = ChainClient(connect(self.settings.rpc_url), self.account)
                if self._cfg.get("OWNER_ACCOUNT") and client.chain_id not in LOCAL_CHAIN_IDS:
                    raise ConfigError(
                        f"dev accounts have publicly known keys; chain {client.chain_id} is not "
                        "a local demo chain: use an encrypted keystore"
                    )
                self._repo = repository_for(
                    client,
                    address=self._cfg.get("OWNER_REPO_ADDRESS"),
                    deployments_dir=self.settings.deployments_dir,
                    index_dir=self.index_dir,
                )
            return self._repo

    @property
    def loanbook(self) -> Any:
        """The ``LoanBook`` signing as this app's account (the borrower's pages).

        Built on the same chain client as :attr:`repo`, at ``OWNER_LOANBOOK_ADDRESS`` or from
        ``deployments/<chainId>-LoanBook.json``. Raises ``DeploymentNotFound`` when no LoanBook
        is deployed on this chain and ``ChainUnavailable`` when the node is down (neither is
        cached, so the page recovers once the contract or the node is there).
        """
        with self._lock:
            if self._loanbook is None:
                from hessian_common.chain.wiring import loanbook_for

                self._loanbook = loanbook_for(
                    self.repo.client,
                    address=self._cfg.get("OWNER_LOANBOOK_ADDRESS"),
                    deployments_dir=self.settings.deployments_dir,
                    index_dir=self.index_dir,
                )
            return self._loanbook

    @property
    def index_dir(self) -> Path | None:
        """``<state>/index``: event indexes of the contracts this app builds itself
        (``OWNER_EVENT_INDEX = False``: plain logs)."""
        if not self._cfg.get("OWNER_EVENT_INDEX", True):
            return None
        from hessian_common.chain.wiring import index_dir

        return index_dir(self.state_dir)

    @property
    def policybook(self) -> Any:
        """The ``PolicyBook`` signing as this app's account (the customer's insurance pages):
        ``OWNER_POLICYBOOK_ADDRESS`` or ``deployments/<chainId>-PolicyBook.json``;
        ``DeploymentNotFound`` / ``ChainUnavailable`` are not cached (as :attr:`loanbook`)."""
        with self._lock:
            if self._policybook is None:
                from hessian_common.chain.wiring import policybook_for

                self._policybook = policybook_for(
                    self.repo.client,
                    address=self._cfg.get("OWNER_POLICYBOOK_ADDRESS"),
                    deployments_dir=self.settings.deployments_dir,
                    index_dir=self.index_dir,
                )
            return self._policybook

    @property
    def insure_dir(self) -> Path:
        """Where the customer's own copies of their insurance applications and drafts live
        (``<state>/insure``)."""
        return self.state_dir / "insure"

    def repo_or_none(self) -> Any | None:
        """:attr:`repo`, or ``None`` while the chain cannot be reached."""
        from hessian_common.errors import ChainUnavailable

        try:
            return self.repo
        except ChainUnavailable:
            return None

    def model_names(self, model_ids: set[int] | list[int]) -> dict[int, str]:
        """Task names of ``model_ids`` (from their specs), also while the chain is down.

        Names never change, so each is read once from the chain and the store and kept in
        :attr:`status_cache`; a model whose spec cannot be read is left out (the pages then
        show "Model #N").
        """
        from hessian_common import owner

        wanted = {int(m) for m in model_ids}
        known = self.status_cache.names()
        missing = wanted - set(known)
        repo = self.repo_or_none() if missing else None
        if repo is not None:
            found = {}
            for model_id in sorted(missing):
                try:
                    view = owner.get_model(repo, self.store, model_id)
                except HessianError:
                    break  # down, or an unknown model: what we have is what we show
                if view.spec is not None:
                    found[model_id] = view.name
            if found:
                self.status_cache.save_names(found)
                known.update(found)
        return {m: known[m] for m in wanted if m in known}

    @property
    def borrow_dir(self) -> Path:
        """Where the borrower's own copies of their applications live (``<state>/borrow``)."""
        return self.state_dir / "borrow"

    @property
    def w3(self) -> Any:
        """The ``Web3`` behind :attr:`repo`."""
        return self.repo.client.w3

    @property
    def store(self) -> Any:
        """The content store (embedded by default)."""
        with self._lock:
            if self._store is None:
                from hessian_common.store import open_store

                self._store = open_store(self.settings)
            return self._store

    def status(self) -> Any:
        """Status-bar probe (never raises, never builds a connection: one short request to
        the node, see :func:`hessian_common.web.status.probe_chain`)."""
        from hessian_common.web import Status, StoreStatus
        from hessian_common.web.status import probe_chain, probe_store

        repo = self._repo
        if repo is not None:
            chain = probe_chain(repo.client.w3, self.settings.rpc_url)
        else:
            chain = probe_chain(lambda: self.w3, self.settings.rpc_url)
        try:
            store = self.store
        except HessianError as exc:
            return Status(chain, StoreStatus(ok=False, error=str(exc)[:200]))
        return Status(chain, probe_store(store))

    # ------------------------------------------------------------------ worker
    def retry_once(self) -> list:
        """One pass of the journal worker (also called by the "retry now" button).

        Outside a request it runs in its own chain scope: a node that does not answer costs
        the pass one short timeout (``WORKER_READ_TIMEOUT``), not one per entry.
        """
        from hessian_common.chain.outage import WORKER_READ_TIMEOUT, chain_scope, current_scope

        if current_scope() is not None:
            return retry_pending(self.journal, self.store, lambda: self.repo)
        with chain_scope(read_timeout=WORKER_READ_TIMEOUT):
            return retry_pending(self.journal, self.store, lambda: self.repo)

    def start_worker(self, interval: float) -> None:
        """Start the background retry thread (idempotent)."""
        if self.worker is None:
            self.worker = RetryWorker(self, interval)
            self.worker.start()


class RetryWorker(threading.Thread):
    """Calls :meth:`OwnerServices.retry_once` every ``interval`` seconds until stopped."""

    def __init__(self, services: OwnerServices, interval: float) -> None:
        super().__init__(name="hessian-owner-journal", daemon=True)
        self.services = services
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.services.retry_once()
            except Exception:  # keep the worker alive; the journal keeps the error
                log.exception("journal worker pass failed")

    def stop(self) -> None:
        """Ask the thread to stop after its current pass."""
        self.stopped.set()


def services(app: Flask | None = None) -> OwnerServices:
    """The app's :class:`OwnerServices`."""
    return (app or current_app).extensions["owner"]
