"""The validated, typed scenario that every later layer reads (never mutated after validation).

Tables (pandas, indexed by their ids):

* ``sites``    index site_id: country, tier, lat, lon, power_mw, racks, pue, energy_usd_per_mwh, metro
* ``chips``    index sku: tpp, power_kw, units_per_rack, inventory, capex_usd, life_years
* ``markets``  index market_id: country, lat, lon, demand_tpp, value, max_rtt_ms, in_country_only
               (and usd_per_h100e_hour when markets.csv gave it: ``value`` is then derived from it)
* ``installed`` columns site_id, sku, units (one row per pair, units > 0)
* ``links``    columns market_id, site_id, rtt_ms, or ``None`` when links.csv is absent
* ``tiers``    Series iso3 -> tier, after the scenario's countries.csv and the policy's [tiers]
               (see optimizer.inputs.countries; ``sites`` carries each site's ``tier`` and the
               ``policy_country`` it counts as: itself, or a territory's sovereign)
* ``counts_as`` Series iso3 -> the code it counts as for policy purposes
* ``scenario_tiers`` the scenario's countries.csv (iso3 -> tier), as read
* ``variant``  sweep parameters applied to this scenario (empty unless a sweep made it)
* ``economics`` discount rate and the unit of the values (optimizer.inputs.economics)
* ``notes``    one line per input that was ignored or overridden (printed, and kept in summary.json)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from optimizer.inputs.economics import HOURS_PER_YEAR, Economics, capital_recovery_factor
from optimizer.policy.policy import Policy
from optimizer.policy.rules import Countries, Limit, policy_limits


@dataclass(frozen=True)
class Scenario:
    """A scenario that passed validation, with the policy it is planned under."""

    name: str
    sites: pd.DataFrame
    chips: pd.DataFrame
    markets: pd.DataFrame
    installed: pd.DataFrame
    links: pd.DataFrame | None
    tiers: pd.Series
    policy: Policy
    path: Path | None = None
    load_timings: dict[str, float] = field(default_factory=dict, compare=False)  # seconds: load, validate
    notes: list[str] = field(default_factory=list, compare=False)  # inputs ignored or overridden, said aloud
    counts_as: pd.Series = field(default_factory=lambda: pd.Series(dtype=str), compare=False)
    scenario_tiers: Mapping[str, int] = field(default_factory=dict, compare=False)
    variant: Mapping[str, Any] = field(default_factory=dict, compare=False)
    economics: Economics = field(default_factory=Economics)

    def installed_matrix(self) -> pd.DataFrame:
        """Installed units as a sites x skus table (zeros where none; rows of one site and sku
        summed, a missing count as 0, rows of a site or sku not in the tables left out: what a
        pivot table reindexed to them gives, in a third of its time)."""
        site = self.sites.index.get_indexer(self.installed["site_id"])
        sku = self.chips.index.get_indexer(self.installed["sku"])
        known = (site >= 0) & (sku >= 0)
        units = np.zeros((len(self.sites), len(self.chips)))
        count = pd.to_numeric(self.installed["units"]).to_numpy(float)[known]
        np.add.at(units, (site[known], sku[known]), np.where(np.isnan(count), 0.0, count))
        return pd.DataFrame(units, index=self.sites.index, columns=self.chips.index)

    def countries(self) -> Countries:
        """What the policy rules read: tiers, the countries the sites count as, territories."""
        return Countries(self.tiers, sorted(set(self.sites["policy_country"])), self.counts_as)

    def limits(self) -> list[Limit]:
        """Every policy limit of this scenario, in rule order (see optimizer.policy.rules)."""
        return policy_limits(self.policy, self.countries())

    def tier_of(self, iso3: str) -> int:
        """Tier of a country (2 when no table names it)."""
        return int(self.tiers.get(iso3, 2))

    def energy_usd_per_unit(self) -> pd.DataFrame:
        """One year of energy per unit, sites x skus: power_kw·pue·8.76 MWh/kW-yr·price."""
        per_kw_year = self.sites["pue"] * self.sites["energy_usd_per_mwh"] * HOURS_PER_YEAR / 1000.0
        return pd.DataFrame(
            per_kw_year.to_numpy()[:, None] * self.chips["power_kw"].to_numpy()[None, :],
            index=self.sites.index, columns=self.chips.index)

    def annualised_capex_usd(self) -> pd.Series:
        """Per sku, a new unit's capex as a yearly annuity: capex_usd x CRF(discount_rate, life_years)."""
        crf = capital_recovery_factor(self.economics.discount_rate, self.chips["life_years"].to_numpy(float))
        return pd.Series(self.chips["capex_usd"].to_numpy(float) * crf, index=self.chips.index)

    def annualised_fixed_cost_usd(self) -> pd.Series:
        """Per site, its one-time fixed_cost_usd as a yearly annuity (see optimizer.inputs.economics)."""
        fixed = self.sites["fixed_cost_usd"].to_numpy(float)
        return pd.Series(self.economics.annualised_fixed_cost(fixed), index=self.sites.index)
