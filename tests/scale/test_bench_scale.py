"""``hessian bench scale`` run tiny: the shape of its output, never its timings."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from hessian_cli.bench_scale import PAGES, bench_scale, table


@pytest.mark.anvil
def test_bench_scale_tiny_reports_every_page_cold_warm_and_plain():
    result = CliRunner().invoke(bench_scale, ["--sizes", "5,20", "--repeat", "1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["sizes"] == [5, 20] and data["pages"] == list(PAGES)
    assert data["warm_ratio"] == data["warm_ratio_20_5"] and data["warm_ratio"] > 0
    assert data["warm_goal"] == 1.5 and len(data["cold_index_ms_per_event"]) == 2
    for row, size in zip(data["rows"], (5, 20), strict=True):
        assert row["size"] == size and row["events"] >= 3 * size
        assert set(row["pages"]) == set(PAGES)
        for page in row["pages"].values():
            assert {"cold_s", "warm_s", "plain_s"} <= set(page)
            assert all(page[k] > 0 for k in ("cold_s", "warm_s", "plain_s"))
        assert row["cold_index_s"] > 0 and row["warm_total_s"] > 0
    text = table(data)
    assert text.count("\n| ") == 2 and "warm ratio 20 ÷ 5" in text


def test_bench_scale_refuses_bad_sizes():
    for bad in ("ten", "20,5", "0,5", ""):
        result = CliRunner().invoke(bench_scale, ["--sizes", bad])
        assert result.exit_code == 2 and "--sizes" in result.output
