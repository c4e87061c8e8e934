"""The reference path: the same model written algebraically in PuLP and solved by CBC.

Deliberately independent of the matrix builders: constraints are written one by one from the
scenario tables, so agreement with the HiGHS paths is evidence both are right. For small and
medium scenarios; it is slow on whole fleets by design.
"""
from __future__ import annotations

import time
import warnings
from collections import defaultdict

import pandas as pd
import pulp

from optimizer.model.data import MTPP, MUSD, UNIT, ModelData
from optimizer.solvers.result import SolveResult, Status, Termination, status_for, value_floor

# PuLP's reading of CBC -> why it stopped. "Not Solved" is CBC's "Stopped" (a limit) without a
# plan; "Optimal" with sol_status "Solution Found" is "Stopped" with one (see cbc_status).
# "Undefined" (a CBC answer PuLP cannot read) is an error, not a verdict on the scenario.
CBC_TERMINATION = {"Optimal": Termination.OPTIMAL, "Infeasible": Termination.INFEASIBLE,
                   "Unbounded": Termination.UNBOUNDED, "Not Solved": Termination.OTHER_LIMIT}


def cbc_status(prob: pulp.LpProblem, time_limit: float | None = None) -> tuple[Status, Termination]:
    """The planner's status and the termination of CBC's last solve of ``prob``."""
    termination = CBC_TERMINATION.get(pulp.LpStatus[prob.status], Termination.ERROR)
    stopped_with_plan = getattr(prob, "sol_status", None) == pulp.LpSolutionIntegerFeasible
    if termination == Termination.OPTIMAL and stopped_with_plan:
        termination = Termination.OTHER_LIMIT
    if termination == Termination.OTHER_LIMIT and time_limit is not None:
        termination = Termination.TIME_LIMIT
    return status_for(termination, stopped_with_plan or termination == Termination.OPTIMAL), termination


def solve_pulp(d: ModelData, time_limit: float | None = None, integer_racks: bool = False,
               gap: float | None = None) -> tuple[SolveResult, pd.Series | None, pd.Series | None]:
    """Build and solve on CBC; returns the result, new units per (site, sku), TPP per pair.

    ``integer_racks``: x[c,s] = units_per_rack_c · k[c,s] with k integer, value stage only."""
    s = d.scenario
    t0 = time.perf_counter()
    prob = pulp.LpProblem("fleetopt", pulp.LpMaximize)
    sites, chips = s.sites, s.chips
    open_ids = list(sites.index[d.open_sites])
    if integer_racks:
        per_rack = chips["units_per_rack"] / UNIT
        x = {(site, c): per_rack[c] * _var(prob, f"k_{i}_{j}", integer=True)
             for i, site in enumerate(open_ids) for j, c in enumerate(chips.index)}
    else:
        x = {(site, c): _var(prob, f"x_{i}_{j}")
             for i, site in enumerate(open_ids) for j, c in enumerate(chips.index)}
    f = {(m, site): _var(prob, f"f_{k}")
         for k, (m, site) in enumerate(zip(d.pairs["market_id"], d.pairs["site_id"]))}
    inst = s.installed_matrix()
    tpp = chips["tpp"] / MTPP * UNIT                   # MTPP per thousand units
    value = pulp.lpSum(s.markets.at[m, "value"] * var for (m, _), var in f.items())
    prob += value
    _physical(prob, d, x, f, inst, tpp)
    _policy(prob, d, x, inst, tpp)
    solver = cbc(time_limit, gap)
    prob.solve(solver)
    status, termination = cbc_status(prob, time_limit)
    seconds = {"value_stage": time.perf_counter() - t0}
    if not status.has_solution:
        return SolveResult(status, "cbc", message=pulp.LpStatus[prob.status], seconds=seconds,
                           termination=termination), None, None
    optimum = pulp.value(prob.objective) or 0.0
    if integer_racks or status != Status.OPTIMAL:   # no cost stage after a limit
        return _collect(x, f, SolveResult(status, "cbc", objective=optimum, seconds=seconds,
                                          termination=termination))
    energy = s.energy_usd_per_unit()
    cost = pulp.lpSum((chips.at[c, "capex_usd"] + energy.at[site, c]) * UNIT / MUSD * var
                      for (site, c), var in x.items())
    prob += value >= value_floor(optimum), "value_floor"
    prob.sense = pulp.LpMinimize
    prob.setObjective(cost)
    t1 = time.perf_counter()
    prob.solve(solver)
    seconds["cost_stage"] = time.perf_counter() - t1
    result = SolveResult(Status.OPTIMAL, "cbc", objective=float(pulp.value(value) or 0.0),
                         bound=optimum, cost=float(pulp.value(cost) or 0.0), seconds=seconds)
    return _collect(x, f, result)


def _collect(x: dict, f: dict, result: SolveResult) -> tuple[SolveResult, pd.Series, pd.Series]:
    """Variable values as labelled Series in planner units."""
    new_units = pd.Series({k: (pulp.value(v) or 0.0) * UNIT for k, v in x.items()}, dtype=float)
    served = pd.Series({k: (v.value() or 0.0) * MTPP for k, v in f.items()}, dtype=float)
    new_units.index = pd.MultiIndex.from_tuples(new_units.index, names=["site_id", "sku"]) \
        if len(new_units) else pd.MultiIndex.from_arrays([[], []], names=["site_id", "sku"])
    served.index = pd.MultiIndex.from_tuples(served.index, names=["market_id", "site_id"]) \
        if len(served) else pd.MultiIndex.from_arrays([[], []], names=["market_id", "site_id"])
    return result, new_units, served


def cbc(time_limit: float | None = None, gap: float | None = None):
    """PuLP's bundled CBC (PULP_CBC_CMD), without its PuLP-4 deprecation notice."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit, gapRel=gap)


def _var(prob: pulp.LpProblem, name: str, integer: bool = False) -> pulp.LpVariable:
    """A nonnegative variable attached to ``prob`` (PuLP >= 3.3 API when present)."""
    cat = pulp.LpInteger if integer else pulp.LpContinuous
    if hasattr(prob, "add_variable"):
        return prob.add_variable(name, lowBound=0, cat=cat)
    return pulp.LpVariable(name, lowBound=0, cat=cat)


def _physical(prob, d: ModelData, x, f, inst, tpp) -> None:
    s = d.scenario
    chips, sites = s.chips, s.sites
    for c in chips.index:
        prob += pulp.lpSum(x[site, c] for site in sites.index[d.open_sites]) <= chips.at[c, "inventory"] / UNIT, f"inv_{c}"
    by_site = defaultdict(list)
    for (m, site), var in f.items():
        by_site[site].append(var)
    by_market = defaultdict(list)
    for (m, site), var in f.items():
        by_market[m].append(var)
    for i, site in enumerate(sites.index):
        new = [(c, x[site, c]) for c in chips.index if (site, c) in x]
        inst_tpp = sum(inst.at[site, c] * chips.at[c, "tpp"] for c in chips.index) / MTPP
        prob += pulp.lpSum(by_site[site]) <= inst_tpp + pulp.lpSum(tpp[c] * v for c, v in new), f"serve_{i}"
        if not new:
            continue
        inst_mw = sum(inst.at[site, c] * chips.at[c, "power_kw"] for c in chips.index) / 1000.0
        prob += inst_mw + pulp.lpSum(chips.at[c, "power_kw"] * UNIT / 1000.0 * v for c, v in new) \
            <= sites.at[site, "power_mw"], f"power_{i}"
        inst_racks = sum(inst.at[site, c] / chips.at[c, "units_per_rack"] for c in chips.index)
        prob += inst_racks + pulp.lpSum(UNIT / chips.at[c, "units_per_rack"] * v for c, v in new) \
            <= sites.at[site, "racks"], f"racks_{i}"
    for j, m in enumerate(s.markets.index):
        if by_market[m]:
            prob += pulp.lpSum(by_market[m]) <= s.markets.at[m, "demand_tpp"] / MTPP, f"demand_{j}"


def _policy(prob, d: ModelData, x, inst, tpp) -> None:
    """Shares as T_group - share·T (>= or <=) 0 with T written out in full."""
    s = d.scenario
    pol = s.policy
    chips, sites = s.chips, s.sites
    inst_tpp = (inst * chips["tpp"]).sum(axis=1) / MTPP
    country_tpp = {}
    for k, group in sites.groupby("policy_country"):
        new = pulp.lpSum(tpp[c] * x[site, c] for site in group.index for c in chips.index if (site, c) in x)
        country_tpp[k] = new + float(inst_tpp[group.index].sum())
    total = pulp.lpSum(country_tpp.values())
    if pol.min_home_share is not None and pol.home_country:
        home = country_tpp.get(pol.home_country, 0)
        prob += home >= pol.min_home_share * total, "home_share"
    if pol.min_tier1_share is not None:
        tier1 = pulp.lpSum(v for k, v in country_tpp.items() if s.tier_of(k) == 1)
        prob += tier1 >= pol.min_tier1_share * total, "tier1_share"
    for k, expr in country_tpp.items():
        if s.tier_of(k) != 2:
            continue
        if pol.max_tier2_country_share is not None:
            prob += expr <= pol.max_tier2_country_share * total, f"t2share_{k}"
        if pol.cap_for(k) is not None:
            prob += expr <= pol.cap_for(k) / MTPP, f"t2cap_{k}"
