"""Misbehaving data owners: how each kind turns honest loan records into bad ones.

Every function takes and returns a DataFrame of raw loan records in the Lending Club export
layout (the generator's frames: one row per loan, a ``loan_status`` column), so the result is
written with the data room's own writer and goes through the real loader, preprocessing and
digest like any honest file. The kinds:

``label_flip``
    Same rows, labels inverted: ``Fully Paid <-> Charged Off`` (``Default`` becomes ``Fully
    Paid``; the two "Does not meet the credit policy. Status:..." values swap too). The update
    pushes the model the wrong way.
``noise``
    Random-noise rows: every column is shuffled independently across the rows, labels too, so
    each column keeps a realistic distribution (the file passes validation) but no row carries
    any relation between features and default.
``replay``
    An exact copy of an earlier owner's file: same bytes, same dataset digest. The contract
    rejects the second ``submitUpdate`` of a digest to one model.
``tiny``
    A handful of the owner's own honest rows (``tiny_rows``, 20 by default).
``copy``
    An earlier owner's rows, reshuffled into another order. Whether the contract catches it
    depends on the data room's digest: a digest of the canonical (sorted) records is the same
    for any row order, a digest of the file is not. The simulation records what happened.

The kinds of the hostile-owner issue run a *tampered* client (:mod:`.tampered`) on the
owner's own honest file:

``crash``
    Submits the CID of a blob that would crash or stall a naive evaluation: ~200 kB of nested
    ``[`` (the first crash owner), or a CID string that is no CID (the second, alternating).
``copy_other``
    Re-submits an earlier honest owner's update: the same ciphertexts, rows and digest,
    re-signed with its own key (so the blob is its own; only the plaintext is a copy).
``inflate_rows``
    Claims :data:`INFLATE_FACTOR` times the rows it has: its update is computed on its rows
    repeated that many times (pulling the model harder), and the row pseudonyms are padded with
    random ones so they do not repeat.
``frontrun``
    Watches the pending submissions and sends the next honest owner's (CID, digest, rows)
    first, from its own account.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hessian_common.errors import ConfigError, DataError

KINDS = (
    "label_flip", "noise", "replay", "tiny", "copy", "crash", "copy_other", "inflate_rows",
    "frontrun",
)  # fmt: skip
"""Every misbehaviour the simulation knows, in the order they are handed out."""

NEW_KINDS = ("crash", "copy_other", "inflate_rows", "frontrun")
"""The hostile owners of issue 13 (``hessian simulate --bad-kinds crash,copy_other,...``)."""

NEEDS_VICTIM = frozenset({"replay", "copy", "copy_other", "frontrun"})
"""Kinds that reuse an honest owner's data or update (``frontrun``: the next one to arrive;
the others: one who arrived earlier)."""

TAMPERED = frozenset({"replay", "copy", "crash", "copy_other", "inflate_rows", "frontrun"})
"""Kinds that run a tampered client instead of the owner workflow."""

OWN_DATA = frozenset({"honest", "label_flip", "noise", "tiny", "inflate_rows"})
"""Kinds whose update is computed from a file of their own (valued by LOO and Shapley)."""

INFLATE_FACTOR = 10
"""How many times its rows an ``inflate_rows`` owner claims."""

DEEP_NESTING = 200_000
"""Bytes of ``[`` in a ``crash`` owner's blob (deep enough to overflow a naive parser)."""

_FLIP = {
    "Fully Paid": "Charged Off",
    "Charged Off": "Fully Paid",
    "Default": "Fully Paid",
    "Does not meet the credit policy. Status:Fully Paid": (
        "Does not meet the credit policy. Status:Charged Off"
    ),
    "Does not meet the credit policy. Status:Charged Off": (
        "Does not meet the credit policy. Status:Fully Paid"
    ),
}


def parse_kinds(text: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """``"label_flip,noise"`` or a list -> a validated tuple of kinds (default: all).

    Raises
    ------
    ConfigError
        Naming any unknown kind.
    """
    if text is None or text == "" or text == ():
        return KINDS
    items = text.split(",") if isinstance(text, str) else list(text)
    kinds = tuple(k.strip().lower().replace("-", "_") for k in items if k.strip())
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ConfigError(f"unknown misbehaviour kind(s) {unknown or items}; known: {KINDS}")
    return kinds


def _status(frame: pd.DataFrame) -> pd.Series:
    if "loan_status" not in frame.columns:
        raise DataError("loan records have no 'loan_status' column")
    return frame["loan_status"]


def label_flip(frame: pd.DataFrame) -> pd.DataFrame:
    """The same records with resolved labels inverted (see module docstring)."""
    out = frame.copy()
    out["loan_status"] = _status(frame).map(lambda s: _FLIP.get(s, s))
    return out


def noise(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Each column shuffled independently across rows: realistic marginals, no signal."""
    _status(frame)
    out = frame.copy()
    for col in out.columns:
        if col == "id":
            continue
        out[col] = out[col].to_numpy()[rng.permutation(len(out))]
    return out.reset_index(drop=True)


def tiny(frame: pd.DataFrame, rng: np.random.Generator, rows: int = 20) -> pd.DataFrame:
    """``rows`` records drawn from the owner's own (honest) records."""
    if rows < 1:
        raise ConfigError(f"tiny data sets need at least 1 row, not {rows}")
    _status(frame)
    take = rng.choice(len(frame), size=min(rows, len(frame)), replace=False)
    return frame.iloc[np.sort(take)].reset_index(drop=True)


def reshuffled_copy(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Another owner's records, the same rows in a different order."""
    _status(frame)
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
