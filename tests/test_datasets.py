"""Shipped datasets: countries, chips, policy presets, and the sample scenario."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from optimizer import check_plan, load_policy, load_scenario, solve
from optimizer.datafiles import data_dir
from optimizer.inputs.timeline import load_timeline
from optimizer.planner.periods import solve_timeline
from optimizer.policy.policy import preset_names

US_TERRITORIES = ("ASM", "GUM", "MNP", "PRI", "UMI", "VIR")   # 15 CFR 772.1: "United States" includes them
TIER1 = set("USA AUS BEL CAN DNK FIN FRA DEU IRL ITA JPN NLD NZL NOR KOR ESP SWE TWN GBR".split())


def test_countries_table():
    c = pd.read_csv(data_dir() / "countries.csv", keep_default_na=False)
    assert len(c) == 249 and c["iso3"].is_unique
    sovereign = c.set_index("iso3")["sovereign"]
    assert sovereign[sovereign != ""].to_dict() == {**dict.fromkeys(US_TERRITORIES, "USA"), "HKG": "CHN"}
    assert set(c.loc[c["tier"] == 1, "iso3"]) == TIER1 | set(US_TERRITORIES)   # a territory has its sovereign's tier
    tier3 = set(c.loc[c["tier"] == 3, "iso3"])
    assert {"CHN", "HKG", "MAC", "RUS", "IRN", "PRK"} <= tier3 and len(tier3) == 25
    assert c["source"].str.len().gt(0).all()
    assert c.loc[c["iso3"] == "NAM", "name"].item() == "Namibia"   # NA must not read as missing


def test_chip_catalog():
    chips = pd.read_csv(data_dir() / "chips.csv")
    assert chips.set_index("sku").at["H100", "tpp"] == 15832
    assert (chips["power_kw"] > 0).all() and (chips["units_per_rack"] > 0).all()


def test_presets():
    assert set(preset_names()) >= {"aidr-2025", "aidr-2025-uveu", "aidr-2025-g2g", "nonenforced-2025-05", "none"}
    p = load_policy("aidr-2025")
    assert (p.min_home_share, p.min_tier1_share, p.max_tier2_country_share) == (0.5, 0.75, 0.07)
    assert p.tier2_country_cap_tpp == 790_000_000 and p.ban_tier3
    assert load_policy("aidr-2025-uveu").tier2_country_cap_tpp is None
    assert load_policy("aidr-2025-g2g").tier2_country_cap_tpp == 1_580_000_000
    n = load_policy("nonenforced-2025-05")
    assert n.ban_tier3 and n.min_home_share is None
    none = load_policy("none")
    assert not none.ban_tier3 and none.cap_for("POL") is None


def test_presets_carry_their_dates_and_licence_flags():
    """The policy timeline: the rule as written (2025-01-13, superseded on 2025-05-13, before its
    2025-05-15 compliance date), non-enforcement (2025-05-13), Cambodia out of D:5 (2026-02-03)."""
    dated = {n: (load_policy(n).effective, load_policy(n).superseded) for n in preset_names() if n != "none"}
    assert dated == {"aidr-2025": ("2025-01-13", "2025-05-13"), "aidr-2025-uveu": ("2025-01-13", "2025-05-13"),
                     "aidr-2025-g2g": ("2025-01-13", "2025-05-13"),
                     "nonenforced-2025-05": ("2025-05-13", "2026-02-03"), "nonenforced-2026-02": ("2026-02-03", None)}
    assert "never reached its 2025-05-15 compliance date" in load_policy("aidr-2025").description
    before, after = load_policy("nonenforced-2025-05"), load_policy("nonenforced-2026-02")
    assert {"ARE", "SAU", "QAT"} <= set(before.licence_required) and "KHM" not in before.licence_required
    assert set(after.licence_required) == set(before.licence_required) | {"KHM"}
    assert not load_policy("aidr-2025").licence_required
    khm = lambda policy: int(load_scenario(data_dir() / "sample", policy).tiers["KHM"])
    assert (khm("nonenforced-2025-05"), khm("nonenforced-2026-02")) == (3, 2)


@pytest.fixture(scope="module")
def sample_plan():
    s = load_scenario(data_dir() / "sample")
    return s, solve(s)


def test_sample_is_realistic(sample_plan):
    s, _ = sample_plan
    assert len(s.sites) >= 150
    assert s.sites["country"].nunique() >= 30
    assert set(s.sites["tier"]) == {1, 2, 3}
    assert s.chips["inventory"].sum() > 1e6


def test_sample_solves_compliant_with_limits_binding(sample_plan):
    s, plan = sample_plan
    assert check_plan(s, plan.placement, plan.service).ok
    families = {l["family"] for l in plan.summary["limits"] if l["binding"]}
    assert "home_share" in families and "tier2_cap" in families
    assert 0 < plan.summary["served_pct"] < 100


def test_sample_quarterly_is_the_sample_over_twelve_quarters_with_a_policy_timeline(tmp_path):
    """Twelve quarters, the dated presets in time order (Cambodia leaves Tier 3 in 2026Q2),
    halls energised later, demand growing; tools/make_sample_quarterly.py rebuilds it exactly."""
    folder = data_dir() / "sample-quarterly"
    tl = load_timeline(folder)
    assert tl.ids == [f"{y}Q{q}" for y in (2025, 2026, 2027) for q in (1, 2, 3, 4)]
    assert [p.policy_source for p in tl.periods] == \
        ["aidr-2025"] * 2 + ["nonenforced-2025-05"] * 3 + ["nonenforced-2026-02"] * 7
    assert [int(p.scenario.sites.loc["phnom-penh-khm-1", "tier"]) for p in tl.periods] == [3] * 5 + [2] * 7
    demand = [p.scenario.markets["demand_tpp"].sum() for p in tl.periods]
    power = [p.scenario.sites["power_mw"].sum() for p in tl.periods]
    assert all(b > a for a, b in zip(demand, demand[1:])) and power[-1] > power[0]
    sample = load_scenario(data_dir() / "sample")
    assert set(sample.sites.index) | {"phnom-penh-khm-1"} == set(tl.first.sites.index)
    tool = Path(__file__).resolve().parents[1] / "tools" / "make_sample_quarterly.py"
    subprocess.run([sys.executable, str(tool), str(data_dir() / "sample"), str(tmp_path)], check=True)
    for f in folder.glob("*.csv"):
        assert (tmp_path / f.name).read_bytes() == f.read_bytes(), f.name


def test_sample_quarterly_as_written_a_later_share_changes_the_first_quarter():
    """datasets/sample-quarterly/README.md: under aidr-2025 the home share binds in 2025Q2 with U.S.
    racks short, so 2025Q1 planned alone (then fixed, as installed units) loses value in 2025Q2-Q3:
    the three-quarter optimum places 2025Q1 otherwise."""
    tl = load_timeline(data_dir() / "sample-quarterly", "aidr-2025")
    three = dataclasses.replace(tl, periods=tl.periods[:3])
    alone = solve_timeline(dataclasses.replace(tl, periods=tl.periods[:1])).placement
    first = alone.loc[alone["new_units"] > 0, ["site_id", "sku", "new_units"]].rename(columns={"new_units": "units"})

    def fixed(p):
        s = p.scenario
        installed = pd.concat([s.installed, first]).groupby(["site_id", "sku"], as_index=False)["units"].sum()
        used = first.groupby("sku")["units"].sum().reindex(s.chips.index, fill_value=0.0)
        return dataclasses.replace(p, scenario=dataclasses.replace(
            s, installed=installed, chips=s.chips.assign(inventory=s.chips["inventory"] - used)))

    best = solve_timeline(three).summary
    forced = solve_timeline(dataclasses.replace(three, periods=tuple(map(fixed, three.periods)))).summary
    assert best["objective"] > forced["objective"] * (1 + 1e-3)
    q2 = best["periods"][1]
    assert "home_share[USA]" in [lim["name"] for lim in q2["limits"] if lim["binding"]]
    assert forced["periods"][1]["served_pct"] < q2["served_pct"] - 0.5


# datasets/sample/README.md, checked statement by statement: the census ("What is real", "What is
# made up") and, solving the sample under each preset it names, "What binds, preset by preset".
PRESETS = ("aidr-2025", "aidr-2025-uveu", "aidr-2025-g2g", "nonenforced-2025-05", "none")


def test_sample_readme_census():
    s = load_scenario(data_dir() / "sample")
    sites, chips = s.sites, s.chips
    assert (len(sites), sites["country"].nunique()) == (253, 48)
    assert sites.groupby("tier")["country"].nunique().to_dict() == {1: 19, 2: 27, 3: 2}
    assert sites.groupby("tier").size().to_dict() == {1: 146, 2: 96, 3: 11}
    assert (sites["country"] == "USA").sum() == 44 and set(sites.loc[sites["tier"] == 3, "country"]) == {"CHN", "HKG"}
    assert chips["inventory"][chips["inventory"] > 0].to_dict() == {
        "H100": 300_000, "H200": 350_000, "B200": 500_000, "GB200": 648_000, "MI300X": 250_000}
    assert chips.loc[["H100", "H200", "B200", "GB200", "MI300X"], "capex_usd"].tolist() == [25e3, 30e3, 38e3, 45e3, 15e3]
    assert chips.at["GB200", "units_per_rack"] == 72 and 2.0e6 < chips["inventory"].sum() < 2.1e6
    assert len(s.markets) == 499
    workload = s.markets.index.str.rsplit("-", n=1).str[1]
    assert s.markets.groupby(workload)[["value", "max_rtt_ms"]].agg(set).to_dict("index") == {
        "training": {"value": {1.0}, "max_rtt_ms": {400.0}}, "batch": {"value": {1.5}, "max_rtt_ms": {120.0}},
        "interactive": {"value": {3.0}, "max_rtt_ms": {30.0}}, "sovereign": {"value": {2.5}, "max_rtt_ms": {60.0}}}
    assert not s.markets.loc[workload == "sovereign", "country"].eq("USA").any()
    installed = s.installed.join(chips["tpp"], on="sku").assign(tpp=lambda t: t["units"] * t["tpp"])
    installed["country"] = installed["site_id"].map(sites["country"])
    assert not installed["country"].isin(["CHN", "HKG"]).any()
    tier2 = installed[installed["country"].map(s.tiers) == 2].groupby("country")["tpp"].sum()
    assert tier2.max() < 0.4 * 790e6
    demand = s.markets["demand_tpp"].sum()
    assert 1.55e11 < demand < 1.65e11
    assert 1.6 < demand / (installed["tpp"].sum() + (chips["inventory"] * chips["tpp"]).sum()) < 1.8


@pytest.fixture(scope="module")
def preset_plans():
    return {p: solve(load_scenario(data_dir() / "sample", p)).summary for p in PRESETS}


def binding(summary, family: str) -> list[str]:
    return sorted(l["scope"] for l in summary["limits"] if l["binding"] and l["family"] == family)


def priced(summary, family: str) -> list[str]:
    """Scopes of the family's limits with a nonzero shadow price (the same in every optimal plan
    here, unlike which limits happen to be full: equal-value, equal-cost plans differ on those)."""
    return sorted(p["scope"] for p in summary["explain"]["policy_prices"]
                  if p["family"] == family and abs(p["value_per_unit"]) > 1e-6)


def largest_tier2_share(summary) -> tuple[str, float]:
    tier2 = [c for c in summary["countries"] if c["tier"] == 2]
    top = max(tier2, key=lambda c: c["share"])
    return top["iso3"], top["share"]


def share_of(summary, iso3: str) -> float:
    return next(c["share"] for c in summary["countries"] if c["iso3"] == iso3)


@pytest.mark.parametrize("preset", PRESETS)
def test_sample_readme_every_preset_places_everything(preset_plans, preset):
    summary = preset_plans[preset]
    assert summary["served_pct"] == pytest.approx(59.35, abs=0.005)
    assert summary["physical_binding"]["inventory_skus"] == ["H100", "H200", "B200", "GB200", "MI300X"]


def test_sample_readme_default(preset_plans):
    summary = preset_plans["aidr-2025"]
    families = {l["family"] for l in summary["limits"] if l["binding"]}
    assert families == {"home_share", "tier2_cap", "tier3_ban"}
    assert binding(summary, "home_share") == ["USA"]
    assert priced(summary, "tier2_cap") == ["ARE", "BGD", "BHR", "BRA", "CHL", "IND", "ISR", "OMN", "QAT", "SAU", "ZAF"]
    assert set(priced(summary, "tier2_cap")) <= set(binding(summary, "tier2_cap"))
    assert 16 <= len(binding(summary, "tier2_cap")) <= 17   # CHE full in one optimal plan, not in another
    assert summary["tier1_share"] == pytest.approx(0.828, abs=5e-4) and largest_tier2_share(summary)[1] < 0.01


def test_sample_readme_uveu(preset_plans):
    summary, base = preset_plans["aidr-2025-uveu"], preset_plans["aidr-2025"]
    assert {l["family"] for l in summary["limits"] if l["binding"]} == {"home_share", "tier3_ban"}
    iso3, share = largest_tier2_share(summary)
    assert iso3 == "IND" and share == pytest.approx(0.035, abs=5e-4)
    assert 0.78 <= summary["tier1_share"] <= 0.80   # not binding: equal-cost plans may split it differently
    assert 100 * (summary["objective"] / base["objective"] - 1) == pytest.approx(1.6, abs=0.05)


def test_sample_readme_g2g(preset_plans):
    summary, base = preset_plans["aidr-2025-g2g"], preset_plans["aidr-2025"]
    assert {l["family"] for l in summary["limits"] if l["binding"]} == {"home_share", "tier2_cap", "tier3_ban"}
    assert {"ARE", "IND", "MYS", "QAT", "SAU"} <= set(binding(summary, "tier2_cap")) <= {"ARE", "IND", "MYS", "QAT", "SAU", "ZAF"}
    assert priced(summary, "tier2_cap") == []   # full, but a larger cap would earn nothing
    assert 100 * (summary["objective"] / base["objective"] - 1) == pytest.approx(1.6, abs=0.05)


def test_sample_readme_nonenforced_and_none(preset_plans):
    base = preset_plans["aidr-2025"]
    nonenforced, none = preset_plans["nonenforced-2025-05"], preset_plans["none"]
    assert {l["family"] for l in nonenforced["limits"] if l["binding"]} == {"tier3_ban"}
    assert nonenforced["home_share"] == pytest.approx(0.31, abs=0.01)   # not binding: equal-cost plans differ (31.3 %, 31.5 % measured)
    assert 100 * (nonenforced["objective"] / base["objective"] - 1) == pytest.approx(4.6, abs=0.05)
    assert not [l for l in none["limits"] if l["binding"]]
    assert none["home_share"] == pytest.approx(0.31, abs=0.01)
    assert share_of(none, "CAN") == pytest.approx(0.073, abs=0.005) and share_of(none, "CHN") == pytest.approx(0.073, abs=0.005)
    assert 100 * (none["objective"] / base["objective"] - 1) == pytest.approx(5.3, abs=0.05)
    assert 100 * (base["objective"] / none["objective"] - 1) == pytest.approx(-5.0, abs=0.05)
