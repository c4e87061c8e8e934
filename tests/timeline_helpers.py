"""Build multi-period Timelines in tests from period snapshots of one scenario folder.

``timeline_from(folder, [(id, years, discount, overrides), ...])``: each period is the folder
loaded under ``overrides["policy"]`` (a preset name or a TOML text written into the folder;
default the folder's policy), with ``power_mw`` / ``racks`` ({site: value}), ``inventory``
({sku: units available by the period}) and ``demand`` ({market: TPP}) replaced.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from optimizer import load_scenario
from optimizer.inputs.timeline import Period, Timeline


def _policy(folder: Path, pid: str, policy: str | None) -> str | None:
    if policy is None or "=" not in policy:
        return policy
    path = folder / f"policy-{pid}.toml"
    path.write_text(policy)
    return str(path)


def period_scenario(folder: Path, pid: str, overrides: dict):
    s = load_scenario(folder, _policy(folder, pid, overrides.get("policy")))
    sites, chips, markets = s.sites.copy(), s.chips.copy(), s.markets.copy()
    for column in ("power_mw", "racks"):
        for site_id, value in overrides.get(column, {}).items():
            sites.loc[site_id, column] = float(value)
    for sku, value in overrides.get("inventory", {}).items():
        chips.loc[sku, "inventory"] = float(value)
    for market_id, value in overrides.get("demand", {}).items():
        markets.loc[market_id, "demand_tpp"] = float(value)
    return replace(s, sites=sites, chips=chips, markets=markets)


def timeline_from(folder: Path, specs) -> Timeline:
    """A Timeline of the given periods (see the module docstring)."""
    periods = tuple(Period(pid, years, discount, period_scenario(folder, pid, overrides))
                    for pid, years, discount, overrides in specs)
    return Timeline(folder.name, periods, path=folder)
