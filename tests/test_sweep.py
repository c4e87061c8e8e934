"""Sweeps: same objectives as separate solves, parallel and Dask runs identical, failures recorded,
and a sweep killed halfway then restarted finishes with the same results."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest

from optimizer import load_scenario, solve
from optimizer.batch.compare import tier_move_ranking
from optimizer.batch.sweep import run_sweep
from optimizer.batch.variants import Variant, apply_variant, grid_variants, variant_id
from optimizer.bench.generate import generate_fleet


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    return generate_fleet(tmp_path_factory.mktemp("sw") / "f", sites=200, skus=4, seed=3)


def seven_percent(base):
    return grid_variants(None, ["max_tier2_country_share=0.04:0.10:0.01"], ["aidr-2025-uveu"], False, base)


def test_sweep_matches_separate_solves(fleet, tmp_path):
    base = load_scenario(fleet)
    variants = seven_percent(base)
    assert len(variants) == 7
    table = run_sweep(fleet, variants, tmp_path / "sweep").set_index("variant")
    assert table["warm_start"].sum() >= 5            # after the first, the model is reused
    for v in variants:
        alone = solve(apply_variant(base, v.params)).summary
        assert table.at[v.id, "objective"] == pytest.approx(alone["objective"], rel=1e-6)
        assert table.at[v.id, "cost_usd"] == pytest.approx(alone["cost"]["total_usd"], rel=1e-6)
    assert (tmp_path / "sweep" / "results.parquet").is_file()
    assert pd.read_parquet(tmp_path / "sweep" / "results.parquet").shape[0] == 7


def test_interrupted_sweep_resumes_to_the_same_results(fleet, tmp_path):
    base = load_scenario(fleet)
    variants = seven_percent(base)
    full = run_sweep(fleet, variants, tmp_path / "full").set_index("variant")["objective"]

    class Killed(Exception):
        pass

    seen = []

    def kill_after_three(row):
        seen.append(row)
        if len(seen) == 3:
            raise Killed

    with pytest.raises(Killed):
        run_sweep(fleet, variants, tmp_path / "cut", progress=kill_after_three)
    done = list((tmp_path / "cut" / "variants").glob("*/result.json"))
    assert 3 <= len(done) < 7
    resumed = run_sweep(fleet, variants, tmp_path / "cut").set_index("variant")["objective"]
    pd.testing.assert_series_equal(resumed.sort_index(), full.sort_index(), rtol=1e-9)


def test_parallel_and_dask_give_identical_results(fleet, tmp_path):
    base = load_scenario(fleet)
    variants = seven_percent(base)[:4]
    one = run_sweep(fleet, variants, tmp_path / "one").set_index("variant")["objective"].sort_index()
    two = run_sweep(fleet, variants, tmp_path / "two", workers=2).set_index("variant")["objective"].sort_index()
    pd.testing.assert_series_equal(one, two, rtol=1e-9)
    pytest.importorskip("distributed")
    dask = run_sweep(fleet, variants, tmp_path / "dask", dask="local").set_index("variant")["objective"].sort_index()
    pd.testing.assert_series_equal(one, dask, rtol=1e-9)


def test_failures_are_recorded_and_others_go_on(fleet, tmp_path):
    # grid_variants refuses tier 7 before any work (see the corpus); a variant made through the
    # library can still fail in its worker, and the others must go on
    variants = [Variant(variant_id(p), p) for p in ({"tier.POL": t, "demand_multiplier": 1.0} for t in (1, 7))]
    table = run_sweep(fleet, variants, tmp_path / "bad").set_index("param:tier.POL")
    assert table.at[1, "status"] == "optimal"
    assert table.at[7, "status"] == "failed" and "must be 1, 2 or 3; bad for POL (7)" in table.at[7, "reason"]


def test_each_tier2_country_to_tier1_ranks_the_moves(fleet, tmp_path):
    base = load_scenario(fleet)
    variants = grid_variants(None, [], [], True, base)
    tier2 = sorted(set(base.sites.loc[base.sites["tier"] == 2, "country"]))
    assert len(variants) == 1 + len(tier2)
    table = run_sweep(fleet, variants, tmp_path / "tiers")
    ranking = tier_move_ranking(table)
    assert sorted(ranking["country"]) == tier2
    assert (ranking["value_of_move"] >= -1e-6 * ranking["base_objective"].abs()).all()  # a move never hurts
    # each value is what the move is worth: a separate solve with the country listed as Tier 1 in
    # the scenario's own countries.csv (not through the sweep), less the base plan's value
    base_value = solve(base).summary["objective"]
    for r in ranking.iloc[[0, -1]].itertuples():
        moved = tmp_path / f"moved-{r.country}"
        shutil.copytree(fleet, moved)
        (moved / "countries.csv").write_text(f"iso3,tier\n{r.country},1\n")
        alone = solve(load_scenario(moved)).summary["objective"]
        assert r.value_of_move == pytest.approx(alone - base_value, rel=1e-6, abs=1e-6 * abs(base_value))


def test_grid_files(fleet, tmp_path):
    base = load_scenario(fleet)
    toml = tmp_path / "grid.toml"
    toml.write_text('policy = ["aidr-2025", "none"]\ndemand_multiplier = "0.5:1.0:0.25"\n')
    assert len(grid_variants(toml, [], [], False, base)) == 6
    csv = tmp_path / "grid.csv"
    csv.write_text("max_tier2_country_share,cap.IND\n0.05,1e9\n0.1,\n")
    got = grid_variants(csv, [], [], False, base)
    assert [v.params for v in got] == [{"max_tier2_country_share": 0.05, "cap.IND": 1e9},
                                       {"max_tier2_country_share": 0.1}]
    bad = tmp_path / "bad.toml"
    bad.write_text("max_share = [1]\n")
    from optimizer import InputError
    with pytest.raises(InputError, match="unknown parameter"):
        grid_variants(bad, [], [], False, base)


def test_sweep_killed_with_sigkill_then_rerun(fleet, tmp_path):
    """The real thing: `fleetopt sweep` in a process killed with SIGKILL after a few variants,
    then the same command again; results equal an uninterrupted sweep's."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    args = [sys.executable, "-c", "from cli import app; app()", "sweep", str(fleet), "--policy", "aidr-2025-uveu",
            "--vary", "max_tier2_country_share=0.04:0.15:0.005"]
    out = tmp_path / "killed"
    proc = subprocess.Popen([*args, "--out", str(out)], cwd=root, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(out.glob("variants/*/result.json"))) < 3:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    n_done = len(list(out.glob("variants/*/result.json")))
    assert 3 <= n_done < 23, n_done
    assert not (out / "results.csv").exists()
    subprocess.run([*args, "--out", str(out)], cwd=root, check=True, capture_output=True)
    subprocess.run([*args, "--out", str(tmp_path / "whole")], cwd=root, check=True, capture_output=True)
    a = pd.read_csv(out / "results.csv").set_index("variant")["objective"].sort_index()
    b = pd.read_csv(tmp_path / "whole" / "results.csv").set_index("variant")["objective"].sort_index()
    assert len(a) == 23
    pd.testing.assert_series_equal(a, b, rtol=1e-9)


def test_sample_tier2_moves_are_ranked(tmp_path):
    """Issue target: moving each Tier-2 country of the sample to Tier 1 in turn finishes and ranks
    the countries by the value of the move."""
    from optimizer.datafiles import data_dir
    sample = data_dir() / "sample"
    base = load_scenario(sample)
    table = run_sweep(sample, grid_variants(None, [], [], True, base), tmp_path / "t")
    ranking = tier_move_ranking(table)
    tier2 = set(base.sites.loc[base.sites["tier"] == 2, "country"])
    assert set(ranking["country"]) == tier2 and (table["status"] == "optimal").all()
    # every value is its own variant's objective less the base variant's, read from the table
    # (0 when within CHANGE_REL of the base objective: solver noise)
    from optimizer.results.plan import CHANGE_REL
    params = table.filter(like="param:tier.")
    base_objective = table.loc[params.isna().all(axis=1), "objective"].item()
    for r in ranking.itertuples():
        gain = table.loc[params[f"param:tier.{r.country}"].notna(), "objective"].item() - base_objective
        noise = abs(gain) <= CHANGE_REL * abs(base_objective)
        assert r.value_of_move == (0.0 if noise else pytest.approx(gain, rel=1e-12))
    assert ranking["value_of_move"].max() > 0            # some move is worth something on the sample
