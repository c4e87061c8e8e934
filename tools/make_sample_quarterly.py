"""Regenerate datasets/sample-quarterly/ from datasets/sample/ (a maintainer's script).

    python tools/make_sample_quarterly.py datasets/sample datasets/sample-quarterly

The sample over the twelve quarters 2025Q1-2027Q4: the same sites (plus one made-up hall in
Cambodia), markets and installed fleet; chips.csv holds the units in stock at the start and
deliveries.csv what arrives each quarter; capacity.csv energises halls over time; demand.csv
grows each market's demand; periods.csv dates the policy presets. Every made-up number is set
below with its rule and in datasets/sample-quarterly/README.md. Seeded, so reproducible.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 2026
QUARTERS = [f"{year}Q{q}" for year in (2025, 2026, 2027) for q in (1, 2, 3, 4)]
DISCOUNT_RATE = 0.08          # a year: period t (from 0) has discount 1 / 1.08^(t/4)
# A preset applies from the first quarter that starts on or after its effective date (a quarter
# is planned under the rule in force when it starts); 2025Q1 has the rule as written.
POLICY_FROM = {"2025Q1": "aidr-2025",            # effective 2025-01-13
               "2025Q3": "nonenforced-2025-05",  # announced 2025-05-13
               "2026Q2": "nonenforced-2026-02"}  # Cambodia out of D:5 on 2026-02-03
START_STOCK = {"A100": 0, "H100": 120_000, "H200": 0, "B200": 0, "GB200": 0, "MI300X": 70_000}
DELIVERIES = {  # units arriving per quarter, from 2025Q1 (made up: a plausible ramp per generation)
    "H100": [60_000, 50_000, 40_000, 30_000],
    "H200": [40_000, 60_000, 70_000, 70_000, 60_000, 50_000],
    "B200": [20_000, 50_000, 80_000, 100_000, 100_000, 90_000, 60_000],
    "GB200": [0, 18_000, 54_000, 90_000, 108_000, 126_000, 144_000, 144_000, 144_000, 144_000, 144_000, 144_000],
    "MI300X": [40_000, 40_000, 40_000, 30_000, 30_000],
}
GROWTH = {"training": 0.09, "batch": 0.06, "interactive": 0.07, "sovereign": 0.08}   # a quarter
OUTSIDE_US_EXTRA = 0.02       # demand outside the U.S. grows this much faster a quarter
US_HALLS = (0.10, 0.08, 0.08, 0.08)   # of a U.S. site's power beyond its installed base: energised at the
US_HALL_QUARTERS = ((0, 0), (2, 4), (5, 7), (8, 10))   # start, then in a quarter drawn from each range
CAMBODIA = {"site_id": "phnom-penh-khm-1", "country": "KHM", "lat": 11.56, "lon": 104.92, "power_mw": 24.0,
            "racks": 530.0, "pue": 1.3, "energy_usd_per_mwh": 110.0, "metro": "Phnom Penh"}
CAMBODIA_FROM = "2026Q2"


def quarter_after(rng: np.random.Generator, first: int, last: int, n: int) -> np.ndarray:
    """n quarter indices drawn uniformly in [first, last]."""
    return rng.integers(first, last + 1, n)


def main(src: Path, out: Path) -> None:
    rng = np.random.default_rng(SEED)
    sites = pd.concat([pd.read_csv(src / "sites.csv", keep_default_na=False), pd.DataFrame([CAMBODIA])],
                      ignore_index=True)
    installed = pd.read_csv(src / "installed.csv")
    markets = pd.read_csv(src / "markets.csv", keep_default_na=False)
    chips = pd.read_csv(src / "chips.csv").assign(inventory=lambda c: c["sku"].map(START_STOCK))
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"period": QUARTERS, "years": 0.25,
                  "discount": [round(1 / (1 + DISCOUNT_RATE) ** (t / 4), 4) for t in range(len(QUARTERS))],
                  "policy": pd.Series(POLICY_FROM).reindex(QUARTERS).ffill().to_numpy()}
                 ).to_csv(out / "periods.csv", index=False)
    pd.DataFrame([(sku, QUARTERS[t], units) for sku, row in DELIVERIES.items() for t, units in enumerate(row) if units],
                 columns=["sku", "period", "units"]).to_csv(out / "deliveries.csv", index=False)
    capacity(rng, sites, installed).to_csv(out / "capacity.csv", index=False)
    demand(rng, markets).to_csv(out / "demand.csv", index=False)
    sites.to_csv(out / "sites.csv", index=False)
    chips.to_csv(out / "chips.csv", index=False)
    markets.to_csv(out / "markets.csv", index=False)
    installed.to_csv(out / "installed.csv", index=False)


def capacity(rng: np.random.Generator, sites: pd.DataFrame, installed: pd.DataFrame) -> pd.DataFrame:
    """Halls energised over time: every site without an installed base outside China and Hong
    Kong is dark (0 MW, 0 racks) until a quarter drawn from 2025Q2-2027Q2; the Cambodian hall
    from 2026Q2; the U.S. sites with an installed base hall by hall (:func:`us_halls`)."""
    empty = ~sites["site_id"].isin(installed["site_id"]) & ~sites["country"].isin(["CHN", "HKG", "KHM"])
    new = sites.loc[empty]
    lit = quarter_after(rng, 1, 9, len(new))
    rows = [(s, QUARTERS[0], 0.0, 0.0) for s in new["site_id"]]
    rows += [(s, QUARTERS[t], p, r) for s, t, p, r in zip(new["site_id"], lit, new["power_mw"], new["racks"])]
    khm = sites.loc[sites["site_id"] == CAMBODIA["site_id"]].iloc[0]
    rows += [(khm["site_id"], QUARTERS[0], 0.0, 0.0), (khm["site_id"], CAMBODIA_FROM, khm["power_mw"], khm["racks"])]
    rows += us_halls(rng, sites.loc[(sites["country"] == "USA") & ~empty], installed)
    table = pd.DataFrame(rows, columns=["site_id", "period", "power_mw", "racks"])
    return table.sort_values(["site_id", "period"], ignore_index=True)


def us_halls(rng: np.random.Generator, us: pd.DataFrame, installed: pd.DataFrame) -> list[tuple]:
    """U.S. sites energised hall by hall: at the start, the power their installed base uses plus
    US_HALLS[0] of the rest; each later hall adds its share in a quarter drawn from its range,
    reaching the sites.csv power and racks with the last."""
    chips = pd.read_csv(Path(__file__).resolve().parents[1] / "datasets" / "sample" / "chips.csv").set_index("sku")
    used_mw = (installed["units"] * installed["sku"].map(chips["power_kw"]) / 1000).groupby(installed["site_id"]).sum()
    used_racks = (installed["units"] / installed["sku"].map(chips["units_per_rack"])).groupby(installed["site_id"]).sum()
    rows = []
    for site in us.itertuples():
        mw, racks = used_mw.get(site.site_id, 0.0), used_racks.get(site.site_id, 0.0)
        share = 0.0
        for hall, (first, last) in zip(US_HALLS, US_HALL_QUARTERS):
            share = min(1.0, share + hall)
            quarter = QUARTERS[int(quarter_after(rng, first, last, 1)[0])]
            rows.append((site.site_id, quarter, round(mw + share * (site.power_mw - mw), 1),
                         float(np.ceil(racks + share * (site.racks - racks)))))
    return rows


def demand(rng: np.random.Generator, markets: pd.DataFrame) -> pd.DataFrame:
    """Each market's demand from its markets.csv value in 2025Q1, growing each quarter by its
    workload class's rate (+2 points outside the U.S.), times a uniform 0.99-1.01 per quarter."""
    workload = markets["market_id"].str.rsplit("-", n=1).str[1]
    rate = workload.map(GROWTH) + np.where(markets["country"] == "USA", 0.0, OUTSIDE_US_EXTRA)
    steps = (1 + rate.to_numpy()[:, None]) * rng.uniform(0.99, 1.01, (len(markets), len(QUARTERS) - 1))
    factor = np.cumprod(np.hstack([np.ones((len(markets), 1)), steps]), axis=1)
    values = (markets["demand_tpp"].to_numpy()[:, None] * factor).round(-3)
    return pd.DataFrame({"market_id": np.repeat(markets["market_id"].to_numpy(), len(QUARTERS)),
                         "period": QUARTERS * len(markets), "demand_tpp": values.ravel()})


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
