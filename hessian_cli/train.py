"""``hessian train`` (federated vs centralized, in one process)."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

import click

RULE_CHOICE = click.Choice(["gradient", "epochs", "newton"])
DATASETS = {"lending_club": 20_000, "german_credit": 1_000, "insurance_claims": 20_000}
"""Generated data sets ``--dataset`` knows, with their default ``--rows``."""


# --------------------------------------------------------------------------- data


def _split_rows(n: int, owners: int, seed: int) -> tuple[list[Any], Any, Any]:
    """Shuffle ``range(n)`` and cut it into owner parts, the lender's seed (10%) and hold-out
    (20%)."""
    import numpy as np

    idx = np.random.default_rng(seed).permutation(n)
    n_hold, n_seed = max(1, n // 5), max(1, n // 10)
    hold, seed_idx, rest = idx[:n_hold], idx[n_hold : n_hold + n_seed], idx[n_hold + n_seed :]
    if len(rest) < owners:
        raise click.ClickException(f"{n} usable rows are too few for {owners} owners")
    return list(np.array_split(rest, owners)), seed_idx, hold


def _load(path: Path, schema: str | None) -> Any:
    from hessian_common.data import load_file

    return load_file(path, schema or "lending_club")


def _write_one(dataset: str, rows: int, seed: int, path: Path) -> None:
    """``rows`` generated records of a one-file data set (not Lending Club) to ``path``."""
    if dataset == "german_credit":
        from hessian_common.data.german import generate_applications, write_applications

        write_applications(generate_applications(rows, seed), path)
    else:
        from hessian_common.data.insurance import generate_policies, write_policies

        write_policies(generate_policies(rows, seed), path)


def _generate(dataset: str, rows: int, owners: int, seed: int, partition: str, workdir: Path):
    """Write generated data to ``workdir``: a split directory (Lending Club) or one file."""
    if dataset != "lending_club":
        path = workdir / f"{dataset}.csv"
        _write_one(dataset, rows, seed, path)
        return path, dataset
    from hessian_common.data import generate_split

    generate_split(workdir, rows=rows, owners=owners, seed=seed, partition=partition)
    return workdir, None


def _fresh(dataset: str, rows: int, seed: int, workdir: Path) -> Path:
    """``rows`` newly generated loans (or applications) in one file, for a fresh test set."""
    path = workdir / "fresh.csv"
    if dataset != "lending_club":
        _write_one(dataset, rows, seed, path)
    else:
        from hessian_common.data.generator import generate_loans, write_export

        write_export(generate_loans(rows, seed), path, "original")
    return path


def _prepare(
    data: Path | None,
    schema: str | None,
    owners: int,
    rows: int,
    seed: int,
    workdir: Path,
    *,
    dataset: str = "lending_club",
    partition: str = "iid",
    plain: bool = False,
    test_data: Path | None = None,
    test_rows: int = 0,
) -> tuple[list[tuple[Any, Any]], tuple[Any, Any], tuple[Any, Any], dict[str, Any]]:
    """Owners' (X, y), the lender's seed and hold-out, preprocessed with the lender's fit.

    The lender fits the preprocessing (and its basis expansions) on its seed rows; ``plain``
    leaves the expansions out (the schema's plain columns only). Fresh loans neither side saw
    (``test_data``, a file read with the same schema, or ``test_rows`` newly generated ones)
    come back preprocessed in ``info["test"]`` as ``(X, y)``.
    """
    from hessian_common.data import Preprocessor

    info: dict[str, Any] = {}
    data_generated = data is None
    if data is None:
        data, generated_schema = _generate(dataset, rows, owners, seed, partition, workdir)
        schema = schema or generated_schema
        info["data"] = f"generated {dataset} (rows={rows}, seed={seed}, partition={partition})"
    else:
        info["data"] = str(data)
    if data.is_dir():
        manifest_path = data / "manifest.json"
        if not manifest_path.is_file():
            raise click.ClickException(f"{data}: no manifest.json (not a generated split)")
        try:
            files = json.loads(manifest_path.read_text())["files"]
        except (ValueError, KeyError, TypeError):
            raise click.ClickException(f"{manifest_path}: not a manifest with 'files'") from None
        owner_files = [data / f for f in sorted(files) if f.startswith("owner_")]
        if len(owner_files) != owners:
            raise click.ClickException(
                f"{data} holds {len(owner_files)} owners' files; --owners is {owners}"
            )
        seed_data = _load(data / "lender_seed.csv", schema)
        hold_data = _load(data / "lender_holdout.csv", schema)
        owner_data = [_load(f, schema) for f in owner_files]
        pre = Preprocessor(seed_data.schema).fit(seed_data.features, seed_data.y)
        pre = pre.plain() if plain else pre
        own = [(pre.transform(o.features), o.y) for o in owner_data]
        seed_xy = (pre.transform(seed_data.features), seed_data.y)
        hold_xy = (pre.transform(hold_data.features), hold_data.y)
    else:
        loaded = _load(data, schema)
        parts, s_idx, h_idx = _split_rows(loaded.rows, owners, seed)
        feats = loaded.features.reset_index(drop=True)
        pre = Preprocessor(loaded.schema).fit(feats.iloc[s_idx], loaded.y[s_idx])
        pre = pre.plain() if plain else pre
        X = pre.transform(feats)
        own = [(X[p], loaded.y[p]) for p in parts]
        seed_xy, hold_xy = (X[s_idx], loaded.y[s_idx]), (X[h_idx], loaded.y[h_idx])
    if test_rows and data_generated:
        test_data = _fresh(dataset, test_rows, 10_000 + seed, workdir)
    if test_data is not None:
        fresh = _load(test_data, schema)
        info["test"] = (pre.transform(fresh.features), fresh.y)
    info["features"] = len(pre.feature_names_)
    info["schema"] = pre.schema_.name
    info["rows"] = {
        "owners": [len(y) for _, y in own],
        "seed": len(seed_xy[1]),
        "holdout": len(hold_xy[1]),
    }
    return own, seed_xy, hold_xy, info


# --------------------------------------------------------------------------- train


@click.command()
@click.option("--owners", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option(
    "--rounds",
    type=click.IntRange(1, 1000),
    default=1,
    show_default=True,
    help="passes over the owners (1: each owner submits once, as on chain)",
)
@click.option("--rule", type=RULE_CHOICE, default="newton", show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), help="learning rate η")
@click.option("--epochs", type=click.IntRange(1, 10_000), help="local epochs K (rule epochs)")
@click.option("--mu", type=click.FloatRange(min=0, min_open=True), help="proximal weight μ")
@click.option("--l2", type=click.FloatRange(min=0), help="ridge penalty λ per row")
@click.option(
    "--ridge",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="total ridge Λ of the lender's curvature prior",
)
@click.option("--key-bits", type=click.IntRange(256, 8192), default=2048, show_default=True)
@click.option(
    "--rows",
    type=click.IntRange(100, 10_000_000),
    help="generated rows (default: 20,000 loans or policies, 1,000 applications)",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="data and split seed of the first split"
)
@click.option(
    "--splits",
    type=click.IntRange(1, 1000),
    default=1,
    show_default=True,
    help="repeat over this many random splits (seeds seed, seed+1, ...)",
)
@click.option("--data", "data", type=click.Path(exists=True, path_type=Path))
@click.option("--schema", help="schema name or TOML path (default: lending_club)")
@click.option(
    "--dataset",
    type=click.Choice(sorted(DATASETS)),
    default="lending_club",
    show_default=True,
    help="generated data when no --data",
)
@click.option(
    "--partition",
    type=click.Choice(["iid", "state", "grade"]),
    default="iid",
    show_default=True,
    help="how generated Lending Club owners differ",
)
@click.option("--plain", is_flag=True, help="leave the schema's basis expansions out")
@click.option("--test-rows", type=click.IntRange(0, 10_000_000), default=0, show_default=True,
              help="also score both models on this many freshly generated loans")  # fmt: skip
@click.option("--test-data", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="also score both models on this file's loans (same schema)")  # fmt: skip
@click.option(
    "--acceptance",
    type=click.Choice(["lender", "threshold", "all"]),
    default="lender",
    show_default=True,
    help="the lender's rule (paired tests and step check), the old threshold rule, or every update",
)
@click.option(
    "--plain-newton",
    is_flag=True,
    help="owners take the plain μ step instead of weighing their rows",
)
@click.option("--metric", type=click.Choice(["auc", "accuracy"]), default="auc", show_default=True)
@click.option("--tolerance", type=click.FloatRange(min=0), default=0.0, show_default=True)
@click.option("--workers", type=click.IntRange(1, 256), help="processes (default: one per core)")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def train(
    owners: int,
    rounds: int,
    rule: str,
    lr: float | None,
    epochs: int | None,
    mu: float | None,
    l2: float | None,
    ridge: float,
    key_bits: int,
    rows: int | None,
    seed: int,
    splits: int,
    data: Path | None,
    schema: str | None,
    dataset: str,
    partition: str,
    plain: bool,
    test_rows: int,
    test_data: Path | None,
    acceptance: str,
    plain_newton: bool,
    metric: str,
    tolerance: float,
    workers: int | None,
    as_json: bool,
) -> None:
    """Federated training in one process, against a centralized scikit-learn model.

    Runs the protocol minus the chain: the lender fits the preprocessing and an initial model
    on its seed rows, publishes its curvature prior and encrypts the model; each owner
    computes an encrypted affine update; the lender decrypts, judges it against the current
    model on its hold-out and accepts or rejects. With no --data it generates its own
    (--dataset); --data FILE is split among the owners, the lender's seed (10%) and hold-out
    (20%), read with --schema (a built-in name or a TOML file); --data DIR is a split written
    by `hessian data generate`. --splits K repeats it over K random splits (seeds seed ..
    seed+K−1) and reports each and their mean and worst ratio.
    """
    import tempfile

    from hessian_common.errors import HessianError
    from hessian_common.learning.federated import centralized_baseline, run_federated

    params: dict[str, float] = {}
    allowed = {"gradient": {"lr", "l2"}, "epochs": {"lr", "epochs", "l2"}, "newton": {"mu", "l2"}}
    for name, value in (("lr", lr), ("epochs", epochs), ("mu", mu), ("l2", l2)):
        if value is not None:
            if name not in allowed[rule]:
                raise click.UsageError(f"--{name} does not apply to rule {rule!r}")
            params[name] = value
    if data is not None and data.is_dir() and splits > 1:
        raise click.UsageError("--splits needs --data FILE or generated data, not a split DIR")
    n_rows = rows or DATASETS[dataset]

    def progress(entry: dict[str, Any]) -> None:
        if not as_json:
            mark = "accepted" if entry["accepted"] else "rejected"
            click.echo(
                f"round {entry['round']} owner {entry['owner']:>3}: {metric} "
                f"{entry['score']:.4f} ({entry['gain']:+.4f}) {mark}",
                err=True,
            )

    runs = []
    for k in range(splits):
        split_seed = seed + k
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="hessian-train-") as tmp:
            own, seed_xy, hold_xy, info = _prepare(
                data, schema, owners, n_rows, split_seed, Path(tmp),
                dataset=dataset, partition=partition, plain=plain, test_data=test_data,
                test_rows=test_rows,
            )  # fmt: skip
        t_data = time.perf_counter() - t0
        t0 = time.perf_counter()
        try:
            fed = run_federated(
                own, *seed_xy, *hold_xy, rounds=rounds, rule=rule, params=params,
                key_bits=key_bits, metric=metric, tolerance=tolerance, workers=workers,
                seed=split_seed, progress=progress, acceptance=acceptance, ridge=ridge,
                row_weighted=not plain_newton,
            )  # fmt: skip
        except HessianError as exc:
            raise click.ClickException(str(exc)) from None
        t_fed = time.perf_counter() - t0
        t0 = time.perf_counter()
        central = centralized_baseline(own, *seed_xy, *hold_xy)
        t_central = time.perf_counter() - t0
        test = None
        if "test" in info:
            from hessian_common.learning.metrics import score_weights

            X_t, y_t = info["test"]
            fed_t = score_weights(X_t, y_t, fed.weights)["auc"]
            cen_t = centralized_baseline(own, *seed_xy, X_t, y_t)["auc"]
            test = {"rows": len(y_t), "federated_auc": fed_t, "centralized_auc": cen_t,
                    "auc_ratio": fed_t / cen_t}  # fmt: skip
        runs.append({
            "seed": split_seed,
            "federated": fed.final,
            "initial": fed.initial,
            "centralized": central,
            "auc_ratio": fed.final["auc"] / central["auc"],
            "submissions": fed.submissions,
            "accepted": fed.accepted,
            "rows": info["rows"],
            "features": info["features"],
            "data": info["data"],
            "schema": info["schema"],
            "test": test,
            "timings": {"data": t_data, "federated": t_fed, "centralized": t_central,
                        **fed.timings},
        })  # fmt: skip
        if not as_json and splits > 1:
            click.echo(
                f"split {k + 1}/{splits} (seed {split_seed}): federated "
                f"{fed.final['auc']:.4f}, centralized {central['auc']:.4f}, "
                f"ratio {runs[-1]['auc_ratio']:.4f}",
                err=True,
            )

    first = runs[0]
    ratios = [r["auc_ratio"] for r in runs]
    result = {
        **{k: first[k] for k in ("federated", "initial", "centralized", "auc_ratio")},
        "owners": owners,
        "rounds": rounds,
        "rule": rule,
        "params": params,
        "key_bits": key_bits,
        "metric": metric,
        "acceptance": acceptance,
        "ridge": ridge,
        "submissions": first["submissions"],
        "accepted": first["accepted"],
        "rows": first["rows"],
        "features": first["features"],
        "data": first["data"],
        "timings": first["timings"],
        "regime": {
            "schema": first["schema"],
            "dataset": None if data is not None else dataset,
            "partition": partition if data is None and dataset == "lending_club" else None,
            "owners": owners,
            "rows_per_owner": statistics.mean(first["rows"]["owners"]),
            "seed_rows": first["rows"]["seed"],
            "holdout_rows": first["rows"]["holdout"],
            "features": first["features"],
            "expansions": not plain,
            "rounds": rounds,
        },
        "summary": {
            "splits": splits,
            "federated_auc_mean": statistics.mean(r["federated"]["auc"] for r in runs),
            "centralized_auc_mean": statistics.mean(r["centralized"]["auc"] for r in runs),
            "auc_ratio_mean": statistics.mean(ratios),
            "auc_ratio_min": min(ratios),
            "auc_ratio_max": max(ratios),
            "accepted_mean": statistics.mean(r["accepted"] for r in runs),
            **(
                {
                    "test_ratio_mean": statistics.mean(r["test"]["auc_ratio"] for r in runs),
                    "test_ratio_min": min(r["test"]["auc_ratio"] for r in runs),
                }
                if first["test"]
                else {}
            ),
        },
        "test": first["test"],
        "splits": [
            {k: r[k] for k in ("seed", "auc_ratio", "accepted", "submissions", "test")}
            | {"federated_auc": r["federated"]["auc"], "centralized_auc": r["centralized"]["auc"]}
            for r in runs
        ],
    }
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    _print_table(result)


def _print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Hold-out quality: federated (encrypted) vs centralized (scikit-learn)")
    table.add_column("metric")
    for col in ("initial (seed only)", "federated", "centralized"):
        table.add_column(col, justify="right")
    for m in ("auc", "accuracy", "log_loss", "ks"):
        table.add_row(m, *(f"{result[k][m]:.4f}" for k in ("initial", "federated", "centralized")))
    console = Console()
    console.print(table)
    t = result["timings"]
    console.print(
        f"auc_ratio = {result['auc_ratio']:.4f}  ·  {result['owners']} owners × "
        f"{result['rounds']} rounds, rule {result['rule']}, {result['accepted']}/"
        f"{result['submissions']} accepted  ·  {result['features']} features, "
        f"{result['key_bits']}-bit key  ·  owner update {t['owner_update_mean']:.3f} s mean, "
        f"federated {t['federated']:.1f} s"
    )
    if result["test"]:
        t = result["test"]
        console.print(
            f"on {t['rows']:,} fresh loans: federated {t['federated_auc']:.4f}, centralized "
            f"{t['centralized_auc']:.4f}, ratio {t['auc_ratio']:.4f}"
        )
    s = result["summary"]
    if s["splits"] > 1:
        console.print(
            f"{s['splits']} splits: auc_ratio mean {s['auc_ratio_mean']:.4f}, worst "
            f"{s['auc_ratio_min']:.4f}, best {s['auc_ratio_max']:.4f}; federated AUC mean "
            f"{s['federated_auc_mean']:.4f}, centralized {s['centralized_auc_mean']:.4f}"
        )

