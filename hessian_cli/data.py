"""``hessian data``: generate realistic Lending Club files, inspect a CSV against a schema."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hessian_common.errors import DataError


@click.group()
def data() -> None:
    """Data files: generate realistic Lending Club exports (and the other data sets), inspect a
    CSV."""


@data.command()
@click.option(
    "--rows",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Number of loans in all files together.",
)
@click.option(
    "--owners",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Number of data owners (owner_01.csv ...).",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Random seed: the same seed writes identical files.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output directory.",
)
@click.option(
    "--partition",
    type=click.Choice(["iid", "state", "grade"]),
    default="iid",
    show_default=True,
    help="How owners' data differ: at random, or skewed.",
)
@click.option(
    "--layout",
    type=click.Choice(["original", "kaggle"]),
    default="original",
    show_default=True,
    help="LoanStats3a (prospectus, quoted, '%') or Kaggle accepted_2007_to_2018Q4.",
)
@click.option(
    "--holdout-fraction",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.2,
    show_default=True,
    help="Share of loans in the lender's hold-out.",
)
@click.option(
    "--seed-fraction",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.1,
    show_default=True,
    help="Share of loans in the lender's own seed data.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
def generate(
    rows: int,
    owners: int,
    seed: int,
    out_dir: Path,
    partition: str,
    layout: str,
    holdout_fraction: float,
    seed_fraction: float,
    as_json: bool,
) -> None:
    """Write owner_XX.csv, lender_seed.csv, lender_holdout.csv and manifest.json to OUT."""
    from hessian_common.data.generator import generate_split

    if out_dir.exists() and any(out_dir.glob("*.csv")):
        raise DataError(f"{out_dir}: already holds CSV files; choose an empty directory")
    manifest = generate_split(
        out_dir,
        rows,
        owners,
        seed,
        partition=partition,
        layout=layout,
        holdout_fraction=holdout_fraction,
        seed_fraction=seed_fraction,
    )
    if as_json:
        click.echo(json.dumps(manifest, indent=2))
        return
    click.echo(
        f"wrote {len(manifest['files'])} files to {out_dir} ({layout} layout, "
        f"{partition} split, seed {seed})"
    )
    for name, info in manifest["files"].items():
        click.echo(
            f"  {name:<20} {info['usable']:>7} usable  {info['defaults']:>6} defaults  "
            f"{info['unresolved']:>5} unresolved"
        )


@data.command()
@click.option("--rows", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--layout", type=click.Choice(["original", "kaggle"]), default="original", show_default=True
)
@click.option(
    "--dataset",
    type=click.Choice(["lending_club", "german_credit", "insurance_claims"]),
    default="lending_club",
    show_default=True,
    help="Lending Club loans, consumer-credit applications in the German credit layout "
    "(read them with --schema german_credit), or motor-insurance policies and claims "
    "(--schema insurance_claims).",
)
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), required=True)
def sample(rows: int, seed: int, layout: str, dataset: str, out_file: Path) -> None:
    """Write ROWS generated loans (applications, policies) to one file (no split), e.g. the
    samples in data/."""
    from hessian_common.data.generator import generate_loans, write_export

    if out_file.exists():
        raise DataError(f"{out_file}: already exists; not overwriting it")
    if not out_file.parent.is_dir():
        raise DataError(f"{out_file.parent}: no such directory")
    if dataset == "german_credit":
        from hessian_common.data.german import generate_applications, write_applications

        write_applications(generate_applications(rows, seed), out_file)
        click.echo(f"wrote {rows} applications to {out_file} (german_credit, seed {seed})")
        return
    if dataset == "insurance_claims":
        from hessian_common.data.insurance import generate_policies, write_policies

        write_policies(generate_policies(rows, seed), out_file)
        click.echo(f"wrote {rows} policies to {out_file} (insurance_claims, seed {seed})")
        return
    write_export(generate_loans(rows, seed), out_file, layout)
    click.echo(f"wrote {rows} loans to {out_file} ({layout} layout, seed {seed})")


@data.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--schema",
    default="lending_club",
    show_default=True,
    help="Built-in schema name or path of a schema TOML file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--max-problems",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="How many cell problems to list (all are counted).",
)
@click.option(
    "--max-bytes",
    type=click.IntRange(min=1),
    default=None,
    help="Refuse files larger than this many bytes.",
)
def inspect(
    file: Path, schema: str, as_json: bool, max_problems: int, max_bytes: int | None
) -> None:
    """Check FILE against a schema: usable rows, defaults, exclusions, problems per column."""
    from hessian_common.data.loader import DEFAULT_MAX_BYTES, load_file

    loaded = load_file(file, schema, max_bytes=max_bytes or DEFAULT_MAX_BYTES)
    report = loaded.summary(max_problems=max_problems)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"{report['file']}  (schema {report['schema']})")
    click.echo(f"  usable rows   {report['rows']}")
    click.echo(f"  defaults      {report['defaults']} ({100 * report['default_rate']:.2f}%)")
    click.echo(f"  policy loans  {report['policy_loans']}")
    click.echo(f"  summary lines {report['non_loan_lines']}")
    for reason, count in report["excluded"].items():
        click.echo(f"  excluded      {count:>6}  {reason}")
    for name, info in report["columns"].items():
        if info["missing"]:
            click.echo(f"  missing       {info['missing']:>6}  {name}")
    click.echo(f"  problems      {report['problem_count']}")
    for p in report["problems"]:
        click.echo(f"    line {p['row']}, {p['column']}: {p['message']}")
    click.echo(f"  digest        {report['digest']}")
