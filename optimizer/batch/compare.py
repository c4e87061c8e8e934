"""Side-by-side comparison of two plans — a headline (value, served, compute, cost, shares), the
policy limits that bind in one and not the other, then per country, site and market; for two
multi-period plans of the same periods the headline over the horizon and per period, the limits
as ``name@period`` and the tables with a ``period`` column (:func:`compare_timelines`) — or of two
sweeps (:func:`compare_sweeps`: the same headline per variant, matched by id, then each matched
variant's plans compared). Every table is B minus A; compute stays in TPP in the tables (and in
``--out``), :func:`headline_lines` and the CLI print it in H100e."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.errors import InputError
from optimizer.inputs.economics import H100E_TPP, horizon_value_unit, usd
from optimizer.io.planfiles import read_plan
from optimizer.outdir import first_line_is
from optimizer.policy.rules import Family
from optimizer.results.plan import without_noise


def ranked_metric(table: pd.DataFrame) -> str:
    """The results column a sweep maximised: ``objective`` (the value served) under ``serve``;
    under ``margin`` the margin (``margin_usd`` in multi-period rows, ``margin_usd_per_year`` in
    snapshot rows), since the revenue a move gains may cost more than it earns."""
    kinds = set(table["objective_kind"].dropna().astype(str)) if "objective_kind" in table else set()
    if kinds == {"margin"}:
        for column in ("margin_usd", "margin_usd_per_year"):
            if column in table and pd.to_numeric(table[column], errors="coerce").notna().any():
                return column
    return "objective"


def tier_move_ranking(table: pd.DataFrame) -> pd.DataFrame:
    """For variants that differ from another only by one ``tier.K = 1``: the value of that move
    in the metric the sweep maximised (:func:`ranked_metric`, named in ``ranked_by``; columns
    ``objective`` and ``base_objective`` hold that metric), 0 when within CHANGE_REL of the base
    (see :func:`without_noise`)."""
    columns = ["country", "to_tier", "objective", "base_objective", "value_of_move", "ranked_by"]
    if "objective" not in table:
        return pd.DataFrame(columns=columns)
    metric = ranked_metric(table)
    value = pd.to_numeric(table[metric], errors="coerce")
    params = [c for c in table.columns if c.startswith("param:")]
    moves = [c for c in params if c.startswith("param:tier.")]
    others = [c for c in params if c not in moves]
    key = lambda df: df[others].astype(str).agg("|".join, axis=1) if others else pd.Series("", index=df.index)
    moved = table[moves].notna().sum(axis=1) if moves else pd.Series(0, index=table.index)
    unmoved = table.loc[moved == 0]       # may be empty: every variant moves a tier (no base to compare)
    base = (pd.Series(value.loc[unmoved.index].to_numpy(), index=key(unmoved)) if len(unmoved)
            else pd.Series(dtype=float))
    rows = []
    for col in moves:
        sel = table.loc[(moved == 1) & table[col].notna()]
        for i, r in sel.iterrows():
            b = base.get(key(sel.loc[[i]]).iloc[0])
            if b is not None and pd.notna(value[i]):
                rows.append({"country": col.split(".", 1)[1], "to_tier": r[col], "objective": value[i],
                             "base_objective": b, "value_of_move": without_noise(value[i] - b, b),
                             "ranked_by": metric})
    out = pd.DataFrame(rows, columns=columns)
    return out.sort_values("value_of_move", ascending=False).reset_index(drop=True)


RESULT_COLUMNS = ["variant", "status", "objective", "served_pct", "cost_usd"]      # a results.csv has these
# results.csv column -> unit of the per-variant headline (objective: the value served, in the value unit)
SWEEP_METRICS = {"objective": "value", "served_pct": "%", "cost_usd": "USD", "margin_usd_per_year": "USD per year",
                 "margin_usd": "USD",
                 **{f.value: "share" for f in (Family.HOME_SHARE, Family.TIER1_SHARE)},
                 "min_served_pct": "%"}
RESULT_EXTRAS = [*(m for m in SWEEP_METRICS if m not in RESULT_COLUMNS), "objective_kind", "value_unit",
                 "binding_limits", "reason", "periods"]


@dataclass(frozen=True)
class Comparison:
    """The comparison's tables (B - A), by name, and for two plans the lines saying what each
    plan was solved for and the warnings that their values do not compare (:func:`plan_context`)."""

    tables: dict[str, pd.DataFrame]
    context: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def compare_dirs(a: Path, b: Path) -> Comparison:
    """Tables comparing two plan folders or two sweep folders; InputError (every problem of
    both folders at once) when they are not two of the same kind or cannot be read."""
    a, b = Path(a), Path(b)
    kinds = {a: _folder_kind(a), b: _folder_kind(b)}
    if kinds[a] == kinds[b] == "a sweep folder":
        return compare_sweeps(a, b)
    if {kinds[a], kinds[b]} == {"a sweep folder", "a plan folder"}:
        sweep = a if kinds[a] == "a sweep folder" else b
        raise InputError(f"compare: A {a} is {kinds[a]} and B {b} is {kinds[b]}: compare takes two plans or two "
                         f"sweeps; to compare one variant's plan with a plan, give {sweep}/variants/ID/plan")
    if kinds[a] != "a plan folder" or kinds[b] != "a plan folder":
        raise InputError(f"compare: A {a} ({kinds[a]}) and B {b} ({kinds[b]}) must be two plan folders "
                         "(placement.csv) or two sweep folders (results.csv)")
    (pa, sa, ya), (pb, sb, yb) = _read_plans(a, b)
    ids = _common_periods(a, pa, ya, b, pb, yb)
    if ids is not None:
        return compare_timelines(pa, sa, ya, pb, sb, yb, ids)
    return Comparison({
        "headline": headline(pa, sa, ya, pb, sb, yb),
        "limits": limit_changes(ya, yb),
        "countries": _side(pa.groupby("country")["tpp"].sum(), pb.groupby("country")["tpp"].sum(), "tpp"),
        "sites": _side(pa.groupby("site_id")["tpp"].sum(), pb.groupby("site_id")["tpp"].sum(), "tpp"),
        "markets": _side(sa.groupby("market_id")["tpp"].sum(), sb.groupby("market_id")["tpp"].sum(), "served_tpp"),
    }, *plan_context(ya, yb))


def is_comparison_csv(path: Path) -> bool:
    """Whether ``path`` is a comparison CSV (:func:`comparison_table`: its header starts with the
    ``table`` column), which ``compare --out`` may replace."""
    return first_line_is(path, "table,")


def comparison_table(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every comparison table as one (column ``table`` first, ids in ``id``), for a CSV file."""
    parts = []
    for name, t in tables.items():
        t = t if isinstance(t.index, pd.RangeIndex) else t.rename_axis("id").reset_index()
        parts.append(t.assign(table=name)[["table", *t.columns]])
    return pd.concat(parts, ignore_index=True)


# metric -> (unit, where in summary.json, or what of (placement, service) gives it)
HEADLINE = {
    "value": ("value", ("objective",)),
    "served_pct": ("%", ("served_pct",)),
    "served_tpp": ("TPP", lambda placement, service: service["tpp"].sum()),
    "total_tpp": ("TPP", lambda placement, service: placement["tpp"].sum()),
    "new_units": ("units", lambda placement, service: placement["new_units"].sum()),
    "cost_usd": ("USD", ("cost", "total_usd")),
    "capex_usd": ("USD", ("cost", "capex_usd")),
    "annualised_cost_usd_per_year": ("USD per year", ("cost", "annualised_usd_per_year")),
    "margin_usd_per_year": ("USD per year", ("economics", "margin_usd_per_year")),
    **{f.value: ("share", (f.value,)) for f in (Family.HOME_SHARE, Family.TIER1_SHARE)},
}


def headline(pa: pd.DataFrame, sa: pd.DataFrame, ya: dict, pb: pd.DataFrame, sb: pd.DataFrame,
             yb: dict, metrics: dict = HEADLINE, value_unit: str | None = None) -> pd.DataFrame:
    """One row per headline metric (``metrics``, as :data:`HEADLINE`): unit, A, B, change
    (B - A). Compute and units come from the tables; value, served %, cost and shares from
    summary.json (NaN when a plan has none). ``value`` is in ``value_unit``, by default the plans'
    value unit (summary.json ``economics``)."""
    rows = []
    for metric, (unit, source) in metrics.items():
        unit = (value_unit or _value_unit(ya, yb)) if unit == "value" else unit
        if callable(source):
            va, vb = float(source(pa, sa)), float(source(pb, sb))
        else:
            va, vb = _field(ya, source), _field(yb, source)
        rows.append({"metric": metric, "unit": unit, "a": va, "b": vb, "change": vb - va})
    return pd.DataFrame(rows).set_index("metric")


UNIT_WORDS = {"TPP", "share", "%", "USD", "USD per year", "units"}   # any other unit is a value unit


def _number(value: float, unit: str) -> str:
    """A headline number for people: thousands separators, compute in H100e, shares in %, a
    value without its unit (the line's label carries it)."""
    if not math.isfinite(value):
        return "not recorded"
    if unit == "TPP":
        return f"{value / H100E_TPP:,.0f} H100e"
    if unit in ("share", "%"):
        return f"{(100 if unit == 'share' else 1) * value:.2f} %"
    if unit.startswith("USD"):
        return usd(value) + (" per year" if unit == "USD per year" else "")
    return f"{value:,.0f}" + (" units" if unit == "units" else "")


def _change(value: float, unit: str) -> str:
    """A headline change, signed; shares and percentages in points; "no change" when it rounds
    to nothing at the precision shown (no "-0" noise)."""
    if not math.isfinite(value):
        return ""
    magnitude = (f"{(100 if unit == 'share' else 1) * abs(value):.2f} pp" if unit in ("share", "%")
                 else _number(abs(value), unit))
    if not any(c in "123456789" for c in magnitude.split(" ")[0]):
        return "no change"
    return ("-" if value < 0 else "+") + magnitude


def headline_lines(head: pd.DataFrame, limits: pd.DataFrame) -> list[str]:
    """The headline in words, one line per metric recorded in A or B (a value's unit in its
    label), then the binding limits added or removed."""
    shown = head.loc[np.isfinite(head["a"]) | np.isfinite(head["b"])]
    labels = [m if r.unit in UNIT_WORDS else f"{m} ({r.unit})" for m, r in shown.iterrows()]
    width = max(map(len, labels), default=0)
    lines = [f"  {label:<{width}}  {_number(r.a, r.unit):>26}  ->  {_number(r.b, r.unit):>26}  {_change(r.change, r.unit)}"
             for label, r in zip(labels, shown.itertuples())]
    unknown = limits.loc[limits["change"].astype(str).str.startswith(NOT_RECORDED), "change"]
    if len(unknown):
        lines.append(f"  binding limits: {unknown.iloc[0]}")
        return lines
    added = list(limits.index[limits["change"] == "added"])
    removed = list(limits.index[limits["change"] == "removed"])
    lines.append(f"  binding limits added in B: {', '.join(added) or 'none'}; removed in B: {', '.join(removed) or 'none'}")
    return lines


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """A plan comparison table for printing: TPP columns in H100e, numbers with separators."""
    out = pd.DataFrame(index=table.index)
    for col in table.columns:
        if col.startswith(("tpp", "served_tpp")) or col == "change":
            name = col.replace("served_tpp", "served_h100e").replace("tpp", "h100e")
            out[name if col != "change" else "change_h100e"] = table[col].map(lambda v: f"{v / H100E_TPP:,.1f}")
        else:
            out[col] = table[col]
    return out


def _value_unit(ya: dict, yb: dict) -> str:
    """The unit of the plans' values (summary.json ``economics``): the one both record (or the
    one recorded), both when they differ."""
    one, two = (_text(y, ("economics", "value_unit")) for y in (ya, yb))
    if one and two and one != two:
        return f"A {one}, B {two}"
    return one or two or "value units"


CONTEXT = {"policy": ("policy", "name"), "objective": ("economics", "objective"),
           "value unit": ("economics", "value_unit"), "mode": ("mode",)}


def plan_context(ya: dict, yb: dict) -> tuple[list[str], list[str]]:
    """Lines saying what each plan was solved for (policy, objective, value unit, mode), and
    warnings when the two maximised different objectives or count value in different units."""
    lines = [f"{side}: " + ", ".join(f"{what} {_text(y, where) or 'not recorded'}" for what, where in CONTEXT.items())
             for side, y in (("A", ya), ("B", yb))]
    warnings = []
    for what, where in (("objectives", CONTEXT["objective"]), ("value units", CONTEXT["value unit"])):
        one, two = _text(ya, where), _text(yb, where)
        if one and two and one != two:
            warnings.append(f"A and B have different {what} ({one}, {two}): their values do not compare")
    return lines, warnings


def _at(summary: dict, where: tuple[str, ...]) -> Any:
    """What summary.json holds at the path of keys ``where`` (None when absent)."""
    value: Any = summary
    for key in where:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _text(summary: dict, where: tuple[str, ...]) -> str | None:
    """A string in summary.json at ``where`` (None when absent or not a string)."""
    value = _at(summary, where)
    return value if isinstance(value, str) else None


def _field(summary: dict, where: tuple[str, ...]) -> float:
    """A number in summary.json at ``where`` (NaN when absent or not a number)."""
    value = _at(summary, where)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


NOT_RECORDED = "not recorded in"


def limit_changes(ya: dict, yb: dict) -> pd.DataFrame:
    """Policy limits that bind in one plan and not in the other (``added``: binds in B only),
    with their value in each (from summary.json ``limits``). When a plan records no limits, one
    row says so instead (no limit is called added or removed on one side's word alone)."""
    missing = [side for side, y in (("A", ya), ("B", yb)) if not isinstance(y.get("limits"), list)]
    if missing:
        return pd.DataFrame({"change": [f"{NOT_RECORDED} {' and '.join(missing)} (no limits in summary.json)"]},
                            index=pd.Index(["-"], name="limit"))
    la, lb = (_limits(y) for y in (ya, yb))
    both = pd.concat({"a": la, "b": lb}, axis=1)
    both.columns = [f"{field}_{side}" for side, field in both.columns]
    both = both.reindex(columns=["value_a", "value_b", "binding_a", "binding_b"])
    bind_a, bind_b = (both[c].eq(True) for c in ("binding_a", "binding_b"))     # absent: not binding
    both["change"] = ["added" if b and not a else "removed" for a, b in zip(bind_a, bind_b)]
    return both.loc[bind_a != bind_b].rename_axis("limit")


def _limits(summary: dict) -> pd.DataFrame:
    """summary.json ``limits`` as a table by name (``name@period`` for a multi-period plan's,
    which lists every period's limits): value and binding."""
    rows = [r for r in summary.get("limits") or [] if isinstance(r, dict) and "name" in r]
    names = [f"{r['name']}@{r['period']}" if "period" in r else r["name"] for r in rows]
    return pd.DataFrame({"value": [r.get("value") for r in rows], "binding": [bool(r.get("binding")) for r in rows]},
                        index=pd.Index(names, dtype=object))


def _folder_kind(folder: Path) -> str:
    """What ``folder`` is, in words for messages: a plan folder, a sweep folder, or why neither."""
    if not folder.exists():
        return "not found"
    if not folder.is_dir():
        return "a file, not a folder"
    if (folder / "results.csv").exists():
        return "a sweep folder"
    if (folder / "placement.csv").exists():
        return "a plan folder"
    return "a folder with neither placement.csv nor results.csv"


def _read_plans(*folders: Path) -> list[tuple[pd.DataFrame, pd.DataFrame, dict]]:
    """Placement, service and summary of each plan, with the columns a comparison needs (fleetopt
    solve writes them; a hand-made plan may lack country or tpp, and summary.json)."""
    problems, plans = [], []
    for folder in folders:
        try:
            placement, service, summary = read_plan(folder, _recorded_periods(folder))
        except InputError as exc:
            problems += exc.problems
            continue
        missing = [c for c in ("country", "tpp") if c not in placement.columns]
        if missing:
            problems.append(f"{folder / 'placement.csv'}: compare needs column(s) {', '.join(missing)} "
                            "(as fleetopt solve writes them)")
        plans.append((placement, service, summary))
    if problems:
        raise InputError(problems)
    return plans


def _recorded_periods(folder: Path) -> list[str] | None:
    """The period ids summary.json records (``period_ids``: a multi-period plan), else None; an
    unreadable summary.json is None here and reported by read_plan."""
    try:
        ids = json.loads((folder / "summary.json").read_text(encoding="utf-8")).get("period_ids")
    except (OSError, ValueError, AttributeError):
        return None
    return [str(i) for i in ids] if isinstance(ids, list) and ids else None


def _read_results(*folders: Path) -> list[pd.DataFrame]:
    """results.csv of each sweep folder, its comparison columns only, numbers as numbers."""
    problems, tables = [], []
    for folder in folders:
        path = folder / "results.csv"
        try:
            table = pd.read_csv(path, dtype={"variant": str, "status": str}, encoding="utf-8")
        except (UnicodeDecodeError, pd.errors.EmptyDataError, pd.errors.ParserError, ValueError, OSError) as exc:
            problems.append(f"{path}: not a readable results table ({str(exc).splitlines()[0] or type(exc).__name__})")
            continue
        missing = [c for c in RESULT_COLUMNS if c not in table.columns]
        if missing:
            problems.append(f"{path}: missing column(s) {', '.join(missing)}")
            continue
        table = table.reindex(columns=[*RESULT_COLUMNS, *RESULT_EXTRAS])     # an older sweep lacks some extras
        for col in [*SWEEP_METRICS, "periods"]:
            table[col] = pd.to_numeric(table[col], errors="coerce")   # failed variants have no numbers
        table["value_unit"] = [horizon_value_unit(u) if n > 0 and isinstance(u, str) else u      # Σ years x value
                               for u, n in zip(table["value_unit"], table["periods"])]
        table["binding_limits"] = table["binding_limits"].map(_name_list)
        tables.append(table)
    if problems:
        raise InputError(problems)
    return tables


def _side(x: pd.Series, y: pd.Series, name: str) -> pd.DataFrame:
    t = pd.concat({f"{name}_a": x, f"{name}_b": y}, axis=1).fillna(0.0)
    t["change"] = t[f"{name}_b"] - t[f"{name}_a"]
    return t.loc[t["change"].abs().sort_values(ascending=False).index]


# ------------------------------------------------------------------------------------------
# Two multi-period plans: the headline over the horizon and per period, tables per period.
# ------------------------------------------------------------------------------------------

def _common_periods(a: Path, pa: pd.DataFrame, ya: dict, b: Path, pb: pd.DataFrame, yb: dict) -> list[str] | None:
    """The period ids of two multi-period plans (None for two snapshot plans); InputError for a
    multi-period plan against a snapshot plan, or two plans of different periods."""
    ids = {"A": ya.get("period_ids") if "period" in pa.columns else None,      # read_plan checked them
           "B": yb.get("period_ids") if "period" in pb.columns else None}
    if ids["A"] is None and ids["B"] is None:
        return None
    kind = lambda side: f"a multi-period plan ({', '.join(ids[side])})" if ids[side] else "a snapshot plan"
    if ids["A"] is None or ids["B"] is None:
        raise InputError(f"compare: A {a} is {kind('A')} and B {b} is {kind('B')}: a build-out and a one-period "
                         "plan do not compare period by period; compare two multi-period plans of the same periods, "
                         "or two snapshot plans")
    if list(ids["A"]) != list(ids["B"]):
        raise InputError(f"compare: A {a} is {kind('A')} and B {b} is {kind('B')}: their periods differ; compare "
                         "two plans of the same timeline (periods.csv)")
    return list(ids["A"])


# per period: metric -> (unit, where in the period's record of summary.json ``periods``, or what of
# the period's (placement, service) rows gives it)
PERIOD_HEADLINE = {
    "value": ("value", ("objective",)),
    "served_pct": ("%", ("served_pct",)),
    **{m: HEADLINE[m] for m in ("served_tpp", "total_tpp", "new_units")},
    "cost_usd": ("USD", ("cost_usd",)),
    **{f.value: ("share", (f.value,)) for f in (Family.HOME_SHARE, Family.TIER1_SHARE)},
}


def timeline_headline_metrics(last: str) -> dict:
    """The horizon's headline metrics, counted as the multi-period summary counts its totals:
    value Σ_t years_t·discount_t·value_t, served summed over the periods, the fleet and shares at
    the end of the ``last`` period, units added and cost summed, cost discounted, margin."""
    at_end = lambda placement: placement.loc[placement["period"].astype(str) == last]      # noqa: E731
    return {
        "value": ("value", ("objective",)),
        "served_pct": ("%", ("served_pct",)),
        "served_tpp": HEADLINE["served_tpp"],
        "total_tpp": ("TPP", lambda placement, service: at_end(placement)["tpp"].sum()),
        "new_units": HEADLINE["new_units"],
        "cost_usd": HEADLINE["cost_usd"],
        "discounted_cost_usd": ("USD", ("cost", "discounted_usd")),
        "margin_usd": ("USD", ("economics", "margin_usd")),
        **{f.value: ("share", (f.value,)) for f in (Family.HOME_SHARE, Family.TIER1_SHARE)},
    }


def compare_timelines(pa: pd.DataFrame, sa: pd.DataFrame, ya: dict, pb: pd.DataFrame, sb: pd.DataFrame,
                      yb: dict, ids: list[str]) -> Comparison:
    """Two multi-period plans of the same periods, B against A: ``headline`` over the horizon
    (:func:`timeline_headline_metrics`; value in the unit times years), ``periods`` (the
    headline of each period, :data:`PERIOD_HEADLINE`, with its ``period``; value per year),
    ``limits`` binding in one plan only (``name@period``), and per country, site and market the
    compute of each period (a ``period`` column)."""
    unit = _value_unit(ya, yb)
    per_period = []
    for pid in ids:
        rows = lambda table: table.loc[table["period"].astype(str) == pid]      # noqa: E731
        per_period.append(headline(rows(pa), rows(sa), _period_record(ya, pid), rows(pb), rows(sb),
                                   _period_record(yb, pid), PERIOD_HEADLINE, unit).assign(period=pid))
    return Comparison({
        "headline": headline(pa, sa, ya, pb, sb, yb, timeline_headline_metrics(ids[-1]), horizon_value_unit(unit)),
        "periods": pd.concat(per_period),
        "limits": limit_changes(ya, yb),
        "countries": _period_side(pa, pb, "country", "tpp", "tpp", ids),
        "sites": _period_side(pa, pb, "site_id", "tpp", "tpp", ids),
        "markets": _period_side(sa, sb, "market_id", "tpp", "served_tpp", ids),
    }, *plan_context(ya, yb))


def _period_record(summary: dict, period: str) -> dict:
    """The period's record in summary.json ``periods`` ({} when not recorded)."""
    records = summary.get("periods")
    return next((r for r in records if isinstance(r, dict) and r.get("period") == period), {}) \
        if isinstance(records, list) else {}


def _period_side(x: pd.DataFrame, y: pd.DataFrame, key: str, column: str, name: str,
                 ids: list[str]) -> pd.DataFrame:
    """:func:`_side` per (id, period): the ids as the index, ``period`` the last column; largest
    change first, equal changes in time order (``ids``)."""
    t = _side(*(df.groupby([key, df["period"].astype(str)])[column].sum() for df in (x, y)), name)
    t = t.reset_index(level="period")
    order = np.lexsort((t["period"].map({p: i for i, p in enumerate(ids)}).to_numpy(), -t["change"].abs().to_numpy()))
    t = t.iloc[order]
    return t[[*t.columns.drop("period"), "period"]]


def period_lines(periods: pd.DataFrame, limits: pd.DataFrame) -> list[str]:
    """A heading, then one line per period, B against A: served % (A -> B), then the change of
    value, fleet, units added, cost and shares, and the binding limits added or removed in that
    period."""
    unknown = limits["change"].astype(str).str.startswith(NOT_RECORDED).any()
    unit = periods.loc[periods.index == "value", "unit"]
    unit = unit.iloc[0] if len(unit) else "value units"
    per_year = unit if unit.endswith("per year") else f"{unit} per year"      # USD per year, not "per year per year"
    lines = [f"per period (A -> B; value in {per_year}, compute in H100e):"]
    for pid, t in periods.groupby("period", sort=False):
        served = t.loc["served_pct"]
        changes = "; ".join(f"{label} {_change(float(t.loc[m, 'change']), t.loc[m, 'unit']) or 'not recorded'}"
                            for m, label in (("value", "value"), ("total_tpp", "fleet"), ("new_units", "added"),
                                             ("cost_usd", "cost"), (Family.HOME_SHARE.value, "home share"),
                                             (Family.TIER1_SHARE.value, "tier-1 share")))
        mine = limits.loc[[str(n).rpartition("@")[2] == pid for n in limits.index]]
        added, removed = (", ".join(str(n).rpartition("@")[0] for n in mine.index[mine["change"] == c]) or "none"
                          for c in ("added", "removed"))
        binding = "binding limits not recorded" if unknown else f"binding added in B: {added}; removed in B: {removed}"
        lines.append(f"  {pid}: served {_number(float(served['a']), '%')} -> {_number(float(served['b']), '%')}; {changes}; {binding}")
    return lines


# ------------------------------------------------------------------------------------------
# Two sweeps: the headline per variant (matched by id), then each matched variant's plans.
# ------------------------------------------------------------------------------------------

SIDES = {"both": "both", "left_only": "A only", "right_only": "B only"}


def compare_sweeps(a: Path, b: Path) -> Comparison:
    """Two sweep folders, B against A, variant by variant (a variant's id is derived from its
    parameters, so the same parameters match across sweeps). Tables:

    * ``variants``: one row per variant of either sweep, ``in`` (``both``, ``A only``, ``B only``:
      a variant of one sweep is listed, never dropped), status, objective kind, and for each
      metric of :data:`SWEEP_METRICS` A, B and the change; ``binding_added`` / ``binding_removed``
      (limits binding in B only / in A only; text, ``;``-joined; null when a side records none);
    * ``details``: for each variant with a plan in both, the plan comparison of
      :func:`compare_dirs` (per country, site and market: ``a``, ``b``, ``change`` in TPP).

    Warnings: the sweeps maximised different objectives or count value in different units, and a
    variant whose two plans could not be compared (its reason)."""
    ra, rb = _read_results(a, b)
    both = ra.merge(rb, on="variant", how="outer", suffixes=("_a", "_b"), indicator="in", sort=True)
    both["in"] = both["in"].astype(str).map(SIDES)
    for metric in SWEEP_METRICS:
        both[f"{metric}_change"] = both[f"{metric}_b"] - both[f"{metric}_a"]
    both["binding_added"], both["binding_removed"] = zip(*(_binding_change(x, y) for x, y in
                                                           zip(both["binding_limits_a"], both["binding_limits_b"])))
    order = ["variant", "in", "status_a", "status_b", "objective_kind_a", "objective_kind_b",
             *(f"{m}_{side}" for m in SWEEP_METRICS for side in ("a", "b", "change")),
             "binding_added", "binding_removed", "value_unit_a", "value_unit_b", "reason_a", "reason_b"]
    details, failed = _variant_details(a, b, both.loc[both["in"] == "both", "variant"])
    context, warnings = _sweep_context(a, b, ra, rb)
    warnings += [f"the plans of {len(ids)} variant(s) were not compared ({', '.join(ids)}): {why}"
                 for why, ids in failed.items()]
    return Comparison({"variants": both[order], "details": details}, context, warnings)


def _name_list(cell: Any) -> list[str] | None:
    """results.csv ``binding_limits`` (JSON text of a list of names) as a list; None when the
    cell is empty or not such a list (not recorded: no limit is called added or removed)."""
    if not isinstance(cell, str):
        return None
    try:
        names = json.loads(cell)
    except json.JSONDecodeError:
        return None
    return [str(n) for n in names] if isinstance(names, list) else None


def _binding_change(was: list[str] | None, now: list[str] | None) -> tuple[str | None, str | None]:
    """Limits binding in B only and in A only, ``;``-joined (None when a side records none)."""
    if not isinstance(was, list) or not isinstance(now, list):
        return None, None
    return "; ".join(n for n in now if n not in was), "; ".join(n for n in was if n not in now)


DETAIL_TABLES = ("countries", "sites", "markets")
CHANGE_EPS = 1e-6      # a detail row changes when |B - A| exceeds this share of the larger side (solver noise below)


def _variant_details(a: Path, b: Path, variants: pd.Series) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """The plan comparison of each variant with a plan folder in both sweeps, as one long table
    (variant, detail, id, a, b, change; TPP); and the variants whose plans could not be compared,
    by reason."""
    parts, failed = [], {}
    for vid in variants:
        pa, pb = (side / "variants" / vid / "plan" for side in (a, b))
        if not (pa / "placement.csv").is_file() or not (pb / "placement.csv").is_file():
            continue        # a variant without a plan (infeasible, failed): its status says so
        try:
            tables = compare_dirs(pa, pb).tables
        except InputError as exc:
            why = exc.problems[0].replace(str(pa), "A's plan").replace(str(pb), "B's plan")
            failed.setdefault(why, []).append(vid)
            continue
        for name in DETAIL_TABLES:
            if name in tables:
                t = tables[name]
                ids = t.index.astype(str) + ("@" + t["period"] if "period" in t else "")    # multi-period: id@period
                parts.append(pd.DataFrame({"variant": vid, "detail": name, "id": ids,
                                           "a": t.iloc[:, 0].to_numpy(), "b": t.iloc[:, 1].to_numpy(),
                                           "change": t["change"].to_numpy()}))
    columns = ["variant", "detail", "id", "a", "b", "change"]
    return (pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)), failed


def _sweep_context(a: Path, b: Path, ra: pd.DataFrame, rb: pd.DataFrame) -> tuple[list[str], list[str]]:
    """A line per sweep (base policy, objective, variants, value unit) and the warnings that
    their values do not compare: different objectives (sweep.json ``objective``, else the rows'
    ``objective_kind``; a sweep that records neither was a serve sweep) or value units."""
    objectives, units, lines = [], [], []
    for side, folder, table in (("A", a, ra), ("B", b, rb)):
        record = _sweep_record(folder)
        objective = _sweep_objective(record, table)
        unit = next(iter(table["value_unit"].dropna().astype(str)), None)
        policy = _text(record, ("run", "policy", "name"))
        objectives.append(objective)
        units.append(unit)
        lines.append(f"{side}: sweep {folder}, base policy {policy or 'not recorded'}, objective {objective}, "
                     f"{len(table)} variants, value unit {unit or 'not recorded'}")
    warnings = []
    for what, (one, two) in (("objectives", objectives), ("value units", units)):
        if one and two and one != two:
            warnings.append(f"A and B have different {what} ({one}, {two}): their values do not compare")
    return lines, warnings


def _sweep_record(folder: Path) -> dict:
    """sweep.json as a dict (empty when absent or unreadable: a results.csv made by hand)."""
    try:
        record = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _sweep_objective(record: dict, table: pd.DataFrame) -> str:
    """The sweep's objective: sweep.json ``objective``, else its rows', else ``serve`` (sweeps
    before --objective)."""
    recorded = _text(record, ("objective",))
    kinds = sorted(set(table["objective_kind"].dropna().astype(str)))
    return recorded or "/".join(kinds) or "serve"


def variant_headline(row: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One variant's row of the ``variants`` table as a plan headline and its limit changes, in
    the shapes :func:`headline_lines` prints (the value in the row's value unit)."""
    unit = _value_unit({"economics": {"value_unit": _cell(row, "value_unit_a")}},
                       {"economics": {"value_unit": _cell(row, "value_unit_b")}})
    head = pd.DataFrame([{"metric": "value" if m == "objective" else m, "unit": unit if u == "value" else u,
                          "a": row[f"{m}_a"], "b": row[f"{m}_b"], "change": row[f"{m}_change"]}
                         for m, u in SWEEP_METRICS.items()]).set_index("metric")
    if not isinstance(row["binding_added"], str):
        limits = pd.DataFrame({"change": [f"{NOT_RECORDED} A or B (results.csv binding_limits empty or "
                                          "not a list: a variant without a plan, or an older sweep)"]}, index=["-"])
    else:
        added, removed = (row[c].split("; ") if row[c] else [] for c in ("binding_added", "binding_removed"))
        limits = pd.DataFrame({"change": ["added"] * len(added) + ["removed"] * len(removed)}, index=added + removed)
    return head, limits


def _cell(row: pd.Series, column: str) -> str | None:
    value = row.get(column)
    return value if isinstance(value, str) else None


def sweep_comparison_lines(comparison: Comparison, a: Path, b: Path, top: int) -> list[str]:
    """What ``compare`` prints for two sweeps: the headline of every variant in both (status, then
    the plan headline's metrics and binding limits), the variants of one sweep only, then for each
    variant the largest changes per country, site and market (compute in H100e, ``top`` rows of
    each, rows that changed only)."""
    variants, details = comparison.tables["variants"], comparison.tables["details"]
    counts = variants["in"].value_counts()
    lines = [f"headline per variant (A = {a} -> B = {b}): {counts.get('both', 0)} in both, "
             f"{counts.get('A only', 0)} only in A, {counts.get('B only', 0)} only in B"]
    variants_b = variants.set_index("variant", drop=False)
    for vid, row in variants_b.loc[variants_b["in"] == "both"].iterrows():
        lines.append(f"variant {vid}: {row['status_a']} -> {row['status_b']}"
                     + "".join(f"; {side} {row[f'reason_{side.lower()}']}" for side in ("A", "B")
                               if isinstance(row[f"reason_{side.lower()}"], str)))
        lines += headline_lines(*variant_headline(row))
    for side in ("A", "B"):
        only = variants_b.loc[variants_b["in"] == f"{side} only"]
        listed = [f"{vid} ({r[f'status_{side.lower()}']})" for vid, r in only.iterrows()]
        lines.append(f"variants only in {side} (not compared): {', '.join(listed) or 'none'}")
    lines.append(f"details (A = {a}, B = {b}; per variant, largest changes first; compute in H100e):")
    changed = details.loc[details["change"].abs() > CHANGE_EPS * details[["a", "b"]].abs().max(axis=1).clip(lower=1.0)]
    for (vid, name), t in changed.groupby(["variant", "detail"], sort=False):
        shown = t.reindex(t["change"].abs().sort_values(ascending=False).index).head(top)
        lines.append(f"  {vid}: {name} ({len(t)} changed{f', showing {top}' if len(t) > top else ''})")
        lines += [f"    {r.id:<24} {r.a / H100E_TPP:>14,.1f} -> {r.b / H100E_TPP:>14,.1f}  "
                  f"{'+' if r.change > 0 else '-'}{abs(r.change) / H100E_TPP:,.1f}" for r in shown.itertuples()]
    unchanged = sorted(set(details["variant"]) - set(changed["variant"]))
    if unchanged:
        lines.append(f"  no change by country, site or market in: {', '.join(unchanged)}")
    if details.empty:
        lines.append("  none: no variant has a plan in both sweeps that could be compared")
    return lines

