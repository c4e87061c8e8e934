"""compare A B of two sweep folders: the plan headline per variant (matched by id), variants of
one sweep listed, then each variant's plans compared; --out holds every table; a sweep against a
plan is refused; different objectives warn."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import M, chip, market, site, write_scenario
from test_money import money_scenario
from test_periods_cli import periods_folder
from typer.testing import CliRunner

from cli import app
from optimizer.batch.compare import compare_dirs

runner = CliRunner()


def run(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.fixture
def two_sweeps(tmp_path):
    """The compare fixture's scenario (Poland's 7 % binds under aidr-2025, nothing under none):
    A under aidr-2025 with the Tier-1 share at 0.3 and 0.5, B under none with 0.5 and 0.6."""
    scn = write_scenario(tmp_path / "scn", [site("US", "USA"), site("PL", "POL", 52.0, 21.0)],
                         [chip(inventory=100.0, capex_usd=1000.0)],
                         [market("us", "USA", 50 * M), market("pl", "POL", 30 * M, 52.0, 21.0, in_country_only=True)])
    a, b = tmp_path / "sa", tmp_path / "sb"
    for out, policy, values in ((a, "aidr-2025", "0.3,0.5"), (b, "none", "0.5,0.6")):
        r = run("sweep", scn, "--out", out, "--policy", policy, "--vary", f"min_tier1_share={values}")
        assert r.exit_code == 0, r.output
    return scn, a, b


def test_variants_are_matched_by_id_and_each_side_only_is_listed(two_sweeps):
    _, a, b = two_sweeps
    comparison = compare_dirs(a, b)
    variants = comparison.tables["variants"].set_index("variant")
    ra, rb = (pd.read_csv(p / "results.csv").set_index("variant") for p in (a, b))
    shared = sorted(set(ra.index) & set(rb.index))
    assert len(shared) == 1 and shared[0].startswith("min_tier1_share=0.5")
    assert set(variants.index) == set(ra.index) | set(rb.index)             # nothing dropped
    assert variants["in"].value_counts().to_dict() == {"both": 1, "A only": 1, "B only": 1}
    vid = shared[0]
    for metric in ("objective", "served_pct", "cost_usd", "home_share", "tier1_share"):
        assert variants.at[vid, f"{metric}_a"] == pytest.approx(ra.at[vid, metric], rel=1e-12)
        assert variants.at[vid, f"{metric}_change"] == pytest.approx(rb.at[vid, metric] - ra.at[vid, metric],
                                                                     rel=1e-9, abs=1e-12)
    bound_a, bound_b = (set(json.loads(r.at[vid, "binding_limits"])) for r in (ra, rb))
    assert "tier2_share[POL]" in bound_a - bound_b
    assert set(filter(None, variants.at[vid, "binding_removed"].split("; "))) == bound_a - bound_b
    assert set(filter(None, variants.at[vid, "binding_added"].split("; "))) == bound_b - bound_a
    plans = compare_dirs(a / "variants" / vid / "plan", b / "variants" / vid / "plan").tables
    details = comparison.tables["details"].query("variant == @vid and detail == 'countries'").set_index("id")
    pd.testing.assert_series_equal(details["change"], plans["countries"]["change"], check_names=False,
                                   check_index_type=False)


def test_cli_prints_the_headline_per_variant_then_details_and_writes_out(two_sweeps, tmp_path):
    _, a, b = two_sweeps
    r = run("compare", a, b, "--out", tmp_path / "diff.csv")
    assert r.exit_code == 0, r.output
    out = r.output
    vid = next(v for v in compare_dirs(a, b).tables["variants"]["variant"] if v.startswith("min_tier1_share=0.5"))
    assert "base policy aidr-2025" in out and "base policy none" in out
    assert "1 in both, 1 only in A, 1 only in B" in out
    assert out.index(f"variant {vid}: optimal -> optimal") < out.index("details (")
    assert "removed in B: tier2_share[POL]" in out and "tier1_share" in out and "H100e" in out
    assert "variants only in A (not compared): min_tier1_share=0.3" in out
    assert "variants only in B (not compared): min_tier1_share=0.6" in out
    assert f"{vid}: countries" in out and "POL" in out
    whole = pd.read_csv(tmp_path / "diff.csv")
    assert set(whole["table"]) == {"variants", "details"}
    assert len(whole.query("table == 'variants'")) == 3


def test_sweeps_with_different_objectives_warn(tmp_path):
    money_scenario(tmp_path / "scn")
    for out, objective in (("serve", "serve"), ("margin", "margin")):
        r = run("sweep", tmp_path / "scn", "--out", tmp_path / out, "--policy", "none", "--objective", objective,
                "--vary", "demand_multiplier=1")
        assert r.exit_code == 0, r.output
    r = run("compare", tmp_path / "serve", tmp_path / "margin")
    assert r.exit_code == 0, r.output
    assert "warning: A and B have different objectives (serve, margin)" in r.output
    assert "objective serve" in r.output and "objective margin" in r.output and "USD per year" in r.output
    assert "margin_usd_per_year" in r.output


def test_a_plan_against_a_sweep_is_refused_either_way(two_sweeps, tmp_path):
    scn, a, _ = two_sweeps
    assert run("solve", scn, "--out", tmp_path / "plan").exit_code == 0
    for args in ((a, tmp_path / "plan"), (tmp_path / "plan", a)):
        r = run("compare", *args, "--out", tmp_path / "diff.csv")
        assert r.exit_code == 2, r.output
        assert "compare takes two plans or two sweeps" in r.output and "variants/ID/plan" in r.output
        assert not (tmp_path / "diff.csv").exists()


def test_two_multi_period_sweeps_compare_variant_by_variant(tmp_path):
    """The headline per variant holds the multi-period columns (the worst period's served %)."""
    f = periods_folder(tmp_path, policy_b="cap.toml")
    for out, policy in (("sa", "open.toml"), ("sb", "cap.toml")):
        r = run("sweep", f, "--out", tmp_path / out, "--policy", f / policy, "--vary", "demand_multiplier=1,2")
        assert r.exit_code == 0, r.output
    r = run("compare", tmp_path / "sa", tmp_path / "sb")
    assert r.exit_code == 0, r.output
    assert "2 in both, 0 only in A, 0 only in B" in r.output and "min_served_pct" in r.output
    variants = compare_dirs(tmp_path / "sa", tmp_path / "sb").tables["variants"]
    assert (variants["binding_added"].str.contains("tier2_cap\\[IND\\]@B")).all()
