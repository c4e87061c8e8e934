"""A multi-period scenario: one validated :class:`Scenario` per period, in time order.

A scenario folder with ``periods.csv`` is planned as a build-out over its periods. Each period
is a full snapshot scenario, so every later layer reads a period exactly as it reads a plain
scenario::

    period t (in periods.csv row order), with
      scenario.policy            that period's policy (its tiers, limits, Tier-3 ban)
      scenario.tiers, sites.tier, sites.policy_country   under that policy
      scenario.sites power_mw, racks   the site's capacity in t (capacity.csv carried forward;
                                       sites.csv values before a site's first capacity row)
      scenario.markets demand_tpp      that market's demand in t (demand.csv for t, else markets.csv)
      scenario.chips inventory         units AVAILABLE BY t: chips.csv inventory + deliveries
                                       of every period up to and including t
      scenario.installed               the installed base (the same in every period)

Stock of new units n[c,s,t] (units beyond the installed base at the end of t) never falls:
n[c,s,t] >= n[c,s,t-1] >= 0, and Σ_s n[c,s,t] <= inventory of period t's scenario.

The periods share their sites, markets, chips (ids and order), links and eligibility; only the
columns listed above differ. The loader checks that and refuses anything else.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from optimizer.inputs.scenario import Scenario


@dataclass(frozen=True)
class Period:
    """One period of a build-out: its id, length in years, discount multiplier, and snapshot."""

    id: str
    years: float
    discount: float
    scenario: Scenario
    policy_source: str = ""        # preset name or TOML path the period's policy came from


@dataclass(frozen=True)
class Timeline:
    """The periods of a multi-period scenario, in time order, and the raw period tables."""

    name: str
    periods: tuple[Period, ...]
    path: Path | None = None
    notes: list[str] = field(default_factory=list, compare=False)
    deliveries: pd.DataFrame | None = field(default=None, compare=False)   # sku, period, units
    capacity: pd.DataFrame | None = field(default=None, compare=False)     # site_id, period, power_mw, racks
    demand: pd.DataFrame | None = field(default=None, compare=False)       # market_id, period, demand_tpp

    @property
    def ids(self) -> list[str]:
        return [p.id for p in self.periods]

    @property
    def first(self) -> Scenario:
        """The first period's snapshot (sites, chips, markets ids and order are shared by all)."""
        return self.periods[0].scenario

    def period(self, period_id: str) -> Period:
        for p in self.periods:
            if p.id == period_id:
                return p
        raise KeyError(period_id)
