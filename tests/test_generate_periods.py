"""`fleetopt generate --periods N`: a multi-period fleet, and the snapshot generator unchanged."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cli import app
from optimizer.bench.generate import generate_fleet
from optimizer.inputs.timeline import load_timeline

# sha256 of the CSV files (name, then bytes, in name order) that generate_fleet wrote on main before
# --periods existed: without --periods the output must stay byte-identical per seed.
BEFORE_PERIODS = {(0, 60): "f9299b784b7a5f0968daa469c7d695fba298525bbafcced1b7c0150f770c21a4",
                  (3, 200): "e2ca33d375e39cb45c129c52ef47c63bda551a6244e83e0cf40169411f87ec1a"}


def csv_digest(folder) -> str:
    h = hashlib.sha256()
    for f in sorted(folder.glob("*.csv")):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("seed,sites", sorted(BEFORE_PERIODS))
def test_without_periods_the_fleet_is_byte_identical(tmp_path, seed, sites):
    generate_fleet(tmp_path / "g", sites=sites, seed=seed)
    assert csv_digest(tmp_path / "g") == BEFORE_PERIODS[seed, sites]


def test_periods_make_a_valid_build_out(tmp_path):
    r = CliRunner().invoke(app, ["generate", str(tmp_path / "g"), "--sites", "120", "--periods", "6", "--seed", "4"])
    assert r.exit_code == 0 and r.exception is None, r.output
    generate_fleet(tmp_path / "plain", sites=120, seed=4)
    for name in ("sites.csv", "markets.csv", "installed.csv"):    # the snapshot tables are the same draws
        assert (tmp_path / "g" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes()
    tl = load_timeline(tmp_path / "g")
    assert tl.ids == ["2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1", "2026Q2"]
    assert {p.years for p in tl.periods} == {0.25}
    stock = pd.DataFrame({p.id: p.scenario.chips["inventory"] for p in tl.periods})
    assert (stock.diff(axis=1).iloc[:, 1:] > 0).all().all()             # deliveries in every period
    plain = pd.read_csv(tmp_path / "plain" / "chips.csv").set_index("sku")["inventory"]
    assert (stock.iloc[:, 0] < plain).all()                              # spread, not all at the start
    power = pd.DataFrame({p.id: p.scenario.sites["power_mw"] for p in tl.periods})
    late = power.index[(power.iloc[:, 0] == 0) & (power.iloc[:, -1] > 0)]
    assert 0.05 * len(power) < len(late) < 0.5 * len(power)              # a share energised later
    assert not set(late) & set(tl.first.installed["site_id"])
    demand = pd.DataFrame({p.id: p.scenario.markets["demand_tpp"] for p in tl.periods})
    growth = (demand.iloc[:, 1:].to_numpy() / demand.iloc[:, :-1].to_numpy() - 1)
    assert np.all((growth > 0.05 - 1e-3) & (growth < 0.10 + 1e-3))
    pd.testing.assert_series_equal(demand.iloc[:, 0], pd.read_csv(tmp_path / "plain" / "markets.csv")
                                   .set_index("market_id")["demand_tpp"], check_names=False)


def test_periods_out_of_range_is_refused(tmp_path):
    r = CliRunner().invoke(app, ["generate", str(tmp_path / "g"), "--periods", "0"])
    assert r.exit_code == 2 and not (tmp_path / "g").exists()
