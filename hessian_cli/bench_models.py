"""``hessian bench models``: richer classifiers side by side, same split, same run.

One generated Lending Club file (``generate_loans``, the real export layout, read back by the
loader) is split as ``hessian train --data FILE`` splits it: the lender's hold-out (20 %) and
seed rows (10 %), the rest cut among the owners. The lender fits the schema's preprocessing on
its seed rows, with the basis expansions of the built-in schema (restricted cubic splines of
FICO, income, DTI and revolving utilisation, a missing indicator of employment length:
:mod:`hessian_common.data.basis`); the plain columns are the same preprocessing without them.
Every model learns from the seed and owner rows and is scored on the same hold-out:

- centralized plain LR: scikit-learn ``LogisticRegression`` (C = 1) on the plain columns;
- centralized expanded LR: the same on the expanded columns;
- gradient boosting: scikit-learn ``HistGradientBoostingClassifier`` (defaults) on the raw
  features (numbers as they are, categories as categories, missing values as missing);
- federated expanded (and plain): the encrypted protocol (:func:`run_federated`: curvature
  prior, each owner's encrypted row-weighted Newton step once, the lender's acceptance rule).

Calibration of each: Brier score and expected calibration error (10 equal-count bins) of its
probabilities, raw and after Platt scaling cross-fitted on the hold-out (5 folds, out of
fold), as the lender deploys a model (:func:`hessian_common.lending.calibration.calibrate`).
``ratio`` = federated expanded AUC ÷ the best centralized AUC. ``--repeats K`` runs it on K
generated files and reports the means (a 7,800-row hold-out still moves an AUC by ±0.005).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import numpy as np


def _report(y: np.ndarray, p: np.ndarray, s: np.ndarray | None = None) -> dict[str, float]:
    """AUC, Brier, ECE, log loss of ``p``; with a linear score ``s``, after Platt too."""
    from hessian_common.learning.calibration import calibrate, calibration_report

    raw = calibration_report(y, p)
    if s is None:
        s = np.log(np.clip(p, 1e-12, 1 - 1e-12) / np.clip(1 - p, 1e-12, 1))
    _, _, platt, _ = calibrate(s, y, folds=5)
    return {
        "auc": raw.auc,
        "brier": raw.brier,
        "ece": raw.ece,
        "log_loss": raw.log_loss,
        "brier_platt": platt.brier,
        "ece_platt": platt.ece,
    }


def _lr(X_tr: np.ndarray, y_tr: np.ndarray, X_te: np.ndarray) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1.0, max_iter=5000).fit(X_tr[:, 1:], y_tr)
    return model.predict_proba(X_te[:, 1:])[:, 1]


def _hgb(F_tr: Any, y_tr: np.ndarray, F_te: Any, seed: int) -> np.ndarray:
    from sklearn.ensemble import HistGradientBoostingClassifier

    def typed(frame: Any) -> Any:
        out = frame.copy()
        for col in out.columns:
            if out[col].dtype == object:
                out[col] = out[col].astype("category")
        return out

    tr, te = typed(F_tr), typed(F_te)
    for col in tr.columns:  # the same category levels on both sides
        if str(tr[col].dtype) == "category":
            levels = sorted(set(tr[col].dropna()) | set(te[col].dropna()))
            tr[col] = tr[col].cat.set_categories(levels)
            te[col] = te[col].cat.set_categories(levels)
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
    return model.fit(tr, y_tr).predict_proba(te)[:, 1]


def compare_models(
    rows: int = 40_000,
    owners: int = 10,
    seed: int = 0,
    key_bits: int = 2048,
    workers: int | None = None,
    federated_plain: bool = True,
    progress: Any = None,
) -> dict[str, Any]:
    """Run the comparison (module docstring) and return the ``--json`` object."""
    from hessian_cli.train import _split_rows
    from hessian_common.data import Preprocessor, load_file
    from hessian_common.data.generator import generate_loans, write_export
    from hessian_common.learning.federated import run_federated

    say = progress or (lambda msg: None)
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hessian-models-") as tmp:
        path = Path(tmp) / "loans.csv"
        write_export(generate_loans(rows, seed), path, "original")
        data = load_file(path)
    parts, s_idx, h_idx = _split_rows(data.rows, owners, seed)
    train_idx = np.concatenate([s_idx, *parts])
    F = data.features.reset_index(drop=True)
    y = np.asarray(data.y).astype(int)
    pre = Preprocessor(data.schema).fit(F.iloc[s_idx], y[s_idx])
    views = {"expanded": pre.transform(F), "plain": pre.plain().transform(F)}
    y_hold = y[h_idx]
    models: dict[str, dict[str, Any]] = {}
    timings: dict[str, float] = {}

    for view, label in (("plain", "centralized plain LR"), ("expanded", "centralized expanded LR")):
        say(f"{label} ...")
        t = time.perf_counter()
        X = views[view]
        p = _lr(X[train_idx], y[train_idx], X[h_idx])
        timings[label] = time.perf_counter() - t
        models[label] = {"kind": "centralized", "features": X.shape[1], **_report(y_hold, p)}
    label = "gradient boosting (HistGradientBoostingClassifier)"
    say(f"{label} ...")
    t = time.perf_counter()
    p = _hgb(F.iloc[train_idx], y[train_idx], F.iloc[h_idx], seed)
    timings[label] = time.perf_counter() - t
    models[label] = {"kind": "centralized", "features": F.shape[1], **_report(y_hold, p)}

    fed_views = ["expanded", "plain"] if federated_plain else ["expanded"]
    for view in fed_views:
        label = f"federated encrypted {view} LR"
        say(f"{label} ({key_bits}-bit key, {owners} owners) ...")
        X = views[view]
        t = time.perf_counter()
        fed = run_federated(
            [(X[p], y[p]) for p in parts], X[s_idx], y[s_idx], X[h_idx], y_hold,
            rounds=1, key_bits=key_bits, workers=workers, seed=seed,
        )  # fmt: skip
        timings[label] = time.perf_counter() - t
        s = X[h_idx] @ fed.weights
        models[label] = {
            "kind": "federated",
            "features": X.shape[1],
            "accepted": fed.accepted,
            "submissions": fed.submissions,
            **_report(y_hold, 1 / (1 + np.exp(-s)), s),
        }

    central = {k: v for k, v in models.items() if v["kind"] == "centralized"}
    best = max(central, key=lambda k: central[k]["auc"])
    fed_auc = models["federated encrypted expanded LR"]["auc"]
    return {
        "models": models,
        "federated_auc": fed_auc,
        "best_centralized_auc": central[best]["auc"],
        "best_centralized_model": best,
        "ratio": fed_auc / central[best]["auc"],
        "expansion_gain_centralized": models["centralized expanded LR"]["auc"]
        - models["centralized plain LR"]["auc"],
        "split": {
            "rows": int(data.rows),
            "owners": owners,
            "rows_per_owner": int(np.mean([len(p) for p in parts])),
            "seed_rows": len(s_idx),
            "holdout_rows": len(h_idx),
            "seed": seed,
            "key_bits": key_bits,
            "features_plain": views["plain"].shape[1],
            "features_expanded": views["expanded"].shape[1],
            "expansions": [n for n in pre.feature_names_ if n not in pre.plain().feature_names_],
        },
        "timings": {**timings, "total": time.perf_counter() - t_all},
    }


def compare_repeated(
    repeats: int = 1,
    rows: int = 40_000,
    owners: int = 10,
    seed: int = 0,
    key_bits: int = 2048,
    workers: int | None = None,
    federated_plain: bool = True,
    progress: Any = None,
) -> dict[str, Any]:
    """:func:`compare_models` on ``repeats`` generated files (seeds ``seed``, ``seed + 1``,
    ...); with more than one, every figure of ``models`` is the mean over them (each run
    under ``runs``), ``ratio`` the mean federated AUC ÷ the best mean centralized AUC and
    ``ratio_min`` the worst run's own ratio."""
    say = progress or (lambda msg: None)
    runs = []
    for k in range(repeats):
        say(f"run {k + 1}/{repeats} (seed {seed + k})")
        runs.append(compare_models(rows, owners, seed + k, key_bits, workers, federated_plain,
                                   progress))  # fmt: skip
    if repeats == 1:
        return {**runs[0], "ratio_min": runs[0]["ratio"], "repeats": 1}
    models = {
        name: {
            key: (float(np.mean([r["models"][name][key] for r in runs]))
                  if isinstance(value, float) else value)
            for key, value in first.items()
        }
        for name, first in runs[0]["models"].items()
    }  # fmt: skip
    central = {k: v for k, v in models.items() if v["kind"] == "centralized"}
    best = max(central, key=lambda k: central[k]["auc"])
    fed_auc = models["federated encrypted expanded LR"]["auc"]
    return {
        "models": models,
        "federated_auc": fed_auc,
        "best_centralized_auc": central[best]["auc"],
        "best_centralized_model": best,
        "ratio": fed_auc / central[best]["auc"],
        "ratio_min": min(r["ratio"] for r in runs),
        "expansion_gain_centralized": models["centralized expanded LR"]["auc"]
        - models["centralized plain LR"]["auc"],
        "repeats": repeats,
        "split": {**runs[0]["split"], "seed": [r["split"]["seed"] for r in runs]},
        "runs": runs,
        "timings": {"total": sum(r["timings"]["total"] for r in runs)},
    }


@click.command("models")
@click.option("--rows", type=click.IntRange(1000, 2_000_000), default=40_000, show_default=True,
              help="generated Lending Club loans")  # fmt: skip
@click.option("--owners", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--repeats", type=click.IntRange(1, 100), default=1, show_default=True,
              help="generated files (seeds seed, seed+1, ...); figures: their means")  # fmt: skip
@click.option("--key-bits", type=click.IntRange(256, 8192), default=2048, show_default=True)
@click.option("--workers", type=click.IntRange(1, 256), help="processes (default: one per core)")
@click.option("--no-federated-plain", is_flag=True,
              help="skip the federated model on the plain columns")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def bench_models(
    rows: int,
    owners: int,
    seed: int,
    repeats: int,
    key_bits: int,
    workers: int | None,
    no_federated_plain: bool,
    as_json: bool,
) -> None:
    """Plain and expanded logistic regression, gradient boosting and the federated encrypted
    model on the same split, in the same run: AUC and calibration, and federated ÷ best."""
    say = None if as_json else (lambda msg: click.echo(msg, err=True))
    result = compare_repeated(
        repeats, rows, owners, seed, key_bits, workers,
        federated_plain=not no_federated_plain, progress=say,
    )  # fmt: skip
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    sp = result["split"]
    means = f", means over {repeats} files" if repeats > 1 else ""
    click.echo(
        f"\n## Classifiers on {sp['rows']:,} generated loans (seed {sp['seed']}{means}): "
        f"{sp['owners']} owners of {sp['rows_per_owner']} rows, {sp['seed_rows']} seed rows, "
        f"{sp['holdout_rows']} hold-out rows; {sp['key_bits']}-bit key\n"
    )
    click.echo("| model | d | AUC | Brier | ECE | Brier (Platt) | ECE (Platt) |")
    click.echo("|---|---:|---:|---:|---:|---:|---:|")
    for name, m in result["models"].items():
        click.echo(
            f"| {name} | {m['features']} | {m['auc']:.4f} | {m['brier']:.4f} | {m['ece']:.4f} "
            f"| {m['brier_platt']:.4f} | {m['ece_platt']:.4f} |"
        )
    click.echo(
        f"\nfederated expanded AUC {result['federated_auc']:.4f} ÷ best centralized "
        f"({result['best_centralized_model']}) {result['best_centralized_auc']:.4f} = "
        f"ratio {result['ratio']:.4f} (worst run {result['ratio_min']:.4f}); expansions: "
        f"{', '.join(sp['expansions'])}"
    )
