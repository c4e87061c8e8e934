"""Multi-period plans: hand-solved 2-3-period cases, one period = the snapshot, re-planning.

Conventions as tests/test_hand_solved.py: chip ``H`` with tpp 1e6 (1 unit = 1 MTPP), 1 kW,
10 units per rack, value 1 per TPP. Periods are 0.25 years, discount 1 unless said, so the value
of a plan is Σ_t 0.25·served_t. Each docstring derives the optimum.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import M, chip, market, site, write_scenario
from timeline_helpers import timeline_from

from optimizer import load_scenario, solve
from optimizer.errors import InfeasibleError
from optimizer.planner.periods import solve_timeline

OPEN = "ban_tier3 = true\n"     # no limit but the Tier-3 ban
MP_PATHS = pytest.mark.parametrize("path", ("fast", "plain", "pulp"))
Q = 0.25


def stock(plan, period, site_id, sku="H") -> float:
    """Units beyond the installed base at site_id at the end of period."""
    p = plan.placement
    row = p.loc[(p["period"] == period) & (p["site_id"] == site_id) & (p["sku"] == sku)]
    return float((row["units"] - row["installed_units"]).sum())


def added(plan, period, site_id, sku="H") -> float:
    p = plan.placement
    return float(p.loc[(p["period"] == period) & (p["site_id"] == site_id) & (p["sku"] == sku), "new_units"].sum())


def served(plan, period) -> float:
    return next(r["served_tpp"] for r in plan.summary["periods"] if r["period"] == period)


@MP_PATHS
def test_delivery_arriving_late(tmp_path, path):
    """One U.S. site, demand 100 in each period; 30 units available in A, 100 by B (70 delivered).

    Served A = 30, B = 100; 30 added in A, 70 in B; value 0.25·(30 + 100) = 32.5 MTPP."""
    f = write_scenario(tmp_path, [site("US", "USA")], [chip(inventory=30)], [market("us", "USA", 100 * M)])
    tl = timeline_from(f, [("A", Q, 1.0, {}), ("B", Q, 1.0, {"inventory": {"H": 100}})])
    plan = solve_timeline(tl, path=path)
    assert served(plan, "A") == pytest.approx(30 * M, rel=1e-6)
    assert served(plan, "B") == pytest.approx(100 * M, rel=1e-6)
    assert added(plan, "A", "US") == pytest.approx(30, rel=1e-6)
    assert added(plan, "B", "US") == pytest.approx(70, rel=1e-6)
    assert plan.summary["objective"] == pytest.approx(32.5 * M, rel=1e-6)
    assert "inventory_skus" in plan.summary["periods"][0]["physical_binding"]
    assert plan.summary["periods"][0]["physical_binding"]["inventory_skus"] == ["H"]


@MP_PATHS
def test_site_energised_late(tmp_path, path):
    """DE holds 20 units of power (0.02 MW) in A and 1 MW from B; demand 100 in-country in DEU,
    inventory 100: served A = 20, B = 100; DE's power binds in A."""
    f = write_scenario(tmp_path, [site("DE", "DEU", power_mw=0.02)], [chip(inventory=100)],
                       [market("de", "DEU", 100 * M, in_country_only=True)], policy=OPEN)
    tl = timeline_from(f, [("A", Q, 1.0, {}), ("B", Q, 1.0, {"power_mw": {"DE": 1.0}})])
    plan = solve_timeline(tl, path=path)
    assert served(plan, "A") == pytest.approx(20 * M, rel=1e-6)
    assert served(plan, "B") == pytest.approx(100 * M, rel=1e-6)
    assert plan.summary["periods"][0]["physical_binding"]["power_sites"] == ["DE"]


CAP_LATER = 'tier2_country_cap_tpp = 40e6\n'


@MP_PATHS
def test_cap_binding_later_pulls_placement_away(tmp_path, path):
    """IND (Tier 2) has demand 100 in-country in both periods, inventory 100. Period A has no
    cap; period B caps IND at 40 MTPP. Units stay, so A may hold only what B allows: 40 in A
    (not 100), 40 in B; the cap binds in B and its price is positive there."""
    f = write_scenario(tmp_path, [site("IN", "IND")], [chip(inventory=100)],
                       [market("in", "IND", 100 * M, in_country_only=True)], policy=OPEN)
    tl = timeline_from(f, [("A", Q, 1.0, {}), ("B", Q, 1.0, {"policy": CAP_LATER})])
    plan = solve_timeline(tl, path=path)
    assert stock(plan, "A", "IN") == pytest.approx(40, rel=1e-6)
    assert served(plan, "A") == pytest.approx(40 * M, rel=1e-6)
    assert served(plan, "B") == pytest.approx(40 * M, rel=1e-6)
    assert "tier2_cap[IND]@B" in plan.summary["binding_limits"]
    if path != "pulp":      # CBC through PuLP: no duals
        assert plan.summary["periods"][1]["prices"]["policy"]["tier2_cap[IND]"] > 0


@MP_PATHS
def test_cap_binding_later_pulls_placement_forward(tmp_path, path):
    """Home share: USA >= 50 % from period B on (A has no minimum). Demand 100 in-country in DEU
    in both periods, 100 in USA only in B; inventory 200, capex 1 (cost stage places no more
    than needed). In A, DE gets 100 at no U.S. need; B needs US >= DE = 100: 100 U.S. units
    added in B. Value 0.25·100 + 0.25·200 = 75."""
    f = write_scenario(tmp_path, [site("US", "USA"), site("DE", "DEU")], [chip(inventory=200, capex_usd=1.0)],
                       [market("de", "DEU", 100 * M, in_country_only=True),
                        market("us", "USA", 0.0, in_country_only=True)], policy=OPEN)
    tl = timeline_from(f, [("A", Q, 1.0, {}),
                           ("B", Q, 1.0, {"policy": 'home_country = "USA"\nmin_home_share = 0.5\n',
                                          "demand": {"us": 100 * M}})])
    plan = solve_timeline(tl, path=path)
    assert plan.summary["objective"] == pytest.approx(75 * M, rel=1e-6)
    assert stock(plan, "A", "DE") == pytest.approx(100, rel=1e-6)
    assert stock(plan, "B", "US") == pytest.approx(100, rel=1e-6)
    assert added(plan, "B", "US") == pytest.approx(100, rel=1e-6)


@MP_PATHS
def test_tier_move_closes_a_site_later(tmp_path, path):
    """IND is Tier 2 in A and Tier 3 (banned) from B. A unit placed in A would stay in a banned
    country, so nothing goes to IND in any period; DEU serves its own market (demand 50 each).
    Served 50 in A and B, IND is Tier 3 in B's placement rows' policy."""
    f = write_scenario(tmp_path, [site("IN", "IND"), site("DE", "DEU")], [chip(inventory=200)],
                       [market("in", "IND", 100 * M, in_country_only=True),
                        market("de", "DEU", 50 * M, in_country_only=True)], policy=OPEN)
    tl = timeline_from(f, [("A", Q, 1.0, {}), ("B", Q, 1.0, {"policy": '[tiers]\nIND = 3\n'})])
    plan = solve_timeline(tl, path=path)
    assert stock(plan, "A", "IN") == 0.0
    assert served(plan, "A") == pytest.approx(50 * M, rel=1e-6)
    assert plan.summary["periods"][1]["policy"]["tiers_used"]["IND"] == 3


@pytest.mark.parametrize("path", ("fast", "plain"))    # pulp: no frozen stock, no soft limits
def test_stock_trap_after_rule_change_is_infeasible_then_soft(tmp_path, path):
    """An earlier plan made when neither period capped IND placed 100 units there in A. The
    rule changes: B caps IND at 40 MTPP. Re-planning with A's stock frozen cannot remove 60
    units: exit 3 naming period B and the cap; --soft gives the priced plan with the 60 MTPP
    violation in B."""
    f = write_scenario(tmp_path, [site("IN", "IND")], [chip(inventory=100)],
                       [market("in", "IND", 100 * M, in_country_only=True)], policy=OPEN)
    loose = solve_timeline(timeline_from(f, [("A", Q, 1.0, {}), ("B", Q, 1.0, {})]), path=path)
    assert stock(loose, "A", "IN") == pytest.approx(100, rel=1e-6)
    frozen = {"A": pd.Series([100.0], index=pd.MultiIndex.from_tuples([("IN", "H")], names=["site_id", "sku"]))}
    tl = timeline_from(f, [("A", Q, 1.0, {}), ("B", Q, 1.0, {"policy": CAP_LATER})])
    with pytest.raises(InfeasibleError) as err:
        solve_timeline(tl, path=path, frozen=frozen)
    assert "in period B" in str(err.value) and "tier2_cap" in str(err.value)
    assert err.value.limits == ["tier2_cap[IND]@B"]
    plan = solve_timeline(tl, path=path, frozen=frozen, soft={})
    (v,) = plan.summary["soft"]["violations"]
    assert (v["period"], v["family"]) == ("B", "tier2_cap")
    assert v["violation_tpp"] == pytest.approx(60 * M, rel=1e-6)
    assert stock(plan, "A", "IN") == pytest.approx(100, rel=1e-9)
    assert plan.summary["freeze"]["through"] == "A"


def test_frozen_stock_at_a_site_closed_later_names_period_and_ban(tmp_path):
    """Frozen units in IND while B bans IND (Tier 3): exit 3 naming period B and the ban."""
    f = write_scenario(tmp_path, [site("IN", "IND")], [chip(inventory=100)],
                       [market("in", "IND", 100 * M, in_country_only=True)], policy=OPEN)
    tl = timeline_from(f, [("A", Q, 1.0, {}), ("B", Q, 1.0, {"policy": '[tiers]\nIND = 3\n'})])
    frozen = {"A": pd.Series([5.0], index=pd.MultiIndex.from_tuples([("IN", "H")], names=["site_id", "sku"]))}
    with pytest.raises(InfeasibleError, match="in period B: tier3_ban"):
        solve_timeline(tl, path="plain", frozen=frozen)


@pytest.mark.parametrize("path", ("fast", "plain", "ortools-glop"))
def test_one_period_with_years_and_discount_one_is_the_snapshot(tmp_path, path):
    """A one-period timeline (years 1, discount 1) gives the snapshot plan: objective, cost and
    placement, on a fleet with installed units, several limits binding and capex."""
    from optimizer.bench.generate import generate_fleet
    folder = tmp_path / "fleet"
    generate_fleet(folder, sites=60, seed=3)
    s = load_scenario(folder)
    snap = solve(s, path=path)
    plan = solve_timeline(timeline_from(folder, [("Y", 1.0, 1.0, {})]), path=path)
    assert plan.summary["objective"] == pytest.approx(snap.summary["objective"], rel=1e-9)
    assert plan.summary["cost"]["total_usd"] == pytest.approx(snap.summary["cost"]["total_usd"], rel=1e-6)
    mine = plan.placement.drop(columns="period")
    mine["new_units"] = mine["units"] - mine["installed_units"]
    pd.testing.assert_frame_equal(mine.reset_index(drop=True), snap.placement, rtol=1e-6)


def test_plan_is_finished_and_read_only(tmp_path):
    f = write_scenario(tmp_path, [site("US", "USA")], [chip()], [market("us", "USA", M)])
    plan = solve_timeline(timeline_from(f, [("A", Q, 1.0, {}), ("B", Q, 0.9, {})]), path="plain")
    with pytest.raises(TypeError):
        plan.summary["periods"][0]["served_tpp"] = 0
    assert plan.summary["mode"] == "multi-period"
    assert list(plan.placement.columns) == ["site_id", "country", "tier", "sku", "period", "installed_units",
                                            "new_units", "units", "tpp", "power_kw", "racks"]
    assert list(plan.service.columns) == ["market_id", "site_id", "period", "tpp", "rtt_ms"]
    assert np.all(np.diff(plan.placement["units"].to_numpy()) >= 0)


def test_periods_share_the_first_periods_network_lazily(tmp_path, monkeypatch):
    """Every period reads the first period's eligibility bitsets and pairs (the same objects),
    and building the periods' data computes neither: the fast path reads only the bitsets, and
    a solve on it never builds the pairs table."""
    from optimizer.bench.generate import generate_fleet
    from optimizer.inputs.timeline import load_timeline
    from optimizer.model import data
    from optimizer.model.periods import TimelineData
    tl = load_timeline(generate_fleet(tmp_path / "fleet", sites=60, skus=3, seed=2, periods=3, tariffs="site"))
    td = TimelineData.from_timeline(tl)
    assert not any({"pairs", "eligibility"} & set(p.d.__dict__) for p in td.periods)
    assert all(p.d.eligibility is td.first.eligibility for p in td.periods[1:])
    assert "pairs" not in td.first.__dict__
    assert all(p.d.pairs is td.first.pairs for p in td.periods[1:])
    built = []
    real = data.eligible_pairs

    def counted(scenario):
        built.append(scenario)
        return real(scenario)
    monkeypatch.setattr(data, "eligible_pairs", counted)
    plan = solve_timeline(tl, path="fast")
    assert plan.summary["status"] == "optimal" and built == []


def test_sharing_a_network_drops_what_was_computed_and_follows_the_source(tmp_path):
    """share_network: bitsets read before sharing are replaced by the source's; a chain of
    sources leads to the first; sharing with oneself changes nothing."""
    from optimizer.bench.generate import generate_fleet
    from optimizer.inputs.timeline import load_timeline
    from optimizer.model.data import ModelData
    tl = load_timeline(generate_fleet(tmp_path / "fleet", sites=40, skus=3, seed=4, periods=3, tariffs="site"))
    first, second, third = (ModelData.from_scenario(p.scenario) for p in tl.periods)
    early = second.eligibility
    second.share_network(first)
    third.share_network(second)
    first.share_network(first)
    assert second.eligibility is first.eligibility is third.eligibility
    assert second.eligibility is not early and np.array_equal(second.eligibility, early)
    assert third.pairs is first.pairs


def test_a_site_without_room_holds_and_serves_nothing_in_the_plain_lp(tmp_path):
    """DE has no power in A (its hall is energised in B): its new stock and its service in A are
    fixed to 0 in the plain LP (exact: the chip draws power), so a solver's feasibility tolerance
    cannot place a few thousandths of a unit there, or serve 0.01 TPP from it, which `check`
    rightly calls a broken limit of 0 (a careless user's re-plan of sample-quarterly did both).
    US, with room in both periods, keeps free columns."""
    from optimizer.model.periods import TimelineData, build_plain_timeline
    f = write_scenario(tmp_path, [site("DE", "DEU", power_mw=1.0), site("US", "USA", power_mw=1.0)],
                       [chip(inventory=100)], [market("de", "DEU", 100 * M), market("us", "USA", 100 * M)],
                       policy=OPEN)
    tl = timeline_from(f, [("A", Q, 1.0, {"power_mw": {"DE": 0.0}}), ("B", Q, 1.0, {})])
    lp = build_plain_timeline(TimelineData.from_timeline(tl))
    for period, de_open in (("A", False), ("B", True)):
        x_hi, f_hi = _upper_bounds(lp, "x@" + period), _upper_bounds(lp, "f@" + period)
        assert (x_hi.xs("DE", level="site_id") > 0).all() == de_open
        assert (f_hi.xs("DE", level="site_id") > 0).all() == de_open
        assert np.isinf(x_hi.xs("US", level="site_id")).all() and np.isinf(f_hi.xs("US", level="site_id")).all()
    plan = solve_timeline(tl, path="plain")
    service = plan.service
    assert service.loc[(service["period"] == "A") & (service["site_id"] == "DE"), "tpp"].sum() == 0
    assert served(plan, "A") > 0


def test_a_chip_drawing_no_power_still_fits_where_only_racks_are_left(tmp_path):
    """A chip with power_kw 0 (allowed) needs racks only: at DE, with no power in A but racks, its
    column stays free (and DE may serve), the power-drawing chip's is fixed to 0; and the plan
    places it there. (A cold review found the first version of the fixing cut it off: a lower
    optimum, called optimal.)"""
    from optimizer.model.periods import TimelineData, build_plain_timeline
    f = write_scenario(tmp_path, [site("DE", "DEU", power_mw=1.0)],
                       [chip(inventory=100), chip("Z", power_kw=0.0, inventory=100)],
                       [market("de", "DEU", 100 * M, in_country_only=True)], policy=OPEN)
    tl = timeline_from(f, [("A", Q, 1.0, {"power_mw": {"DE": 0.0}}), ("B", Q, 1.0, {})])
    lp = build_plain_timeline(TimelineData.from_timeline(tl))
    x_hi = _upper_bounds(lp, "x@A")
    assert x_hi[("DE", "H")] == 0 and np.isinf(x_hi[("DE", "Z")])
    assert np.isinf(_upper_bounds(lp, "f@A")[("de", "DE")])
    assert served(solve_timeline(tl, path="plain"), "A") == pytest.approx(100 * M, rel=1e-6)
    fast = solve_timeline(tl, path="fast")         # its pools hold no such site: solved on the plain LP
    assert served(fast, "A") == pytest.approx(100 * M, rel=1e-6)
    assert any("solved on the plain formulation: a chip draws no power" in n for n in fast.summary["notes"])


@pytest.mark.parametrize("method", ["exact", "round"])
@pytest.mark.parametrize("path", ["fast", "plain"])
def test_whole_racks_of_a_chip_drawing_no_power_fit_where_only_racks_are_left(tmp_path, method, path):
    """The whole-rack plan too: the fast layout's places (and its LP relaxation, the round method's
    bound) hold no site without power, so on the fast path the MIP called 0 served in A optimal;
    it now runs on the plain formulation there, with the note, and places 10 racks of Z at DE."""
    f = write_scenario(tmp_path, [site("DE", "DEU", power_mw=1.0)],
                       [chip(inventory=100), chip("Z", power_kw=0.0, inventory=100)],
                       [market("de", "DEU", 100 * M, in_country_only=True)], policy=OPEN)
    tl = timeline_from(f, [("A", Q, 1.0, {"power_mw": {"DE": 0.0}}), ("B", Q, 1.0, {})])
    plan = solve_timeline(tl, path=path, integer=True, method=method)
    assert plan.summary["status"] == "optimal"
    assert served(plan, "A") == pytest.approx(100 * M, rel=1e-6)
    assert plan.summary["integer"]["bound"] == pytest.approx(plan.summary["integer"]["objective"], rel=1e-9)
    assert any("a chip draws no power" in n for n in plan.summary["notes"]) == (path == "fast")


def _upper_bounds(lp, block: str) -> pd.Series:
    b = lp.var_blocks[block]
    return pd.Series(lp.col_hi[b.slice], index=b.index)


def test_frozen_stock_moves_within_a_plan_files_precision_only():
    """stock_at_file_precision: stock that breaks a row by less than a plan file's rounding moves
    within FROZEN_REL_TOL of itself, by the least relative deviation, to meet the row exactly; stock
    that breaks it by more is returned as read (the solve then reports the trap); a row the stock
    still to plan enters is not the frozen stock's to meet, unless the whole LP is asked for; other
    columns (flows, priced violations) are free within their bounds."""
    import scipy.sparse as sp

    from optimizer.model.lp import LinearProgram
    from optimizer.planner.periods import FROZEN_REL_TOL, stock_at_file_precision

    def lp(rhs: float, later_hi: float = np.inf, violation_hi: float = 0.0) -> LinearProgram:
        # columns: frozen a, frozen b, later c (stock still to plan, c >= a), a violation v
        A = sp.csr_matrix(np.array([[1.0, 1.0, 0.0, -1.0], [-1.0, 0.0, 1.0, 0.0]]))
        return LinearProgram(A=A, c=np.zeros(4), cost=np.zeros(4), col_lo=np.zeros(4),
                             col_hi=np.array([np.inf, np.inf, later_hi, violation_hi]),
                             row_lo=np.array([-np.inf, 0.0]), row_hi=np.array([rhs, np.inf]), var_blocks={}, row_blocks={})

    held, later, value = np.array([True, True, False, False]), np.array([False, False, True, False]), np.array([100.0, 50.0])
    assert np.array_equal(stock_at_file_precision(lp(150.0), held, value, later), value)      # met as read
    x = stock_at_file_precision(lp(150.0 - 1e-8), held, value, later)
    assert x.sum() <= 150.0 - 1e-8 and np.all(np.abs(x - value) <= FROZEN_REL_TOL * value)
    assert x[1] == 50.0 and x[0] < 100.0          # the least relative move: the larger value moves
    assert np.array_equal(stock_at_file_precision(lp(149.0), held, value, later), value)      # a trap
    # the later stock may not exceed 100 - 1e-8 (its period's limit): only the whole LP sees it
    assert np.array_equal(stock_at_file_precision(lp(150.0, later_hi=100.0 - 1e-8), held, value, later), value)
    x = stock_at_file_precision(lp(150.0, later_hi=100.0 - 1e-8), held, value, None)
    assert x[0] <= 100.0 - 1e-8 and x[1] == 50.0
    # soft limits: the stock moves rather than a rounding be priced as a violation; a violation
    # beyond the rounding (the earlier soft plan's own) is left to the violation column
    violations = np.array([False, False, False, True])
    x = stock_at_file_precision(lp(150.0 - 1e-8, violation_hi=np.inf), held, value, later, violations)
    assert x.sum() <= 150.0 - 1e-8 and x[1] == 50.0
    assert np.array_equal(stock_at_file_precision(lp(149.0, violation_hi=np.inf), held, value, later, violations), value)


def test_a_replan_with_every_period_frozen_keeps_the_frozen_plans_service(tmp_path):
    """Every period frozen: the cost cannot move, so the cost stage has nothing to gain. An
    interior-point cost stage from scratch landed on the value floor (1e-7 below the optimum): with
    these skewed weights (the last three periods count 1e-6 each) it served 0.14 % in three periods
    where the plan it froze served 37-43 %, at the same cost, called optimal (a careless-user pass,
    after the plain LP had been given the fast one LP's interior-point stages: that change is
    undone; HiGHS's default simplex keeps the frozen plan's service)."""
    import json

    from typer.testing import CliRunner

    from cli import app
    from optimizer.bench.generate import generate_fleet
    f = generate_fleet(tmp_path / "g", sites=60, seed=1, periods=4)
    (f / "generated.json").unlink()
    (f / "periods.csv").write_text("period,years,discount\n2025Q1,100,10\n2025Q2,0.001,0.001\n"
                                   "2025Q3,0.001,0.001\n2025Q4,0.001,0.001\n")
    runner = CliRunner()
    for args in (["--out", str(tmp_path / "a")],
                 ["--out", str(tmp_path / "b"), "--plan", str(tmp_path / "a"), "--freeze-through", "2025Q4"]):
        r = runner.invoke(app, ["solve", str(f), *args])
        assert r.exit_code == 0 and r.exception is None, r.output
    first, again = (json.loads((tmp_path / x / "summary.json").read_text()) for x in "ab")
    assert again["status"] == "optimal"
    for a, b in zip(first["periods"], again["periods"]):
        assert b["served_tpp"] == pytest.approx(a["served_tpp"], rel=1e-6), (a["period"], a["served_pct"], b["served_pct"])
    assert again["objective"] == pytest.approx(first["objective"], rel=1e-9)
