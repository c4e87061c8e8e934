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

import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from optimizer.errors import InputError
from optimizer.inputs.economics import ECONOMICS_FILE, Economics, period_discounts
from optimizer.inputs.scenario import Scenario
from optimizer.inputs.tables import (
    CAPACITY,
    DELIVERIES,
    DEMAND,
    DISCOUNT,
    INVENTORY,
    MARKET_USD,
    PERIOD_TABLES,
    PERIODS,
)
from optimizer.inputs.validation import (
    PERIODS_FILE,
    FolderTables,
    ResolvedPolicy,
    _check_value_ratio,
    _ids,
    _known_ids,
    _read_typed,
    build_scenario,
    read_folder,
    resolve_policy,
    scenario_folder,
    short_number,
)
from optimizer.policy.policy import DEFAULT_POLICY, Policy, preset_names

NO_DISCOUNT = "none"
DISCOUNT_SOURCES = (f"{PERIODS_FILE} discount", f"{ECONOMICS_FILE} discount_rate", NO_DISCOUNT)
"""periods.csv's column, derived from the rate, or 1 in every period (see period_discount_column)."""


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
    notes: list[str] = field(default_factory=list, compare=False)   # every note: the periods' (a note of
    # some periods only starts "period(s) ...:"), the period files' columns, a --policy override
    deliveries: pd.DataFrame | None = field(default=None, compare=False)   # sku, period, units
    capacity: pd.DataFrame | None = field(default=None, compare=False)     # site_id, period, power_mw, racks
    demand: pd.DataFrame | None = field(default=None, compare=False)       # market_id, period, demand_tpp
    discount_from: str = NO_DISCOUNT     # where the periods' discount came from (DISCOUNT_SOURCES)

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


def has_periods(folder: str | Path) -> bool:
    """Whether ``folder`` is a multi-period scenario (it holds periods.csv, even a broken one)."""
    return os.path.lexists(Path(folder) / PERIODS_FILE)


def load_timeline(folder: str | Path, policy: str | Path | Policy | None = None) -> Timeline:
    """Read, type and check a multi-period scenario folder: one validated Scenario per period.

    The CSV files are read once; per period only the policy (and the tiers under it), the
    sites' capacity, the markets' demand and the chips' available inventory differ (see the
    module docstring). A period's policy is ``policy`` when given (for every period, with a note
    when it overrides periods.csv's column), else its ``policy`` entry in periods.csv (a preset
    name, or a TOML path relative to the folder), else the scenario's policy (policy.toml, else
    the default preset); each distinct policy is read once. Raises :class:`InputError` listing
    every problem of every file and period together.
    """
    folder, where = scenario_folder(folder)
    t0 = time.perf_counter()
    clock = {"load": 0.0}
    problems: list[str] = []
    column_notes: list[str] = []
    periods = _read_typed(folder, PERIODS, problems, set(), clock, column_notes)
    if periods is None and not problems:
        problems.append(f"{PERIODS_FILE}: file missing from {folder}; a multi-period scenario needs it "
                        "(columns period, years)")
    extra = {spec.file: _read_typed(folder, spec, problems, set(), clock, column_notes)
             for spec in PERIOD_TABLES}
    files = read_folder(folder, problems, clock)
    sources, override_notes = _policy_specs(folder, periods, policy)
    resolved = _resolve_policies(folder, sources, policy, problems)
    _check_period_references(periods, extra, files, problems)
    discounts, discount_from, discount_notes = period_discount_column(periods, files.economics, problems)
    if problems:
        raise InputError(problems)
    scenarios, found, period_notes = _period_scenarios(folder, periods, extra, files, sources, resolved)
    if found:
        raise InputError(_by_period(found, list(periods.index)))
    timings = {"load": clock["load"], "validate": time.perf_counter() - t0 - clock["load"]}
    out = []
    for pid, row in periods.iterrows():
        scenarios[pid].load_timings.update(timings)
        out.append(Period(pid, float(row["years"]), float(discounts[pid]), scenarios[pid], sources[pid]))
    notes = [*where, *override_notes, *column_notes, *discount_notes, *_by_period(period_notes, list(periods.index))]
    return Timeline(name=folder.resolve().name, periods=tuple(out), path=folder, notes=notes,
                    deliveries=extra[DELIVERIES.file], capacity=extra[CAPACITY.file],
                    demand=extra[DEMAND.file], discount_from=discount_from)


def period_discount_column(periods: pd.DataFrame | None, economics: Economics, problems: list[str]
                           ) -> tuple[pd.Series, str, list[str]]:
    """Each period's discount, where it came from (one of DISCOUNT_SOURCES) and the note that
    says so. periods.csv ``discount``
    is the one source when given (economics.toml ``discount_rate`` then sets only the annuity, said
    in a note); without it, with economics.toml setting ``discount_rate``, each period is
    discounted from its start (:func:`optimizer.inputs.economics.period_discounts`, said in a note);
    otherwise 1. Refused: a column blank in some periods while the rate is set (two sources), and
    a derived discount below the column's range (a long horizon at a high rate)."""
    column, derived_from, _ = DISCOUNT_SOURCES
    if periods is None:
        return pd.Series(dtype=float), NO_DISCOUNT, []
    given = periods[DISCOUNT.name]
    blank = given.isna()
    rate = economics.discount_rate
    where = f"{ECONOMICS_FILE} discount_rate = {rate:g}"
    if not economics.rate_given:
        return given.fillna(1.0), NO_DISCOUNT if blank.all() else column, []
    if not blank.any():
        return given, column, [f"{PERIODS_FILE} column discount discounts the periods; {where} sets only the annuity "
                       "of capex (periods.csv wins for discounting)"]
    if not blank.all():
        problems.append(f"{PERIODS_FILE}: column discount is empty in periods {_ids(pd.Series(given.index[blank]))} "
                        f"while {where} is set: give every period a discount, or leave the column out to derive "
                        "each period's discount from the rate")
        return given, column, []
    derived = pd.Series(period_discounts(rate, periods["years"].to_numpy(float)), index=periods.index)
    low = derived[derived < DISCOUNT.min_positive]
    if len(low):
        problems.append(f"{PERIODS_FILE}: the discount derived from {where} falls below {DISCOUNT.min_positive:g} "
                        f"(the range fleetopt solves exactly) in periods {_ids(pd.Series(low.index), low.map('{:.3g}'.format))}; "
                        "give periods.csv a discount column, lower the rate, or shorten the horizon")
    shown = _ids(pd.Series(derived.index), derived.map("{:.4g}".format))
    return derived, derived_from, [f"{PERIODS_FILE} has no discount column: each period's discount is derived from {where} "
                     f"as (1 + r)^-(years before the period): {shown}"]


def _policy_specs(folder: Path, periods: pd.DataFrame | None, given: str | Path | Policy | None
                  ) -> tuple[dict[str, str], list[str]]:
    """Each period's policy source as text (the column's entry, or the scenario's policy), and
    the note when ``given`` overrides entries of the column."""
    if periods is None:
        return {}, []
    column = periods["policy"].astype(str)
    if given is not None:
        label = given.name if isinstance(given, Policy) else str(given)
        named = column[column != ""]
        notes = [f"policy {label} (given with --policy) applies to every period; periods.csv column "
                 f"policy is overridden ({_ids(pd.Series(named.index), named)})"] if len(named) else []
        return {pid: label for pid in periods.index}, notes
    default = "policy.toml" if (folder / "policy.toml").is_file() else DEFAULT_POLICY
    return {pid: entry or default for pid, entry in column.items()}, []


def _resolve_policies(folder: Path, sources: dict[str, str], given: str | Path | Policy | None,
                      problems: list[str]) -> dict[str, ResolvedPolicy]:
    """Each distinct policy source read once. A periods.csv entry is a preset name or a TOML path
    relative to the folder; its problems name the column and the periods that use it."""
    out = {}
    for source in dict.fromkeys(sources.values()):
        found: list[str] = []
        if given is not None:
            out[source] = resolve_policy(folder, given, found)
        else:
            path = folder / source
            out[source] = resolve_policy(folder, path if path.suffix == ".toml" or path.exists() else source,
                                         found)
        users = [pid for pid, s in sources.items() if s == source]
        where = f"{PERIODS_FILE}: column policy, period(s) {_ids(pd.Series(users))}: "
        column = given is None and source not in ("policy.toml", DEFAULT_POLICY)
        problems += [f"{where}{p}; give a preset name ({', '.join(preset_names())}) or a valid TOML "
                     "path relative to the scenario folder" if column else p for p in found]
    return out


def _check_period_references(periods: pd.DataFrame | None, extra: dict[str, pd.DataFrame | None],
                             files: FolderTables, problems: list[str]) -> None:
    """Ids of the period tables that must exist: periods, skus, sites, markets (each checked
    when the table that defines it was read)."""
    sources = {"period": periods, "sku": files.tables["chips.csv"], "site_id": files.tables["sites.csv"],
               "market_id": files.tables["markets.csv"]}
    for spec in PERIOD_TABLES:
        table = extra[spec.file]
        for column in spec.ids if table is not None else ():
            if sources[column] is not None:
                _known_ids(spec.file, column, table[column], sources[column].index, problems)


def _period_scenarios(folder: Path, periods: pd.DataFrame, extra: dict[str, pd.DataFrame | None],
                      files: FolderTables, sources: dict[str, str], resolved: dict[str, ResolvedPolicy]
                      ) -> tuple[dict[str, Scenario], dict[str, list[str]], dict[str, list[str]]]:
    """Each period's Scenario, validated under its policy (see the module docstring), and the
    problems and notes found, each line with the periods it was found in."""
    ids = list(periods.index)
    tables = files.tables
    sites, markets, chips = tables["sites.csv"], tables["markets.csv"], tables["chips.csv"]
    power, racks = (_carried(extra[CAPACITY.file], "site_id", column, ids) for column in ("power_mw", "racks"))
    demand = _per_period(extra[DEMAND.file], "market_id", "demand_tpp", ids)
    inventory = _available(chips, extra[DELIVERIES.file], ids)
    capacity_source = ("capacity.csv (sites.csv before a site's first row)"
                       if extra[CAPACITY.file] is not None else "sites.csv")
    scenarios: dict[str, Scenario] = {}
    problems: dict[str, list[str]] = {}
    notes: dict[str, list[str]] = {}
    for pid in ids:
        found: list[str] = []
        period_markets = markets.assign(demand_tpp=_value_in(demand, pid, markets["demand_tpp"]))
        _check_value_ratio(period_markets, pd.Series(markets.index, index=markets.index), found,
                           MARKET_USD.name if MARKET_USD.name in markets.columns else "value")
        _check_inventory(inventory[pid], found)
        period_tables = {**tables, "markets.csv": period_markets, "chips.csv": chips.assign(inventory=inventory[pid]),
                         "sites.csv": sites.assign(power_mw=_value_in(power, pid, sites["power_mw"]),
                                                   racks=_value_in(racks, pid, sites["racks"]))}
        scenario = build_scenario(folder, dataclasses.replace(files, tables=period_tables),
                                  resolved[sources[pid]], found, capacity_source)
        for line in found:
            problems.setdefault(line, []).append(pid)
        if scenario is not None and not found:
            scenarios[pid] = scenario
            for line in scenario.notes:
                notes.setdefault(line, []).append(pid)
    return scenarios, problems, notes


def _by_period(lines: dict[str, list[str]], ids: list[str]) -> list[str]:
    """One line per problem or note: as is when every period has it, else prefixed by its periods."""
    return [line if pids == ids else f"period{'s' * (len(pids) > 1)} {_ids(pd.Series(pids))}: {line}"
            for line, pids in lines.items()]


def _per_period(table: pd.DataFrame | None, id_column: str, column: str, ids: list[str]) -> pd.DataFrame | None:
    """``column`` of a period table as ids x periods (NaN where the table has no row)."""
    if table is None:
        return None
    return table.pivot(index=id_column, columns="period", values=column).reindex(columns=ids)


def _carried(table: pd.DataFrame | None, id_column: str, column: str, ids: list[str]) -> pd.DataFrame | None:
    """As :func:`_per_period`, each row's value carried forward to the periods after it (until a
    later row); NaN before an id's first row."""
    wide = _per_period(table, id_column, column, ids)
    return None if wide is None else wide.ffill(axis=1)


def _value_in(wide: pd.DataFrame | None, period: str, base: pd.Series) -> pd.Series:
    """``base`` (the snapshot column) with the period's values where the period table has one."""
    if wide is None:
        return base
    return wide[period].reindex(base.index).fillna(base)


def _available(chips: pd.DataFrame, deliveries: pd.DataFrame | None, ids: list[str]) -> pd.DataFrame:
    """Units available by each period, skus x periods: chips.csv inventory + the deliveries of
    every period up to and including it."""
    delivered = _per_period(deliveries, "sku", "units", ids)
    if delivered is None:
        delivered = pd.DataFrame(0.0, index=chips.index, columns=ids)
    cumulative = delivered.reindex(chips.index).fillna(0.0).cumsum(axis=1)
    return cumulative.add(chips["inventory"], axis=0)


def _check_inventory(available: pd.Series, problems: list[str]) -> None:
    """Units available by a period stay within chips.csv inventory's range."""
    over = available[available > INVENTORY.max]
    if len(over):
        detail = over.map(lambda v: f"{v:.10g}")
        problems.append(f"{DELIVERIES.file}: units available (chips.csv inventory + the deliveries up to "
                        f"this period) must be at most {short_number(INVENTORY.max)}, the range "
                        f"fleetopt solves exactly: lower the deliveries of skus {_ids(pd.Series(over.index), detail)}")
