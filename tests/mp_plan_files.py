"""Write multi-period plan folders by hand, exactly in the plan-file contract's format (README
"Outputs"), for the checker's tests: placement.csv, service.csv, summary.json with ``periods``."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from optimizer.inputs.countries import policy_record
from optimizer.inputs.timeline import load_timeline

# {period: [(site_id, installed_units, new_units, units), ...]} of sku H
Rows = dict[str, list[tuple[str, float, float, float]]]
# {period: [(market_id, site_id, tpp), ...]}
Service = dict[str, list[tuple[str, str, float]]]


def write_mp_plan(folder: Path, scenario: Path, rows: Rows, service: Service, summary: bool = True) -> Path:
    """A plan folder for the multi-period ``scenario``: one placement row per tuple (country,
    tier, tpp, power_kw and racks filled in from that period's scenario), one service row per
    tuple, and summary.json recording each period's effective policy (``summary=False``: none)."""
    timeline = load_timeline(scenario)
    folder.mkdir(parents=True, exist_ok=True)
    placement = []
    for period in timeline.periods:
        s = period.scenario
        for site_id, installed, new, units in rows.get(period.id, []):
            chip = s.chips.loc["H"]
            placement.append({"site_id": site_id, "country": s.sites.loc[site_id, "country"],
                              "tier": int(s.sites.loc[site_id, "tier"]), "sku": "H", "period": period.id,
                              "installed_units": installed, "new_units": new, "units": units,
                              "tpp": units * chip["tpp"], "power_kw": units * chip["power_kw"],
                              "racks": units / chip["units_per_rack"]})
    columns = ["site_id", "country", "tier", "sku", "period", "installed_units", "new_units", "units", "tpp",
               "power_kw", "racks"]
    pd.DataFrame(placement, columns=columns).to_csv(folder / "placement.csv", index=False)
    served = [{"market_id": m, "site_id": s, "period": t, "tpp": tpp, "rtt_ms": 0.0}
              for t, flows in service.items() for m, s, tpp in flows]
    pd.DataFrame(served, columns=["market_id", "site_id", "period", "tpp", "rtt_ms"]).to_csv(
        folder / "service.csv", index=False)
    if summary:
        periods = [{"period": p.id, "years": p.years, "discount": p.discount, "policy": policy_record(p.scenario)}
                   for p in timeline.periods]
        record = {"mode": "multi-period", "lp_mode": "lp", "period_ids": timeline.ids,
                  "policy": periods[0]["policy"], "periods": periods}
        (folder / "summary.json").write_text(json.dumps(record, indent=1))
    return folder


def edit_summary(folder: Path, edit) -> None:
    """Apply ``edit`` (a function of the parsed summary.json) and write it back."""
    path = folder / "summary.json"
    summary = json.loads(path.read_text())
    edit(summary)
    path.write_text(json.dumps(summary, indent=1))
