"""The simulation's data: generated loans split among the lender and the owners, as files.

:func:`write_data` draws the loans with the data room's generator (seed ``[seed, 3]``), splits
them (``iid`` / ``state`` / ``grade``) into the lender's file and one share per owner, lets
misbehaving owners rewrite theirs (:mod:`.misbehave`) and writes every file in the real
export layout; :func:`load_owners` reads them back through the real loader, so the chain run
(:mod:`.training`) and the plaintext replay (:mod:`.offline`) see the same rows.
:func:`quick_centralized` is the lender's estimate of the centralized AUC it uses to pick a
target before any task exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hessian_common.data.generator import generate_loans, split_frame, write_export
from hessian_common.data.loader import LoadedData, load_file
from hessian_common.data.preprocess import Preprocessor
from hessian_common.learning.federated import centralized_baseline
from hessian_common.simulation import misbehave
from hessian_common.simulation.scenario import OwnerPlan, Scenario


@dataclass
class OwnerData:
    """One owner's file and its rows as the loader reads them."""

    plan: OwnerPlan
    path: Path
    loaded: LoadedData


def write_data(scenario: Scenario, cast: list[OwnerPlan], root: Path) -> tuple[Path, list[Path]]:
    """Generate and split the loans; write the lender's file and every owner's file.

    Returns ``(lender_path, paths)`` with ``paths`` in the order of ``cast``. A ``replay``
    owner's file is its victim's bytes, a ``copy`` owner's its victim's rows reshuffled; the
    tampered kinds that send no data of their own (``crash``, ``copy_other``, ``frontrun``)
    and ``inflate_rows`` keep their honest share.
    """
    rng = np.random.default_rng([scenario.seed, 3])
    frame = generate_loans(int(scenario.rows), rng)
    lender_fraction = scenario.seed_fraction + scenario.holdout_fraction
    parts = split_frame(
        frame,
        scenario.owners,
        rng,
        partition=scenario.partition,
        holdout_fraction=lender_fraction,
        seed_fraction=0.0,
    )
    root.mkdir(parents=True, exist_ok=True)
    lender_path = root / "lender.csv"
    write_export(parts["lender_holdout"], lender_path, "original")
    shares = {i: parts[f"owner_{i + 1:02d}"] for i in range(scenario.owners)}
    kind_rng = np.random.default_rng([scenario.seed, 5])
    written: dict[int, Path] = {}
    for plan in cast:
        path = root / f"{plan.name}.csv"
        own = shares[plan.index]
        if plan.kind == "label_flip":
            write_export(misbehave.label_flip(own), path, "original")
        elif plan.kind == "noise":
            write_export(misbehave.noise(own, kind_rng), path, "original")
        elif plan.kind == "tiny":
            write_export(misbehave.tiny(own, kind_rng, scenario.tiny_rows), path, "original")
        elif plan.kind == "replay":
            path.write_bytes(written[int(plan.victim)].read_bytes())  # type: ignore[arg-type]
        elif plan.kind == "copy":
            copy = misbehave.reshuffled_copy(shares[int(plan.victim)], kind_rng)  # type: ignore[arg-type]
            write_export(copy, path, "original")
        else:  # honest and the tampered kinds that keep their own rows
            write_export(own, path, "original")
        written[plan.index] = path
    return lender_path, [written[p.index] for p in cast]


def load_owners(cast: list[OwnerPlan], paths: list[Path]) -> dict[int, OwnerData]:
    """Each owner's file read back by the real loader, by owner index."""
    pairs = zip(cast, paths, strict=True)
    return {p.index: OwnerData(p, path, load_file(path)) for p, path in pairs}


def quick_centralized(
    owners: dict[int, OwnerData], cast: list[OwnerPlan], lender: LoadedData
) -> float:
    """Centralized AUC estimate the lender uses to pick a target (before the task exists):
    logistic regression on 30 % of its rows + every honest owner's, scored on the other 70 %
    (a fixed split, seed 0)."""
    prep = Preprocessor("lending_club").fit(lender.features)
    X_l = prep.transform(lender.features)
    y_l = np.asarray(lender.y)
    rng = np.random.default_rng(0)
    hold = rng.random(len(y_l)) < 0.7
    honest = [
        (prep.transform(owners[p.index].loaded.features), owners[p.index].loaded.y)
        for p in cast
        if p.honest
    ]
    return float(centralized_baseline(honest, X_l[~hold], y_l[~hold], X_l[hold], y_l[hold])["auc"])
