"""Shipped datasets: countries, chips, policy presets, and the sample scenario."""
from __future__ import annotations

import pandas as pd
import pytest

from optimizer import check_plan, load_policy, load_scenario, solve
from optimizer.datafiles import data_dir
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
