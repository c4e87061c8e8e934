"""The cost of compliance compares like with like: the baseline is solved the way the plan was
(integer mode included), a baseline with no plan is recorded instead of sinking the plan, and
countries are counted as the policy counts them (a territory as its sovereign)."""
from __future__ import annotations

from helpers import M, chip, market, site, write_scenario

from optimizer import load_scenario, solve


def _scenario(tmp_path):
    # 15 units fit the demand exactly, but racks hold 10: the integer plan differs from the LP
    return write_scenario(
        tmp_path / "scn",
        [site("US", "USA", 39.0, -77.5), site("PR", "PRI", 18.4, -66.1)],
        [chip(inventory=15, units_per_rack=10)],
        [market("us", "USA", 15 * M, 39.0, -77.5)])


def test_baseline_under_the_same_policy_costs_nothing_in_integer_mode(tmp_path):
    """Same policy as baseline: every change is zero, also for whole racks (an LP baseline
    would blame the rounding loss on the policy)."""
    s = load_scenario(_scenario(tmp_path), "aidr-2025")
    plan = solve(s, integer=True, method="exact", baseline="aidr-2025")
    base = plan.summary["baseline"]
    assert base["mode"] == "integer" and base["status"] == "optimal"
    assert base["value_change"] == 0.0 and base["cost_change_usd"] == 0.0
    assert all(c["change_tpp"] == 0.0 for c in base["countries"])


def test_an_infeasible_baseline_is_recorded_not_fatal(tmp_path):
    """POL's installed base is above the baseline's cap: no baseline plan, the plan still stands."""
    folder = write_scenario(
        tmp_path / "scn", [site("US", "USA"), site("PL", "POL")], [chip(inventory=15)],
        [market("us", "USA", 15 * M)], installed=[("PL", "H", 2)])
    (folder / "impossible.toml").write_text('name = "impossible"\n[caps]\nPOL = 1.0\n')
    plan = solve(load_scenario(folder, "none"), baseline=folder / "impossible.toml")
    base = plan.summary["baseline"]
    assert plan.summary["status"] == "optimal"
    assert base["status"] == "infeasible" and "impossible" in base["message"]


def test_baseline_countries_fold_territories(tmp_path):
    plan = solve(load_scenario(_scenario(tmp_path), "aidr-2025"), baseline="none")
    assert "PRI" not in {c["iso3"] for c in plan.summary["baseline"]["countries"]}
