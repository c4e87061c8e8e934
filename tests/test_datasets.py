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
