"""A solve returns a finished plan: immutable, its summary built once and written as built (plus
the write timing and the run manifest), the baseline block inside it, and the CLI's summary the
library's."""
from __future__ import annotations

import dataclasses
import json

import pytest
from helpers import M, chip, market, site, write_scenario
from typer.testing import CliRunner

from cli import app
from optimizer import load_scenario, solve, write_plan
from optimizer.analysis.compliance import compare_to_baseline
from optimizer.io.planfiles import _jsonable
from optimizer.results.summary import thaw

RUN_AND_WRITE = ("run", "timings")     # what writing adds (run) or extends (timings.write)


@pytest.fixture
def scn(tmp_path):
    return write_scenario(
        tmp_path / "scn",
        [site("US", "USA", 39.0, -77.5), site("PL", "POL", 52.2, 21.0), site("CN", "CHN", 31.2, 121.5)],
        [chip(inventory=100, capex_usd=10.0)],
        [market("us", "USA", 50 * M, 39.0, -77.5), market("pl", "POL", 50 * M, 52.2, 21.0)],
        installed=[("US", "H", 10)], links=None)


@pytest.fixture
def plan(scn):
    return solve(load_scenario(scn))


def test_a_plan_cannot_be_reassigned(plan):
    for name, value in (("summary", {}), ("prices", None), ("placement", plan.service)):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(plan, name, value)


@pytest.mark.parametrize("patch", [
    lambda s: s.__setitem__("baseline", {}),
    lambda s: s.update(mode="lp-soft"),
    lambda s: s.setdefault("run", {}),
    lambda s: s.pop("explain"),
    lambda s: s["timings"].__setitem__("write", 0.0),
    lambda s: s["notes"].append("patched"),
    lambda s: s["limits"][0].__setitem__("binding", False),
    lambda s: s["cost"].clear(),
], ids=["set", "update", "setdefault", "pop", "nested-dict", "nested-list", "list-of-dicts", "clear"])
def test_a_second_attempt_to_patch_the_summary_raises(plan, patch):
    before = json.dumps(_jsonable(thaw(plan.summary)))
    with pytest.raises(TypeError, match="read-only"):
        patch(plan.summary)
    assert json.dumps(_jsonable(thaw(plan.summary))) == before


def test_summary_json_is_the_summary_as_built_plus_write_timing_and_run(plan, tmp_path):
    built = _jsonable(thaw(plan.summary))
    write_plan(plan, tmp_path / "plan")
    written = json.loads((tmp_path / "plan" / "summary.json").read_text())
    assert set(written) == set(built) | {"run"}
    assert set(written["timings"]) == set(built["timings"]) | {"write"}
    assert {k: v for k, v in written["timings"].items() if k != "write"} == built["timings"]
    assert {k: v for k, v in written.items() if k not in RUN_AND_WRITE} == \
        {k: v for k, v in built.items() if k not in RUN_AND_WRITE}
    assert "run" not in plan.summary and "write" not in plan.summary["timings"]   # a copy was written


def test_baseline_block_arrives_in_the_plan_as_the_cli_composed_it_before(scn):
    """The old CLI solved the baseline itself and compared the two plans: the same block."""
    with_base = solve(load_scenario(scn), baseline="none")
    composed = compare_to_baseline(solve(load_scenario(scn)), solve(load_scenario(scn, "none")))
    block = thaw(with_base.summary["baseline"])
    assert {k: v for k, v in block.items() if k not in ("status", "mode")} == composed
    assert (block["status"], block["mode"]) == ("optimal", "lp")     # how the baseline was solved
    assert with_base.summary["baseline"]["baseline_value"] == pytest.approx(100 * M, rel=1e-6)
    assert "baseline" not in solve(load_scenario(scn)).summary


def test_baseline_of_the_sample_matches_the_value_before_the_change():
    """Recorded from `fleetopt solve datasets/sample --baseline none` before the plan was built once."""
    base = solve(load_scenario("datasets/sample"), baseline="none").summary["baseline"]
    assert base["baseline_policy"] == "none"
    assert base["value"] == pytest.approx(188454168891.28717, rel=1e-9)
    assert base["baseline_value"] == pytest.approx(198375538346.44412, rel=1e-9)
    assert base["value_change_pct"] == pytest.approx(-5.001306883830716, rel=1e-6)


def test_the_solve_commands_summary_is_the_librarys(scn, tmp_path):
    out = tmp_path / "plan"
    r = CliRunner().invoke(app, ["solve", str(scn), "--out", str(out), "--baseline", "none"])
    assert r.exit_code == 0 and r.exception is None, r.output
    written = json.loads((out / "summary.json").read_text())
    library = _jsonable(thaw(solve(load_scenario(scn), baseline="none").summary))
    assert {k: v for k, v in written.items() if k not in RUN_AND_WRITE} == \
        {k: v for k, v in library.items() if k not in RUN_AND_WRITE}
    assert set(written["timings"]) == set(library["timings"]) | {"write"} == \
        {"load", "validate", "build", "solve", "extract", "write"}


def test_a_scenario_not_read_from_a_folder_refuses_a_baseline(scn):
    from optimizer import InputError
    s = dataclasses.replace(load_scenario(scn), path=None)
    with pytest.raises(InputError, match="baseline"):
        solve(s, baseline="none")


def test_summary_writers_take_any_mapping():
    """summary.json and the xlsx summary sheet read a summary as it is (write_plan copies only its
    top level): a nested mapping that is not a dict, as a plan built by hand may hold, is written
    as an object, not refused by json or flattened into one cell."""
    from types import MappingProxyType

    from optimizer.io.planfiles import _flat
    summary = {"a": MappingProxyType({"b": 1.0, "c": MappingProxyType({"d": float("inf")})}), "e": (1, 2),
               "f": [MappingProxyType({"g": 1})]}
    assert json.loads(json.dumps(_jsonable(summary))) == {"a": {"b": 1.0, "c": {"d": None}}, "e": [1, 2],
                                                          "f": [{"g": 1}]}
    assert dict(_flat(summary)) == {"a.b": 1.0, "a.c.d": None, "e": "1, 2"}      # a list of records: its own sheet
