"""A self-contained HTML report of a plan: one file that opens with no network.

One builder (:func:`render_report`) serves ``solve --report`` (a plan just solved) and ``fleetopt
report`` (a plan folder read back, :func:`optimizer.io.planfiles.read_plan`). Everything the
tables give is recomputed here from the placement's units and the service's TPP under the
scenario (compute per country, shares, limits, site usage, unserved demand), so a report never
repeats a stale or hand-edited derived column; only what needs the solver (status, shadow
prices, unserved reasons, baseline and soft blocks) comes from the summary, when it has them.

Parts: a world map drawn here as inline SVG (country outlines from Natural Earth 1:110m, shipped
as ``assets/world110m.json``; sites sized by compute and coloured by tier, markets with unserved
demand marked, ``<title>`` tooltips); bar charts drawn by ``assets/report.js`` on ``<canvas>``
from the data embedded as JSON (Tier-1 and Tier-2 countries on separate panels, each Tier-2
country against its own binding limit; shares; shadow prices in one panel per unit; unserved
demand; the baseline's and the soft run's blocks when present); a sortable per-site headroom
table. Each chart records how many marks it drew (``data-drawn``) so a browser test can see it.
"""
from __future__ import annotations

import html
import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from optimizer.errors import InputError
from optimizer.inputs.economics import horizon_value_unit, usd
from optimizer.inputs.scenario import Scenario
from optimizer.inputs.timeline import Timeline
from optimizer.outdir import write_text_atomic
from optimizer.policy.rules import Family
from optimizer.results.periods import PeriodSolution, TimelinePlan, timeline_figures
from optimizer.results.plan import Plan, written_table
from optimizer.results.summary import economics_block, plan_figures

ASSETS = Path(__file__).resolve().parents[1] / "assets"
CHARTS = ("chart-map", "chart-tier1", "chart-tier2", "chart-shares", "chart-prices", "chart-unserved")
OPTIONAL_CHARTS = ("chart-baseline", "chart-soft")
GENERATOR = "fleetopt report"      # <meta name="generator">: marks a file fleetopt wrote
TOP = 40                           # rows per chart; the rest are counted in a note under it
ROW_PX, PANEL_PX = 22, 34          # canvas row height; a price panel's header
UNSERVED_TPP = 1e-3                # a market short by less than this is served (service.csv rounding)


# ------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------

def usage_tables(s: Scenario, placement: pd.DataFrame, service: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(placement with tpp, power_kw and racks recomputed from units and the scenario's chips;
    per-site usage: TPP, MW and racks used against the site's MW and racks, every site)."""
    chips = s.chips.reindex(placement["sku"])
    units = placement["units"].to_numpy(dtype=float)
    full = placement.assign(tpp=units * chips["tpp"].to_numpy(), power_kw=units * chips["power_kw"].to_numpy(),
                            racks=units / chips["units_per_rack"].to_numpy())
    used = full.groupby("site_id")[["tpp", "power_kw", "racks"]].sum().reindex(s.sites.index).fillna(0.0)
    sites = pd.DataFrame({"country": s.sites["country"], "tier": s.sites["tier"], "tpp": used["tpp"],
                          "mw_used": used["power_kw"] / 1000.0, "mw": s.sites["power_mw"],
                          "racks_used": used["racks"], "racks": s.sites["racks"],
                          "lat": s.sites["lat"], "lon": s.sites["lon"]})
    return full, sites


def unserved_markets(s: Scenario, service: pd.DataFrame, summary: Mapping[str, Any]) -> pd.DataFrame:
    """Markets short of their demand, most unserved first, with the reason the solve recorded
    (summary.json → explain.unserved_markets; 'not recorded' where it has none)."""
    served = service.groupby("market_id")["tpp"].sum().reindex(s.markets.index).fillna(0.0)
    table = pd.DataFrame({"demand_tpp": s.markets["demand_tpp"], "served_tpp": served,
                          "lat": s.markets["lat"], "lon": s.markets["lon"]})
    table["unserved_tpp"] = table["demand_tpp"] - table["served_tpp"]
    table = table.loc[table["unserved_tpp"] > UNSERVED_TPP].sort_values("unserved_tpp", ascending=False)
    recorded = {m.get("market_id"): m.get("reason") for m in (summary.get("explain") or {}).get("unserved_markets", [])}
    table["reason"] = [recorded.get(m) or "reason not recorded" for m in table.index]
    return table


def report_data(s: Scenario, placement: pd.DataFrame, service: pd.DataFrame,
                summary: Mapping[str, Any]) -> dict[str, Any]:
    """What the page shows, as plain JSON-able values: the recorded summary overlaid with the
    figures the tables give (:func:`optimizer.results.summary.plan_figures`). A multi-period
    plan (a ``period`` column) is refused: summed over its periods it would be a wrong snapshot."""
    if "period" in placement.columns or "period" in service.columns or summary.get("periods") is not None:
        raise InputError("the plan has periods (a period column or summary.json periods) but the scenario has "
                         "none: give the multi-period scenario it was planned on (the folder with periods.csv)")
    full, sites = usage_tables(s, placement, service)
    figures = plan_figures(s, full, service)
    facts = {**summary, **figures}
    unserved = unserved_markets(s, service, summary)
    pol, total = s.policy, facts["total_tpp"]
    countries = [dict(c, name=_country_name(c["iso3"])) for c in facts["countries"]]
    tier2_sites = sorted(set(s.sites.loc[s.sites["tier"] == 2, "policy_country"]))
    tier2 = _tier2_rows(s, {c["iso3"]: c["tpp"] for c in countries}, tier2_sites, total)
    return {
        "scenario": facts.get("scenario", s.name), "policy": pol.name, "status": summary.get("status"),
        "stale": recorded_differences(summary, figures),
        "facts": {k: facts[k] for k in ("objective", "served_tpp", "demand_tpp", "served_pct", "total_tpp", "cost")},
        "economics": economics_block(s, facts, _recorded_objective(summary)),
        "binding": [l["name"] for l in facts["limits"] if l["binding"]],
        "tier1": [c for c in countries if c["tier"] != 2][:TOP], "tier1_count": sum(c["tier"] != 2 for c in countries),
        "tier2": tier2[:TOP], "tier2_count": len(tier2),
        "shares": [{"name": l["name"], "value": l["value"], "bound": l["bound"], "sense": l["sense"],
                    "ok": l["slack"] >= -1e-9} for l in facts["limits"]
                   if l["unit"] == "share" and l["family"] != Family.TIER2_SHARE.value],
        "prices": _price_panels(summary),
        "unserved": [{"market_id": m, "unserved_tpp": r.unserved_tpp, "demand_tpp": r.demand_tpp, "reason": r.reason}
                     for m, r in unserved.head(TOP).iterrows()],
        "unserved_count": len(unserved),
        "baseline": _baseline(summary.get("baseline")),
        "soft": summary.get("soft"),
        "sites": sites, "unserved_table": unserved,
    }


RECORDED = {"served_tpp": "served TPP", "total_tpp": "fleet TPP", "objective": "value"}


def recorded_differences(summary: Mapping[str, Any], figures: Mapping[str, Any]) -> list[str]:
    """Where summary.json's figures differ from those its tables give (relative 1e-6): the tables
    were edited after the solve, so the status, prices and blocks recorded belong to another plan."""
    out = []
    for key, name in RECORDED.items():
        old, new = summary.get(key), figures[key]
        if isinstance(old, (int, float)) and not math.isclose(old, new, rel_tol=1e-6, abs_tol=1e-6):
            out.append(f"summary.json records {name} {old:,.6g} but the tables give {new:,.6g}")
    return out


def stale_figures(plan: Plan) -> list[str]:
    """:func:`recorded_differences` of a plan (read back from a folder, whose tables may lack
    the derived columns)."""
    full, _ = usage_tables(plan.scenario, plan.placement, plan.service)
    return recorded_differences(plan.summary, plan_figures(plan.scenario, full, plan.service))


def _recorded_objective(summary: Mapping[str, Any]) -> str:
    """The objective the plan was solved for (summary.json → economics.objective; 'serve', the
    default, when not recorded)."""
    economics = summary.get("economics")
    return str(economics.get("objective") or "serve") if isinstance(economics, Mapping) else "serve"


def _tier2_rows(s: Scenario, tpp: Mapping[str, float], codes: list[str], total: float) -> list[dict]:
    """One row per Tier-2 country with compute or sites: its TPP and the limit that binds first,
    min(its cap, the per-country share of the fleet), named."""
    share = s.policy.max_tier2_country_share
    rows = []
    for code in sorted(set(codes) | {k for k, v in tpp.items() if s.tier_of(k) == 2}, key=lambda k: (-round(tpp.get(k, 0.0)), k)):
        limits = {"cap": s.policy.cap_for(code)}
        if share is not None:
            limits[f"{100 * share:g} % of the fleet"] = share * total
        limits = {k: v for k, v in limits.items() if v is not None}
        first = min(limits, key=limits.get) if limits else None
        rows.append({"iso3": code, "name": _country_name(code), "tpp": tpp.get(code, 0.0),
                     "limit": limits.get(first), "limit_name": first})
    return rows


def _price_panels(summary: Mapping[str, Any]) -> list[dict]:
    """Shadow prices from summary.json (explain.policy_prices and physical_prices_top), one
    panel per unit, so that no axis mixes per-pp and per-MW; largest magnitude first."""
    explain = summary.get("explain") or {}
    rows = [p for p in [*explain.get("policy_prices", []), *explain.get("physical_prices_top", [])]
            if isinstance(p.get("value_per_unit"), (int, float))]
    panels: dict[str, list] = {}
    for p in sorted(rows, key=lambda p: -abs(p["value_per_unit"])):
        panels.setdefault(p["unit"], []).append({"limit": p["limit"], "value_per_unit": p["value_per_unit"]})
    return [{"unit": unit, "rows": items[:TOP], "more": max(0, len(items) - TOP)} for unit, items in panels.items()]


def _baseline(block: Mapping[str, Any] | None) -> dict | None:
    """The baseline block's headline and the countries whose compute the policy moved most."""
    if not block or "value_change" not in block:
        return dict(block) if block else None
    moved = sorted(block.get("countries", []), key=lambda c: -abs(c.get("change_tpp") or 0.0))
    return {**{k: v for k, v in block.items() if k != "countries"},
            "countries": [c for c in moved if abs(c.get("change_tpp") or 0.0) > UNSERVED_TPP][:TOP]}


# What the report reads from summary.json, and the JSON types it needs (a plan folder's summary
# may be hand-edited): a dict is an object ("!key": required once the object has its first key
# listed), a one-item list an array of that shape, a tuple the types a value may have.
NUMBER, TEXT, NULL = "number", "string", "null"
_PRICE = [{"limit": (TEXT,), "unit": (TEXT,), "value_per_unit": (NUMBER, NULL)}]
SUMMARY_READ = {
    "status": (TEXT, NULL), "scenario": (TEXT,), "served_tpp": (NUMBER, NULL), "total_tpp": (NUMBER, NULL),
    "objective": (NUMBER, NULL),
    "explain": {"policy_prices": _PRICE, "physical_prices_top": _PRICE,
                "unserved_markets": [{"market_id": (TEXT,), "reason": (TEXT, NULL)}]},
    "baseline": {"value_change": (NUMBER,), "!value_change_pct": (NUMBER,), "!served_tpp_change": (NUMBER,),
                 "!cost_change_usd": (NUMBER,), "baseline_policy": (TEXT,), "status": (TEXT, NULL),
                 "message": (TEXT, NULL), "value_unit": (TEXT, NULL), "annualised_cost_change_usd_per_year": (NUMBER, NULL),
                 "margin_change_usd_per_year": (NUMBER, NULL), "countries": [{"iso3": (TEXT,), "!change_tpp": (NUMBER,)}]},
    "economics": {"objective": (TEXT, NULL)},
    "soft": {"penalty": (NUMBER,), "violations": [{"limit": (TEXT,), "!violation_tpp": (NUMBER,), "!cost": (NUMBER,)}]},
}


def summary_problems(summary: Mapping[str, Any], where: str) -> list[str]:
    """One line per field of ``summary`` (read from ``where``) that the report reads and that
    has the wrong JSON type (the first bad item of an array only)."""
    problems: list[str] = []
    _check_shape(summary, SUMMARY_READ, "", where, problems)
    return [f"{p}; correct it, or remove summary.json (a plan may lack it)" for p in problems]


def _check_shape(value: Any, shape: Any, path: str, where: str, problems: list[str]) -> None:
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            problems.append(f"{where}: field {path!r} must be a JSON object, found {_json_kind(value)}")
            return
        first = next(iter(shape)).lstrip("!")
        for key, sub in shape.items():
            name = key.lstrip("!")
            if name in value:
                _check_shape(value[name], sub, f"{path}.{name}".lstrip("."), where, problems)
            elif key.startswith("!") and first in value:
                problems.append(f"{where}: field {path!r} has {first!r} but lacks {name!r}")
    elif isinstance(shape, list):
        if not isinstance(value, list):
            problems.append(f"{where}: field {path!r} must be a JSON array, found {_json_kind(value)}")
            return
        for i, item in enumerate(value):
            before = len(problems)
            _check_shape(item, shape[0], f"{path}[{i}]", where, problems)
            if len(problems) > before:
                return
    elif _json_kind(value) not in shape:
        problems.append(f"{where}: field {path!r} must be a JSON {' or '.join(shape)}, found {_json_kind(value)}")


def _json_kind(value: Any) -> str:
    """The JSON type of a parsed value, as the shapes above name it."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return NUMBER
    return {str: TEXT, dict: "object", list: "array"}.get(type(value), type(value).__name__)


@lru_cache(maxsize=1)
def world() -> dict[str, Any]:
    """The shipped country outlines (see assets/README.md), in tenths of a degree."""
    data = json.loads((ASSETS / "world110m.json").read_text())
    assert data["scale"] == 10, "world110m.json: coordinates must be in tenths of a degree"
    return data


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    return {c["iso3"]: c["name"] for c in world()["countries"]}


def _country_name(code: str) -> str:
    """A country's name as the map names it (its code where the map has no outline for it)."""
    return _country_names().get(code, code)


# ------------------------------------------------------------------------------------------
# The map (inline SVG, equirectangular, in tenths of a degree: x = lon·10, y = -lat·10)
# ------------------------------------------------------------------------------------------

MAP_BOX = (-1800, -840, 3600, 1420)     # lon -180..180, lat 84..-58 (no Antarctica)
MAP_WIDTH_PX = 1000
PX = MAP_BOX[2] / MAP_WIDTH_PX          # map units per screen pixel
TIER_COLOURS = {1: "#1f77b4", 2: "#ff7f0e", 3: "#d62728"}
TIER_FILLS = {1: "#dbe8f4", 2: "#fde8d3", 3: "#f6d6d6"}


def render_map(s: Scenario, sites: pd.DataFrame, unserved: pd.DataFrame) -> str:
    """Countries filled by tier, sites (circle area ∝ TPP; hollow: unused), markets with
    unserved demand (red ×, arm 2.5–8 px by √unserved TPP, one per location); every mark has a tooltip."""
    by_country = sites.groupby("country")["tpp"].agg(["sum", "size"])
    shapes = [_country_path(c, s, by_country) for c in world()["countries"]]
    grid = "".join(f'<path d="M{x} {MAP_BOX[1]}V{MAP_BOX[1] + MAP_BOX[3]}"/>' for x in range(-1800, 1801, 300)) + \
        "".join(f'<path d="M-1800 {y}H1800"/>' for y in range(-600, 601, 300))
    marks = _site_marks(sites) + _unserved_marks(unserved)
    x, y, w, h = MAP_BOX
    return (f'<svg id="chart-map" class="map" viewBox="{x} {y} {w} {h}" width="{MAP_WIDTH_PX}" '
            f'height="{round(MAP_WIDTH_PX * h / w)}" role="img" aria-label="world map of sites">'
            f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="#f4f8fb"/>'
            f'<g stroke="#e0e6ec" stroke-width="{PX:.1f}">{grid}</g>'
            f'<g stroke="#9aa" stroke-width="{PX * 0.6:.2f}" fill-rule="evenodd">{"".join(shapes)}</g>'
            f'{marks}</svg>')


def _country_path(country: Mapping[str, Any], s: Scenario, by_country: pd.DataFrame) -> str:
    """One country's outline (its rings are already in map units, tenths of a degree); the
    tooltip gives its tier and the compute of its sites (``by_country``: sum and size per code)."""
    d = "".join("M" + " ".join(f"{r[i]} {-r[i + 1]}" for i in range(0, len(r), 2)) + "Z" for r in country["rings"])
    tier = int(s.tiers.get(country["iso3"], 0))
    fill = TIER_FILLS.get(tier, "#eeeeee")
    title = f"{country['name']} ({country['iso3']})" + (f", Tier {tier}" if tier else "")
    if country["iso3"] in by_country.index:
        tpp, n = by_country.loc[country["iso3"]]
        title += f": {_num(tpp)} TPP in {int(n)} site{'s' if n != 1 else ''}"
    return f'<path d="{d}" fill="{fill}"><title>{html.escape(title)}</title></path>'


def _site_marks(sites: pd.DataFrame) -> str:
    """One circle per site; radius 2–16 px by √TPP (area ∝ compute); unused sites hollow."""
    biggest = max(float(sites["tpp"].max()) if len(sites) else 0.0, 1.0)
    out = []
    for r in sites.sort_values("tpp", ascending=False).itertuples():
        radius = PX * (2.0 + 14.0 * math.sqrt(max(r.tpp, 0.0) / biggest))
        colour = TIER_COLOURS.get(int(r.tier), "#888")
        style = (f'fill="{colour}" fill-opacity="0.55" stroke="{colour}"' if r.tpp > 0
                 else f'fill="none" stroke="{colour}"')
        title = (f"{r.Index} ({r.country}, Tier {int(r.tier)}): {_num(r.tpp)} TPP; "
                 f"{r.mw_used:,.1f} of {r.mw:,.1f} MW, {r.racks_used:,.1f} of {r.racks:,.0f} racks")
        out.append(f'<circle class="site" cx="{r.lon * 10:.0f}" cy="{-r.lat * 10:.0f}" r="{radius:.0f}" {style} '
                   f'stroke-width="{PX:.1f}"><title>{html.escape(title)}</title></circle>')
    return f'<g>{"".join(out)}</g>'


def _unserved_marks(unserved: pd.DataFrame) -> str:
    """A red × per location with unserved demand (markets at one place share it), arm 2.5–8
    px by √TPP, listing the markets and their shortfall in the tooltip."""
    if unserved.empty:
        return ""
    places: dict[tuple[float, float], list] = {}
    for r in unserved.itertuples():
        places.setdefault((round(r.lon * 10), round(-r.lat * 10)), []).append(r)
    total = {xy: sum(r.unserved_tpp for r in rows) for xy, rows in places.items()}
    biggest = max(total.values())
    out = []
    for (x, y), rows in places.items():
        arm = PX * (2.5 + 5.5 * math.sqrt(total[(x, y)] / biggest))
        title = "unserved: " + "; ".join(f"{r.Index} {_num(r.unserved_tpp)} of {_num(r.demand_tpp)} TPP ({r.reason})"
                                         for r in rows)
        out.append(f'<path class="unserved" d="M{x - arm:.0f} {y - arm:.0f}L{x + arm:.0f} {y + arm:.0f}'
                   f'M{x - arm:.0f} {y + arm:.0f}L{x + arm:.0f} {y - arm:.0f}"><title>{html.escape(title)}</title></path>')
    return f'<g stroke="#c00" stroke-width="{1.5 * PX:.1f}" fill="none">{"".join(out)}</g>'


# ------------------------------------------------------------------------------------------
# The page
# ------------------------------------------------------------------------------------------

def render_report(plan: Plan) -> str:
    """The whole page for a plan (built by ``solve`` or read back from a folder). A multi-period
    plan (one with a ``timeline``) gets per-period charts from its ``periods`` figures, rebuilt
    from the tables as written (so a plan in memory and the same plan read from its folder give
    the same page), then the page of its last period's fleet (that period's scenario and rows)."""
    timeline = getattr(plan, "timeline", None)
    if timeline is None:
        return _page(plan.scenario, plan.placement, plan.service, plan.summary, None)
    plan = timeline_plan(timeline, written_table(plan.placement), written_table(plan.service), plan.summary)
    last = timeline.periods[-1]
    in_last = lambda table: table.loc[table["period"].astype(str) == last.id].drop(columns="period")
    placement = in_last(plan.placement)
    placement = placement.assign(new_units=placement["units"] - placement["installed_units"])   # the snapshot's sense
    return _page(last.scenario, placement, in_last(plan.service),
                 {k: plan.summary.get(k) for k in ("scenario", "status", "baseline")}, plan.summary)


def _page(s: Scenario, placement: pd.DataFrame, service: pd.DataFrame, summary: Mapping[str, Any],
          timeline_summary: Mapping[str, Any] | None) -> str:
    """The HTML page: a snapshot's, or (``timeline_summary``) a multi-period plan's whose
    snapshot parts show its last period."""
    data = report_data(s, written_table(placement), written_table(service), summary)
    if timeline_summary is not None:
        data["periods"] = period_rows(timeline_summary)
    sites, unserved = data.pop("sites"), data.pop("unserved_table")
    script = (ASSETS / "report.js").read_text()
    payload = json.dumps(_finite(data), default=_plain, allow_nan=False).replace("</", "<\\/")
    top = _headline(data) if timeline_summary is None else _timeline_headline(timeline_summary, data)
    title = (f"Plan for {html.escape(str(data['scenario']))} under {html.escape(data['policy'])}"
             if timeline_summary is None else
             f"Plan for {html.escape(str(data['scenario']))}, {len(data['periods'])} periods "
             f"({html.escape(data['periods'][0]['period'])} to {html.escape(data['periods'][-1]['period'])})")
    last = "" if timeline_summary is None else _periods_section(data["periods"]) + (
        f"<h2>The fleet at the end of {html.escape(data['periods'][-1]['period'])}</h2><p>The rest of this page "
        f"shows the last period under its policy, {html.escape(data['policy'])}.</p>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="generator" content="{GENERATOR}">
<title>fleetopt plan — {html.escape(str(data['scenario']))}</title>
<style>{STYLE}</style></head>
<body>
<h1>{title}</h1>
{top}
<p class="legend"><span style="color:#1f77b4">■ Tier 1</span><span style="color:#ff7f0e">■ Tier 2</span>
<span style="color:#d62728">■ Tier 3</span><span style="color:#c00">× unserved demand</span></p>
{last}
<h2>Where the compute is</h2><p>Countries shaded by tier; circles: sites, area proportional to TPP (hollow:
unused); red ×: markets with unserved demand. Hover for details. Natural Earth 1:110m outlines (small
countries such as Singapore or Bahrain have no outline; their sites still show).</p>
{render_map(s, sites, unserved)}
<h2>Compute by country</h2><p>TPP per country. Tier 1 (and any other non-Tier-2 country) here; Tier-2
countries on their own scale below.</p>
{_canvas("chart-tier1", len(data["tier1"]), data["tier1_count"])}
<h3>Tier-2 countries against their limit</h3><p>Each Tier-2 country with sites or compute; black tick: the
limit that binds first (its cap or its share of the fleet, whichever is lower), named after the value.
{_tier2_limits(s, data["facts"]["total_tpp"])}</p>
{_canvas("chart-tier2", len(data["tier2"]), data["tier2_count"])}
<h2>Shares against their limits</h2><p>Percent of the fleet's TPP; black tick: the limit (a minimum for home
and Tier 1); red: violated. Per-country Tier-2 shares are in the panel above.</p>
{_canvas("chart-shares", len(data["shares"]), len(data["shares"]))}
<h2>Binding limits and their shadow prices</h2><p>Objective gained per unit of headroom, in
{html.escape(data["economics"]["value_unit"])} (negative: raising that minimum costs value), one panel per unit;
from summary.json.</p>
{_price_canvas(data["prices"])}
<h2>Unserved demand by market</h2><p>Orange: capacity; purple: policy; grey: no eligible site; light grey: reason
not recorded (summary.json records the reasons of the largest shortfalls; <code>fleetopt explain</code> gives all).</p>
{_canvas("chart-unserved", len(data["unserved"]), data["unserved_count"], "fleetopt explain lists every market")}
{_baseline_section(data["baseline"])}
{_soft_section(data["soft"])}
<h2>Site headroom</h2><p>Power and racks used against what each site has (click a column to sort).</p>
{_headroom_table(sites)}
<script type="application/json" id="fleet-data">{payload}</script>
<script>{script}</script>
</body></html>
"""


STYLE = """body{font-family:sans-serif;margin:24px;color:#222;max-width:1060px}canvas,svg.map{border:1px solid #ddd;
margin:6px 0;display:block}td,th{padding:2px 8px;border-bottom:1px solid #eee;font-size:13px;white-space:nowrap}
.num{text-align:right}th{cursor:pointer;background:#f4f4f4;position:sticky;top:0}.legend span{margin-right:14px}
.note{color:#666;font-size:13px}.warn{color:#b00;font-weight:bold}.tablebox{max-height:480px;overflow:auto;border:1px solid #ddd}
table{border-collapse:collapse}svg .site:hover,svg .unserved:hover{stroke:#000}"""


def _headline(data: dict) -> str:
    """Status, service, value (in dollars per year when markets.csv gave them, else in the
    abstract unit, said so), the cash and annualised cost, and the binding limits."""
    f, money = data["facts"], data["economics"]
    status = html.escape(str(data["status"])) if data["status"] else "not recorded (the plan has no summary.json)"
    binding = ", ".join(html.escape(n) for n in data["binding"]) or "none"
    cost = f["cost"]
    value = (f"revenue ${money['revenue_usd_per_year']:,.0f} per year, margin {usd(money['margin_usd_per_year'])} per "
             "year (revenue less annualised cost)" if money["revenue_usd_per_year"] is not None else
             f"value {f['objective']:,.0f} {html.escape(money['value_unit'])} (markets.csv gives <code>value</code>, "
             "not dollars)")
    return (f"<p>Status {status}; objective <b>{html.escape(money['objective'])}</b>; served {f['served_pct']:.2f} % of "
            f"demand ({_num(f['served_tpp'])} of {_num(f['demand_tpp'])} TPP); fleet {_num(f['total_tpp'])} TPP; {value}.</p>"
            f"<p>Cost: capex ${cost['capex_usd']:,.0f} in cash, or ${cost['annualised_capex_usd_per_year']:,.0f} per year "
            f"as an annuity over the chips' lives at {100 * money['discount_rate']:g} %; energy "
            f"${cost['energy_usd_per_year']:,.0f} per year; fixed ${cost['fixed_usd']:,.0f}. Annualised cost "
            f"${cost['annualised_usd_per_year']:,.0f} per year.</p><p>Binding policy limits: {binding}.</p>"
            + "".join(f'<p class="warn">Warning: {html.escape(w)}; the tables were edited after the solve, so the '
                      "status, shadow prices and baseline shown come from another plan.</p>" for w in data["stale"]))


def timeline_plan(tl: Timeline, placement: pd.DataFrame, service: pd.DataFrame,
                  summary: Mapping[str, Any]) -> TimelinePlan:
    """A multi-period plan read back from its tables (with a ``period`` column, ids checked by
    the caller): its figures, ``periods`` included, rebuilt from the tables exactly as the solve
    built them (:func:`optimizer.results.periods.timeline_figures`: each period's new stock and
    service), the recorded summary kept only for what needs the solver (status)."""
    sols = []
    for p in tl.periods:
        rows = placement.loc[placement["period"].astype(str) == p.id]
        stock = pd.Series((rows["units"] - rows["installed_units"]).clip(lower=0.0).to_numpy(),
                          index=pd.MultiIndex.from_frame(rows[["site_id", "sku"]].astype(str)))
        served = service.loc[service["period"].astype(str) == p.id]
        sols.append(PeriodSolution(stock, p.scenario.markets.index.get_indexer(served["market_id"].astype(str)),
                                   p.scenario.sites.index.get_indexer(served["site_id"].astype(str)),
                                   served["tpp"].to_numpy(dtype=float)))
    table_p, table_s, figures = timeline_figures(tl, sols)
    return TimelinePlan(table_p, table_s, {**summary, **figures}, tl.first, timeline=tl)


PERIOD_CHARTS = ("chart-periods-compute", "chart-periods-served", "chart-periods-shares", "chart-periods-cost")


def period_rows(timeline_summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per period of a multi-period summary: served, fleet TPP by tier, the home and
    Tier-1 shares with the period's minimum (None when its policy has none), capex and energy."""
    rows = []
    for r in timeline_summary["periods"]:
        tiers = [sum(c["tpp"] for c in r["countries"] if c["tier"] == k) for k in (1, 2, 3)]
        home, tier1 = Family.HOME_SHARE.value, Family.TIER1_SHARE.value
        bounds = {l["family"]: l["bound"] for l in r["limits"] if l["family"] in (home, tier1)}
        rows.append({"period": str(r["period"]), "years": r["years"], "served_tpp": r["served_tpp"],
                     "demand_tpp": r["demand_tpp"], "served_pct": r["served_pct"], "total_tpp": r["total_tpp"],
                     "tiers": tiers, "home": r[home], "tier1": r[tier1], "home_bound": bounds.get(home),
                     "tier1_bound": bounds.get(tier1), "capex_usd": r["capex_usd"], "energy_usd": r["energy_usd"]})
    return rows


def _timeline_headline(ts: Mapping[str, Any], data: dict) -> str:
    """Status, demand served over the horizon, value (years x discount weighted), costs summed."""
    cost, unit = ts["cost"], html.escape(horizon_value_unit(data["economics"]["value_unit"]))
    binding = ts.get("binding_limits") or []
    return (f"<p>Status {html.escape(str(ts.get('status')))}; served {ts['served_pct']:.2f} % of the demand over the "
            f"horizon ({_num(ts['served_tpp'])} of {_num(ts['demand_tpp'])} TPP, summed over the periods); value "
            f"{ts['objective']:,.0f} {unit} (each period's value per year weighted by its years and discount); fleet at the end "
            f"{_num(ts['total_tpp'])} TPP.</p><p>Cost over the horizon: capex ${cost['capex_usd']:,.0f}, energy "
            f"${cost['energy_usd']:,.0f}, total ${cost['total_usd']:,.0f} (discounted ${cost['discounted_usd']:,.0f}).</p>"
            f"<p>Binding policy limits ({len(binding)}, as limit@period): "
            f"{', '.join(html.escape(b) for b in binding) or 'none'}.</p>")


def _periods_section(rows: list[dict]) -> str:
    n = len(rows)
    return f"""<h2>Period by period</h2><p>Fleet TPP at the end of each period by tier.</p>
{_canvas("chart-periods-compute", n, n)}
<p>Demand served in each period.</p>
{_canvas("chart-periods-served", n, n)}
<p>Home and Tier-1 shares of each period's fleet; black tick: that period's minimum (policies may change).</p>
<canvas id="chart-periods-shares" width="1000" height="{10 + 2 * (PANEL_PX + ROW_PX * n)}"></canvas>
<p>Cost of each period: capex of the units added in it, and energy of its fleet over its years (USD).</p>
<canvas id="chart-periods-cost" width="1000" height="{10 + 2 * (PANEL_PX + ROW_PX * n)}"></canvas>"""


def _tier2_limits(s: Scenario, total: float) -> str:
    """The two Tier-2 limits in words (the panel marks only the lower one per country)."""
    pol, parts = s.policy, []
    if pol.max_tier2_country_share is not None:
        parts.append(f"{100 * pol.max_tier2_country_share:g} % of this fleet is {_num(pol.max_tier2_country_share * total)} TPP")
    if pol.tier2_country_cap_tpp is not None:
        parts.append(f"the default cap is {_num(pol.tier2_country_cap_tpp)} TPP"
                     + (f" ({len(pol.caps)} countries have their own)" if pol.caps else ""))
    return ("Under this policy " + " and ".join(parts) + ".") if parts else "This policy sets no Tier-2 limit."


def _canvas(chart: str, rows: int, count: int, where: str = "all are in summary.json") -> str:
    more = f'<p class="note">{count - rows} more not shown ({where})</p>' if count > rows else ""
    return f'<canvas id="{chart}" width="1000" height="{24 + ROW_PX * max(rows, 1)}"></canvas>{more}'


def _price_canvas(panels: list[dict]) -> str:
    height = 10 + sum(PANEL_PX + ROW_PX * len(p["rows"]) for p in panels) if panels else 40
    more = "".join(f'<p class="note">{p["unit"]}: {p["more"]} more not shown</p>' for p in panels if p["more"])
    return f'<canvas id="chart-prices" width="1000" height="{height}"></canvas>{more}'


def _baseline_section(block: dict | None) -> str:
    if not block:
        return ('<h2>Cost of compliance</h2><p class="note">No baseline in this plan (solve with '
                '<code>--baseline none</code> to see what the policy costs).</p>')
    name = html.escape(str(block.get("baseline_policy", "?")))
    if "value_change" not in block:
        return (f'<h2>Cost of compliance against {name}</h2><p class="note">The baseline gave no plan: '
                f'{html.escape(str(block.get("message") or block.get("status")))}.</p>')
    rows, unit = len(block["countries"]), html.escape(str(block.get("value_unit") or "value units"))
    annual = block.get("annualised_cost_change_usd_per_year")
    margin = block.get("margin_change_usd_per_year")
    return (f"<h2>Cost of compliance against {name}</h2><p>Under the policy, against the baseline "
            f"({html.escape(str(block.get('status')))}): value {block['value_change']:+,.0f} {unit} "
            f"({block['value_change_pct']:+.2f} %), served {_num(block['served_tpp_change'], sign=True)} TPP, cash cost "
            f"{block['cost_change_usd']:+,.0f} USD"
            + (f", annualised cost {annual:+,.0f} USD per year" if isinstance(annual, (int, float)) else "")
            + (f", margin {margin:+,.0f} USD per year" if isinstance(margin, (int, float)) else "")
            + ". Bars: compute each country gains (green) or loses (red) under the policy."
            + (f" Over the {len(block['periods'])} periods: value weighted by each period's years x discount, "
               "served summed, the fleet at the end of the last period; each period's changes are in "
               "summary.json (baseline, periods)." if block.get("periods") else "") + "</p>"
            + _canvas("chart-baseline", rows, rows))


def _soft_section(block: dict | None) -> str:
    if not block:
        return ""
    n = len(block.get("violations", []))
    head = (f"<h2>Soft limits</h2><p>Policy limits were priced, not forbidden; {n} violated, penalty "
            f"{block.get('penalty', 0):,.0f}. Bars: violation in TPP per limit.</p>")
    return head + (_canvas("chart-soft", n, n) if n else '<p class="note">No limit is violated.</p>')


HEADROOM_COLUMNS = (("site", "s"), ("country", "s"), ("tier", "n"), ("TPP", "n"), ("MW used", "n"), ("MW", "n"),
                    ("MW %", "n"), ("racks used", "n"), ("racks", "n"), ("racks %", "n"))


def _headroom_table(sites: pd.DataFrame) -> str:
    """Every site, fullest first (by the larger of its power and rack use); sortable in the page."""
    pct = lambda used, have: np.where(have > 0, 100.0 * used / np.where(have > 0, have, 1.0), 0.0)
    t = sites.assign(mw_pct=pct(sites["mw_used"], sites["mw"]), racks_pct=pct(sites["racks_used"], sites["racks"]))
    t = t.loc[np.maximum(t["mw_pct"], t["racks_pct"]).sort_values(ascending=False, kind="stable").index]
    head = "".join(f'<th data-kind="{k}">{name}</th>' for name, k in HEADROOM_COLUMNS)
    body = "".join(
        f"<tr><td>{html.escape(str(r.Index))}</td><td>{html.escape(str(r.country))}</td><td class=num>{int(r.tier)}</td>"
        f"<td class=num data-v='{r.tpp:.6g}'>{_num(r.tpp)}</td><td class=num>{r.mw_used:,.2f}</td>"
        f"<td class=num>{r.mw:,.2f}</td><td class=num>{r.mw_pct:.1f}</td><td class=num>{r.racks_used:,.1f}</td>"
        f"<td class=num>{r.racks:,.0f}</td><td class=num>{r.racks_pct:.1f}</td></tr>" for r in t.itertuples())
    return f'<div class="tablebox"><table id="headroom" class="sortable"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _num(value: float, sign: bool = False) -> str:
    """A TPP-sized number readable at a glance, as the charts write it: 1.23B, 45.6M, 7.8k, 12."""
    v, plus = float(value), "+" if sign else ""
    for size, suffix, digits in ((1e12, "T", 2), (1e9, "B", 2), (1e6, "M", 1), (1e3, "k", 1)):
        if abs(v) >= size:
            return f"{v / size:{plus}.{digits}f}{suffix}"
    return f"{v:{plus},.0f}"


def write_report(plan: Plan, path: str | Path) -> Path:
    """Write the report atomically (a temporary file beside it, then a rename)."""
    return write_text_atomic(Path(path), render_report(plan))


def is_report(path: Path) -> bool:
    """``path`` is an HTML report fleetopt wrote (its generator mark in the first 1 KiB)."""
    try:
        with open(path, "rb") as fh:
            return f'<meta name="generator" content="{GENERATOR}">'.encode() in fh.read(1024)
    except OSError:
        return False


def charts_drawn(dom: str, attribute: str = "data-drawn") -> dict[str, int]:
    """From a page's DOM after its scripts ran: marks drawn per chart id (absent: not drawn);
    with ``attribute="data-clipped"``, the texts per canvas that do not fit inside it."""
    import re
    found = {}
    for tag in re.findall(r"<(?:canvas|svg)[^>]*>", dom):
        chart = re.search(r'id="([^"]+)"', tag)
        value = re.search(rf'{attribute}="(\d+)"', tag)
        if chart and value:
            found[chart.group(1)] = int(value.group(1))
    return found


def _finite(obj: Any) -> Any:
    """``obj`` with every NaN or infinite float as None (JSON has neither; the page shows none)."""
    if isinstance(obj, Mapping):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj


def _plain(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, pd.Timestamp):
        return str(value)
    raise TypeError(f"not JSON: {type(value)}")
