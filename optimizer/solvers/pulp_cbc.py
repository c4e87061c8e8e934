"""CBC through PuLP, two ways.

The reference path (:func:`solve_pulp`, ``--path pulp``): the same model written algebraically
and solved by CBC. Deliberately independent of the matrix builders: constraints are written one
by one from the scenario tables, so agreement with the HiGHS paths is evidence both are right.
For small and medium scenarios; it is slow on whole fleets by design.

The backend (:data:`CBC`, registered as ``cbc``): any LinearProgram, LP or MIP, row by row into
PuLP, behind the solver contract (integer mode's ``--solver cbc``).
"""
from __future__ import annotations

import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pulp

from optimizer.model.data import MTPP, MUSD, UNIT, ModelData, Objective
from optimizer.model.lp import LinearProgram
from optimizer.policy.rules import AT_LEAST, SHARE
from optimizer.progress import log_stream, phase, write_log
from optimizer.solvers.contract import Capabilities, SolveOptions, is_mip, refuse_unsupported
from optimizer.solvers.result import SolveResult, Status, Termination, status_for, value_floor

# PuLP's reading of CBC -> why it stopped. "Not Solved" is CBC's "Stopped" (a limit) without a
# plan; "Optimal" with sol_status "Solution Found" is "Stopped" with one (see cbc_status).
# "Undefined" (a CBC answer PuLP cannot read) is an error, not a verdict on the scenario.
CBC_TERMINATION = {"Optimal": Termination.OPTIMAL, "Infeasible": Termination.INFEASIBLE,
                   "Unbounded": Termination.UNBOUNDED, "Not Solved": Termination.OTHER_LIMIT}


def cbc_status(prob: pulp.LpProblem, time_limit: float | None = None,
               seconds: float | None = None) -> tuple[Status, Termination]:
    """The planner's status and the termination of CBC's last solve of ``prob``.

    CBC stopped by its time limit before any integer plan sometimes writes "Integer infeasible"
    (PuLP reads "Infeasible"): that is no proof, so an infeasible answer given after
    ``seconds`` >= ``time_limit`` is a time limit without a plan (exit 4), never exit 3."""
    termination = CBC_TERMINATION.get(pulp.LpStatus[prob.status], Termination.ERROR)
    if (termination == Termination.INFEASIBLE and time_limit is not None and seconds is not None
            and seconds >= time_limit):
        termination = Termination.TIME_LIMIT
    stopped_with_plan = getattr(prob, "sol_status", None) == pulp.LpSolutionIntegerFeasible
    if termination == Termination.OPTIMAL and stopped_with_plan:
        termination = Termination.OTHER_LIMIT
    if termination == Termination.OTHER_LIMIT and time_limit is not None:
        termination = Termination.TIME_LIMIT
    return status_for(termination, stopped_with_plan or termination == Termination.OPTIMAL), termination


def solve_pulp(d: ModelData, time_limit: float | None = None, objective: Objective | str = Objective.SERVE
               ) -> tuple[SolveResult, pd.Series | None, pd.Series | None]:
    """Build and solve on CBC; returns the result, new units per (site, sku), TPP per pair.

    ``objective``: serve or margin (optimizer.model.data.Objective), written out here from the
    scenario's tables, not read from ``d``, so that the reference stays independent."""
    s = d.scenario
    t0 = time.perf_counter()
    prob = pulp.LpProblem("fleetopt", pulp.LpMaximize)
    sites, chips = s.sites, s.chips
    open_ids = list(sites.index[d.open_sites])
    x = {(site, c): _var(prob, f"x_{i}_{j}")
         for i, site in enumerate(open_ids) for j, c in enumerate(chips.index)}
    f = {(m, site): _var(prob, f"f_{k}")
         for k, (m, site) in enumerate(zip(d.pairs["market_id"], d.pairs["site_id"]))}
    inst = s.installed_matrix()
    tpp = chips["tpp"] / MTPP * UNIT                   # MTPP per thousand units
    value = pulp.lpSum(s.markets.at[m, "value"] * var for (m, _), var in f.items())
    if Objective(objective) == Objective.MARGIN:    # revenue less the annualised cost of new units
        annual = s.annualised_capex_usd() + s.energy_usd_per_unit()
        value -= pulp.lpSum(annual.at[site, c] * UNIT / MUSD * var for (site, c), var in x.items())
    prob += value
    _physical(prob, d, x, f, inst, tpp)
    _policy(prob, d, x, inst, tpp)
    energy = s.energy_usd_per_unit()
    cost = pulp.lpSum((chips.at[c, "capex_usd"] + energy.at[site, c]) * UNIT / MUSD * var
                      for (site, c), var in x.items())
    result = _two_stages(prob, value, cost, time_limit, t0)
    return _collect(x, f, result) if result.status.has_solution else (result, None, None)


def _two_stages(prob: pulp.LpProblem, value, cost, time_limit: float | None, t0: float) -> SolveResult:
    """Maximize ``value`` on CBC; when optimal, minimize ``cost`` subject to value >= the
    optimum less 1e-7 relative (no cost stage after a limit). The result has no vector: the
    values stay in the PuLP variables."""
    solver = cbc(time_limit)
    t_solve = time.perf_counter()
    _solve(prob, solver, "value stage")
    status, termination = cbc_status(prob, time_limit, time.perf_counter() - t_solve)
    seconds = {"value_stage": time.perf_counter() - t0}
    if not status.has_solution:
        return SolveResult(status, "cbc", message=pulp.LpStatus[prob.status], seconds=seconds,
                           termination=termination)
    optimum = pulp.value(prob.objective) or 0.0
    if status != Status.OPTIMAL:
        return SolveResult(status, "cbc", objective=optimum, seconds=seconds, termination=termination)
    prob += value >= value_floor(optimum), "value_floor"
    prob.sense = pulp.LpMinimize
    prob.setObjective(cost)
    t1 = time.perf_counter()
    _solve(prob, solver, "cost stage")
    seconds["cost_stage"] = time.perf_counter() - t1
    return SolveResult(Status.OPTIMAL, "cbc", objective=float(pulp.value(value) or 0.0),
                       bound=optimum, cost=float(pulp.value(cost) or 0.0), seconds=seconds)


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


def _solve(prob: pulp.LpProblem, solver, phase_name: str) -> None:
    """``prob.solve(solver)``, announced as ``phase_name``. CBC runs as a separate program that
    writes its log to a file of its own: when the run logs (:func:`optimizer.progress.solver_log`),
    that file's text is appended to the solver log once CBC ends."""
    phase(phase_name)
    if log_stream() is None:
        prob.solve(solver)
        return
    with tempfile.TemporaryDirectory(prefix="fleetopt-cbc-") as folder:
        path = Path(folder) / "cbc.log"
        solver.optionsDict["logPath"] = str(path)
        try:
            prob.solve(solver)
        finally:
            del solver.optionsDict["logPath"]
            if path.exists():
                write_log(path.read_text(errors="replace"))


def _var(prob: pulp.LpProblem, name: str, integer: bool = False, low: float | None = 0.0,
         up: float | None = None) -> pulp.LpVariable:
    """A variable attached to ``prob``, nonnegative unless told (PuLP >= 3.3 API when present)."""
    cat = pulp.LpInteger if integer else pulp.LpContinuous
    if hasattr(prob, "add_variable"):
        return prob.add_variable(name, lowBound=low, upBound=up, cat=cat)
    return pulp.LpVariable(name, lowBound=low, upBound=up, cat=cat)


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
    """Each policy limit (optimizer.policy.rules) as T_G - a·T (>= or <=) b, with the compute of
    every country the sites count as written out in full."""
    s = d.scenario
    chips, sites = s.chips, s.sites
    inst_tpp = (inst * chips["tpp"]).sum(axis=1) / MTPP
    country_tpp = {}
    for k, group in sites.groupby("policy_country"):
        new = pulp.lpSum(tpp[c] * x[site, c] for site in group.index for c in chips.index if (site, c) in x)
        country_tpp[k] = new + float(inst_tpp[group.index].sum())
    total = pulp.lpSum(country_tpp.values())
    for i, lim in enumerate(d.limits):
        group = pulp.lpSum(v for k, v in country_tpp.items() if k in lim.members)
        bound = lim.share * total if lim.unit == SHARE else lim.amount_tpp / MTPP
        prob += (group >= bound) if lim.sense == AT_LEAST else (group <= bound), f"policy_{i}"


def _bound(v: float) -> float | None:
    """A column bound for PuLP: None for an infinite one."""
    return float(v) if np.isfinite(v) else None


def solve_matrix(lp: LinearProgram, integrality: np.ndarray | None = None, time_limit: float | None = None,
                 gap: float | None = None) -> SolveResult:
    """Maximize ``lp.c`` on CBC, the matrices written row by row into PuLP (value stage only).
    A ranged row is two constraints; its dual is their sum (at most one binds). Duals follow the
    contract (objective gained per unit of the active bound; PuLP reads CBC's so)."""
    t0 = time.perf_counter()
    prob = pulp.LpProblem("matrix", pulp.LpMaximize)
    ints = np.zeros(lp.num_col, bool) if integrality is None else np.asarray(integrality) > 0
    v = [_var(prob, f"v{j}", bool(ints[j]), _bound(lp.col_lo[j]), _bound(lp.col_hi[j])) for j in range(lp.num_col)]
    prob += pulp.LpAffineExpression([(v[j], float(lp.c[j])) for j in np.flatnonzero(lp.c)])
    A = lp.A.tocsr()
    rows: list[list[pulp.LpConstraint]] = []
    for i in range(lp.num_row):
        cols, vals = A.indices[A.indptr[i]:A.indptr[i + 1]], A.data[A.indptr[i]:A.indptr[i + 1]]
        expr = pulp.LpAffineExpression([(v[j], float(a)) for j, a in zip(cols, vals)])
        lo, hi = lp.row_lo[i], lp.row_hi[i]
        pair = []
        for sense, rhs, tag in ((pulp.LpConstraintEQ, lo, "e"),) if lo == hi else (
                (pulp.LpConstraintGE, lo, "g"), (pulp.LpConstraintLE, hi, "l")):
            if np.isfinite(rhs):
                constraint = pulp.LpConstraint(expr, sense, f"r{i}{tag}", float(rhs))
                prob += constraint
                pair.append(constraint)
        rows.append(pair)
    t_solve = time.perf_counter()
    _solve(prob, cbc(time_limit, gap), "MIP value stage" if ints.any() else "value stage")
    status, termination = cbc_status(prob, time_limit, time.perf_counter() - t_solve)
    name = "cbc-mip" if ints.any() else "cbc"
    seconds = {"mip" if ints.any() else "value_stage": time.perf_counter() - t0}
    if not status.has_solution:
        return SolveResult(status, name, message=pulp.LpStatus[prob.status], seconds=seconds,
                           termination=termination)
    x = np.array([var.varValue or 0.0 for var in v])
    result = SolveResult(status, name, x=x, objective=float(lp.c @ x), cost=float(lp.cost @ x),
                         seconds=seconds, termination=termination)
    if not ints.any():
        result.row_duals = np.array([sum(con.pi or 0.0 for con in pair) for pair in rows])
        result.col_duals = np.array([var.dj or 0.0 for var in v])
        result.bound = result.objective if status == Status.OPTIMAL else float("nan")
    return result


class CbcBackend:
    """CBC behind the solver contract: LPs (with duals) and MIPs, value stage only."""

    name = "cbc"
    capabilities = Capabilities(lp=True, mip=True, duals=True)

    def solve(self, lp: LinearProgram, options: SolveOptions = SolveOptions(),
              integrality: np.ndarray | None = None) -> SolveResult:
        refuse_unsupported(self.name, self.capabilities, options, is_mip(integrality))
        return solve_matrix(lp, integrality, options.time_limit, options.gap)


CBC = CbcBackend()


def solve_pulp_timeline(td, time_limit: float | None = None, objective: Objective | str = Objective.SERVE
                        ) -> tuple[SolveResult, list[pd.Series] | None, list[pd.Series] | None]:
    """The multi-period model (optimizer.model.periods) written algebraically, period by period,
    from each period's tables, and solved on CBC in two stages; returns the result, new stock
    per (site, sku) and TPP served per pair, each as one Series per period.

    max Σ_t years_t·disc_t·Σ value·f_t (margin: less years_t·disc_t·(capex·CRF + energy)·x_t,
    from the tables, not from the model data);  stock x_t >= x_{t-1};  each period's snapshot rows on
    x_t and f_t (:func:`_physical`, :func:`_policy`); x_t = 0 at sites closed in t; then min
    Σ_t disc_t·(capex·(x_t - x_{t-1}) + years_t·energy·(installed + x_t))."""
    t0 = time.perf_counter()
    prob = pulp.LpProblem("fleetopt_timeline", pulp.LpMaximize)
    xs, fs, value, cost = [], [], [], []
    before: dict = {}
    for t, p in enumerate(td.periods):
        d, s = p.d, p.d.scenario
        chips = s.chips
        open_ids = set(s.sites.index[d.open_sites])
        x = {(site, c): _var(prob, f"x{t}_{i}_{j}", up=None if site in open_ids else 0.0)
             for i, site in enumerate(s.sites.index[td.sites]) for j, c in enumerate(chips.index)}
        f = {(m, site): _var(prob, f"f{t}_{k}")
             for k, (m, site) in enumerate(zip(d.pairs["market_id"], d.pairs["site_id"]))}
        inst = s.installed_matrix()
        tpp = chips["tpp"] / MTPP * UNIT
        period_rows = _Named(prob, f"_t{t}")
        _physical(period_rows, d, x, f, inst, tpp)      # x at sites closed in t: columns fixed at 0 above
        _policy(period_rows, d, x, inst, tpp)
        for k, (key, var) in enumerate(x.items()):
            if key in before:
                prob += var >= before[key], f"stock_{t}_{k}"
        energy = s.energy_usd_per_unit()
        added = {k: v - before.get(k, 0) for k, v in x.items()}
        cost.append(p.discount * pulp.lpSum(
            chips.at[c, "capex_usd"] * UNIT / MUSD * added[site, c] + p.years * energy.at[site, c] * UNIT / MUSD * v
            for (site, c), v in x.items()))
        value.append(p.weight * pulp.lpSum(s.markets.at[m, "value"] * var for (m, _), var in f.items()))
        if Objective(objective) == Objective.MARGIN:    # the annuity and energy of each year in stock
            annual = s.annualised_capex_usd() + energy
            value.append(-p.weight * pulp.lpSum(annual.at[site, c] * UNIT / MUSD * v for (site, c), v in x.items()))
        xs.append(x)
        fs.append(f)
        before = x
    total_value = pulp.lpSum(value)
    prob += total_value
    result = _two_stages(prob, total_value, pulp.lpSum(cost), time_limit, t0)
    if not result.status.has_solution:
        return result, None, None
    collected = [_collect(x, f, result)[1:] for x, f in zip(xs, fs)]
    return result, [c[0] for c in collected], [c[1] for c in collected]



class _Named:
    """``prob`` for the row writers, with ``suffix`` added to every constraint name (a period's)."""

    def __init__(self, prob: pulp.LpProblem, suffix: str):
        self.prob, self.suffix = prob, suffix

    def __iadd__(self, item: tuple) -> "_Named":
        constraint, name = item
        self.prob += constraint, f"{name}{self.suffix}"
        return self
