"""Data room: schema files, the loader for real exports, preprocessing, the generator.

Public face (see ``docs/architecture.md``, "data")::

    from hessian_common.data import load_schema, load_file, Preprocessor, generate_split

Imports are lazy so that ``import hessian_common.data`` does not pull in pandas.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "Schema": "schema",
    "ColumnSpec": "schema",
    "DerivedSpec": "schema",
    "LabelSpec": "schema",
    "load_schema": "schema",
    "builtin_schemas": "schema",
    "is_leakage": "schema",
    "LoadedData": "loader",
    "Problem": "loader",
    "load_file": "loader",
    "load_bytes": "loader",
    "load_many": "loader",
    "Preprocessor": "preprocess",
    "generate_loans": "generator",
    "write_export": "generator",
    "generate_split": "generator",
    "split_frame": "generator",
    "generate_applications": "german",
    "write_applications": "german",
    "generate_policies": "insurance",
    "write_policies": "insurance",
    "true_claim_probability": "insurance",
    "expected_severity": "insurance",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib  # the lazy loader itself

        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
