"""compare A B (issue 12): a headline first (value, served, compute, cost, shares, binding limits
added or removed), then per country, site and market in H100e; --out holds every table; warnings
when the two plans do not compare (other scenario inputs, no manifest, other objectives)."""
from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from helpers import M, chip, market, site, write_scenario
from typer.testing import CliRunner

from cli import app
from optimizer.batch.compare import compare_dirs
from optimizer.inputs.economics import H100E_TPP

runner = CliRunner()


@pytest.fixture
def two_plans(tmp_path):
    """The same scenario under aidr-2025 (Poland's 7 % binds) and under none (nothing binds)."""
    scn = write_scenario(tmp_path / "scn", [site("US", "USA"), site("PL", "POL", 52.0, 21.0)],
                         [chip(inventory=100.0, capex_usd=1000.0)],
                         [market("us", "USA", 50 * M), market("pl", "POL", 30 * M, 52.0, 21.0, in_country_only=True)])
    a, b = tmp_path / "a", tmp_path / "b"
    for out, policy in ((a, "aidr-2025"), (b, "none")):
        r = runner.invoke(app, ["solve", str(scn), "--out", str(out), "--policy", policy])
        assert r.exit_code == 0, r.output
    return scn, a, b


def test_headline_is_b_minus_a_from_the_summaries(two_plans):
    _, a, b = two_plans
    head = compare_dirs(a, b).tables["headline"]
    ya, yb = (json.loads((p / "summary.json").read_text()) for p in (a, b))
    for metric, key in (("value", "objective"), ("served_pct", "served_pct"), ("tier1_share", "tier1_share")):
        assert head.at[metric, "a"] == ya[key] and head.at[metric, "b"] == yb[key]
    assert head.at["cost_usd", "change"] == yb["cost"]["total_usd"] - ya["cost"]["total_usd"]
    assert head.at["total_tpp", "a"] == pytest.approx(ya["total_tpp"], rel=1e-9)   # from the tables as written (10 significant digits)
    assert head.at["value", "unit"] == "abstract value units"
    limits = compare_dirs(a, b).tables["limits"]
    assert list(limits.index) == ["tier2_share[POL]"] and limits.at["tier2_share[POL]", "change"] == "removed"


def test_cli_prints_the_headline_first_in_readable_numbers(two_plans, tmp_path):
    _, a, b = two_plans
    r = runner.invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "diff.csv")])
    assert r.exit_code == 0 and r.exception is None, r.output
    out = r.output
    assert out.index("headline") < out.index("countries (") < out.index("sites (") < out.index("markets (")
    assert "removed in B: tier2_share[POL]" in out and "added in B: none" in out
    assert "A: policy aidr-2025, objective serve, value unit abstract value units" in out
    assert "compute in H100e" in out and "-0 " not in out and "-0.00" not in out
    total_b = json.loads((b / "summary.json").read_text())["total_tpp"]
    assert f"{total_b / H100E_TPP:,.0f} H100e" in out                     # thousands separators
    assert "warning" not in out
    whole = pd.read_csv(tmp_path / "diff.csv")
    assert set(whole["table"]) == {"headline", "limits", "countries", "sites", "markets"}
    assert whole.loc[whole["table"] == "limits", "id"].tolist() == ["tier2_share[POL]"]


def test_a_plan_without_a_manifest_is_warned_about(two_plans, tmp_path):
    _, a, _ = two_plans
    hand = tmp_path / "hand"
    hand.mkdir()
    for name in ("placement.csv", "service.csv"):
        shutil.copy(a / name, hand / name)
    r = runner.invoke(app, ["compare", str(a), str(hand)])
    assert r.exit_code == 0, r.output
    assert f"cannot tell whether {a} and {hand} come from the same scenario" in r.output
    assert "binding limits: not recorded in B" in r.output
    assert "served_pct" in r.output and "not recorded" in r.output
    served = next(line for line in r.output.splitlines() if line.strip().startswith("served_tpp"))
    assert served.endswith("no change")                     # the same tables: no "+0" or "-0"


def test_other_objectives_are_warned_about(tmp_path):
    scn = write_scenario(tmp_path / "scn", [site("S", "USA")], [chip(capex_usd=1e6)],
                         [{**{k: v for k, v in market("m", "USA", 10 * M).items() if k != "value"},
                           "usd_per_h100e_hour": 0.3}])
    for out, objective in (("a", "serve"), ("b", "margin")):
        r = runner.invoke(app, ["solve", str(scn), "--out", str(tmp_path / out), "--policy", "none",
                                "--objective", objective])
        assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert r.exit_code == 0
    assert "warning: A and B have different objectives (serve, margin)" in r.output
    value = next(line for line in r.output.splitlines() if line.strip().startswith("value "))
    assert value.count("per year") == 3 and "-$" in value             # USD per year, signs before $
    assert "margin_usd_per_year" in r.output and "$-" not in r.output
