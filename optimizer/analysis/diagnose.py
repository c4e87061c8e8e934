"""Why a scenario is infeasible: an elastic re-solve over the policy limits.

Each policy row r gets a violation variable e_r >= 0 (``A_r v + e_r >= lo_r`` or
``A_r v - e_r <= hi_r``); minimizing Σ_r e_r / scale_r finds the least violation that makes the
rest feasible. Rows with e_r > 0 are the limits that cannot be met; the message says how far
the installed base and the best plan stay from each.
"""
from __future__ import annotations

import numpy as np

from optimizer.model.data import MTPP, ModelData
from optimizer.model.elastic import POLICY_FAMILIES, policy_rows, with_elastic_rows
from optimizer.model.lp import LinearProgram
from optimizer.solvers.highs import solve_lp
from optimizer.solvers.result import Status


def diagnose(d: ModelData, lp: LinearProgram) -> tuple[str, list[str], list[str]]:
    """A planner-readable message, the limit families that cannot be met, and the limits."""
    rows = policy_rows(lp)
    if not rows:
        return "the physical limits cannot all hold", [], []
    elastic = with_elastic_rows(lp, rows, np.ones(len(rows)), keep_objective=False)
    result = solve_lp(elastic, lexicographic=False)
    if result.status != Status.OPTIMAL:
        return "the limits cannot all hold (the elastic diagnosis did not solve)", [], []
    violation = result.x[elastic.var_blocks["violation"].slice]
    lines, families, names = [], [], []
    for (name, blk), e in zip(rows, violation):
        if e <= 1e-7:
            continue
        families.append(blk.family)
        names.append(name)
        lines.append(_describe(d, blk.family, str(blk.index[0]), e))
    if not lines:
        return "the limits cannot all hold", [], []
    return "; ".join(lines), sorted(set(families), key=POLICY_FAMILIES.index), names


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
