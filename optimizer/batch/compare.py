"""Side-by-side comparison of two plans — a headline (value, served, compute, cost, shares), the
policy limits that bind in one and not the other, then per country, site and market — or of two
sweeps (per variant). Every table is B minus A; compute stays in TPP in the tables (and in
``--out``), :func:`headline_lines` and the CLI print it in H100e."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.errors import InputError
from optimizer.inputs.economics import H100E_TPP
from optimizer.io.planfiles import read_plan
from optimizer.policy.rules import Family
from optimizer.results.plan import without_noise


def tier_move_ranking(table: pd.DataFrame) -> pd.DataFrame:
    """For variants that differ from another only by one ``tier.K = 1``: the value of that move
    (0 when within CHANGE_REL of the base objective, see :func:`without_noise`)."""
    if "objective" not in table:
        return pd.DataFrame(columns=["country", "objective", "base_objective", "value_of_move"])
    params = [c for c in table.columns if c.startswith("param:")]
    moves = [c for c in params if c.startswith("param:tier.")]
    others = [c for c in params if c not in moves]
    key = lambda df: df[others].astype(str).agg("|".join, axis=1) if others else pd.Series("", index=df.index)
    moved = table[moves].notna().sum(axis=1) if moves else pd.Series(0, index=table.index)
    unmoved = table.loc[moved == 0]       # may be empty: every variant moves a tier (no base to compare)
    base = (unmoved.assign(_k=key(unmoved)).set_index("_k")["objective"] if len(unmoved)
            else pd.Series(dtype=float))
    rows = []
    for col in moves:
        sel = table.loc[(moved == 1) & table[col].notna()]
        for _, r in sel.iterrows():
            b = base.get(key(sel.loc[[r.name]]).iloc[0])
            if b is not None and pd.notna(r["objective"]):
                rows.append({"country": col.split(".", 1)[1], "to_tier": r[col], "objective": r["objective"],
                             "base_objective": b, "value_of_move": without_noise(r["objective"] - b, b)})
    out = pd.DataFrame(rows, columns=["country", "to_tier", "objective", "base_objective", "value_of_move"])
    return out.sort_values("value_of_move", ascending=False).reset_index(drop=True)


RESULT_COLUMNS = ["variant", "status", "objective", "served_pct", "cost_usd"]


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
        ra, rb = _read_results(a, b)
        both = ra.merge(rb, on="variant", how="outer", suffixes=("_a", "_b"))
        both["objective_change"] = both["objective_b"] - both["objective_a"]
        return Comparison({"variants": both})
    if {kinds[a], kinds[b]} == {"a sweep folder", "a plan folder"}:
        sweep = a if kinds[a] == "a sweep folder" else b
        raise InputError(f"compare: A {a} is {kinds[a]} and B {b} is {kinds[b]}: compare takes two plans or two "
                         f"sweeps; to compare one variant's plan with a plan, give {sweep}/variants/ID/plan")
    if kinds[a] != "a plan folder" or kinds[b] != "a plan folder":
        raise InputError(f"compare: A {a} ({kinds[a]}) and B {b} ({kinds[b]}) must be two plan folders "
                         "(placement.csv) or two sweep folders (results.csv)")
    (pa, sa, ya), (pb, sb, yb) = _read_plans(a, b)
    return Comparison({
        "headline": headline(pa, sa, ya, pb, sb, yb),
        "limits": limit_changes(ya, yb),
        "countries": _side(pa.groupby("country")["tpp"].sum(), pb.groupby("country")["tpp"].sum(), "tpp"),
        "sites": _side(pa.groupby("site_id")["tpp"].sum(), pb.groupby("site_id")["tpp"].sum(), "tpp"),
        "markets": _side(sa.groupby("market_id")["tpp"].sum(), sb.groupby("market_id")["tpp"].sum(), "served_tpp"),
    }, *plan_context(ya, yb))


def comparison_table(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every comparison table as one (column ``table`` first, ids in ``id``), for a CSV file."""
    parts = []
    for name, t in tables.items():
        t = t if name == "variants" else t.rename_axis("id").reset_index()
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
             yb: dict) -> pd.DataFrame:
    """One row per headline metric: unit, A, B, change (B - A). Compute and units come from the
    tables; value, served %, cost and shares from summary.json (NaN when a plan has none).
    ``value`` is in the plans' value unit (summary.json ``economics``)."""
    rows = []
    for metric, (unit, source) in HEADLINE.items():
        unit = _value_unit(ya, yb) if unit == "value" else unit
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
        return f"{'-' * (value < 0)}${abs(value):,.0f}" + (" per year" if unit == "USD per year" else "")
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
    """summary.json ``limits`` as a table by name: value and binding."""
    rows = [r for r in summary.get("limits") or [] if isinstance(r, dict) and "name" in r]
    return pd.DataFrame({"value": [r.get("value") for r in rows], "binding": [bool(r.get("binding")) for r in rows]},
                        index=pd.Index([r["name"] for r in rows], dtype=object))


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
            placement, service, summary = read_plan(folder)
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
        table = table[RESULT_COLUMNS].copy()
        for col in ("objective", "served_pct", "cost_usd"):
            table[col] = pd.to_numeric(table[col], errors="coerce")   # failed variants have no numbers
        tables.append(table)
    if problems:
        raise InputError(problems)
    return tables


def _side(x: pd.Series, y: pd.Series, name: str) -> pd.DataFrame:
    t = pd.concat({f"{name}_a": x, f"{name}_b": y}, axis=1).fillna(0.0)
    t["change"] = t[f"{name}_b"] - t[f"{name}_a"]
    return t.loc[t["change"].abs().sort_values(ascending=False).index]
