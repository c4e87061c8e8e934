"""Synthetic fleets for benchmarks and tests: ``generate_fleet(out, sites=N, metros=K, skus=C, seed=S)``.

Deterministic per seed; 100 to 30,000 sites in seconds. Metros are anchored on the real cloud
metros of ``datasets/sample/sites.csv`` (moved up to a few hundred km when an anchor is reused),
so countries of all three tiers appear with the home country (USA) the largest. Sites are
campuses 1-5 km apart within a metro, sharing the metro's energy tariff and PUE (``tariffs="metro"``,
the default) or each with its own (``tariffs="site"``: see :func:`site_tariffs`). Markets are
metro x workload class:

=============  ==========  =============  =====
class          max_rtt_ms  in-country     value
=============  ==========  =============  =====
training       400         no             1.0
batch          120         no             1.5
interactive    30          no             3.0
sovereign      60          yes            2.5
=============  ==========  =============  =====

Inventory adds about 40 % to the installed fleet's power and demand is about 1.5x the whole
fleet's compute, so capacity binds; Tier-2 demand is heavy, so the shares and caps bind too.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.datafiles import data_dir
from optimizer.errors import InputError
from optimizer.io.manifest import build_manifest
from optimizer.outdir import SCENARIO_MANIFEST, atomic_dir, check_out_dir, generated_hashes, out_lock

CLASSES = [("training", 400.0, False, 1.0, 0.40), ("batch", 120.0, False, 1.5, 0.25),
           ("interactive", 30.0, False, 3.0, 0.25), ("sovereign", 60.0, True, 2.5, 0.10)]
SKU_ORDER = ["H100", "B200", "GB200", "MI300X", "H200", "A100", "TPUv6e", "Trainium2", "MI325X",
             "Gaudi3", "TPUv5p", "H20"]
CAPEX = {"A100": 10e3, "H100": 25e3, "H20": 12e3, "H200": 30e3, "B200": 38e3, "GB200": 45e3,
         "MI300X": 15e3, "MI325X": 20e3, "TPUv5p": 12e3, "TPUv6e": 15e3, "Trainium2": 10e3,
         "Gaudi3": 14e3}
HOME_METRO_SHARE = 0.40
CAP_TPP = 790e6
TARIFFS = ("metro", "site")


def generate_fleet(out: str | Path, sites: int = 1000, metros: int | None = None, skus: int = 6,
                   seed: int = 0, periods: int | None = None, tariffs: str = "metro") -> Path:
    """Write an ordinary scenario folder (sites, chips, markets, installed, and generated.json,
    the run manifest that marks it as generated) into ``out``, atomically. ``out`` must be new,
    empty or a scenario this function generated (InputError otherwise). With ``periods`` it is a
    multi-period scenario (see :func:`_period_tables`); without, the files are as they always were.
    ``tariffs``: ``metro`` (every campus of a metro shares its tariff and PUE) or ``site`` (each its
    own, see :func:`site_tariffs`; every other column is the same as the metro fleet's of that seed)."""
    _check_sizes(sites, metros, skus, seed)
    _check_periods(periods)
    _check_tariffs(tariffs)
    target = check_out_dir(out, "scenario", flag="OUT")
    rng = np.random.default_rng(seed)
    n_metros = int(metros or max(8, round(sites / 25)))
    metro_table = _metros(rng, n_metros)
    site_table = _sites(rng, metro_table, sites)
    if tariffs == "site":
        site_table = site_tariffs(site_table, seed)
    chips = _chips(skus)
    installed = _installed(rng, site_table, chips)
    chips["inventory"] = _inventory(site_table, chips)
    markets = _markets(rng, metro_table, site_table, chips, installed)
    tables = {"sites.csv": site_table.drop(columns=["metro_pos"]), "chips.csv": chips,
              "markets.csv": markets, "installed.csv": installed}
    params = {"sites": sites, "metros": n_metros, "skus": skus, "seed": seed}
    if periods is not None:
        tables.update(_period_tables(np.random.default_rng([seed, PERIODS_STREAM]), tables, periods))
        params["periods"] = periods
    if tariffs != "metro":      # the metro fleets' manifest stays as it was
        params["tariffs"] = tariffs
    run = build_manifest("scenario", None, None, params)
    run["files"] = sorted(tables)
    with out_lock(target, flag="OUT"):
        check_out_dir(out, "scenario", flag="OUT", checked=target)     # again, under the lock
        with atomic_dir(target) as tmp:
            for name, table in tables.items():
                table.to_csv(tmp / name, index=False)
            run["sha256"] = generated_hashes(tmp)     # a hand edit makes the folder the user's
            (tmp / SCENARIO_MANIFEST).write_text(json.dumps({"run": run}, indent=1) + "\n")
    return Path(out)


def _check_sizes(sites: int, metros: int | None, skus: int, seed: int) -> None:
    """Refuse (InputError, every problem at once) sizes the generator cannot honour."""
    problems = []
    if not 1 <= skus <= len(SKU_ORDER):
        problems.append(f"--skus {skus}: must be 1 to {len(SKU_ORDER)}")
    if sites < 1:
        problems.append(f"--sites {sites}: must be >= 1")
    if metros is not None and metros < 1:
        problems.append(f"--metros {metros}: must be >= 1")
    if seed < 0:
        problems.append(f"--seed {seed}: must be >= 0")
    if problems:
        raise InputError(problems)


MAX_PERIODS = 40
PERIODS_STREAM = 11            # the periods' random stream: the snapshot tables' draws stay as they were
FIRST_YEAR = 2025
START_SHARE = 0.5              # of the snapshot inventory, available from the first period
DELIVERY_SHARE = (0.05, 0.15)  # of the snapshot inventory, delivered per sku and period
LATE_SHARE = 0.25              # of the sites without an installed base, energised after the first period
GROWTH = (0.05, 0.10)          # demand growth per market and period


def _check_periods(periods: int | None) -> None:
    if periods is not None and not 1 <= periods <= MAX_PERIODS:
        raise InputError(f"--periods {periods}: must be 1 to {MAX_PERIODS}")


def _period_tables(rng: np.random.Generator, tables: dict[str, pd.DataFrame], n: int) -> dict[str, pd.DataFrame]:
    """A build-out over ``n`` quarters from 2025Q1 (periods.csv, years 0.25): half the snapshot
    inventory available at the start (chips.csv) and 5-15 % of it delivered per sku and period
    (deliveries.csv); a quarter of the sites without an installed base energised in a later
    period, at 0 power and racks before (capacity.csv); every market's demand growing 5-10 %
    a period from its markets.csv value in the first (demand.csv)."""
    ids = [f"{FIRST_YEAR + i // 4}Q{i % 4 + 1}" for i in range(n)]
    chips, sites, markets = tables["chips.csv"], tables["sites.csv"], tables["markets.csv"]
    stock = chips["inventory"].to_numpy()
    delivered = np.floor(stock[:, None] * rng.uniform(*DELIVERY_SHARE, (len(chips), n)))
    deliveries = pd.DataFrame({"sku": np.repeat(chips["sku"].to_numpy(), n), "period": ids * len(chips),
                               "units": delivered.ravel()})
    empty = ~sites["site_id"].isin(tables["installed.csv"]["site_id"]).to_numpy()
    late = np.flatnonzero(empty & (rng.random(len(sites)) < LATE_SHARE)) if n > 1 else np.array([], int)
    start = rng.integers(1, n, len(late)) if n > 1 else late
    capacity = pd.concat([
        pd.DataFrame({"site_id": sites["site_id"].to_numpy()[late], "period": ids[0], "power_mw": 0.0, "racks": 0.0}),
        pd.DataFrame({"site_id": sites["site_id"].to_numpy()[late], "period": np.array(ids)[start],
                      "power_mw": sites["power_mw"].to_numpy()[late], "racks": sites["racks"].to_numpy()[late]}),
    ]).sort_values(["site_id", "period"], key=lambda c: c.map(ids.index) if c.name == "period" else c)
    growth = np.cumprod(np.hstack([np.ones((len(markets), 1)), 1 + rng.uniform(*GROWTH, (len(markets), n - 1))]), axis=1)
    demand = pd.DataFrame({"market_id": np.repeat(markets["market_id"].to_numpy(), n), "period": ids * len(markets),
                           "demand_tpp": (markets["demand_tpp"].to_numpy()[:, None] * growth).round(-3).ravel()})
    return {"periods.csv": pd.DataFrame({"period": ids, "years": 0.25}),
            "chips.csv": chips.assign(inventory=np.floor(stock * START_SHARE)),
            "deliveries.csv": deliveries, "capacity.csv": capacity.reset_index(drop=True), "demand.csv": demand}


def _check_tariffs(tariffs: str) -> None:
    if tariffs not in TARIFFS:
        raise InputError(f"--tariffs {tariffs}: must be {' or '.join(TARIFFS)}")


SITE_PUE_RANGE = (1.05, 1.6)
SITE_ENERGY_RANGE = (25.0, 200.0)     # USD per MWh


def site_tariffs(sites: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Every site its own PUE and energy price, as real buildings have (own cooling design,
    own power contract): the metro's PUE + N(0, 0.06) and tariff x lognormal(0, 0.25), clipped
    to SITE_PUE_RANGE and SITE_ENERGY_RANGE. Drawn from a stream of its own (seeded by ``seed``),
    so every other column is the metro fleet's."""
    rng = np.random.default_rng([seed, 13])
    n = len(sites)
    pue = np.clip(sites["pue"].to_numpy(float) + rng.normal(0, 0.06, n), *SITE_PUE_RANGE).round(3)
    energy = np.clip(sites["energy_usd_per_mwh"].to_numpy(float) * rng.lognormal(0, 0.25, n),
                     *SITE_ENERGY_RANGE).round(2)
    return sites.assign(pue=pue, energy_usd_per_mwh=energy)


def _anchors() -> pd.DataFrame:
    sample = pd.read_csv(data_dir() / "sample" / "sites.csv", keep_default_na=False)
    return sample.groupby(["metro", "country"], as_index=False)[["lat", "lon"]].mean()


def _metros(rng: np.random.Generator, k: int) -> pd.DataFrame:
    """k metros: one each in the home country, a Tier-2 and a Tier-3 country, the other anchors
    in random order, then reused anchors (about 40 % U.S.) moved by about 150 km."""
    anchors = _anchors()
    tier = anchors["country"].map(_tiers()).fillna(2).to_numpy()
    home = anchors["country"].to_numpy() == "USA"
    first = [int(rng.choice(np.flatnonzero(mask))) for mask in (home, tier == 2, tier == 3) if mask.any()]
    weight = np.where(home, HOME_METRO_SHARE / home.sum(), (1 - HOME_METRO_SHARE) / (~home).sum())
    rest = [i for i in rng.choice(len(anchors), len(anchors), replace=False, p=weight) if i not in first]
    pick = np.concatenate([first, rest, rng.choice(len(anchors), size=max(0, k - len(anchors)), p=weight)])
    pick = pick[:k].astype(int)
    reused = np.arange(len(pick)) >= len(anchors)
    base = anchors.iloc[pick].reset_index(drop=True)
    jitter = rng.normal(0, 1.5, (len(pick), 2)) * reused[:, None]
    return pd.DataFrame({"metro": [f"{m} #{i}" if r else m for i, (m, r) in enumerate(zip(base["metro"], reused))],
                         "country": base["country"],
                         "lat": np.clip(base["lat"] + jitter[:, 0], -60, 70).round(4),
                         "lon": ((base["lon"] + jitter[:, 1] + 180) % 360 - 180).round(4)})


def _sites(rng: np.random.Generator, metros: pd.DataFrame, n: int) -> pd.DataFrame:
    """n campuses spread over the metros (every metro gets at least one when n allows)."""
    k = len(metros)
    size = rng.lognormal(0, 0.7, k) * np.where(metros["country"] == "USA", 1.5, 1.0)
    pos = np.concatenate([np.arange(min(n, k)), rng.choice(k, size=max(0, n - k), p=size / size.sum())])
    pos = np.sort(pos)
    m = metros.iloc[pos].reset_index(drop=True)
    offset = rng.uniform(0.01, 0.045, (n, 2)) * rng.choice([-1, 1], (n, 2))
    power = np.clip(rng.lognormal(np.log(30), 0.6, n), 5, 300).round(1)
    pue = rng.uniform(1.1, 1.4, k).round(2)[pos]               # one design generation per metro
    energy = rng.uniform(40, 120, k).round(1)[pos]             # one utility tariff per metro
    return pd.DataFrame({
        "site_id": [f"s{i:05d}" for i in range(n)], "country": m["country"],
        "lat": (m["lat"] + offset[:, 0]).round(5), "lon": (m["lon"] + offset[:, 1]).round(5),
        "power_mw": power, "racks": np.round(power * 1000 / 45 * rng.uniform(0.85, 1.2, n)),
        "pue": pue, "energy_usd_per_mwh": energy,
        "metro": m["metro"], "metro_pos": pos})


def _chips(skus: int) -> pd.DataFrame:
    catalog = pd.read_csv(data_dir() / "chips.csv").set_index("sku")
    chosen = SKU_ORDER[:skus]
    table = catalog.loc[chosen, ["tpp", "power_kw", "units_per_rack"]].reset_index()
    table["inventory"] = 0.0
    table["capex_usd"] = [CAPEX[s] for s in chosen]
    return table


def _tiers() -> pd.Series:
    c = pd.read_csv(data_dir() / "countries.csv", keep_default_na=False)
    return c.set_index("iso3")["tier"]


def _installed(rng: np.random.Generator, sites: pd.DataFrame, chips: pd.DataFrame) -> pd.DataFrame:
    """Older skus using 15-40 % of power at 70 % of non-Tier-3 sites; each Tier-2 country's
    installed compute kept under 30 % of the 790M TPP cap."""
    tier = sites["country"].map(_tiers()).fillna(2).to_numpy()
    old = chips.iloc[: min(2, len(chips))]
    has = (rng.random(len(sites)) < 0.7) & (tier != 3)
    kw = sites["power_mw"].to_numpy() * 1000 * rng.uniform(0.15, 0.4, len(sites)) * has
    units = np.floor(kw[:, None] / len(old) / old["power_kw"].to_numpy()[None, :])
    tpp_site = units @ old["tpp"].to_numpy()
    country_tpp = pd.Series(tpp_site).groupby(sites["country"].to_numpy()).transform("sum").to_numpy()
    scale = np.where(tier == 2, np.minimum(1.0, 0.3 * CAP_TPP / np.maximum(country_tpp, 1.0)), 1.0)
    units = np.floor(units * scale[:, None])
    rows = pd.DataFrame(units, columns=old["sku"]).assign(site_id=sites["site_id"])
    long = rows.melt(id_vars="site_id", var_name="sku", value_name="units")
    return long.loc[long["units"] > 0].sort_values(["site_id", "sku"]).reset_index(drop=True)


def _inventory(sites: pd.DataFrame, chips: pd.DataFrame) -> np.ndarray:
    """New units whose power is 40 % of the fleet's total site power, split evenly by kW."""
    budget_kw = 0.4 * sites["power_mw"].sum() * 1000
    return np.floor(budget_kw / len(chips) / chips["power_kw"].to_numpy())


def _markets(rng: np.random.Generator, metros: pd.DataFrame, sites: pd.DataFrame,
             chips: pd.DataFrame, installed: pd.DataFrame) -> pd.DataFrame:
    """Metro x class; demand 1.5x fleet compute, weighted by metro size, heavier outside the U.S."""
    sku_tpp = installed["sku"].map(chips.set_index("sku")["tpp"]).to_numpy(float)
    inst_tpp = float(installed["units"].to_numpy(float) @ sku_tpp)   # float also when nothing is installed
    total = 1.5 * (inst_tpp + (chips["inventory"] * chips["tpp"]).sum())
    per_metro = np.bincount(sites["metro_pos"], minlength=len(metros)).astype(float)
    weight = per_metro * rng.uniform(0.5, 1.5, len(metros)) * np.where(metros["country"] == "USA", 1.0, 1.5)
    weight /= weight.sum()
    frames = []
    for cls, rtt, own, value, share in CLASSES:
        frames.append(pd.DataFrame({
            "market_id": [f"m{i:05d}-{cls}" for i in range(len(metros))], "country": metros["country"],
            "lat": metros["lat"], "lon": metros["lon"], "demand_tpp": (total * share * weight).round(-3),
            "value": value, "max_rtt_ms": rtt, "in_country_only": str(own).lower()}))
    markets = pd.concat(frames, ignore_index=True)
    return markets.loc[markets["demand_tpp"] > 0].reset_index(drop=True)
