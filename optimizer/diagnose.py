"""Why a scenario is infeasible: an elastic re-solve over the policy limits.

Each policy row r gets a violation variable e_r >= 0 (``A_r v + e_r >= lo_r`` or
``A_r v - e_r <= hi_r``); minimizing Σ_r e_r / scale_r finds the least violation that makes the
rest feasible. Rows with e_r > 0 are the limits that cannot be met; the message says how far
the installed base and the best plan stay from each.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .backends.highs import make_highs, pass_lp, status_of
from .lp import LinearProgram
from .modeldata import MTPP, ModelData
from .result import Status

POLICY_FAMILIES = ("home_share", "tier1_share", "tier2_share", "tier2_cap")
FAMILY_WORDS = {"home_share": "home-country share", "tier1_share": "Tier-1 share",
                "tier2_share": "Tier-2 country share", "tier2_cap": "Tier-2 country cap"}


def diagnose(d: ModelData, lp: LinearProgram) -> tuple[str, list[str]]:
    """Return a planner-readable message and the limit families that cannot be met."""
    rows = [(name, blk) for name, blk in lp.row_blocks.items() if blk.family in POLICY_FAMILIES]
    idx = np.array([blk.start for _, blk in rows], dtype=int)
    if len(idx) == 0:
        return "the physical limits cannot all hold", []
    sign = np.where(np.isfinite(lp.row_lo[idx]), 1.0, -1.0)
    E = sp.csr_matrix((sign, (idx, np.arange(len(idx)))), shape=(lp.num_row, len(idx)))
    elastic = LinearProgram(
        A=sp.hstack([lp.A, E]).tocsr(),
        c=np.concatenate([np.zeros(lp.num_col), -np.ones(len(idx))]),
        cost=np.zeros(lp.num_col + len(idx)),
        col_lo=np.concatenate([lp.col_lo, np.zeros(len(idx))]),
        col_hi=np.concatenate([lp.col_hi, np.full(len(idx), np.inf)]),
        row_lo=lp.row_lo, row_hi=lp.row_hi, var_blocks=lp.var_blocks, row_blocks=lp.row_blocks)
    h = make_highs()
    pass_lp(h, elastic, maximize=True)
    h.run()
    if status_of(h) != Status.OPTIMAL:
        return "the limits cannot all hold (the elastic diagnosis did not solve)", []
    v = np.array(h.getSolution().col_value)
    violation = v[lp.num_col:]
    lines, families = [], []
    for (name, blk), e in zip(rows, violation):
        if e <= 1e-7:
            continue
        families.append(blk.family)
        lines.append(_describe(d, blk.family, str(blk.index[0]), e))
    if not lines:
        return "the limits cannot all hold", []
    return "; ".join(lines), sorted(set(families), key=POLICY_FAMILIES.index)


def _describe(d: ModelData, family: str, scope: str, excess_mtpp: float) -> str:
    pol = d.scenario.policy
    total = d.installed_total
    short = f"missing by at least {excess_mtpp * MTPP:,.0f} TPP"
    if family == "tier2_share":
        k_share = d.installed_in(d.site_country == scope) / total if total else 0.0
        return (f"Tier-2 country share limit for {scope} cannot be met: the installed base already "
                f"puts {k_share:.1%} of compute in {scope}; the limit is "
                f"{pol.max_tier2_country_share:.0%} ({short} even with all inventory placed elsewhere)")
    if family == "tier2_cap":
        inst_k = d.installed_in(d.site_country == scope) * MTPP
        return (f"Tier-2 country cap for {scope} cannot be met: the installed base there is "
                f"{inst_k:,.0f} TPP; the cap is {pol.cap_for(scope):,.0f} TPP")
    if family == "home_share":
        share = d.installed_in(d.site_country == pol.home_country) / total if total else 0.0
        return (f"home-country share limit ({pol.home_country} >= {pol.min_home_share:.0%}) cannot be "
                f"met: the installed base has {share:.1%} there and the sites and inventory cannot "
                f"add enough ({short})")
    share = d.installed_in(d.site_tier == 1) / total if total else 0.0
    return (f"Tier-1 share limit (>= {pol.min_tier1_share:.0%}) cannot be met: the installed base has "
            f"{share:.1%} in Tier-1 countries and the sites and inventory cannot add enough ({short})")
