"""Column specifications of the scenario CSV files (the input contract, in one place)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One CSV column: its kind, default (None: required) and the allowed range."""

    name: str
    kind: str = "float"            # float | str | bool | iso3
    default: object = None         # None: the column is required
    min: float | None = None
    min_exclusive: bool = False
    max: float | None = None

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


SITES = TableSpec("sites.csv", ("site_id",), (
    Column("site_id", "str"), Column("country", "iso3"),
    Column("lat", min=-90, max=90), Column("lon", min=-180, max=180),
    Column("power_mw", min=0), Column("racks", min=0),
    Column("pue", default=1.2, min=1.0), Column("energy_usd_per_mwh", default=0.0, min=0),
    Column("metro", "str", default=""),
    Column("fixed_cost_usd", default=0.0, min=0), Column("min_new_mw", default=0.0, min=0),
))
CHIPS = TableSpec("chips.csv", ("sku",), (
    Column("sku", "str"), Column("tpp", min=0, min_exclusive=True),
    Column("power_kw", min=0), Column("units_per_rack", min=0, min_exclusive=True),
    Column("inventory", min=0), Column("capex_usd", default=0.0, min=0),
))
MARKETS = TableSpec("markets.csv", ("market_id",), (
    Column("market_id", "str"), Column("country", "iso3"),
    Column("lat", min=-90, max=90), Column("lon", min=-180, max=180),
    Column("demand_tpp", min=0), Column("value", default=1.0, min=0),
    Column("max_rtt_ms", default=100.0, min=0), Column("in_country_only", "bool", default=False),
))
INSTALLED = TableSpec("installed.csv", ("site_id", "sku"), (
    Column("site_id", "str"), Column("sku", "str"), Column("units", min=0),
), required_file=False)
LINKS = TableSpec("links.csv", ("market_id", "site_id"), (
    Column("market_id", "str"), Column("site_id", "str"), Column("rtt_ms", default=float("nan"), min=0),
), required_file=False)
COUNTRIES = TableSpec("countries.csv", ("iso3",), (
    Column("iso3", "str"), Column("tier", min=1, max=3),
), required_file=False)

ALL_TABLES = (SITES, CHIPS, MARKETS, INSTALLED, LINKS, COUNTRIES)
