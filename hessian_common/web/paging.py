"""Paged views in both apps: ``?page=N`` (and ``?per_page=``) read the same way, and one pager.

A view reads its page with :func:`page_arg` / :func:`per_page_arg`, asks the library for that
page (a :class:`hessian_common.chain.pages.Page`), and the template shows it with the macro
``pager(page, what)`` of ``web/_pager.html``: "showing a–b of N", links to the first, previous,
next and last pages (:func:`page_url` keeps the other query arguments). A page number past the
last shows the last page, and says so.
"""

from __future__ import annotations

from flask import Flask, request, url_for

from hessian_common.chain.pages import DEFAULT_PER_PAGE, page_number, per_page_of


def page_arg(param: str = "page") -> int:
    """``?<param>=`` of the current request as a page number (1 when absent or unreadable)."""
    return page_number(request.args.get(param), 1)


def per_page_arg(default: int = DEFAULT_PER_PAGE) -> int:
    """``?per_page=`` capped to ``1..MAX_PER_PAGE`` (``default`` when absent)."""
    return per_page_of(request.args.get("per_page"), default)


def page_url(number: int, param: str = "page") -> str:
    """The current page's URL with ``<param>=number`` (other arguments kept)."""
    args = request.args.to_dict()
    args[param] = str(int(number))
    return url_for(request.endpoint or "", **(request.view_args or {}), **args)


def init_paging(app: Flask) -> None:
    """Make :func:`page_url` a template global (``init_web`` does it for both apps)."""
    app.jinja_env.globals.setdefault("page_url", page_url)


__all__ = ["init_paging", "page_arg", "page_url", "per_page_arg"]
