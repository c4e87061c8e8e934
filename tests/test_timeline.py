"""The multi-period loader (optimizer.inputs.timeline): what each period's Scenario holds.
Bad inputs are in the corpus (tests/adversarial/cases_periods.py)."""
from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest
from helpers import M, chip, market, site, write_periods, write_scenario

from optimizer.errors import InputError
from optimizer.inputs import validation
from optimizer.inputs.timeline import has_periods, load_timeline
from optimizer.inputs.validation import load_scenario

QUARTERS = [("Q1", 0.25), ("Q2", 0.25), ("Q3", 0.25)]


def base(folder, **kw):
    return write_scenario(folder, [site("US", "USA", power_mw=10, racks=100), site("PL", "POL", power_mw=5, racks=50)],
                          [chip("H", inventory=100), chip("B", inventory=0)],
                          [market("us", "USA", 50 * M), market("pl", "POL", 20 * M)],
                          installed=[("US", "H", 10)], **kw)


def column(tl, table, name):
    """period -> that period's column (a dict id -> value)."""
    return {p.id: getattr(p.scenario, table)[name].to_dict() for p in tl.periods}


def test_capacity_is_carried_forward_from_its_row_and_sites_csv_before(tmp_path):
    folder = write_periods(base(tmp_path), QUARTERS, capacity=[("PL", "Q2", 0, 0), ("US", "Q3", 20, 200)])
    tl = load_timeline(folder)
    assert column(tl, "sites", "power_mw") == {"Q1": {"US": 10, "PL": 5}, "Q2": {"US": 10, "PL": 0},
                                               "Q3": {"US": 20, "PL": 0}}
    assert column(tl, "sites", "racks")["Q3"] == {"US": 200, "PL": 0}


def test_demand_is_that_period_only(tmp_path):
    folder = write_periods(base(tmp_path), QUARTERS, demand=[("us", "Q2", 70 * M)])
    demand = column(load_timeline(folder), "markets", "demand_tpp")
    assert [demand[q]["us"] for q in ("Q1", "Q2", "Q3")] == [50 * M, 70 * M, 50 * M]
    assert {demand[q]["pl"] for q in demand} == {20 * M}


def test_inventory_is_available_by_the_period_cumulatively(tmp_path):
    folder = write_periods(base(tmp_path), QUARTERS, deliveries=[("B", "Q1", 5), ("H", "Q2", 30), ("B", "Q3", 7)])
    tl = load_timeline(folder)
    assert column(tl, "chips", "inventory") == {"Q1": {"H": 100, "B": 5}, "Q2": {"H": 130, "B": 5},
                                                "Q3": {"H": 130, "B": 12}}
    assert all(p.scenario.installed.equals(tl.first.installed) for p in tl.periods)


def test_a_tier_move_applies_in_its_period_only_with_precedence(tmp_path):
    """datasets < scenario countries.csv (POL -> 1) < that period's policy [tiers] (POL -> 2 in Q2)."""
    folder = base(tmp_path, countries=[{"iso3": "POL", "tier": 1}])
    (folder / "q2.toml").write_text('name = "q2"\nhome_country = "USA"\n[tiers]\nPOL = 2\n')
    write_periods(folder, [("Q1", 0.25, 1, ""), ("Q2", 0.25, 1, "q2.toml"), ("Q3", 0.25, 1, "")])
    tl = load_timeline(folder)
    assert {p.id: int(p.scenario.sites.loc["PL", "tier"]) for p in tl.periods} == {"Q1": 1, "Q2": 2, "Q3": 1}
    assert [p.scenario.policy.name for p in tl.periods] == ["aidr-2025", "q2", "aidr-2025"]
    assert [p.policy_source for p in tl.periods] == ["aidr-2025", "q2.toml", "aidr-2025"]
    assert any(n.startswith("period Q2: POL: the policy's [tiers] puts it in Tier 2") for n in tl.notes), tl.notes


def test_a_policy_used_by_several_periods_is_read_once_and_files_once(tmp_path, monkeypatch):
    reads = Counter()
    read_text = validation._read_text
    monkeypatch.setattr(validation, "_read_text", lambda folder, spec, problems: (
        reads.update([spec.file]), read_text(folder, spec, problems))[1])
    folder = write_periods(base(tmp_path), [(f"Q{i}", 0.25, 1, "none" if i % 2 else "") for i in range(1, 9)],
                           capacity=[("PL", "Q3", 1, 10)], demand=[("us", "Q4", M)], deliveries=[("H", "Q5", 1)])
    tl = load_timeline(folder)
    assert set(reads.values()) == {1}, reads
    policies = {p.scenario.policy.name: p.scenario.policy for p in tl.periods}
    assert all(p.scenario.policy is policies[p.scenario.policy.name] for p in tl.periods)


def test_given_policy_overrides_the_column_with_a_note(tmp_path):
    folder = write_periods(base(tmp_path), [("Q1", 0.5, 1, "aidr-2025-g2g"), ("Q2", 0.5, 1, "")])
    tl = load_timeline(folder, "none")
    assert {p.scenario.policy.name for p in tl.periods} == {"none"}
    assert [n for n in tl.notes if "overridden" in n] == [
        "policy none (given with --policy) applies to every period; periods.csv column policy is "
        "overridden (Q1 (aidr-2025-g2g))"]
    assert not [n for n in load_timeline(write_periods(folder, QUARTERS), "none").notes if "overridden" in n]


def test_one_period_of_one_year_is_the_snapshot_scenario(tmp_path):
    snapshot = load_scenario(base(tmp_path / "snap"))
    folder = write_periods(base(tmp_path / "mp"), [("2025", 1)])
    tl = load_timeline(folder)
    (period,) = tl.periods
    assert (period.id, period.years, period.discount) == ("2025", 1.0, 1.0)
    s = period.scenario
    for name in ("sites", "chips", "markets", "installed"):
        pd.testing.assert_frame_equal(getattr(s, name), getattr(snapshot, name))
    pd.testing.assert_series_equal(s.tiers, snapshot.tiers)
    pd.testing.assert_series_equal(s.counts_as, snapshot.counts_as)
    assert (s.links, s.policy, s.notes, s.name) == (snapshot.links, snapshot.policy, snapshot.notes, "mp")
    assert (s.scenario_tiers, s.economics) == (snapshot.scenario_tiers, snapshot.economics)


def test_snapshot_loader_refuses_a_multi_period_folder(tmp_path):
    folder = base(tmp_path)
    assert not has_periods(folder)
    write_periods(folder, QUARTERS)
    assert has_periods(folder)
    with pytest.raises(InputError, match="periods.csv: .* is a multi-period scenario"):
        load_scenario(folder)


def test_installed_base_above_a_later_capacity_names_the_period_and_file(tmp_path):
    folder = write_periods(base(tmp_path), QUARTERS, capacity=[("US", "Q3", 0.005, 100)])
    with pytest.raises(InputError) as err:
        load_timeline(folder)
    assert err.value.problems == [
        "period Q3: installed.csv: the installed fleet already exceeds capacity.csv (sites.csv before a "
        "site's first row) power_mw at sites US (0.01 > 0.005); lower installed units or raise the site's limit"]
