"""The lender's hold-out: how it is split off, and the canonical bytes the commitment binds.

Split: stratified on the label (scikit-learn ``train_test_split``), deterministic in the
seed, so the same data and seed always give the same seed / hold-out rows.

Commitment (made at creation, checked at the reveal and by every audit)::

    testSetCid = CID(test_set_bytes(X_hold, y_hold, names))
    commitment = keccak256(testSetCid || salt)
"""

from __future__ import annotations

import csv
import io

import numpy as np

from hessian_common.untrusted import LIMITS, reading


def split_indices(y: np.ndarray, holdout_fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """Stratified split of row indices into (seed, hold-out); deterministic in ``seed``."""
    from sklearn.model_selection import train_test_split  # heavy optional: scikit-learn

    idx = np.arange(len(y))
    seed_idx, hold_idx = train_test_split(
        idx, test_size=float(holdout_fraction), random_state=int(seed), stratify=y
    )
    return np.sort(seed_idx), np.sort(hold_idx)


def test_set_bytes(X: np.ndarray, y: np.ndarray, feature_names: list[str]) -> bytes:
    """The canonical bytes of the hold-out that the commitment binds.

    A CSV: header ``label,<feature names>``, one row per loan of the *preprocessed* design
    matrix (floats as ``repr``, exact round-trip), ``\\n`` line ends. Anyone can read it back
    with :func:`parse_test_set` and score a model on it without the lender's raw data layout.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["label", *feature_names])
    for label, row in zip(np.asarray(y).astype(int), np.asarray(X, dtype=float), strict=True):
        writer.writerow([int(label), *(repr(float(v)) for v in row)])
    return buf.getvalue().encode("utf-8")


test_set_bytes.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def parse_test_set(data: bytes) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Inverse of :func:`test_set_bytes`: ``(X, y, feature_names)``.

    A revealed test set is a stranger's blob for an auditor: every failure is an
    :class:`~hessian_common.errors.UntrustedBlobError` (a :class:`DataError`); labels must be
    0/1, features finite, and the rows at most ``LIMITS.max_test_rows``.
    """
    with reading("test set is not in the expected CSV form"):
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
        header, body = rows[0], rows[1:]
        if not header or header[0] != "label" or not body:
            raise ValueError("expected a 'label' column and at least one row")
        if len(body) > LIMITS.max_test_rows:
            raise ValueError(f"{len(body)} rows, more than {LIMITS.max_test_rows}")
        if any(len(r) != len(header) for r in body):
            raise ValueError("rows and header have different widths")
        y = np.array([int(r[0]) for r in body], dtype=int)
        X = np.array([[float(v) for v in r[1:]] for r in body], dtype=float)
        if not set(np.unique(y)) <= {0, 1}:
            raise ValueError("labels must be 0 or 1")
        if not np.all(np.isfinite(X)):
            raise ValueError("features must be finite numbers")
    return X, y, header[1:]
