"""Numeric arrays every formulation reads, in model units chosen so coefficients sit near 1.

Model units: placement x in thousands of accelerators (``UNIT``), compute and service in millions
of TPP (``MTPP``), power in MW, cost in millions of USD (``MUSD``).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cached_property

import numpy as np
import pandas as pd

from optimizer.inputs.scenario import Scenario
from optimizer.model.eligibility import eligibility_bits, eligible_pairs
from optimizer.policy.rules import Limit

UNIT = 1e3     # accelerators per model unit of x
MTPP = 1e6     # TPP per model unit of compute
MUSD = 1e6     # USD per model unit of cost
assert MTPP == MUSD, "the margin objective adds value (per TPP x MTPP) and cost (MUSD) in one unit"


class Objective(str, Enum):
    """What the value stage maximizes (``--objective``); the cost stage then minimizes cost.

    ``serve``: Σ value_m·f[m,s] — serve the most valuable demand, then cheapest.
    ``margin``: Σ value_m·f[m,s] - Σ annual_cost[c,s]·x[c,s] — revenue less the annualised cost
    of new units (capex x CRF + a year of energy), so a unit that earns less than it costs is not
    placed; in integer plans also - Σ annual_fixed_s·z_s, a built site's fixed_cost_usd as an
    annuity (optimizer.inputs.economics). Values must be dollars (markets.csv ``usd_per_h100e_hour``)."""

    SERVE = "serve"
    MARGIN = "margin"


@dataclass(frozen=True)
class ModelData:
    """Arrays indexed by site position (S), chip position (C) and eligible pair (P)."""

    scenario: Scenario
    open_sites: np.ndarray         # positions of sites that may hold new units
    installed: np.ndarray          # S x C installed units
    tpp: np.ndarray                # C, MTPP per model unit of x
    power: np.ndarray              # C, MW per model unit of x
    racks: np.ndarray              # C, racks per model unit of x
    inst_tpp: np.ndarray           # S, installed MTPP
    inst_power: np.ndarray         # S, installed MW
    inst_racks: np.ndarray         # S, installed racks
    site_country: np.ndarray       # S, iso3 the site counts as for policy purposes (a territory: its sovereign)
    site_tier: np.ndarray          # S, tier
    unit_cost: np.ndarray          # S x C, MUSD per model unit of x (capex + a year of energy)
    installed_cost_usd: float      # a year of energy of the installed fleet, USD
    margin_cost: np.ndarray        # S x C, MUSD per model unit of x charged in the value stage:
    #                                annualised capex + a year of energy (margin), zeros (serve)
    margin_fixed: np.ndarray       # S, MUSD per year charged in the value stage when the site is
    #                                built (integer plans): annualised fixed_cost_usd (margin), zeros (serve)

    @classmethod
    def from_scenario(cls, s: Scenario, objective: Objective = Objective.SERVE) -> "ModelData":
        chips, sites = s.chips, s.sites
        inst = s.installed_matrix().to_numpy(float)
        energy = s.energy_usd_per_unit().to_numpy(float)
        tpp_units = chips["tpp"].to_numpy(float)
        open_mask = ~((sites["tier"].to_numpy() == 3) & s.policy.ban_tier3)
        margin = Objective(objective) == Objective.MARGIN
        return cls(
            scenario=s, open_sites=np.flatnonzero(open_mask), installed=inst,
            tpp=tpp_units * UNIT / MTPP, power=chips["power_kw"].to_numpy(float) * UNIT / 1000.0,
            racks=UNIT / chips["units_per_rack"].to_numpy(float),
            inst_tpp=inst @ tpp_units / MTPP,
            inst_power=inst @ chips["power_kw"].to_numpy(float) / 1000.0,
            inst_racks=inst @ (1.0 / chips["units_per_rack"].to_numpy(float)),
            site_country=sites["policy_country"].to_numpy(), site_tier=sites["tier"].to_numpy(),
            unit_cost=(chips["capex_usd"].to_numpy(float)[None, :] + energy) * UNIT / MUSD,
            installed_cost_usd=float((inst * energy).sum()),
            margin_cost=(s.annualised_capex_usd().to_numpy(float)[None, :] + energy) * UNIT / MUSD
            if margin else np.zeros_like(energy),
            margin_fixed=s.annualised_fixed_cost_usd().to_numpy(float) / MUSD if margin else np.zeros(len(sites)),
        )

    @cached_property
    def pairs(self) -> pd.DataFrame:
        """Eligible pairs: market_id, site_id, rtt_ms, m, s (computed on first use; the network
        source's, after :meth:`share_network`)."""
        source = self.__dict__.get("_network_source")
        return source.pairs if source is not None else eligible_pairs(self.scenario)

    @cached_property
    def eligibility(self) -> np.ndarray:
        """Per site, its eligible markets as a packed bitset (see eligibility_bits; the network
        source's, after :meth:`share_network`)."""
        source = self.__dict__.get("_network_source")
        return source.eligibility if source is not None else eligibility_bits(self.scenario)

    def set_eligibility(self, bits: np.ndarray) -> None:
        """Use bits computed for an identical site-market geometry (see eligibility_key)."""
        self.__dict__["eligibility"] = bits

    def share_network(self, other: "ModelData") -> None:
        """Use ``other``'s eligible pairs and bitsets (the same objects, computed by whichever of
        the two reads them first): another period of the same timeline (its sites, markets and
        links are the same, so its eligibility is too). Lazily: the fast path reads only the
        bitsets, and the pairs (594,932 rows at 3,000 sites) took 0.36 s to build. Anything this
        one had computed already is dropped; a source that shares another's leads to that one."""
        source = other.__dict__.get("_network_source", other)
        if source is self:
            return
        self.__dict__.pop("pairs", None)
        self.__dict__.pop("eligibility", None)
        self.__dict__["_network_source"] = source

    @property
    def n_sites(self) -> int:
        return len(self.site_country)

    @property
    def n_chips(self) -> int:
        return len(self.tpp)

    @property
    def installed_total(self) -> float:
        """I = installed MTPP of the whole fleet."""
        return float(self.inst_tpp.sum())

    def installed_in(self, mask: np.ndarray) -> float:
        return float(self.inst_tpp[mask].sum())

    @cached_property
    def limits(self) -> list[Limit]:
        """The policy limits (optimizer.policy.rules); those ``enforced`` as rows get one."""
        return [lim for lim in self.scenario.limits() if lim.enforced == "row"]
