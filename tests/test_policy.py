"""Policies and tiers, worked by hand: territories count as their sovereign, tier precedence,
the default Tier-3 ban, Policy objects validated like files, and `check` auditing a plan against
the policy it records (from any working directory, with tiers it derives itself), sweep variants
included.

Conventions as in test_hand_solved: chip ``H``, 1 unit = 1 MTPP, 1 kW per unit, value 1 per TPP.
"""
from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest
from helpers import ALL_PATHS, M, chip, market, new_units, site, solve_checked, write_scenario
from typer.testing import CliRunner

from cli import app
from optimizer import load_policy, load_scenario, solve, write_plan
from optimizer.batch.sweep import run_sweep
from optimizer.batch.variants import grid_variants
from optimizer.errors import InputError
from optimizer.policy.policy import Policy

runner = CliRunner()
paths = pytest.mark.parametrize("path", ALL_PATHS)
HOME = 'home_country = "USA"\nmin_home_share = 0.5\n'


def _home_via_territory(tmp_path, countries=None):
    """Sites PR (Puerto Rico, energy 10 USD/MWh) and PL (Poland, free energy); one market of
    100 MTPP that both reach; inventory 100; policy: USA >= 50 %."""
    return write_scenario(tmp_path, [site("PR", "PRI", energy_usd_per_mwh=10.0), site("PL", "POL")],
                          [chip(inventory=100)], [market("m", "POL", 100 * M)], policy=HOME,
                          countries=countries)


@paths
def test_territory_counts_as_home(tmp_path, path):
    """PRI counts as USA (15 CFR 772.1), so the home share can hold: x_PR >= x_PL, and all 100
    MTPP are served. The cost stage prefers PL's free energy: x_PL = x_PR = 50. The summary
    folds PRI's compute into USA (Tier 1, share 0.5); PRI is not a country of its own there."""
    plan = solve_checked(_home_via_territory(tmp_path), path)
    assert plan.summary["objective"] == pytest.approx(100 * M, rel=1e-6)
    assert new_units(plan, "PR") == pytest.approx(50, rel=1e-6)
    assert new_units(plan, "PL") == pytest.approx(50, rel=1e-6)
    countries = {c["iso3"]: c for c in plan.summary["countries"]}
    assert set(countries) == {"USA", "POL"} and countries["USA"]["share"] == pytest.approx(0.5)
    assert plan.summary["home_share"] == pytest.approx(0.5)
    assert plan.placement.set_index("site_id").at["PR", "country"] == "PRI"   # the site as written
    assert plan.summary["policy"]["counts_as"]["PRI"] == "USA"


def test_territory_explicit_entry_wins_with_a_note(tmp_path):
    """countries.csv puts PRI in Tier 2: PRI is then a country of its own, no compute is home,
    and the home share holds only with an empty fleet: nothing is served."""
    s = load_scenario(_home_via_territory(tmp_path, countries=[{"iso3": "pri", "tier": 2}]))
    assert any("PRI" in n and "country of its own" in n for n in s.notes)
    plan = solve(s)
    assert plan.summary["objective"] == pytest.approx(0.0, abs=1e-3)


def _hong_kong(tmp_path, policy):
    """Sites HK (Hong Kong, free energy) and US (energy 10 USD/MWh); one market of 100 MTPP in
    Hong Kong that both reach; inventory 100."""
    return write_scenario(tmp_path, [site("HK", "HKG"), site("US", "USA", energy_usd_per_mwh=10.0)],
                          [chip(inventory=100)], [market("m", "HKG", 100 * M)], policy=policy)


def test_hong_kong_counts_as_china_in_solve_and_check(tmp_path):
    """HKG counts as CHN (datasets/countries.csv, sovereign): under the default Tier-3 ban no unit
    goes to HK, all 100 MTPP are served from the US; check agrees (it derives HK's tier itself)."""
    plan = solve_checked(_hong_kong(tmp_path, ""), "fast")
    assert new_units(plan, "HK") == pytest.approx(0, abs=1e-6)
    assert plan.summary["objective"] == pytest.approx(100 * M, rel=1e-6)
    assert plan.summary["policy"]["counts_as"]["HKG"] == "CHN"
    assert plan.summary["policy"]["tiers_used"]["HKG"] == 3


def test_hong_kong_compute_is_chinas_under_a_tier2_what_if(tmp_path):
    """[tiers] CHN = 2 with a 7 % share: HK's compute is China's, so x_HK <= 0.07·(x_HK + x_US)
    and the cost stage uses as much free HK energy as the limit allows: x_HK = 7, x_US = 93."""
    plan = solve_checked(_hong_kong(tmp_path, "max_tier2_country_share = 0.07\n[tiers]\nCHN = 2\n"), "fast")
    assert new_units(plan, "HK") == pytest.approx(7, rel=1e-6)
    countries = {c["iso3"]: c for c in plan.summary["countries"]}
    assert "HKG" not in countries and countries["CHN"]["share"] == pytest.approx(0.07, rel=1e-6)


@pytest.mark.parametrize("where", ["file", "sweep"])
def test_a_cap_on_a_territory_is_refused(tmp_path, where):
    """A cap on HKG would never apply (caps are per policy country: CHN): exit 2, as for a home
    country that is a territory, in the policy file and as a sweep's cap.HKG."""
    pol = "[tiers]\nCHN = 2\n" + ("[caps]\nHKG = 1000\n" if where == "file" else "")
    f = _hong_kong(tmp_path / "s", pol)
    if where == "file":
        with pytest.raises(InputError, match=r"\[caps\] HKG counts as CHN"):
            load_scenario(f)
    else:
        from optimizer.batch.variants import apply_variant
        with pytest.raises(InputError, match=r"\[caps\] HKG counts as CHN"):
            apply_variant(load_scenario(f), {"cap.HKG": 1000})


def _precedence(tmp_path, policy):
    """Sites US (power for 50 units) and PL; a market of 100 MTPP both reach; countries.csv
    says POL is Tier 1."""
    return write_scenario(tmp_path, [site("US", "USA", power_mw=0.05), site("PL", "POL")],
                          [chip(inventory=100)], [market("m", "USA", 100 * M)], policy=policy,
                          countries=[{"iso3": "POL", "tier": 1}])


@paths
def test_policy_tiers_beat_scenario_countries(tmp_path, path):
    """The policy's [tiers] puts POL back in Tier 2 with a 7 % limit: x_PL <= 0.07·(50 + x_PL),
    so x_PL = 3.5/0.93 = 3.7634 and 53.7634 MTPP are served. The conflict is a note."""
    plan = solve_checked(_precedence(tmp_path, "max_tier2_country_share = 0.07\n[tiers]\nPOL = 2\n"), path)
    assert new_units(plan, "PL") == pytest.approx(3.5 / 0.93, rel=1e-5)      # CBC: 1.4e-6
    assert plan.summary["objective"] == pytest.approx((50 + 3.5 / 0.93) * M, rel=1e-5)
    assert any("POL" in n and "the policy's wins" in n for n in plan.summary["notes"])
    assert plan.summary["policy"]["tiers_used"]["POL"] == 2
    assert plan.summary["policy"]["scenario_tiers"] == {"POL": 1}


def test_scenario_countries_apply_without_a_policy_entry(tmp_path):
    """Without a [tiers] entry, countries.csv's Tier 1 stands: PL is unlimited, all 100 served."""
    plan = solve_checked(_precedence(tmp_path, "max_tier2_country_share = 0.07\n"))
    assert plan.summary["objective"] == pytest.approx(100 * M, rel=1e-6)


def _china(tmp_path, policy):
    """CN (China) and JP sites; a CHN in-country market worth 2 and a JPN one worth 1."""
    return write_scenario(tmp_path, [site("CN", "CHN"), site("JP", "JPN")], [chip(inventory=100)],
                          [market("cn", "CHN", 50 * M, value=2.0, in_country_only=True),
                           market("jp", "JPN", 50 * M, in_country_only=True)], policy=policy)


def test_tier3_ban_is_on_by_default(tmp_path):
    """A policy without ban_tier3 bans Tier 3: only JP is used (value 50 MTPP); ban_tier3 =
    false serves China too (value 150 MTPP)."""
    banned = solve_checked(_china(tmp_path / "a", "min_tier1_share = 0.0\n"))
    assert new_units(banned, "CN") == 0 and banned.summary["objective"] == pytest.approx(50 * M)
    free = solve_checked(_china(tmp_path / "b", "ban_tier3 = false\n"))
    assert new_units(free, "CN") == pytest.approx(50) and free.summary["objective"] == pytest.approx(150 * M)
    assert Policy(name="x", source="x").ban_tier3 and load_policy("nonenforced-2025-05").ban_tier3
    assert not load_policy("none").ban_tier3


def test_policy_objects_are_validated_like_files():
    with pytest.raises(InputError, match="max_tier2_country_share = 7"):
        Policy(name="x", source="x", max_tier2_country_share=7)
    with pytest.raises(InputError, match="home_country"):
        Policy(name="x", source="x", min_home_share=0.5)
    with pytest.raises(InputError, match=r"POL \(1.5\)"):
        dataclasses.replace(load_policy("aidr-2025"), tiers={"POL": 1.5})
    p = Policy(name="x", source="x", home_country="usa", tiers={"pol": 1}, caps={"sau": 5})
    assert (p.home_country, dict(p.tiers), dict(p.caps)) == ("USA", {"POL": 1}, {"SAU": 5.0})


def test_edited_policy_is_recorded_and_checked_from_the_record(tmp_path):
    """A plan made in Python under aidr-2025 with the 7 % limit raised to 60 % (and no cap)
    records the edit; the Tier-1 share (75 %) then binds: x_PL <= 50/3. `check` audits it against
    the recorded values; the preset re-read by name (7 %: x_PL <= 3.76) would break it."""
    f = write_scenario(tmp_path / "scn", [site("US", "USA", power_mw=0.05), site("PL", "POL")],
                       [chip(inventory=100)], [market("m", "USA", 100 * M)])
    edited = dataclasses.replace(load_policy("aidr-2025"), max_tier2_country_share=0.6,
                                 tier2_country_cap_tpp=None)
    plan = solve(load_scenario(f, edited))
    assert new_units(plan, "PL") == pytest.approx(50 / 3)
    record = plan.summary["policy"]
    assert record["name"] == "aidr-2025 (edited: max_tier2_country_share, tier2_country_cap_tpp)"
    assert record["edited"]["max_tier2_country_share"] == {"from": 0.07, "to": 0.6}
    write_plan(plan, tmp_path / "plan")
    ok = runner.invoke(app, ["check", str(f), str(tmp_path / "plan")])
    assert ok.exit_code == 0 and ok.exception is None, ok.output
    assert "edited" in ok.output
    strict = runner.invoke(app, ["check", str(f), str(tmp_path / "plan"), "--policy", "aidr-2025"])
    assert strict.exit_code == 1


def test_check_uses_the_record_from_any_working_directory(tmp_path, monkeypatch):
    """A plan solved under a relative policy file is audited against its record after the file
    is gone and from another working directory: same verdict."""
    write_scenario(tmp_path / "scn", [site("US", "USA", power_mw=0.05), site("PL", "POL")],
                   [chip(inventory=100)], [market("m", "USA", 100 * M)])
    monkeypatch.chdir(tmp_path)
    (tmp_path / "loose.toml").write_text("max_tier2_country_share = 0.5\n")
    r = runner.invoke(app, ["solve", "scn", "--out", "plan", "--policy", "loose.toml"])
    assert r.exit_code == 0, r.output
    (tmp_path / "loose.toml").unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    r = runner.invoke(app, ["check", str(tmp_path / "scn"), str(tmp_path / "plan")])
    assert r.exit_code == 0 and r.exception is None, r.output
    assert "tier2_share" in r.output and "recorded in" in r.output


def test_check_derives_tiers_itself(tmp_path):
    """A plan under `none` uses the Chinese site; rewriting its tier column as 1 does not fool
    the audit against aidr-2025: the Tier-3 ban is broken at CN."""
    f = _china(tmp_path / "scn", None)
    r = runner.invoke(app, ["solve", str(f), "--out", str(tmp_path / "plan"), "--policy", "none"])
    assert r.exit_code == 0, r.output
    placement = pd.read_csv(tmp_path / "plan/placement.csv")
    placement["tier"] = 1
    placement.to_csv(tmp_path / "plan/placement.csv", index=False)
    r = runner.invoke(app, ["check", str(f), str(tmp_path / "plan"), "--policy", "aidr-2025"])
    assert r.exit_code == 1 and "tier3_ban" in r.output and "CN" in r.output


def test_every_sweep_variant_passes_check_on_its_own(tmp_path):
    """A sweep that moves POL to Tier 1, raises the 7 % limit and doubles inventory (demand 300
    MTPP exceeds it; US has power for 150 units): each variant's plan records its parameters and
    passes `fleetopt check` alone (the audit applies the recorded inventory multiplier: 200 units
    placed > 100 on disk); the Tier-1 move's plan (x_PL = 50, 25 % of the fleet) breaks the
    unedited preset's 7 %, so the record is what made it pass."""
    f = write_scenario(tmp_path / "scn", [site("US", "USA", power_mw=0.15), site("PL", "POL")],
                       [chip(inventory=100)], [market("m", "USA", 300 * M)])
    base = load_scenario(f)
    variants = grid_variants(None, ["tier.POL=1,2", "max_tier2_country_share=0.07,0.2",
                                    "inventory_multiplier=1,2"], [], False, base)
    table = run_sweep(f, variants, tmp_path / "sweep")
    assert (table["status"] == "optimal").all() and len(table) == 8
    for v in variants:
        plan_dir = tmp_path / "sweep" / "variants" / v.id / "plan"
        record = json.loads((plan_dir / "summary.json").read_text())["policy"]
        assert record["sweep_parameters"] == v.params
        r = runner.invoke(app, ["check", str(f), str(plan_dir)])
        assert r.exit_code == 0 and r.exception is None, (v.params, r.output)
    moved = next(v for v in variants if v.params == {"tier.POL": 1, "max_tier2_country_share": 0.07,
                                                     "inventory_multiplier": 2})
    r = runner.invoke(app, ["check", str(f), str(tmp_path / "sweep/variants" / moved.id / "plan"),
                            "--policy", "aidr-2025"])
    assert r.exit_code == 1


def test_dates_and_licence_flags_are_validated_like_the_other_keys():
    with pytest.raises(InputError) as err:
        Policy(name="x", source="x", effective="2025-02-30", licence_required=("ARE", "are", "A1"))
    assert err.value.problems == [
        "x: effective = '2025-02-30' must be a date \"YYYY-MM-DD\" (e.g. \"2025-05-13\")",
        "x: licence_required must be ISO 3166-1 alpha-3 codes; bad: 'A1'",
        "x: licence_required lists ARE more than once (codes are case-insensitive)"]
    with pytest.raises(InputError, match=r"superseded \(2025-01-01\) must come after effective"):
        Policy(name="x", source="x", effective="2025-05-13", superseded="2025-01-01")
    with pytest.raises(InputError, match="licence_required must be a list"):
        Policy(name="x", source="x", licence_required="ARE")
    p = Policy(name="x", source="x", effective="2025-05-13", licence_required=["sau"])
    assert (p.effective, p.superseded, p.licence_required) == ("2025-05-13", None, ("SAU",))


def test_a_licence_flag_marks_sites_in_the_summary_and_survives_the_record(tmp_path):
    """Flagged countries limit nothing: the plan equals the unflagged one; the summary names the
    sites holding units there, and check rebuilds the flag from the record."""
    f = write_scenario(tmp_path / "scn", [site("US", "USA", power_mw=0.03), site("AE", "ARE"), site("SA", "SAU")],
                       [chip(inventory=100)], [market("m", "ARE", 100 * M)],
                       policy='ban_tier3 = true\nlicence_required = ["are", "QAT"]\n', installed=[("SA", "H", 5)])
    plan = solve(load_scenario(f))
    free = solve(load_scenario(f, Policy(name="p", source="p")))
    assert plan.summary["objective"] == free.summary["objective"]
    assert [(r["site_id"], r["country"]) for r in plan.summary["licence_required_sites"]] == [("AE", "ARE")]
    assert plan.summary["policy"]["licence_required"] == ["ARE", "QAT"]
    write_plan(plan, tmp_path / "plan")
    r = runner.invoke(app, ["check", str(f), str(tmp_path / "plan")])
    assert r.exit_code == 0 and r.exception is None, r.output
    with pytest.raises(InputError, match="licence_required has unknown country code"):
        load_scenario(f, Policy(name="p", source="p", licence_required=["XXX"]))
