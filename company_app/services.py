"""Where the app gets its lender, chain and store: built from the config, cached per app.

Config keys (``create_app(test_config)`` or defaults from :func:`load_settings`):

==========================  =====================================================
``HESSIAN_HOME``            base state directory (lender state in ``<home>/company``)
``RPC_URL``                 JSON-RPC endpoint of the chain
``STORE``, ``STORE_DIR``,   content store settings (embedded directory or Kubo)
``KUBO_URL``
``DEPLOYMENTS_DIR``         where ``deployments/<chainId>.json`` records live
``CONTRACT_ADDRESS``        use this ModelRepository instead of the deployment record
``ACCOUNT_DEV_INDEX``       use the local chains' dev account ``i`` (demo only)
``COMPANY_PASSPHRASE``      passphrase of the lender's secrets (else the env var); moved out
                            of ``app.config`` at start so no template can show it
``W3``, ``STORE_OBJ``       ready objects (tests: an eth-tester ``Web3``, a store)
``KEY_SIZES``               key sizes the create form offers
``LOANBOOK_ADDRESS``        use this LoanBook instead of ``deployments/<chainId>-LoanBook.json``
``LOANBOOK_OBJ``            a ready ``LoanBook`` signing as the lender (tests)
``EVENT_INDEX``             read events through ``<home>/company/index`` (default True)
``POLICYBOOK_ADDRESS``      use this PolicyBook instead of ``deployments/<chainId>-PolicyBook.json``
``POLICYBOOK_OBJ``          a ready ``PolicyBook`` signing as the insurer (tests)
==========================  =====================================================

Nothing is contacted at start-up: a chain that is down shows in the status bar, and any
action that needs it gets the 503 page.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, current_app

from hessian_common.config import Settings, load_settings
from hessian_common.web.status import Status, probe_status

_lock = threading.RLock()
T = TypeVar("T")


def _kept(app: Flask, key: str, make: Callable[[], T]) -> T:
    """``app.extensions[key]``, made by ``make()`` on first use, once (under the lock, which
    ``make`` may take again); an error in ``make`` keeps nothing, so the next request tries
    again."""
    obj = app.extensions.get(key)
    if obj is None:
        with _lock:
            obj = app.extensions.get(key)
            if obj is None:
                obj = app.extensions[key] = make()
    return obj


def settings(app: Flask | None = None) -> Settings:
    """The hessian :class:`Settings` for this app (config values win over env and file)."""
    app = app or current_app
    cached = app.extensions.get("company_settings")
    if cached is None:
        cfg = app.config
        cached = load_settings(
            home=cfg.get("HESSIAN_HOME"),
            rpc_url=cfg.get("RPC_URL"),
            store=cfg.get("STORE"),
            store_dir=cfg.get("STORE_DIR"),
            kubo_url=cfg.get("KUBO_URL"),
            deployments_dir=cfg.get("DEPLOYMENTS_DIR"),
        )
        app.extensions["company_settings"] = cached
    return cached


def state_dir(app: Flask | None = None) -> Path:
    """``<home>/company``: the lender's local state and the app's secret key."""
    return settings(app).home / "company"


def event_index_dir(app: Flask | None = None) -> Path | None:
    """``<home>/company/index``: the event indexes of the contracts the app builds itself
    (``EVENT_INDEX = False`` in the config: plain logs)."""
    app = app or current_app
    if not app.config.get("EVENT_INDEX", True):
        return None
    from hessian_common.chain.wiring import index_dir

    return index_dir(state_dir(app))


def store(app: Flask | None = None) -> Any:
    """The content store (a ready one from ``STORE_OBJ``, else opened from the settings)."""
    app = app or current_app
    obj = app.config.get("STORE_OBJ") or app.extensions.get("company_store")
    if obj is None:
        from hessian_common.store import open_store

        obj = open_store(settings(app))
        app.extensions["company_store"] = obj
    return obj


def web3(app: Flask | None = None) -> Any:
    """A connected ``Web3`` (``W3`` from the config, else ``connect(RPC_URL)``).

    Raises ``ChainUnavailable`` when the node does not answer.
    """
    app = app or current_app
    w3 = app.config.get("W3")
    if w3 is not None:
        return w3
    from hessian_common.chain.client import connect

    return connect(settings(app).rpc_url)


def lender(app: Flask | None = None) -> Any:
    """The app's :class:`~hessian_common.tasks.Lender`, built on first use.

    Raises ``ChainUnavailable`` (page 503) when the chain is down; nothing is cached then, so
    the next request tries again.
    """
    app = app or current_app
    if app.config.get("LENDER") is not None:
        return app.config["LENDER"]

    def make() -> Any:
        from hessian_common.tasks import Lender

        return Lender.open(
            web3(app),
            store(app),
            state_root=state_dir(app),
            settings=settings(app),
            contract_address=app.config.get("CONTRACT_ADDRESS"),
            dev_index=app.config.get("ACCOUNT_DEV_INDEX"),
            passphrase=app.extensions.get("company_passphrase"),
            index_dir=event_index_dir(app),
        )

    return _kept(app, "company_lender", make)


def loanbook(app: Flask | None = None) -> Any:
    """The :class:`~hessian_common.chain.loanbook.LoanBook`, signing as the lender.

    ``LOANBOOK_OBJ`` (tests), else ``LOANBOOK_ADDRESS``, else the deployment record
    ``deployments/<chainId>-LoanBook.json`` via ``open_loanbook``. Raises
    ``DeploymentNotFound`` when there is none (the lending pages show how to deploy one);
    nothing is cached then, so a LoanBook deployed later is found on the next request.
    """
    app = app or current_app
    if app.config.get("LOANBOOK_OBJ") is not None:
        return app.config["LOANBOOK_OBJ"]

    def make() -> Any:
        from hessian_common.chain.wiring import loanbook_for

        return loanbook_for(
            lender(app).repo.client,
            address=app.config.get("LOANBOOK_ADDRESS"),
            deployments_dir=settings(app).deployments_dir,
            index_dir=event_index_dir(app),
        )

    return _kept(app, "company_loanbook", make)


def desk(app: Flask | None = None) -> Any:
    """The lender's :class:`~hessian_common.lending.desk.LendingDesk` (the app's lender on the
    LoanBook of :func:`loanbook`); raises ``DeploymentNotFound`` without a LoanBook."""
    app = app or current_app

    def make() -> Any:
        from hessian_common.lending.desk import LendingDesk

        return LendingDesk(lender(app), loanbook(app))

    return _kept(app, "company_desk", make)


def policybook(app: Flask | None = None) -> Any:
    """The :class:`~hessian_common.chain.policybook.PolicyBook`, signing as the insurer:
    ``POLICYBOOK_OBJ`` (tests), else ``POLICYBOOK_ADDRESS``, else
    ``deployments/<chainId>-PolicyBook.json``; ``DeploymentNotFound`` when there is none
    (not cached then: one deployed later is found on the next request)."""
    app = app or current_app
    if app.config.get("POLICYBOOK_OBJ") is not None:
        return app.config["POLICYBOOK_OBJ"]

    def make() -> Any:
        from hessian_common.chain.wiring import policybook_for

        return policybook_for(
            lender(app).repo.client,
            address=app.config.get("POLICYBOOK_ADDRESS"),
            deployments_dir=settings(app).deployments_dir,
            index_dir=event_index_dir(app),
        )

    return _kept(app, "company_policybook", make)


def insurance_desk(app: Flask | None = None) -> Any:
    """The insurer's :class:`~hessian_common.insurance.underwriting.InsuranceDesk` (the app's
    lender on :func:`policybook`); ``DeploymentNotFound`` without a PolicyBook."""
    app = app or current_app

    def make() -> Any:
        from hessian_common.insurance.underwriting import InsuranceDesk

        return InsuranceDesk(lender(app), policybook(app))

    return _kept(app, "company_insurance_desk", make)


def status(app: Flask) -> Status:
    """Probe the chain and the store for the status bar."""
    if app.config.get("W3") is not None:
        w3: Any = app.config["W3"]
    else:

        def w3() -> Any:
            return web3(app)

    def st() -> Any:
        return store(app)

    return probe_status(w3, st, url=settings(app).rpc_url)


def header_account(app: Flask) -> Any:
    """The account shown in the top bar, or None: only once the lender is connected and the
    chain answers (a page never fails because of the header)."""
    from hessian_common.errors import HessianError

    obj = app.config.get("LENDER") or app.extensions.get("company_lender")
    if obj is None:
        return None
    try:
        return obj.account_summary()
    except HessianError:
        return None
