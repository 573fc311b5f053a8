"""The report writer on a hand-made result: every plot and the self-contained page."""

from __future__ import annotations

import json

from hessian_common.simulation.report import PLOTS, write_report
from hessian_common.simulation.result import (
    MechanismOutcome,
    OwnerOutcome,
    SimulationResult,
    SubmissionOutcome,
)

ETH = 10**18


def _result() -> SimulationResult:
    owners = [
        OwnerOutcome(0, "owner_00", 0, "honest", None, "0xa", 500, "00", 0.01, 0.012, 0.001),
        OwnerOutcome(1, "owner_01", 1, "label_flip", None, "0xb", 400, "01", -0.02, -0.03, 0.002),
        OwnerOutcome(2, "owner_02", 2, "replay", 0, "0xc", 500, "00", 0.0, 0.0, 0.0),
    ]
    subs = [
        SubmissionOutcome(0, 0, "accepted", 1, None, 0.70, 0.70, 5 * ETH),
        SubmissionOutcome(1, 1, "rejected", 2, None, 0.60, 0.70, 0),
        SubmissionOutcome(2, 2, "refused", None, "DigestAlreadySubmitted", None, 0.70, 0),
    ]
    run = MechanismOutcome(
        "improvement", 1, 10 * ETH, 0.65, 0.75, 0.70, subs, {0: 5 * ETH, 1: 0, 2: 0}
    )
    return SimulationResult(
        scenario={"owners": 3},
        owners=owners,
        runs=[run],
        centralized_auc=0.705,
        centralized_history=[0.65, 0.70, 0.70, 0.70],
        gas={"lender": {"createModel": 200_000}, "honest owners": {"submitUpdate": 90_000}},
        phases={"setup": 1.0, "owners": 2.5},
    )


def test_report_writes_every_plot_and_an_inlined_page(tmp_path) -> None:
    result = _result()
    page = write_report(result, tmp_path / "out")
    for name in PLOTS:
        png = (tmp_path / "out" / f"{name}.png").read_bytes()
        assert png.startswith(b"\x89PNG")
    text = page.read_text()
    assert text.count("data:image/png;base64,") == len(PLOTS)
    assert 'src="http' not in text  # self-contained
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["auc_ratio"] == 0.70 / 0.705
    assert summary["bad_owner_share"] == 0.0
    assert summary["replays_rejected"] == 1
    json.loads((tmp_path / "out" / "result.json").read_text())
