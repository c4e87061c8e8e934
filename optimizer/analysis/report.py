"""A self-contained HTML report of a plan: charts drawn by inline JavaScript on <canvas> from the
plan's data embedded as JSON, so it opens with no network.

Charts: compute by country coloured by tier (the 7 % line and each cap marked); each share against
its limit; binding limits with their shadow prices; unserved demand by market; a world map of
sites sized by compute. Each canvas records how many marks it drew (``data-drawn``).
"""
from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.outdir import write_text_atomic
from optimizer.results.plan import Plan

CHARTS = ("chart-countries", "chart-shares", "chart-prices", "chart-unserved", "chart-map")
TOP = 30


def report_data(plan: Plan) -> dict:
    """What the charts draw, as plain JSON-able values."""
    s, summary = plan.scenario, plan.summary
    pol = s.policy
    countries = [dict(c, cap=(pol.cap_for(c["iso3"]) if c["tier"] == 2 else None)) for c in summary["countries"][:TOP]]
    shares = [{"name": l["name"], "value": l["value"], "bound": l["bound"], "ok": l["slack"] >= -1e-9}
              for l in summary["limits"] if l["unit"] == "share"]
    shares = sorted(shares, key=lambda l: (l["name"].startswith("tier2"), -l["value"]))[:TOP]
    prices = (plan.prices.head(TOP)[["limit", "family", "unit", "value_per_unit"]].to_dict("records")
              if plan.prices is not None else [])     # ranges hold NaN/inf: not JSON
    unserved = (plan.unserved.sort_values("unserved_tpp", ascending=False).head(TOP).to_dict("records")
                if plan.unserved is not None else [])
    by_site = plan.placement.groupby("site_id")["tpp"].sum()
    sites = s.sites.loc[by_site.index]
    return {
        "scenario": summary["scenario"], "policy": pol.name, "total_tpp": summary["total_tpp"],
        "served_pct": summary["served_pct"], "objective": summary["objective"],
        "max_tier2_share": pol.max_tier2_country_share, "countries": countries, "shares": shares,
        "prices": prices, "unserved": unserved,
        "sites": [{"lat": float(a), "lon": float(b), "tpp": float(t), "tier": int(k)}
                  for a, b, t, k in zip(sites["lat"], sites["lon"], by_site.to_numpy(), sites["tier"])],
    }


def render_report(plan: Plan) -> str:
    data = report_data(plan)
    script = (Path(__file__).resolve().parents[1] / "assets" / "report.js").read_text()
    payload = json.dumps(data, default=_plain).replace("</", "<\\/")
    summary = plan.summary
    rows = "".join(f"<tr><td>{html.escape(str(p['limit']))}</td><td>{html.escape(str(p['unit']))}</td>"
                   f"<td class=num>{p['value_per_unit']:,.0f}</td></tr>" for p in data["prices"])
    limits = ", ".join(html.escape(n) for n in summary["binding_limits"]) or "none"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fleetopt plan — {html.escape(data['scenario'])}</title>
<style>body{{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}}canvas{{border:1px solid #ddd;margin:6px 0}}
td,th{{padding:2px 8px;border-bottom:1px solid #eee;font-size:13px}}.num{{text-align:right}}
.legend span{{display:inline-block;margin-right:14px}}</style></head>
<body>
<h1>Plan for {html.escape(data['scenario'])} under {html.escape(data['policy'])}</h1>
<p>Status {html.escape(summary['status'])}; served {summary['served_pct']:.2f} % of demand; value
{summary['objective']:,.0f}; fleet {summary['total_tpp']:,.0f} TPP; cost ${summary['cost']['total_usd']:,.0f}.
Binding policy limits: {limits}.</p>
<p class="legend"><span style="color:#1f77b4">■ Tier 1</span><span style="color:#ff7f0e">■ Tier 2</span>
<span style="color:#d62728">■ Tier 3</span></p>
<h2>Compute by country</h2><p>Bars: TPP per country, coloured by tier. Dashed line: the per-country
Tier-2 share limit times the fleet; black ticks: each Tier-2 country's cap.</p>
<canvas id="chart-countries" width="1000" height="{60 + 22 * len(data['countries'])}"></canvas>
<h2>Shares against their limits</h2><p>Percent of the fleet's TPP; black tick: the limit (a minimum for home
and Tier 1, a maximum for Tier-2 countries); red: violated.</p>
<canvas id="chart-shares" width="1000" height="{60 + 22 * len(data['shares'])}"></canvas>
<h2>Binding limits and their shadow prices</h2><p>Objective gained per unit of headroom (negative: raising
that minimum costs value).</p>
<canvas id="chart-prices" width="1000" height="{60 + 22 * len(data['prices'])}"></canvas>
<table><tr><th>limit</th><th>unit</th><th>value per unit</th></tr>{rows}</table>
<h2>Unserved demand by market</h2><p>Orange: capacity; purple: policy; grey: no eligible site.</p>
<canvas id="chart-unserved" width="1000" height="{60 + 22 * len(data['unserved'])}"></canvas>
<h2>Sites by compute</h2><p>Equirectangular map (graticule every 30°); circle area proportional to TPP.</p>
<canvas id="chart-map" width="1000" height="500"></canvas>
<script type="application/json" id="fleet-data">{payload}</script>
<script>{script}</script>
</body></html>
"""


def write_report(plan: Plan, path: str | Path) -> Path:
    """Write the report atomically (a temporary file beside it, then a rename)."""
    return write_text_atomic(Path(path), render_report(plan))


def charts_drawn(dom: str) -> dict[str, int]:
    """From a page's DOM after its scripts ran: marks drawn per chart id (absent: not drawn)."""
    import re
    found = {}
    for tag in re.findall(r"<canvas[^>]*>", dom):
        chart = re.search(r'id="([^"]+)"', tag)
        drawn = re.search(r'data-drawn="(\d+)"', tag)
        if chart and drawn:
            found[chart.group(1)] = int(drawn.group(1))
    return found


def _plain(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, pd.Timestamp):
        return str(value)
    raise TypeError(f"not JSON: {type(value)}")
