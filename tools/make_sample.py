"""Regenerate datasets/sample/ from the cloud-region list (a maintainer's script).

    python tools/make_sample.py ../shared/reference/cloud-regions.csv datasets/sample

Real: the metros, countries and coordinates of 253 public cloud regions. Made up (seeded, so
the output is reproducible): power, racks, energy price, installed fleet, inventory and demand,
by the rules written next to each number below and in datasets/sample/README.md.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 2025
CHIPS = pd.DataFrame([  # sku, tpp, power_kw, units_per_rack from datasets/chips.csv; inventory, capex assumed
    ("A100", 4992, 0.60, 32, 0, 10_000),
    ("H100", 15832, 1.05, 32, 300_000, 25_000),
    ("H200", 15832, 1.05, 32, 350_000, 30_000),
    ("B200", 36000, 1.50, 32, 500_000, 38_000),
    ("GB200", 40000, 1.80, 72, 648_000, 45_000),
    ("MI300X", 20919, 1.125, 32, 250_000, 15_000),
], columns=["sku", "tpp", "power_kw", "units_per_rack", "inventory", "capex_usd"])
WORKLOADS = [  # class, max_rtt_ms, value per TPP, in_country_only, demand weight
    ("training", 400.0, 1.0, False, 0.45),
    ("batch", 120.0, 1.5, False, 0.25),
    ("interactive", 30.0, 3.0, False, 0.20),
    ("sovereign", 60.0, 2.5, True, 0.10),
]
ENERGY_USD_PER_MWH = {"USA": 70, "CAN": 60, "NOR": 45, "SWE": 45, "FIN": 50, "CHN": 80}


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:24]


def make_sites(regions: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One site per region: power 20-300 MW (U.S. sites about 3x larger), 45 kW per rack."""
    code = regions["region_code"].fillna("").astype(str)
    ids = [f"{p}-{c}" if c else f"{p}-new-{slug(m)}" for p, c, m in
           zip(regions["provider"], code, regions["metro"])]
    us = (regions["country_iso3"] == "USA").to_numpy()
    power = np.round(rng.lognormal(np.log(45), 0.6, len(regions)) * np.where(us, 3.0, 1.0), 1)
    power = np.clip(power, 15, 400)
    power[(regions["status"] == "announced").to_numpy()] *= 0.5
    racks = np.round(power * 1000 / 45 * rng.uniform(0.9, 1.2, len(regions)))
    energy = [ENERGY_USD_PER_MWH.get(k, 95) for k in regions["country_iso3"]]
    return pd.DataFrame({
        "site_id": ids, "country": regions["country_iso3"], "lat": regions["lat"],
        "lon": regions["lon"], "power_mw": np.round(power, 1), "racks": racks.astype(int),
        "pue": np.round(rng.uniform(1.1, 1.4, len(regions)), 2), "energy_usd_per_mwh": energy,
        "metro": regions["metro"],
    }).drop_duplicates("site_id")


def make_installed(sites: pd.DataFrame, tier: pd.Series, rng: np.random.Generator) -> pd.DataFrame:
    """Existing A100/H100 fleet using 10-35 % of each site's power; none in Tier 3, and in each
    Tier-2 country at most 40 % of the 790M TPP cap (so no country starts over its cap)."""
    rows = []
    per_country = sites["country"].value_counts()
    for s in sites.itertuples():
        t = tier.get(s.country, 2)
        if t == 3 or rng.random() < 0.15:
            continue
        budget_kw = s.power_mw * 1000 * rng.uniform(0.1, 0.35)
        h100 = int(budget_kw * 0.6 / 1.05 // 32 * 32)
        a100 = int(budget_kw * 0.4 / 0.60 // 32 * 32)
        if t == 2:
            room = 0.4 * 790e6 / per_country[s.country]          # TPP this site may hold
            scale = min(1.0, room / (h100 * 15832 + a100 * 4992))
            h100, a100 = int(h100 * scale // 32 * 32), int(a100 * scale // 32 * 32)
        rows += [(s.site_id, "H100", h100), (s.site_id, "A100", a100)]
    table = pd.DataFrame(rows, columns=["site_id", "sku", "units"])
    return table.loc[table["units"] > 0]


def make_markets(sites: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Metro x workload class; metro weight = regions there; total demand about 1.6x the fleet."""
    metros = sites.groupby(["metro", "country"]).agg(lat=("lat", "mean"), lon=("lon", "mean"),
                                                     weight=("site_id", "size")).reset_index()
    weight = metros["weight"].to_numpy(float) * rng.uniform(0.5, 1.5, len(metros))
    weight *= np.where(metros["country"] == "USA", 1.0, 1.6)
    total_demand = 1.6e11
    rows = []
    for i, m in enumerate(metros.itertuples()):
        for cls, rtt, value, own, share in WORKLOADS:
            if own and m.country == "USA":
                continue
            demand = total_demand * share * weight[i] / weight.sum()
            rows.append({"market_id": f"{slug(m.metro)}-{m.country.lower()}-{cls}",
                         "country": m.country, "lat": round(m.lat, 3), "lon": round(m.lon, 3),
                         "demand_tpp": round(demand, -3), "value": value, "max_rtt_ms": rtt,
                         "in_country_only": str(own).lower()})
    return pd.DataFrame(rows).drop_duplicates("market_id")


def main(regions_csv: str, out: str) -> None:
    rng = np.random.default_rng(SEED)
    regions = pd.read_csv(regions_csv)
    root = Path(__file__).resolve().parent.parent
    countries = pd.read_csv(root / "datasets" / "countries.csv", keep_default_na=False)
    tier = countries.set_index("iso3")["tier"]
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    sites = make_sites(regions, rng)
    sites.to_csv(out_dir / "sites.csv", index=False)
    CHIPS.to_csv(out_dir / "chips.csv", index=False)
    make_markets(sites, rng).to_csv(out_dir / "markets.csv", index=False)
    make_installed(sites, tier, rng).to_csv(out_dir / "installed.csv", index=False)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
