"""The policy rules have one home (optimizer/policy/rules.py): no family is spelled as a string
anywhere else, and every family's plain rows, rows on totals, PuLP rows, soft columns and audit
agree with each other on small generated scenarios."""
from __future__ import annotations

import ast
import json
from pathlib import Path

from optimizer.policy.rules import Family

ROOT = Path(__file__).resolve().parents[1]
RULES_HOME = ROOT / "optimizer" / "policy" / "rules.py"


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings (module, class, function)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def family_literals(path: Path) -> list[str]:
    """'file:line value' for every string constant of ``path`` equal to a family (docstrings aside)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    docs = _docstrings(tree)
    families = {f.value for f in Family}
    return [f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and node.value in families and id(node) not in docs]


def test_no_family_is_a_string_literal_outside_the_rules():
    sources = [p for p in (ROOT / "optimizer").rglob("*.py") if p != RULES_HOME] + [ROOT / "cli.py"]
    found = [hit for p in sorted(sources) for hit in family_literals(p)]
    assert not found, "policy families spelled as strings (use optimizer.policy.rules.Family):\n" + "\n".join(found)


def test_the_scan_sees_a_literal(tmp_path):
    probe = ROOT / "optimizer" / "_probe_family_literal.py"
    probe.write_text('"""tier2_cap in a docstring is fine."""\nFAMILY = "tier2_cap"\n')
    try:
        assert family_literals(probe) == ["optimizer/_probe_family_literal.py:2 'tier2_cap'"]
    finally:
        probe.unlink()


# --- every family, every formulation, on small generated scenarios ---------------------------

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from helpers import M, write_scenario  # noqa: E402

from optimizer import InfeasibleError, check_plan, load_scenario, solve  # noqa: E402
from optimizer.planner.solve import default_soft_prices  # noqa: E402

# (iso3, lat, lon): Tier 1 (USA home, DEU), Tier 2 (POL, IND, BRA), Tier 3 (CHN), a territory (PRI)
PLACES = [("USA", 39.0, -77.5), ("DEU", 50.1, 8.7), ("POL", 52.2, 21.0), ("IND", 19.1, 72.9),
          ("BRA", -23.5, -46.6), ("CHN", 31.2, 121.5), ("PRI", 18.4, -66.1)]
GROUPABLE = ["USA", "DEU", "POL", "IND", "BRA", "FRA"]
SEEDS = range(24)


def random_rules_scenario(folder: Path, seed: int) -> None:
    """2-6 sites, 1-2 chips, 1-4 markets in reach of every site, an installed base, and a policy
    with every family (a [groups] minimum too) drawn so that each binds in some seeds."""
    rng = np.random.default_rng(seed)
    chips = [dict(sku=f"C{j}", tpp=float(rng.choice([0.5, 1, 2])) * M, power_kw=float(rng.uniform(0.5, 2)),
                  units_per_rack=int(rng.choice([4, 10])), inventory=float(rng.integers(20, 150)),
                  capex_usd=float(rng.uniform(0, 5))) for j in range(int(rng.integers(1, 3)))]
    sites, installed = [], []
    for i in range(int(rng.integers(2, 7))):
        iso, lat, lon = PLACES[int(rng.integers(len(PLACES)))]
        sites.append(dict(site_id=f"S{i}", country=iso, lat=lat, lon=lon, power_mw=float(rng.uniform(0.02, 0.2)),
                          racks=float(rng.integers(2, 30)), energy_usd_per_mwh=float(rng.uniform(0, 80))))
        if rng.random() < 0.3 and iso != "CHN":
            installed.append((f"S{i}", "C0", float(rng.integers(1, 8))))
    markets = [dict(market_id=f"M{k}", country="USA", lat=0.0, lon=0.0, demand_tpp=float(rng.uniform(20, 300)) * M,
                    value=float(rng.uniform(0.5, 3)), max_rtt_ms=400.0, in_country_only="false")
               for k in range(int(rng.integers(1, 5)))]
    policy = "\n".join([
        'home_country = "USA"',
        f"min_home_share = {rng.uniform(0.0, 0.6):.3f}",
        f"min_tier1_share = {rng.uniform(0.3, 0.8):.3f}",
        f"max_tier2_country_share = {rng.uniform(0.03, 0.4):.3f}",
        f"tier2_country_cap_tpp = {rng.uniform(5, 80) * M:.0f}",
        f"ban_tier3 = {str(bool(rng.random() < 0.7)).lower()}",
        f"[caps]\nIND = {rng.uniform(0, 30) * M:.0f}",
        f"[groups.G]\ncountries = {json.dumps(sorted(rng.choice(GROUPABLE, int(rng.integers(1, 4)), replace=False)))}",
        f"min_share = {rng.uniform(0.0, 0.5):.3f}",
    ])
    write_scenario(folder, sites, chips, markets, installed=installed or None, policy=policy + "\n")


def _solved(s, **kw):
    try:
        plan = solve(s, **kw)
    except InfeasibleError:
        return None
    report = check_plan(s, plan.placement, plan.service)
    assert report.ok, report.failures().to_string()
    return plan


def test_every_family_agrees_across_formulations_soft_columns_and_audit(tmp_path):
    """plain = fast = PuLP objective (1e-6 relative), each plan passes the audit, a soft solve with
    huge prices equals the hard one, and across the seeds every family with rows binds."""
    bound = set()
    for seed in SEEDS:
        folder = tmp_path / f"s{seed}"
        random_rules_scenario(folder, seed)
        s = load_scenario(folder)
        plans = {path: _solved(s, path=path) for path in ("fast", "plain", "pulp")}
        if plans["fast"] is None:
            assert all(p is None for p in plans.values()), f"seed {seed}: only some paths infeasible"
            continue
        value = plans["fast"].summary["objective"]
        for path, plan in plans.items():
            assert plan is not None, f"seed {seed}: {path} infeasible"
            assert plan.summary["objective"] == pytest.approx(value, rel=1e-6, abs=1e-3), (seed, path)
        huge = {f: 1e3 * p for f, p in default_soft_prices(s).items()}
        soft = _solved(s, soft=huge)
        assert soft.summary["soft"]["violations"] == [], seed
        assert soft.summary["objective"] == pytest.approx(value, rel=1e-6, abs=1e-3), seed
        bound |= {lim["family"] for lim in plans["fast"].summary["limits"]
                  if lim["binding"] and lim["unit"] and lim["family"] != Family.TIER3_BAN}
    assert bound >= {f.value for f in Family if f is not Family.TIER3_BAN}, bound
