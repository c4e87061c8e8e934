"""The plain multi-period formulation: one snapshot model per period, linked by stock rows.

A timeline (:mod:`optimizer.inputs.timeline`) has periods t = 1..T, each with its own snapshot
:class:`ModelData` (that period's capacity, demand, chips available by t, policy and tiers).
Variables, per period t (model units, see :mod:`optimizer.model.data`)::

    n[c,s,t] >= 0   NEW stock of chip c at site s at the end of t (units beyond the installed
                    base), block ``x@t``; fixed to 0 where s is closed in t (a Tier-3 site
                    under t's policy with the ban on)
    f[m,s,t] >= 0   compute of site s serving market m during t, block ``f@t``

Rows, per period t (the snapshot rows of :mod:`optimizer.model.plain` on n[·,·,t], named
``<row>@t`` so that each period's duals are its own prices)::

    Σ_s n[c,s,t] <= available_c,t                                inventory@t
    power and racks of installed + n[·,s,t] within s's capacity in t      power@t, racks@t
    Σ_m f[m,s,t] <= installed TPP_s + Σ_c tpp_c·n[c,s,t]          serving@t
    Σ_s f[m,s,t] <= demand_m,t                                   demand@t
    every policy limit of t's policy on installed + n[·,·,t]       <limit row>@t
    n[c,s,t] - n[c,s,t-1] >= 0   (t > 1; stock never falls)       stock@t

Objective (serve): max Σ_t years_t·disc_t·Σ value_m·f[m,s,t]. Under the margin objective
(optimizer.model.data.Objective) the annuity is charged for each year a unit is in stock,
discounted like the value: max Σ_t years_t·disc_t·(Σ value_m·f[m,s,t] - Σ margin_cost[c,s]·n[c,s,t])
with margin_cost = capex·CRF + a year of energy (the installed base's energy is a constant).
Cost (secondary, either objective): Σ_t disc_t·(capex of
units added in t + years_t·annual energy of the stock at the end of t). With added units
n_t - n_{t-1} it telescopes onto the stock (disc_{T+1} = 0)::

    cost = Σ_t Σ_{c,s} (capex_c·(disc_t - disc_{t+1}) + disc_t·years_t·energy_c,s)·n[c,s,t]
           + Σ_t disc_t·years_t·(annual energy of the installed base)      (a constant)

With one period, years = 1 and discount = 1 this is the snapshot model exactly.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from optimizer.inputs.timeline import Timeline
from optimizer.model.data import MTPP, MUSD, UNIT, ModelData, Objective
from optimizer.model.lp import LinearProgram, LPBuilder
from optimizer.model.plain import (
    add_demand_rows,
    add_inventory_rows,
    add_placement_vars,
    add_policy_rows,
    add_service_vars,
    add_serving_rows,
    add_site_power_rows,
    add_site_rack_rows,
    placement_layout,
)


@dataclass(frozen=True)
class PeriodData:
    """One period: its id, length (years), discount multiplier and snapshot model data."""

    id: str
    years: float
    discount: float
    d: ModelData

    @property
    def tag(self) -> str:
        """The suffix of this period's block names: ``@<period id>``."""
        return f"@{self.id}"

    @property
    def weight(self) -> float:
        """years·discount: what one unit of value (or of annual energy) in this period is worth."""
        return self.years * self.discount


@dataclass(frozen=True)
class TimelineData:
    """The periods' model data, in time order, and the placement layout they share."""

    periods: tuple[PeriodData, ...]

    @classmethod
    def from_timeline(cls, tl: Timeline, objective: Objective = Objective.SERVE) -> "TimelineData":
        """One ModelData per period (its margin cost set under ``objective``); the periods share
        the first one's eligible pairs."""
        periods = []
        for p in tl.periods:
            d = ModelData.from_scenario(p.scenario, objective)
            if periods:
                d.share_network(periods[0].d)
            periods.append(PeriodData(p.id, float(p.years), float(p.discount), d))
        return cls(tuple(periods))

    @property
    def first(self) -> ModelData:
        return self.periods[0].d

    @property
    def last(self) -> ModelData:
        return self.periods[-1].d

    @cached_property
    def sites(self) -> np.ndarray:
        """Positions of the sites with x columns: open in at least one period."""
        return np.unique(np.concatenate([p.d.open_sites for p in self.periods]))

    @cached_property
    def open(self) -> np.ndarray:
        """T x len(sites): site open in period t (else its new stock is fixed to 0)."""
        return np.stack([np.isin(self.sites, p.d.open_sites) for p in self.periods])

    def may_add(self, t: int) -> np.ndarray:
        """len(sites) x chips: whether new stock of the chip may sit at the site in period t: the
        site is open, has racks left beyond its installed base (every unit takes rack space) and
        power left unless the chip draws none (capacity.csv may give a site none before a hall is
        energised). Elsewhere its new stock is fixed to 0: exact, and it keeps a solver's
        feasibility tolerance from placing a few thousandths of a unit where nothing fits, which
        the checker, rightly, calls a broken limit of 0."""
        d = self.periods[t].d
        s = d.scenario.sites
        power = (s["power_mw"].to_numpy(float) - d.inst_power)[self.sites] > 0
        racks = (s["racks"].to_numpy(float) - d.inst_racks)[self.sites] > 0
        draws = d.scenario.chips["power_kw"].to_numpy(float) > 0
        return (self.open[t] & racks)[:, None] & (power[:, None] | ~draws[None, :])

    def can_serve(self, t: int) -> np.ndarray:
        """Per site (all of the scenario's): it holds compute in period t, installed or new, or
        may add some (:meth:`may_add`). A site that cannot serves nothing (its pairs' f fixed to
        0, exact), so no tolerance-level service comes from it."""
        d = self.periods[t].d
        out = d.inst_tpp > 0
        out[self.sites[self.may_add(t).any(axis=1)]] = True
        return out

    def stock_cost(self, t: int) -> np.ndarray:
        """Sites x chips cost of one model unit of new stock at the end of t (MUSD): the
        telescoped capex_c·(disc_t - disc_{t+1}) + disc_t·years_t·energy_c,s."""
        p = self.periods[t]
        s = p.d.scenario
        next_discount = self.periods[t + 1].discount if t + 1 < len(self.periods) else 0.0
        capex = s.chips["capex_usd"].to_numpy(float)[None, :] * (p.discount - next_discount)
        energy = s.energy_usd_per_unit().to_numpy(float) * p.weight
        return (capex + energy) * UNIT / MUSD

    @property
    def installed_cost_usd(self) -> float:
        """Σ_t disc_t·years_t·annual energy of the installed base (USD): the constant cost."""
        return sum(p.weight * p.d.installed_cost_usd for p in self.periods)


def build_plain_timeline(td: TimelineData) -> LinearProgram:
    """Assemble the plain multi-period LP: the formulation's table of contents."""
    b = LPBuilder()
    sites = td.sites
    for t, p in enumerate(td.periods):
        xs, xc = placement_layout(p.d, sites)
        hi = np.where(td.may_add(t).ravel(), np.inf, 0.0)
        add_placement_vars(b, p.d, sites, p.tag, cost=td.stock_cost(t)[xs, xc], hi=hi, weight=p.weight)
        add_service_vars(b, p.d, p.tag, weight=p.weight, hi=np.where(td.can_serve(t)[p.d.pairs["s"].to_numpy()], np.inf, 0.0))
    for t, p in enumerate(td.periods):
        add_inventory_rows(b, p.d, sites, p.tag)
        add_site_power_rows(b, p.d, sites, p.tag)
        add_site_rack_rows(b, p.d, sites, p.tag)
        add_serving_rows(b, p.d, sites, p.tag)
        add_demand_rows(b, p.d, p.tag)
        add_policy_rows(b, p.d, sites, p.tag)
        if t:
            add_stock_rows(b, td.periods[t - 1].tag, p.tag)
    return b.build(objective_scale=MTPP, cost_scale=MUSD, cost_offset=td.installed_cost_usd)


def add_stock_rows(b: LPBuilder, before: str, now: str, var: str = "x") -> None:
    """x[·,now] - x[·,before] >= 0 column by column: stock never falls (two blocks of the same
    layout, ``var + before`` and ``var + now``)."""
    prev, cur = b.var_blocks[var + before], b.var_blocks[var + now]
    n = cur.size
    rows = np.concatenate([np.arange(n), np.arange(n)])
    cols = np.concatenate([cur.start + np.arange(n), prev.start + np.arange(n)])
    vals = np.concatenate([np.ones(n), -np.ones(n)])
    b.add_rows("stock" + now, "stock", cur.index, rows, cols, vals, lo=0.0)


def stock_values(lp: LinearProgram, x: np.ndarray, td: TimelineData, var: str = "x") -> list[pd.Series]:
    """New stock per (site_id, sku) at the end of each period, in units (from a plain solution)."""
    return [lp.values(x, var + p.tag) * UNIT for p in td.periods]
