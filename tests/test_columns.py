"""The column policy and the value ranges (README "Columns and value ranges").

* near misses of a known column are refused with "did you mean", extra columns are notes;
* every numeric column's bounds: the edge value loads, just outside is an InputError naming it;
* at the edges of the ranges the plans are exact: the fast path, the plain path and PuLP/CBC
  agree to 1e-6 relative and the independent checker passes.
"""
from __future__ import annotations

import pandas as pd
import pytest
from helpers import M, chip, market, site, write_scenario

from optimizer import check_plan, load_scenario, solve
from optimizer.errors import InputError
from optimizer.inputs.tables import ALL_TABLES, CHIPS, COUNTRIES, INSTALLED, LINKS, MARKETS, SITES
from optimizer.inputs.validation import MAX_VALUE_RATIO, near_miss

MISSPELLED = {
    "energy_usd_per_mw": (SITES, "energy_usd_per_mwh"), "Power_MW": (SITES, "power_mw"),
    "power_mw ": (SITES, "power_mw"), " racks": (SITES, "racks"), "Site ID": (SITES, "site_id"),
    "fixed_cost": (SITES, "fixed_cost_usd"), "energy": (SITES, "energy_usd_per_mwh"),
    "pwer_mw": (SITES, "power_mw"), "longitude": (SITES, "lon"), "lng": (MARKETS, "lon"),
    "capex": (CHIPS, "capex_usd"), "invetory": (CHIPS, "inventory"), "unit_per_rack": (CHIPS, "units_per_rack"),
    "TPP": (CHIPS, "tpp"), "tpp_per_unit": (CHIPS, "tpp"),
    "max_rtt": (MARKETS, "max_rtt_ms"), "demand": (MARKETS, "demand_tpp"), "values": (MARKETS, "value"),
    "in_country": (MARKETS, "in_country_only"), "market": (MARKETS, "market_id"),
    "unit": (INSTALLED, "units"), "rtt": (LINKS, "rtt_ms"), "teir": (COUNTRIES, "tier"),
    # planner synonyms whose silent loss would change the plan a lot (aliases)
    "domestic_only": (MARKETS, "in_country_only"), "sovereign_only": (MARKETS, "in_country_only"),
    "rtt_limit_ms": (MARKETS, "max_rtt_ms"), "max_latency_ms": (MARKETS, "max_rtt_ms"),
    "latency_limit_ms": (MARKETS, "max_rtt_ms"), "capex_per_unit": (CHIPS, "capex_usd"),
    "unit_capex": (CHIPS, "capex_usd"), "capex_per_accelerator": (CHIPS, "capex_usd"),
    "energy_price_usd_per_mwh": (SITES, "energy_usd_per_mwh"), "electricity_price": (SITES, "energy_usd_per_mwh"),
    "demand_mtpp": (MARKETS, "demand_tpp"), "value_per_tpp": (MARKETS, "value"),
}
EXTRA = ("provider", "notes", "city", "owner", "region", "name", "comment", "status", "zone", "operator",
         "state", "capacity", "vendor", "year", "cost", "description", "address", "url", "source",
         "continent", "population", "gpu", "model", "generation", "memory_gb", "datacenter", "cluster",
         "priority", "max_power", "min_rtt", "latency", "label", "type", "currency", "date", "updated",
         # names that extend a column are extra columns, not abbreviations of it
         "metro_name", "pue_source", "value_usd", "value_source", "racks_note", "country_name", "sku_family")


@pytest.mark.parametrize("name", sorted(MISSPELLED))
def test_near_miss_names_the_column_meant(name):
    spec, meant = MISSPELLED[name]
    absent = [c for c in spec.columns if c.name == meant or not c.required]
    assert near_miss(name, absent) == meant


@pytest.mark.parametrize("name", EXTRA)
def test_extra_columns_are_not_near_misses_of_any_column(name):
    assert [near_miss(name, list(spec.columns)) for spec in ALL_TABLES] == [None] * len(ALL_TABLES)


def test_near_miss_ignores_columns_the_file_has(tmp_path):
    """'Power MW' beside power_mw is an extra column (a note), not a misspelling."""
    f = _good(tmp_path)
    _edit(f / "sites.csv", lambda t: t.assign(**{"Power MW": "9"}))
    s = load_scenario(f)
    assert s.notes == ["sites.csv: column Power MW is not used by fleetopt (ignored)"]


def test_extra_columns_are_kept_out_of_the_model(tmp_path):
    f = _good(tmp_path)
    before = solve(load_scenario(f))
    _edit(f / "chips.csv", lambda t: t.assign(owner="x", notes="y"))
    s = load_scenario(f)
    assert list(s.chips.columns) == ["tpp", "power_kw", "units_per_rack", "inventory", "capex_usd", "life_years"]
    plan = solve(s)
    assert plan.summary["notes"] == ["chips.csv: columns owner, notes are not used by fleetopt (ignored)"]
    assert plan.summary["objective"] == before.summary["objective"]


def test_every_problem_of_the_header_is_reported(tmp_path):
    f = _good(tmp_path)
    _edit(f / "sites.csv", lambda t: t.rename(columns={"racks": "rack", "power_mw": "Power_MW"}))
    with pytest.raises(InputError) as err:
        load_scenario(f)
    assert [p for p in err.value.problems if "did you mean" in p] == [
        "sites.csv: column 'Power_MW' is not a fleetopt column; did you mean power_mw? "
        "(column names are exact: lower case, no spaces)",
        "sites.csv: column 'rack' is not a fleetopt column; did you mean racks? "
        "(column names are exact: lower case, no spaces)"]
    assert not any("missing column" in p for p in err.value.problems)


def test_value_problems_are_reported_beside_header_problems(tmp_path):
    f = _good(tmp_path)
    _edit(f / "markets.csv", lambda t: t.rename(columns={"max_rtt_ms": "max_rtt"}).assign(value=["-1", "x"]))
    with pytest.raises(InputError) as err:
        load_scenario(f)
    assert [p.split(";")[0] for p in err.value.problems] == [
        "markets.csv: column 'max_rtt' is not a fleetopt column",
        "markets.csv: column value has values that are not numbers in rows pl (x)",
        "markets.csv: column value must be 0 or between 0.001 and 1e6 (the range fleetopt solves exactly, "
        "see README 'Columns and value ranges')"]


def test_windows_line_endings_and_bom_read_the_same(tmp_path):
    f = _good(tmp_path)
    plain = load_scenario(f)
    for path in f.glob("*.csv"):
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    other = load_scenario(f)
    for table in ("sites", "chips", "markets", "installed"):
        pd.testing.assert_frame_equal(getattr(plain, table), getattr(other, table))


# --- bounds, one numeric column at a time ---------------------------------------------------------

NUMERIC = [(spec, col) for spec in (SITES, CHIPS, MARKETS, INSTALLED, LINKS) for col in spec.columns
           if col.kind == "float"]


@pytest.mark.parametrize("spec,col", NUMERIC, ids=[f"{s.file}:{c.name}" for s, c in NUMERIC])
def test_each_bound_holds_at_the_edge_and_refuses_beyond(tmp_path, spec, col):
    edges = [(v, v - abs(v) * 1e-3 - 1e-12) for v in (col.min,) if v is not None]
    edges += [(v, v * 1.001) for v in (col.max,) if v is not None]
    edges += [(v, v * 0.999) for v in (col.min_positive,) if v]
    assert edges
    for inside, outside in edges:
        f = _good(tmp_path / f"in{inside}", links=spec is LINKS)
        _set(f, spec, col.name, inside)
        assert _range_problems(f, spec, col.name) == []
        _set(f, spec, col.name, outside)
        assert len(_range_problems(f, spec, col.name)) == 1


def test_value_ratio_at_the_limit_loads_and_beyond_is_refused(tmp_path):
    f = _good(tmp_path)
    _edit(f / "markets.csv", lambda t: t.assign(value=["1e-3", str(1e-3 * MAX_VALUE_RATIO)]))
    load_scenario(f)
    _edit(f / "markets.csv", lambda t: t.assign(value=["1e-3", str(1.001e-3 * MAX_VALUE_RATIO)]))
    with pytest.raises(InputError, match="ratio above 1e6"):
        load_scenario(f)
    _edit(f / "markets.csv", lambda t: t.assign(demand_tpp=["0", "100"]))   # no demand: no ratio
    load_scenario(f)


# --- plans are exact at the edges ----------------------------------------------------------------

EDGES = {
    "values 1e-3 and 1e3 (ratio limit, smallest value)": dict(values=(1e-3, 1e3)),
    "values 1 and 1e6 (ratio limit, largest value)": dict(values=(1.0, 1e6)),
    "tpp 100 per unit": dict(tpp=100.0, demand=1e4),
    "tpp 1e8 per unit, big inventory": dict(tpp=1e8, inventory=1e9, demand=1e13, power_mw=1e5, racks=1e7),
    "largest of every column": dict(tpp=1e8, inventory=1e9, demand=1e13, power_kw=1e3, units_per_rack=0.1,
                                    capex_usd=1e9, power_mw=1e5, racks=1e7, values=(1.0, 1e6)),
    "smallest demand, largest tpp": dict(tpp=1e8, demand=1e2),
    "smallest of every column": dict(tpp=100.0, inventory=1e3, demand=1e2, power_kw=1e-3, units_per_rack=1e3,
                                     power_mw=1e-3, racks=1.0, values=(1e-3, 1e-3)),
}


@pytest.mark.parametrize("edge", list(EDGES))
def test_plans_are_exact_at_the_edges(tmp_path, edge):
    s = load_scenario(_edge_scenario(tmp_path, **EDGES[edge]))
    objectives = {}
    for path in ("fast", "plain", "pulp"):
        plan = solve(s, path=path)
        assert check_plan(s, plan.placement, plan.service).ok, (path, plan.summary)
        objectives[path] = plan.summary["objective"]
    ref = objectives["pulp"]
    assert ref > 0
    for path in ("fast", "plain"):
        assert objectives[path] == pytest.approx(ref, rel=1e-6), objectives


# --- helpers ------------------------------------------------------------------------------------------

def _edge_scenario(folder, values=(1.0, 1.0), tpp=M, inventory=100.0, demand=50 * M, power_kw=1.0,
                   units_per_rack=10, capex_usd=10.0, power_mw=1000.0, racks=1e5):
    """Three sites (USA, POL, CHN), two markets, an installed base: the corpus's scenario, scaled."""
    sites = [site(i, c, lat, lon, power_mw=power_mw, racks=racks, energy_usd_per_mwh=50.0)
             for i, c, lat, lon in (("US", "USA", 39.0, -77.5), ("PL", "POL", 52.2, 21.0),
                                    ("CN", "CHN", 31.2, 121.5))]
    units = min(10.0, inventory / 10, power_mw * 1000 / power_kw / 10, racks * units_per_rack / 10)
    return write_scenario(
        folder, sites, [chip(tpp=tpp, inventory=inventory, capex_usd=capex_usd, power_kw=power_kw,
                             units_per_rack=units_per_rack)],
        [market("us", "USA", demand, 39.0, -77.5, value=values[0]),
         market("pl", "POL", demand, 52.2, 21.0, value=values[1], in_country_only=True)],
        installed=[("US", "H", units)])


def _good(folder, links=False):
    return write_scenario(
        folder, [site("US", "USA", 39.0, -77.5), site("PL", "POL", 52.2, 21.0)], [chip()],
        [market("us", "USA", 50 * M, 39.0, -77.5), market("pl", "POL", 50 * M, 52.2, 21.0)],
        installed=[("US", "H", 10)],
        links=[dict(market_id="us", site_id="US", rtt_ms=1.0)] if links else None)


def _range_problems(folder, spec, column) -> list[str]:
    """The problems loading ``folder`` reports about ``column``'s range (other checks, such as an
    installed base over a site's power, may fail too: they are not this test's business)."""
    try:
        load_scenario(folder)
    except InputError as err:
        return [p for p in err.problems if p.startswith(f"{spec.file}: column {column} must be")]
    return []


def _edit(path, fn):
    fn(pd.read_csv(path, dtype=str, keep_default_na=False)).to_csv(path, index=False)


def _set(folder, spec, column, value):
    """Set ``column`` of ``spec``'s file to ``value`` in every row (installed: units > 0 fits)."""
    _edit(folder / spec.file, lambda t: t.assign(**{column: repr(float(value))}))
