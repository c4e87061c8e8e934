"""Column specifications of the scenario CSV files (the input contract, in one place).

Each numeric column carries the range fleetopt solves exactly (see the README, "Columns and value
ranges"). The bounds keep every matrix entry of the scaled model (``optimizer.model.data``: x in
thousands of units, compute in MTPP, cost in MUSD) between about 1e-3 and 1e5 (tpp/1e3, power_kw,
1000/units_per_rack), every right-hand side below about 1e7, and the value of
placing a unit (value x tpp / 1e3 per model unit, >= 1e-4) far above HiGHS's dual tolerance
(1e-7): outside them HiGHS can refuse the model (a coefficient above 1e15), drop a coefficient
(below 1e-9), or stop at a plan that is not optimal (values of 1e12, or value x tpp near 1e-4).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One CSV column: its kind, default (None: required), allowed range and common aliases.

    ``min_positive``: the smallest allowed value other than 0 (0 itself stays allowed), for
    quantities whose tiny nonzero values the solver cannot tell from 0; with ``positive`` 0 is
    refused too (a period's length). ``aliases``: names a user may write for this column,
    refused with "did you mean" (see ``validation.near_miss``).
    """

    name: str
    kind: str = "float"            # float | str | bool | iso3
    default: object = None         # None: the column is required
    min: float | None = None
    max: float | None = None
    min_positive: float | None = None
    positive: bool = False
    aliases: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        return self.default is None and self.kind != "optional"


@dataclass(frozen=True)
class TableSpec:
    """A scenario file: its columns and the id column(s) that must be unique."""

    file: str
    ids: tuple[str, ...]
    columns: tuple[Column, ...]
    required_file: bool = True


LAT = Column("lat", min=-90, max=90, aliases=("latitude",))
LON = Column("lon", min=-180, max=180, aliases=("longitude", "lng", "long"))
COUNTRY = Column("country", "iso3", aliases=("iso3", "iso", "country_code"))
POWER_MW = Column("power_mw", min=0, max=1e5)
RACKS = Column("racks", min=0, max=1e7)
INVENTORY = Column("inventory", min=0, max=1e9)
# A demand below 100 TPP (under a hundredth of an H100) is far below what a plan can state exactly:
# compute is modelled in millions of TPP at HiGHS's absolute tolerance of 1e-7, and demands of
# 0.004-0.2 TPP (a careless user's sample scaled by 1e-10) got plans serving 101 % of demand that
# check rejected, or 69 % called feasible. 100 TPP against the largest tpp (1e8) is tested exact.
DEMAND_TPP = Column("demand_tpp", min=0, max=1e13, min_positive=1e2,
                    aliases=("demand_mtpp", "tpp_demand", "demand_h100e"))

SITES = TableSpec("sites.csv", ("site_id",), (
    Column("site_id", "str"), COUNTRY, LAT, LON,
    POWER_MW, RACKS,
    Column("pue", default=1.2, min=1.0, max=5.0),
    Column("energy_usd_per_mwh", default=0.0, min=0, max=1e4,
           aliases=("energy_price", "energy_price_usd_per_mwh", "electricity_price", "power_price",
                    "energy_cost", "energy_cost_usd_per_mwh", "usd_per_mwh", "price_per_mwh")),
    Column("metro", "str", default=""),
    Column("fixed_cost_usd", default=0.0, min=0, max=1e12), Column("min_new_mw", default=0.0, min=0, max=1e5),
))
CHIPS = TableSpec("chips.csv", ("sku",), (
    Column("sku", "str"), Column("tpp", min=100, max=1e8, aliases=("tpp_per_unit", "tpp_per_chip")),
    Column("power_kw", min=0, max=1e3, min_positive=1e-3),
    Column("units_per_rack", min=0.1, max=1e3),
    INVENTORY, Column("capex_usd", default=0.0, min=0, max=1e9,
           aliases=("price", "capex_per_unit", "unit_capex", "capex_per_accelerator", "capex_per_chip",
                    "unit_price", "unit_cost", "price_usd", "price_per_unit", "cost_per_unit")),
    Column("life_years", default=5.0, min=1, max=50,
           aliases=("life", "lifetime", "lifetime_years", "useful_life", "useful_life_years", "depreciation_years")),
))
MARKET_VALUE = Column("value", default=1.0, min=0, max=1e6, min_positive=1e-3,
                      aliases=("value_per_tpp", "usd_per_tpp", "price_per_tpp"))
MARKET_USD = Column("usd_per_h100e_hour", min=0, max=1e6, min_positive=2e-3,
                    aliases=("usd_per_h100e_h", "usd_per_gpu_hour", "price_per_h100e_hour", "usd_per_hour"))
"""Revenue per H100e-hour served, the documented alternative to ``value`` (required when it is the
column chosen: a blank is an error, not a default). Its range maps into value's range."""
MARKETS = TableSpec("markets.csv", ("market_id",), (
    Column("market_id", "str"), COUNTRY, LAT, LON,
    DEMAND_TPP,
    MARKET_VALUE,
    Column("max_rtt_ms", default=100.0, min=0, max=1e4,
           aliases=("rtt_limit_ms", "max_latency_ms", "latency_limit_ms", "rtt_limit", "max_latency",
                    "latency_limit", "rtt_max_ms", "max_rtt_msec")),
    Column("in_country_only", "bool", default=False,
           aliases=("domestic_only", "in_country", "sovereign_only", "domestic", "sovereign",
                    "local_only", "data_residency", "residency_required")),
))
INSTALLED = TableSpec("installed.csv", ("site_id", "sku"), (
    Column("site_id", "str"), Column("sku", "str"), Column("units", min=0, max=1e9),
), required_file=False)
LINKS = TableSpec("links.csv", ("market_id", "site_id"), (
    Column("market_id", "str"), Column("site_id", "str"),
    Column("rtt_ms", default=float("nan"), min=0, max=1e4),
), required_file=False)
COUNTRIES = TableSpec("countries.csv", ("iso3",), (
    Column("iso3", "str"), Column("tier", min=1, max=3),
), required_file=False)

MARKETS_USD = TableSpec("markets.csv", MARKETS.ids,
                        tuple(MARKET_USD if c is MARKET_VALUE else c for c in MARKETS.columns))
"""markets.csv when its header names usd_per_h100e_hour (see optimizer.inputs.economics)."""

ALL_TABLES = (SITES, CHIPS, MARKETS, INSTALLED, LINKS, COUNTRIES)

# Multi-period scenarios (optimizer.inputs.timeline): periods.csv switches the mode on; the other
# three are read only beside it. Row order of periods.csv is time order.
PERIOD_ID = Column("period", "str", aliases=("quarter", "period_id", "date"))
DISCOUNT = Column("discount", default=float("nan"), min=0, max=10, min_positive=1e-3, positive=True,
                  aliases=("discount_factor", "df", "discount_multiplier"))
"""A blank or absent discount is NaN here: optimizer.inputs.timeline derives it from economics.toml
discount_rate, or makes it 1 without one."""
PERIODS = TableSpec("periods.csv", ("period",), (
    PERIOD_ID,
    Column("years", min=0, max=100, min_positive=1e-3, positive=True,
           aliases=("length_years", "duration_years", "length", "duration", "period_years")),
    DISCOUNT,
    Column("policy", "str", default="", aliases=("policy_file", "preset", "policy_preset")),
))
DELIVERIES = TableSpec("deliveries.csv", ("sku", "period"), (
    Column("sku", "str"), PERIOD_ID,
    Column("units", min=0, max=1e9, aliases=("delivered", "delivered_units", "deliveries", "quantity", "qty")),
), required_file=False)
CAPACITY = TableSpec("capacity.csv", ("site_id", "period"), (
    Column("site_id", "str"), PERIOD_ID, POWER_MW, RACKS,
), required_file=False)
DEMAND = TableSpec("demand.csv", ("market_id", "period"), (
    Column("market_id", "str"), PERIOD_ID, DEMAND_TPP,
), required_file=False)
PERIOD_TABLES = (DELIVERIES, CAPACITY, DEMAND)
