"""Scenario validation, the cast of owners, and what each misbehaviour does to loan records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hessian_common.errors import ConfigError, DataError
from hessian_common.rewards import Mechanism
from hessian_common.simulation.misbehave import (
    KINDS,
    NEW_KINDS,
    label_flip,
    noise,
    parse_kinds,
    reshuffled_copy,
    tiny,
)
from hessian_common.simulation.scenario import Scenario, plan_owners


def test_cast_is_deterministic_and_victims_arrive_first() -> None:
    sc = Scenario(owners=20, bad=9, rows=20_000, seed=3)
    cast = plan_owners(sc)
    assert cast == plan_owners(Scenario(owners=20, bad=9, rows=20_000, seed=3))
    assert [p.arrival for p in cast] == list(range(20))
    assert sorted(p.index for p in cast) == list(range(20))
    assert cast[0].honest
    assert sorted(p.kind for p in cast if not p.honest) == sorted(KINDS)
    arrival = {p.index: p.arrival for p in cast}
    honest = {p.index for p in cast if p.honest}
    for p in cast:
        if p.kind in ("replay", "copy", "copy_other"):
            assert p.victim in honest and arrival[p.victim] < p.arrival
        elif p.kind == "frontrun":  # the next honest owner to arrive after it, if any
            later = [q.index for q in cast[p.arrival + 1 :] if q.honest]
            assert p.victim in (later[:1] or honest)
        else:
            assert p.victim is None
    crash = plan_owners(Scenario(owners=20, bad=4, rows=20_000, bad_kinds=("crash",)))
    assert [p.variant for p in crash if p.kind == "crash"] == [0, 1, 2, 3]
    assert plan_owners(Scenario(owners=20, bad=9, rows=20_000, seed=4)) != cast


def test_a_front_runner_that_comes_last_still_watches_an_honest_owner() -> None:
    """A mempool watcher needs no place in the order: each front-runner gets its own victim,
    even when it arrives after every honest owner."""
    for seed in range(40):
        cast = plan_owners(
            Scenario(owners=6, bad=3, rows=20_000, seed=seed, bad_kinds=("frontrun",))
        )
        runners = [p for p in cast if p.kind == "frontrun"]
        honest = {p.index for p in cast if p.honest}
        victims = [p.victim for p in runners]
        assert all(v in honest for v in victims)
        assert len(set(victims)) == len(victims)  # nobody is watched twice


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"owners": 1}, "owners"),
        ({"bad": 10}, "bad"),
        ({"bad": -1}, "bad"),
        ({"partition": "zip"}, "partition"),
        ({"bad_kinds": ("label_flip", "bribe")}, "bribe"),
        ({"mechanisms": ("shapley",)}, "mechanism"),
        ({"key_bits": 100}, "key-bits"),
        ({"rows": 500}, "rows"),
        ({"target": 1.5}, "target"),
    ],
)
def test_bad_scenarios_are_config_errors(kwargs, match) -> None:
    with pytest.raises(ConfigError, match=match):
        Scenario(**{"owners": 10, "bad": 2, **kwargs})


def test_kinds_and_mechanisms_parse() -> None:
    assert parse_kinds("label-flip, noise") == ("label_flip", "noise")
    assert parse_kinds("crash,copy-other,inflate_rows,frontrun") == NEW_KINDS
    assert parse_kinds(None) == KINDS
    sc = Scenario(mechanisms=("equal", 2))
    assert sc.mechanisms == (Mechanism.EQUAL, Mechanism.PRO_RATA_GAIN)
    assert sc.to_dict()["mechanisms"] == ["equal", "pro_rata_gain"]
    with pytest.raises(ConfigError, match="pro_rata_rows"):
        Scenario(mechanisms=("pro_rata_rows",))


def _loans(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": [str(i) for i in range(n)],
            "int_rate": [f"{v:.2f}%" for v in rng.uniform(5, 25, n)],
            "grade": rng.choice(list("ABCDEFG"), n),
            "loan_status": rng.choice(
                [
                    "Fully Paid",
                    "Charged Off",
                    "Current",
                    "Does not meet the credit policy. Status:Charged Off",
                ],
                n,
            ),
        }
    )


def test_label_flip_inverts_resolved_labels_only() -> None:
    df = _loans()
    out = label_flip(df)
    flipped = dict(zip(df["loan_status"], out["loan_status"], strict=True))
    assert flipped["Fully Paid"] == "Charged Off"
    assert flipped["Charged Off"] == "Fully Paid"
    assert flipped["Current"] == "Current"
    assert flipped["Does not meet the credit policy. Status:Charged Off"].endswith("Fully Paid")
    assert (out.drop(columns="loan_status") == df.drop(columns="loan_status")).all().all()


def test_noise_keeps_marginals_but_breaks_rows() -> None:
    df = _loans()
    out = noise(df, np.random.default_rng(1))
    for col in df.columns:
        assert sorted(out[col]) == sorted(df[col])
    assert (out["int_rate"] != df["int_rate"]).mean() > 0.9


def test_tiny_and_copy() -> None:
    df = _loans()
    small = tiny(df, np.random.default_rng(2), rows=20)
    assert len(small) == 20 and set(small["id"]) <= set(df["id"])
    cp = reshuffled_copy(df, np.random.default_rng(3))
    assert sorted(cp["id"]) == sorted(df["id"]) and list(cp["id"]) != list(df["id"])
    with pytest.raises(DataError, match="loan_status"):
        tiny(df.drop(columns="loan_status"), np.random.default_rng(0))
