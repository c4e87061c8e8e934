"""Independent compliance audit of a plan (placement.csv + service.csv) against a scenario.

Every rule is recomputed here in plain pandas from the plan tables and the validated scenario;
nothing from the model builders is used, so a plan made by hand or by another tool is judged by
the same rules. Each rule gives one row: value, limit, margin (>= 0 when met), ok, offenders, and
``active`` (False only for the Tier-3 row of a policy without the ban: shown, never failing).
Countries and tiers come from the scenario as validated under the policy (optimizer.inputs.countries),
never from the plan's own country or tier columns.

A multi-period plan (:func:`check_timeline_plan`) is audited period by period: the rules of a
snapshot applied to each period's scenario (its policy, capacity, demand, units available by
then) with the period's stock as the plan's units, plus the rules that tie the periods together
(stock never falls, new_units adds up). Every row names its ``period`` ("" in a snapshot audit,
"all" for the rules on the whole file).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.errors import InputError
from optimizer.inputs.scenario import Scenario
from optimizer.inputs.timeline import Timeline
from optimizer.policy.rules import AT_LEAST, SHARE
from optimizer.results.plan import FILE_PRECISION

REL_TOL = 1e-6      # relative slack allowed on quantities (units, MW, racks, TPP)
SHARE_TOL = 1e-7    # absolute slack allowed on shares
MAX_LISTED = 8
COLUMNS = ["period", "rule", "scope", "value", "limit", "margin", "ok", "offenders", "active"]
ALL_PERIODS = "all"


@dataclass(frozen=True)
class CheckReport:
    """One row per rule; ``ok`` when every row is."""

    rules: pd.DataFrame

    @property
    def ok(self) -> bool:
        return bool(self.rules["ok"].all())

    def failures(self) -> pd.DataFrame:
        return self.rules.loc[~self.rules["ok"]]


def check_plan(s: Scenario, placement: pd.DataFrame, service: pd.DataFrame,
               integer: bool = False) -> CheckReport:
    """Audit a plan. ``integer``: new units must also come in whole racks."""
    placement = placement.copy()
    service = service.copy()
    rows: list[dict] = []
    rows += _id_rules(s, placement, service)
    if all(r["ok"] for r in rows):
        units = _units_table(s, placement)
        rows.append(_units_add_up(units))
        rows += _snapshot_rules(s, units, service, integer)
    return _report([r | {"period": ""} for r in rows])


def check_timeline_plan(timeline: Timeline, placement: pd.DataFrame, service: pd.DataFrame,
                        integer: bool = False) -> CheckReport:
    """Audit a multi-period plan: ``placement`` and ``service`` carry a ``period`` column.

    On the whole file (period "all"): every id known, no negative number. Then for each period
    t, in time order, with u[c,s,t] the plan's ``units`` (0 where a period has no row) and u_0 the
    installed base: the stock never falls (u[t] >= u[t-1], u[first] >= installed); ``new_units``
    = u[t] - u[t-1] (the file's own units; its ``installed_units`` before the first period); and
    every snapshot rule on period t's scenario with the stock u[t] as the plan's units and
    u[t] - installed_units as its new units (so availability is Σ_s new stock <= chips inventory
    + deliveries up to t, and the policy limits are those of t's policy). A malformed period
    structure (a missing ``period`` column, unknown period ids, a (site, sku, period) listed
    twice) is an InputError, not a broken rule.
    """
    placement, service = placement.copy(), service.copy()
    problems = period_problems(placement, service, timeline.ids)
    if problems:
        raise InputError(problems)
    for table in (placement, service):
        table["period"] = table["period"].astype(str)
    known = _id_rules(timeline.first, placement, service, numbers=("installed_units", "units"))
    rows = [r | {"period": ALL_PERIODS} for r in known]     # a negative new_units: a stock that falls
    if all(r["ok"] for r in rows):
        rows += _timeline_rules(timeline, placement, service, integer)
    return _report(rows)


def period_problems(placement: pd.DataFrame, service: pd.DataFrame, period_ids: list[str],
                    names: tuple[str, str] = ("placement", "service")) -> list[str]:
    """What makes a multi-period plan's tables unreadable as one: a missing ``period`` column,
    period ids the timeline does not have, a (site_id, sku, period) in two placement rows.
    ``names``: how messages name the two tables (e.g. their file paths)."""
    out = []
    known = f"the periods are {', '.join(period_ids)} (periods.csv)"
    for table, name in zip((placement, service), names):
        if "period" not in table.columns:
            out.append(f"{name}: missing column period; a multi-period plan has one row per period "
                       f"({known}): write the plan again with fleetopt solve on the multi-period scenario")
            continue
        unknown = sorted(set(table["period"].astype(str)) - set(period_ids))
        if unknown:
            out.append(f"{name}: column period: unknown period id(s) {_listed(unknown)}; {known}")
    if "period" in placement.columns and {"site_id", "sku"} <= set(placement.columns):
        key = placement[["site_id", "sku"]].astype(str).assign(period=placement["period"].astype(str))
        twice = key[key.duplicated(keep=False)].drop_duplicates()
        if len(twice):
            pairs = [f"{a}/{b}/{c}" for a, b, c in twice.itertuples(index=False)]
            out.append(f"{names[0]}: (site_id, sku, period) {_listed(pairs)} listed more than once; "
                       "a plan has one row per site, sku and period (its stock at the end of the period)")
    return out


def _listed(ids: list) -> str:
    """Up to MAX_LISTED ids, then how many more."""
    text = ", ".join(map(str, ids[:MAX_LISTED]))
    return text + (f" and {len(ids) - MAX_LISTED} more" if len(ids) > MAX_LISTED else "")


def _report(rows: list[dict]) -> CheckReport:
    return CheckReport(pd.DataFrame(rows, columns=COLUMNS))


def _timeline_rules(timeline: Timeline, placement: pd.DataFrame, service: pd.DataFrame,
                    integer: bool) -> list[dict]:
    """Per period: the stock rules, then the snapshot rules on the period's stock."""
    ids = timeline.ids
    pairs = _stock_pairs(timeline.first, placement)
    wide = {col: placement.pivot_table(index=["site_id", "sku"], columns="period", values=col, aggfunc="sum")
            .reindex(index=pairs, columns=ids) for col in ("installed_units", "new_units", "units")}
    listed = wide["units"].notna()
    wide = {col: table.fillna(0.0) for col, table in wide.items()}
    installed = (timeline.first.installed.groupby(["site_id", "sku"])["units"].sum()
                 .reindex(pairs, fill_value=0.0))
    rows: list[dict] = []
    for t, period in enumerate(timeline.periods):
        units = wide["units"][period.id]
        before = installed if t == 0 else wide["units"][ids[t - 1]]
        stated_before = wide["installed_units"][ids[0]] if t == 0 else before
        stock = _period_stock(placement.loc[placement["period"] == period.id])
        stock_units = _units_table(period.scenario, stock)
        row = listed[period.id]
        found = [_stock_never_falls(before, units),
                 _new_units_add_up(wide["new_units"][period.id][row], (units - stated_before)[row],
                                   np.maximum(units, stated_before)[row])]
        found += _snapshot_rules(period.scenario, stock_units, service.loc[service["period"] == period.id], integer)
        rows += [r | {"period": period.id} for r in found]
    return rows


def _stock_pairs(s: Scenario, placement: pd.DataFrame) -> pd.MultiIndex:
    """Every (site, sku) that holds stock in some period or an installed base, sorted."""
    keys = pd.concat([placement[["site_id", "sku"]], s.installed[["site_id", "sku"]]]).drop_duplicates()
    return pd.MultiIndex.from_frame(keys.sort_values(["site_id", "sku"]))


def _period_stock(rows: pd.DataFrame) -> pd.DataFrame:
    """One period's placement rows as a snapshot plan: its units, and as new units the new
    stock beyond the file's installed_units (never below 0: a stock below the installed base is
    its own broken rule, and must not offset another site's excess in the availability sum)."""
    out = rows[["site_id", "sku", "installed_units", "units"]].copy()
    out["new_units"] = (out["units"] - out["installed_units"]).clip(lower=0.0)
    return out


def _pair_labels(index: pd.MultiIndex) -> list[str]:
    return [f"{a}/{b}" for a, b in index]


def _stock_never_falls(before: pd.Series, units: pd.Series) -> dict:
    """u[c,s,t] >= u[c,s,t-1] for every pair (t-1 of the first period: the installed base)."""
    return _worst("stock_never_falls", before.set_axis(_pair_labels(before.index)),
                  units.set_axis(_pair_labels(units.index)))


def _new_units_add_up(stated: pd.Series, added: pd.Series, stock: pd.Series) -> dict:
    """The file's new_units is the stock added in the period, u[t] - u[t-1], on every row it has
    (a pair without a row in t has no stock then, and states no new_units): to REL_TOL of the
    units added, plus the rounding of the two stocks it differences, FILE_PRECISION·``stock``
    (the larger of them): a plan file's 10 significant digits put 1e-5 on a stock of 13,146 units,
    where a re-plan may add 2e-5 of a unit."""
    slack = REL_TOL * np.maximum(1.0, added.abs()) + FILE_PRECISION * stock.abs()
    bad = stated.index[(stated - added).abs() > slack]
    return _row("new_units_add_up", "all", len(bad), 0, -len(bad), 0, _pair_labels(bad))


def _snapshot_rules(s: Scenario, units: pd.DataFrame, service: pd.DataFrame, integer: bool) -> list[dict]:
    """The rules of one snapshot, ids known: fleet, service and policy."""
    return _fleet_rules(s, units, integer) + _service_rules(s, service, units) + _policy_rules(s, units)


def _row(rule: str, scope: str, value: float, limit: float, margin: float, tol: float,
         offenders: list | None = None) -> dict:
    ok = bool(margin >= -tol) and not offenders
    return {"rule": rule, "scope": scope, "value": value, "limit": limit, "margin": margin,
            "ok": ok, "offenders": _listed(offenders or []), "active": True}


def _id_rules(s: Scenario, placement: pd.DataFrame, service: pd.DataFrame,
              numbers: tuple[str, ...] = ("installed_units", "new_units", "units")) -> list[dict]:
    """Every id in the plan exists in the scenario; no negative or non-finite number in the
    placement columns ``numbers`` and in service tpp."""
    out = []
    for table, col, known in ((placement, "site_id", s.sites.index), (placement, "sku", s.chips.index),
                              (service, "market_id", s.markets.index), (service, "site_id", s.sites.index)):
        bad = sorted(set(table[col].astype(str)) - set(known))
        name = "placement" if table is placement else "service"
        out.append(_row(f"{name}_ids_known", col, len(bad), 0, -len(bad), 0, bad))
    for table, cols in ((placement, list(numbers)), (service, ["tpp"])):
        vals = table[cols].apply(pd.to_numeric, errors="coerce").astype(float)    # float when empty too
        bad_mask = ~np.isfinite(vals).all(axis=1) | (vals < -1e-9).any(axis=1)
        ids = (table.loc[bad_mask, "site_id"] if "sku" not in table else
               table.loc[bad_mask, "site_id"] + "/" + table.loc[bad_mask, "sku"]).tolist()
        name = "placement" if table is placement else "service"
        out.append(_row(f"{name}_values_nonnegative", ",".join(cols), len(ids), 0, -len(ids), 0, ids))
    return out


def _units_table(s: Scenario, placement: pd.DataFrame) -> pd.DataFrame:
    """units per (site, sku), summed, with the country the site counts as and its tier attached
    (from the scenario: the plan's own country and tier columns are not read)."""
    units = placement.groupby(["site_id", "sku"], as_index=False)[["installed_units", "new_units", "units"]].sum()
    units["country"] = s.sites["policy_country"].reindex(units["site_id"]).to_numpy()
    units["tier"] = s.sites["tier"].reindex(units["site_id"]).to_numpy()
    units["tpp"] = units["units"] * s.chips["tpp"].reindex(units["sku"]).to_numpy()
    return units


def _units_add_up(units: pd.DataFrame) -> dict:
    """A snapshot plan's units = installed_units + new_units."""
    bad_sum = units.loc[(units["installed_units"] + units["new_units"] - units["units"]).abs()
                        > REL_TOL * np.maximum(1, units["units"])]
    return _row("units_add_up", "all", len(bad_sum), 0, -len(bad_sum), 0,
                (bad_sum["site_id"] + "/" + bad_sum["sku"]).tolist())


def _fleet_rules(s: Scenario, units: pd.DataFrame, integer: bool) -> list[dict]:
    """Installed kept, inventory, power, racks, whole racks."""
    out = []
    given = s.installed.groupby(["site_id", "sku"])["units"].sum()
    planned = units.set_index(["site_id", "sku"])["installed_units"]
    both = pd.concat({"given": given, "planned": planned}, axis=1).fillna(0.0)
    moved = both.index[(both["given"] - both["planned"]).abs() > REL_TOL * np.maximum(1, both["given"])]
    out.append(_row("installed_kept", "all", len(moved), 0, -len(moved), 0,
                    [f"{a}/{b}" for a, b in moved]))
    new_by_sku = units.groupby("sku")["new_units"].sum().reindex(s.chips.index, fill_value=0.0)
    out.append(_worst("inventory", new_by_sku, s.chips["inventory"]))
    chips = s.chips.reindex(units["sku"])
    per_site = pd.DataFrame({"site_id": units["site_id"],
                             "kw": units["units"].to_numpy() * chips["power_kw"].to_numpy(),
                             "racks": units["units"].to_numpy() / chips["units_per_rack"].to_numpy()})
    per_site = per_site.groupby("site_id").sum().reindex(s.sites.index, fill_value=0.0)
    out.append(_worst("site_power_kw", per_site["kw"], s.sites["power_mw"] * 1000.0))
    out.append(_worst("site_racks", per_site["racks"], s.sites["racks"]))
    if integer:
        racks = units["new_units"].to_numpy() / chips["units_per_rack"].to_numpy()
        frac = np.abs(racks - np.round(racks)) > 1e-6
        out.append(_row("whole_racks", "new units", int(frac.sum()), 0, -int(frac.sum()), 0,
                        (units.loc[frac, "site_id"] + "/" + units.loc[frac, "sku"]).tolist()))
        out.append(_min_new_mw(s, units, chips))
    return out


def _min_new_mw(s: Scenario, units: pd.DataFrame, chips: pd.DataFrame) -> dict:
    """Integer plans: a site that gets new units gets at least its min_new_mw of them."""
    new_mw = pd.Series(units["new_units"].to_numpy() * chips["power_kw"].to_numpy() / 1000.0,
                       index=units["site_id"]).groupby(level=0).sum().reindex(s.sites.index, fill_value=0.0)
    minimum = s.sites["min_new_mw"]
    short = new_mw.index[(new_mw > 1e-9) & (new_mw < minimum * (1 - REL_TOL) - 1e-9)]
    worst = float((new_mw - minimum).where(new_mw > 1e-9).min()) if (new_mw > 1e-9).any() else 0.0
    return _row("min_new_mw", "sites with new units", len(short), 0, -len(short), 0, list(short)) | {"value": worst}


def _worst(rule: str, used: pd.Series, limit: pd.Series) -> dict:
    """One row for a family of '<=' limits: the tightest member, and every violator."""
    margin = limit - used
    tol = REL_TOL * np.maximum(1.0, limit.abs())
    offenders = list(margin.index[margin < -tol])
    if len(margin) == 0:
        return _row(rule, "none", 0.0, 0.0, 0.0, 0.0)
    rel = margin / np.maximum(1.0, limit.abs())
    worst = rel.idxmin()
    return _row(rule, f"worst: {worst}", float(used[worst]), float(limit[worst]),
                float(margin[worst]), float(tol[worst]), offenders)


def _service_rules(s: Scenario, service: pd.DataFrame, units: pd.DataFrame) -> list[dict]:
    """Eligible pairs only, site compute covers what it serves, no market over its demand."""
    out = [_eligibility(s, service)]
    capacity = units.groupby("site_id")["tpp"].sum().reindex(s.sites.index, fill_value=0.0)
    served_by_site = service.groupby("site_id")["tpp"].sum().reindex(s.sites.index, fill_value=0.0)
    out.append(_worst("site_serving_tpp", served_by_site, capacity))
    served = service.groupby("market_id")["tpp"].sum().reindex(s.markets.index, fill_value=0.0)
    out.append(_worst("market_demand_tpp", served, s.markets["demand_tpp"]))
    return out


def _eligibility(s: Scenario, service: pd.DataFrame) -> dict:
    """Every served pair obeys its market's in_country_only and max_rtt_ms (the pair's rtt: the
    link's rtt_ms when links.csv gives one, else 0.015 ms/km x great-circle km) and, with
    links.csv, is one of its pairs."""
    pairs = service[["market_id", "site_id"]].drop_duplicates()
    mk = s.markets.reindex(pairs["market_id"])
    st = s.sites.reindex(pairs["site_id"])
    rtt = np.array([0.015 * _great_circle_km(a, b, c, d) for a, b, c, d in
                    zip(mk["lat"], mk["lon"], st["lat"], st["lon"])], dtype=float)
    unlinked = np.zeros(len(pairs), bool)
    if s.links is not None:
        given = s.links.set_index(["market_id", "site_id"])["rtt_ms"]
        given = given[~given.index.duplicated()]
        key = pd.MultiIndex.from_frame(pairs)
        unlinked = ~key.isin(given.index)
        link_rtt = given.reindex(key).to_numpy(float)
        rtt = np.where(np.isnan(link_rtt), rtt, link_rtt)
    too_far = rtt > mk["max_rtt_ms"].to_numpy() + 1e-9
    abroad = mk["in_country_only"].to_numpy(bool) & (mk["country"].to_numpy() != st["country"].to_numpy())
    bad_mask = unlinked | too_far | abroad
    bad = [f"{m}/{x}" for m, x in zip(pairs["market_id"][bad_mask], pairs["site_id"][bad_mask])]
    return _row("service_pairs_eligible", f"{len(pairs)} pairs", len(bad), 0, -len(bad), 0, bad)


def _great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance on a sphere of radius 6371 km (scalar, for the audit)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((phi2 - phi1) / 2) ** 2
         + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def _policy_rules(s: Scenario, units: pd.DataFrame) -> list[dict]:
    """One row per policy limit (optimizer.policy.rules): a share T_G vs a·T, an amount T_G vs b;
    a limit kept by closing sites (the Tier-3 ban) names the sites that hold units, and one that
    is off is shown, never failing."""
    by_country = units.groupby("country")["tpp"].sum()
    total = float(by_country.sum())
    out = []
    for lim in s.limits():
        tpp = float(by_country[by_country.index.isin(lim.members)].sum())
        if lim.unit == SHARE:
            value = tpp / total if total > 0 else 0.0
            margin = value - lim.bound if lim.sense == AT_LEAST else lim.bound - value
            out.append(_share_rule(lim.family.value, lim.audit_scope, value, lim.bound, margin, total))
        elif lim.enforced == "row":
            out.append(_row(lim.family.value, lim.audit_scope, tpp, lim.bound, lim.bound - tpp,
                            REL_TOL * max(1.0, lim.bound)))
        else:
            held = units.loc[units["country"].isin(lim.members) & (units["units"] > 1e-9)]
            held_tpp = float(held["tpp"].sum())
            if lim.enforced == "columns":
                out.append(_row(lim.family.value, lim.audit_scope, held_tpp, lim.bound, lim.bound - held_tpp,
                                0.0, sorted(set(held["site_id"]))))
            else:
                out.append(_row(lim.family.value, lim.audit_scope, held_tpp, math.nan, math.nan, 0.0)
                           | {"ok": True, "active": False})
    return out


def _share_rule(rule: str, scope: str, value: float, limit: float, margin: float,
                total: float) -> dict:
    """A share limit is linear (T_k - share·T >= 0), so with an empty fleet (T = 0) it holds."""
    return _row(rule, scope, value, limit, margin if total > 0 else 0.0, SHARE_TOL)
