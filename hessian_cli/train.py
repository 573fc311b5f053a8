"""``hessian train`` (federated vs centralized, in one process)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

RULE_CHOICE = click.Choice(["gradient", "epochs", "newton"])


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


def _prepare(
    data: Path | None, schema: str | None, owners: int, rows: int, seed: int, workdir: Path
) -> tuple[list[tuple[Any, Any]], tuple[Any, Any], tuple[Any, Any], dict[str, Any]]:
    """Owners' (X, y), the lender's seed and hold-out, preprocessed with the lender's fit."""
    from hessian_common.data import Preprocessor

    info: dict[str, Any] = {}
    if data is None:
        from hessian_common.data import generate_split

        generate_split(workdir, rows=rows, owners=owners, seed=seed)
        data = workdir
        info["data"] = f"generated (rows={rows}, seed={seed})"
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
        pre = Preprocessor(seed_data.schema).fit(seed_data.features)
        own = [(pre.transform(o.features), o.y) for o in owner_data]
        seed_xy = (pre.transform(seed_data.features), seed_data.y)
        hold_xy = (pre.transform(hold_data.features), hold_data.y)
    else:
        loaded = _load(data, schema)
        parts, s_idx, h_idx = _split_rows(loaded.rows, owners, seed)
        feats = loaded.features.reset_index(drop=True)
        pre = Preprocessor(loaded.schema).fit(feats.iloc[s_idx])
        X = pre.transform(feats)
        own = [(X[p], loaded.y[p]) for p in parts]
        seed_xy, hold_xy = (X[s_idx], loaded.y[s_idx]), (X[h_idx], loaded.y[h_idx])
    info["features"] = len(pre.feature_names_)
    info["rows"] = {
        "owners": [len(y) for _, y in own],
        "seed": len(seed_xy[1]),
        "holdout": len(hold_xy[1]),
    }
    return own, seed_xy, hold_xy, info


# --------------------------------------------------------------------------- train


@click.command()
@click.option("--owners", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--rounds", type=click.IntRange(1, 1000), default=2, show_default=True)
@click.option("--rule", type=RULE_CHOICE, default="newton", show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), help="learning rate η")
@click.option("--epochs", type=click.IntRange(1, 10_000), help="local epochs K (rule epochs)")
@click.option("--mu", type=click.FloatRange(min=0, min_open=True), help="proximal weight μ")
@click.option("--l2", type=click.FloatRange(min=0), help="ridge penalty λ")
@click.option("--key-bits", type=click.IntRange(256, 8192), default=2048, show_default=True)
@click.option("--rows", type=click.IntRange(100, 10_000_000), default=20_000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--data", "data", type=click.Path(exists=True, path_type=Path))
@click.option("--schema", help="schema name or TOML path (default: lending_club)")
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
    key_bits: int,
    rows: int,
    seed: int,
    data: Path | None,
    schema: str | None,
    metric: str,
    tolerance: float,
    workers: int | None,
    as_json: bool,
) -> None:
    """Federated training in one process, against a centralized scikit-learn model.

    Runs the protocol minus the chain: the lender fits an initial model on its seed rows and
    encrypts it; each owner computes an encrypted affine update; the lender decrypts, scores
    on its hold-out and accepts or rejects. With no --data it generates its own (IID split);
    --data FILE is split among the owners, the lender's seed and hold-out; --data DIR is a
    split written by `hessian data generate`.
    """
    import tempfile

    from hessian_common.learning.federated import centralized_baseline, run_federated

    params: dict[str, float] = {}
    allowed = {"gradient": {"lr", "l2"}, "epochs": {"lr", "epochs", "l2"}, "newton": {"mu", "l2"}}
    for name, value in (("lr", lr), ("epochs", epochs), ("mu", mu), ("l2", l2)):
        if value is not None:
            if name not in allowed[rule]:
                raise click.UsageError(f"--{name} does not apply to rule {rule!r}")
            params[name] = value

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hessian-train-") as tmp:
        own, seed_xy, hold_xy, info = _prepare(data, schema, owners, rows, seed, Path(tmp))
    t_data = time.perf_counter() - t0

    def progress(entry: dict[str, Any]) -> None:
        if not as_json:
            mark = "accepted" if entry["accepted"] else "rejected"
            click.echo(
                f"round {entry['round']} owner {entry['owner']:>3}: {metric} "
                f"{entry['score']:.4f} ({entry['gain']:+.4f}) {mark}",
                err=True,
            )

    t0 = time.perf_counter()
    fed = run_federated(
        own, *seed_xy, *hold_xy, rounds=rounds, rule=rule, params=params, key_bits=key_bits,
        metric=metric, tolerance=tolerance, workers=workers, seed=seed, progress=progress,
    )  # fmt: skip
    t_fed = time.perf_counter() - t0
    t0 = time.perf_counter()
    central = centralized_baseline(own, *seed_xy, *hold_xy)
    t_central = time.perf_counter() - t0

    result = {
        "federated": fed.final,
        "initial": fed.initial,
        "centralized": central,
        "auc_ratio": fed.final["auc"] / central["auc"],
        "owners": owners,
        "rounds": rounds,
        "rule": rule,
        "params": params,
        "key_bits": key_bits,
        "metric": metric,
        "submissions": fed.submissions,
        "accepted": fed.accepted,
        "rows": info["rows"],
        "features": info["features"],
        "data": info["data"],
        "timings": {
            "data": t_data,
            "federated": t_fed,
            "centralized": t_central,
            **{k: v for k, v in fed.timings.items()},
        },
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
