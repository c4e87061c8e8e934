"""The HTML report: one self-contained file (no network), the same from ``solve --report`` and
from ``fleetopt report`` on the plan folder, every chart drawn with no clipped text (checked in
headless Chromium: Debian's chromium package, which .ci/run installs), a real map, and a
rendered page that looks like the committed screenshot of the sample's report.

Where Chromium is absent the browser tests are skipped, except when FLEETOPT_REQUIRE_BROWSER=1
(.ci/run sets it): there a missing browser fails them."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pandas as pd
import pytest
from helpers import M, chip, market, site, write_scenario
from typer.testing import CliRunner

from cli import app
from optimizer import load_scenario, solve
from optimizer.analysis.report import (
    ASSETS,
    CHARTS,
    OPTIONAL_CHARTS,
    PERIOD_CHARTS,
    _num,
    charts_drawn,
    period_rows,
    render_report,
    report_data,
    world,
    write_report,
)
from optimizer.datafiles import data_dir
from optimizer.outdir import folder_kind

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRED = os.environ.get("FLEETOPT_REQUIRE_BROWSER") == "1"
needs_chromium = pytest.mark.skipif(CHROMIUM is None and not REQUIRED,
                                    reason="Debian's chromium is not installed (.ci/run installs it)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
runner = CliRunner()


def browser() -> str:
    assert CHROMIUM is not None, "FLEETOPT_REQUIRE_BROWSER=1 but chromium is not installed"
    return CHROMIUM


def screenshot(path: Path, tmp_path: Path, size: tuple[int, int]) -> Path:
    """The page at ``path`` rendered in a window of ``size`` (width, height) pixels, as PNG."""
    shot = tmp_path / "shot.png"
    subprocess.run([browser(), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={size[0]},{size[1]}",
                    f"--screenshot={shot}", path.resolve().as_uri()], capture_output=True, timeout=120)
    assert shot.is_file(), "chromium wrote no screenshot"
    return shot


def dump_dom(path: Path, tmp_path: Path) -> str:
    out = subprocess.run([browser(), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                          path.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    return out.stdout


def tiny(folder: Path) -> Path:
    return write_scenario(
        folder, [site("US", "USA", 39.0, -77.5), site("PL", "POL", 52.2, 21.0), site("CN", "CHN", 31.2, 121.5)],
        [chip(inventory=100)],
        [market("us", "USA", 50 * M, 39.0, -77.5), market("pl", "POL", 80 * M, 52.2, 21.0, in_country_only=True),
         market("cn", "CHN", 20 * M, 31.2, 121.5, in_country_only=True)],
        installed=[("US", "H", 10)])


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    return solve(load_scenario(tiny(tmp_path_factory.mktemp("rep"))))


@pytest.fixture(scope="module")
def full_plan(tmp_path_factory):
    """A soft plan (a cheap Tier-2 share, so POL goes over it) with a baseline: every chart shows."""
    s = load_scenario(tiny(tmp_path_factory.mktemp("full")))
    return solve(s, soft={"tier2_share": 1e-9}, baseline="none")


def test_report_is_self_contained(plan):
    html = render_report(plan)
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    assert "<script src" not in html and "<link" not in html and "<img" not in html
    for chart in CHARTS:
        assert f'id="{chart}"' in html


def test_the_map_draws_every_site_country_and_unserved_market(plan):
    html = render_report(plan)
    svg = html[html.index('<svg id="chart-map"'):html.index("</svg>")]
    assert svg.count('<circle class="site"') == len(plan.scenario.sites)
    assert svg.count("<path d=") >= len(world()["countries"]) > 150
    assert svg.count('class="unserved"') == 2     # pl (its Tier-2 share) and cn (Tier 3: no eligible site)
    assert "<title>Poland (POL), Tier 2: " in svg and "<title>Germany (DEU), Tier 1</title>" in svg
    assert re.search(r"<title>CN \(CHN, Tier 3\): 0 TPP", svg)


def test_tier2_row_shows_the_limit_that_binds_first(plan):
    s = plan.scenario
    data = report_data(s, plan.placement, plan.service, plan.summary)
    pol = next(r for r in data["tier2"] if r["iso3"] == "POL")
    share_limit = s.policy.max_tier2_country_share * data["facts"]["total_tpp"]
    assert pol["limit"] == pytest.approx(min(s.policy.cap_for("POL"), share_limit))
    assert pol["limit_name"] == ("cap" if s.policy.cap_for("POL") < share_limit else "7 % of the fleet")
    assert all(c["tier"] != 2 for c in data["tier1"])


def test_prices_are_grouped_by_unit(full_plan):
    data = report_data(full_plan.scenario, full_plan.placement, full_plan.service, full_plan.summary)
    explain = full_plan.summary["explain"]
    units = {p["unit"] for p in [*explain["policy_prices"], *explain["physical_prices_top"]]}
    assert sorted(p["unit"] for p in data["prices"]) == sorted(units)
    shown = {r["limit"]: p["unit"] for p in data["prices"] for r in p["rows"]}
    for p in [*explain["policy_prices"], *explain["physical_prices_top"]]:
        assert shown.get(p["limit"], p["unit"]) == p["unit"]


def test_a_plan_with_periods_is_refused_not_summed(plan):
    """Summing a multi-period plan's periods would draw a fleet that never exists: refused."""
    from optimizer.errors import InputError
    from optimizer.results.plan import Plan
    periodic = Plan(plan.placement.assign(period="2025"), plan.service.assign(period="2025"), plan.summary,
                    plan.scenario)
    with pytest.raises(InputError, match="give the multi-period scenario it was planned on"):
        render_report(periodic)


def test_headroom_table_has_every_site(plan):
    html = render_report(plan)
    table = html[html.index('<table id="headroom"'):html.index("</table>")]
    assert table.count("<tr>") == 1 + len(plan.scenario.sites)
    for col in ("MW used", "MW", "racks used", "racks"):
        assert f">{col}</th>" in table


def test_report_command_gives_the_same_page_as_solve_report(tmp_path):
    scn = tiny(tmp_path / "scn")
    r = runner.invoke(app, ["solve", str(scn), "--out", str(tmp_path / "plan"), "--baseline", "none",
                            "--report", str(tmp_path / "solved.html")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["report", str(scn), str(tmp_path / "plan"), "--out", str(tmp_path / "again.html")])
    assert r.exit_code == 0 and r.exception is None, r.output
    assert (tmp_path / "again.html").read_text() == (tmp_path / "solved.html").read_text()


def test_a_hand_made_plan_is_reported_from_its_tables(plan, tmp_path):
    """Only placement.csv and service.csv with the required columns: derived columns come from the
    scenario, and the page says the status is not recorded."""
    folder = tmp_path / "hand"
    folder.mkdir()
    plan.placement[["site_id", "sku", "installed_units", "new_units", "units"]].to_csv(folder / "placement.csv",
                                                                                     index=False)
    plan.service[["market_id", "site_id", "tpp"]].to_csv(folder / "service.csv", index=False)
    r = runner.invoke(app, ["report", str(plan.scenario.path), str(folder), "--out", str(tmp_path / "h.html")])
    assert r.exit_code == 0, r.output
    html = (tmp_path / "h.html").read_text()
    assert "not recorded (the plan has no summary.json)" in html
    assert f"served {plan.summary['served_pct']:.2f} %" in html


def test_a_sweep_variant_plan_is_reported(tmp_path):
    scn = tiny(tmp_path / "scn")
    r = runner.invoke(app, ["sweep", str(scn), "--vary", "demand_multiplier=0.5", "--out", str(tmp_path / "sw")])
    assert r.exit_code == 0, r.output
    variant = next((tmp_path / "sw" / "variants").iterdir()) / "plan"
    r = runner.invoke(app, ["report", str(scn), str(variant)])
    assert r.exit_code == 0, r.output
    page = tmp_path / f"sw-{variant.parent.name}.html"     # beside the sweep folder, not inside it
    data = json.loads(re.search(r'id="fleet-data">(.*?)</script>', page.read_text()).group(1))
    demand = float(load_scenario(scn).markets["demand_tpp"].sum())
    assert data["facts"]["demand_tpp"] == pytest.approx(0.5 * demand)    # the variant's demand, not the base's
    assert folder_kind(tmp_path / "sw") == "sweep"                        # still resumable
    r = runner.invoke(app, ["report", str(scn), str(variant), "--out", str(tmp_path / "sw" / "r.html")])
    assert r.exit_code == 2 and "would overwrite a file in" in r.output and not (tmp_path / "sw" / "r.html").exists()


def test_ci_requires_the_browser():
    """.ci/run makes a missing Chromium a failure of the browser tests, not a skip."""
    assert "export FLEETOPT_REQUIRE_BROWSER=1" in (ROOT / ".ci" / "run").read_text()


def test_the_world_file_is_package_data():
    """pyproject's package-data globs ship every file in optimizer/assets (a fresh `pip install .`
    has the map); the file is small and records its source and licence."""
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["optimizer"]
    for path in ASSETS.iterdir():
        assert any(fnmatch(f"assets/{path.name}", g) for g in globs), path.name
    assert (ASSETS / "world110m.json").stat().st_size < 300_000
    assert "public domain" in world()["licence"] and "Natural Earth" in (ASSETS / "README.md").read_text()


@needs_chromium
def test_every_chart_draws_and_no_text_is_clipped(full_plan, tmp_path):
    path = write_report(full_plan, tmp_path / "report.html")
    dom = dump_dom(path, tmp_path)
    drawn = charts_drawn(dom)
    assert set(drawn) == set(CHARTS) | set(OPTIONAL_CHARTS)
    assert all(n > 0 for n in drawn.values()), drawn
    clipped = charts_drawn(dom, "data-clipped")
    assert set(clipped) == set(drawn) - {"chart-map"} and not any(clipped.values()), clipped


@needs_chromium
def test_a_clipped_label_is_caught(plan, tmp_path):
    html = re.sub(r'<canvas id="chart-unserved" width="1000" height="\d+"',
                  '<canvas id="chart-unserved" width="1000" height="30"', render_report(plan))
    path = tmp_path / "narrow.html"
    path.write_text(html)
    assert charts_drawn(dump_dom(path, tmp_path), "data-clipped")["chart-unserved"] > 0


@needs_chromium
def test_a_very_long_label_widens_its_chart_instead_of_clipping(plan, tmp_path):
    long = "market-" + "x" * 200
    html = render_report(plan)
    assert '"market_id": "pl"' in html
    path = tmp_path / "long.html"
    path.write_text(html.replace('"market_id": "pl"', f'"market_id": "{long}"'))
    dom = dump_dom(path, tmp_path)
    assert charts_drawn(dom)["chart-unserved"] == 2 and charts_drawn(dom, "data-clipped")["chart-unserved"] == 0
    width = int(re.search(r'<canvas id="chart-unserved" width="(\d+)"', dom).group(1))
    assert width > 1000


@needs_chromium
def test_a_missing_chart_is_caught(plan, tmp_path):
    html = render_report(plan).replace('<canvas id="chart-tier2"', '<div id="gone"')
    path = tmp_path / "broken.html"
    path.write_text(html)
    drawn = charts_drawn(dump_dom(path, tmp_path))
    assert set(CHARTS) - set(drawn) == {"chart-tier2"}


@needs_chromium
def test_the_headroom_table_sorts(plan, tmp_path):
    """Clicking the TPP header twice sorts the rows by TPP, largest first."""
    click = "<script>const th = document.querySelectorAll('#headroom th')[3]; th.click(); th.click();</script>"
    path = tmp_path / "sorted.html"
    path.write_text(render_report(plan).replace("</body>", click + "</body>"))
    dom = dump_dom(path, tmp_path)
    table = dom[dom.index('<table id="headroom"'):]
    values = [float(v) for v in re.findall(r"data-v=\"([^\"]+)\"", table[:table.index("</table>")])]
    assert values == sorted(values, reverse=True) and values[0] > values[-1]


SAMPLE_PNG = ROOT / "docs" / "report-sample.png"     # also the README's picture of the report
PIXEL_STEP = 48          # a pixel differs when a colour channel moves by more than this (of 255)
MAX_DIFFERING = 0.02     # the bound: at most 2 % of the pixels differ


def differing_fraction(a: Path, b: Path) -> float:
    """Fraction of pixels with a colour channel that differs by more than PIXEL_STEP (1.0 when the
    sizes differ): robust to the reference's 64-colour palette and to anti-aliasing, not to a
    chart that moved, vanished or changed colour."""
    import numpy as np
    from PIL import Image
    x, y = (np.asarray(Image.open(p).convert("RGB"), dtype=np.int16) for p in (a, b))
    return 1.0 if x.shape != y.shape else float((np.abs(x - y).max(axis=2) > PIXEL_STEP).mean())


@needs_chromium
def test_the_sample_report_looks_like_the_committed_screenshot(tmp_path):
    """The sample's report, rendered, against docs/report-sample.png. After an intended change to
    the page, regenerate the picture: FLEETOPT_UPDATE_SCREENSHOT=1 pytest tests/test_report.py -k screenshot
    (then look at it, and commit it)."""
    from PIL import Image
    s = load_scenario(data_dir() / "sample")
    page = write_report(solve(s, baseline="none"), tmp_path / "sample.html")
    if os.environ.get("FLEETOPT_UPDATE_SCREENSHOT") == "1":
        _update_reference(screenshot(page, tmp_path, (1100, 9000)))
    with Image.open(SAMPLE_PNG) as ref:
        size = ref.size
    fraction = differing_fraction(screenshot(page, tmp_path, size), SAMPLE_PNG)
    assert fraction <= MAX_DIFFERING, (f"{100 * fraction:.2f} % of the pixels differ from {SAMPLE_PNG.name}; if the "
                                       "change is intended, regenerate it (see this test's docstring)")


def _update_reference(shot: Path) -> None:
    """Crop the screenshot below its last non-white row and store it with a 64-colour palette
    (about a quarter of the size; the comparison tolerates the palette)."""
    import numpy as np
    from PIL import Image
    with Image.open(shot) as im:
        grey = np.asarray(im.convert("L"))
        bottom = int(np.flatnonzero((grey < 250).any(axis=1)).max()) + 24
        im.crop((0, 0, im.width, bottom)).convert("P", palette=Image.ADAPTIVE, colors=64).save(SAMPLE_PNG, optimize=True)


def test_numbers_read_as_the_charts_write_them():
    assert [_num(v) for v in (790e6, 46.8e9, 4761.2, -6.9e9, 12)] == ["790.0M", "46.80B", "4.8k", "-6.90B", "12"]
    assert _num(4761.2, sign=True) == "+4.8k"


def test_the_report_speaks_dollars_when_the_markets_do(tmp_path):
    """usd_per_h100e_hour markets: revenue, margin and prices in USD per year; abstract values are
    said to be abstract; the annualised cost is beside the cash capex in both."""
    from test_money import money_scenario
    plan = solve(money_scenario(tmp_path / "usd"), objective="margin")
    html = render_report(plan)
    money = plan.summary["economics"]
    assert f"revenue ${money['revenue_usd_per_year']:,.0f} per year" in html
    assert f"margin ${money['margin_usd_per_year']:,.0f} per year" in html and "objective <b>margin</b>" in html
    assert '"value_unit": "USD per year"' in html and "abstract" not in html
    assert f"${plan.summary['cost']['annualised_usd_per_year']:,.0f} per year" in html


def test_abstract_values_are_said_to_be_abstract(plan):
    html = render_report(plan)
    assert "abstract value units (markets.csv gives <code>value</code>, not dollars)" in html
    assert f"${plan.summary['cost']['annualised_capex_usd_per_year']:,.0f} per year as an annuity" in html


@pytest.fixture(scope="module")
def timeline_plan(tmp_path_factory):
    """Three yearly periods of the tiny scenario: inventory arriving, US demand growing."""
    from timeline_helpers import timeline_from

    from optimizer.planner.periods import solve_timeline
    folder = tiny(tmp_path_factory.mktemp("periods"))
    return solve_timeline(timeline_from(folder, [
        ("2025", 1.0, 1.0, {"inventory": {"H": 30}}),
        ("2026", 1.0, 0.9, {"inventory": {"H": 60}, "demand": {"us": 70 * M}}),
        ("2027", 1.0, 0.8, {"inventory": {"H": 100}, "demand": {"us": 90 * M}})]))


def test_a_multi_period_plan_has_charts_per_period_and_its_last_fleet(timeline_plan):
    html = render_report(timeline_plan)
    for chart in (*PERIOD_CHARTS, *CHARTS):
        assert f'id="{chart}"' in html
    rows = period_rows(timeline_plan.summary)
    assert [r["period"] for r in rows] == ["2025", "2026", "2027"]
    for r, p in zip(rows, timeline_plan.summary["periods"]):
        assert sum(r["tiers"]) == pytest.approx(p["total_tpp"]) and r["served_tpp"] == p["served_tpp"]
    last = timeline_plan.placement.loc[timeline_plan.placement["period"] == "2027"]
    data = json.loads(re.search(r'id="fleet-data">(.*?)</script>', html).group(1))
    assert data["facts"]["total_tpp"] == pytest.approx(float(last["tpp"].sum()))     # the last period, not a sum
    assert "3 periods (2025 to 2027)" in html and "The fleet at the end of 2027" in html


@needs_chromium
def test_every_period_chart_draws(timeline_plan, tmp_path):
    dom = dump_dom(write_report(timeline_plan, tmp_path / "periods.html"), tmp_path)
    drawn = charts_drawn(dom)
    assert set(drawn) == {*CHARTS, *PERIOD_CHARTS}
    assert all(n > 0 for chart, n in drawn.items() if chart != "chart-prices"), drawn   # prices: per period, in summary.json
    assert not any(charts_drawn(dom, "data-clipped").values())


@pytest.fixture(scope="module")
def generated_timeline(tmp_path_factory):
    """A generated three-quarter fleet, solved and written: (scenario folder, plan folder, plan)."""
    from optimizer import write_plan
    from optimizer.bench.generate import generate_fleet
    from optimizer.inputs.timeline import load_timeline
    from optimizer.planner.periods import solve_timeline
    root = tmp_path_factory.mktemp("quarters")
    generate_fleet(root / "scn", sites=60, seed=3, periods=3)
    plan = solve_timeline(load_timeline(root / "scn"))
    write_plan(plan, root / "plan")
    return root / "scn", root / "plan", plan


def test_report_command_on_a_multi_period_plan_folder(generated_timeline, tmp_path):
    """The page rebuilt from the written tables is the page of the solved plan."""
    scn, folder, plan = generated_timeline
    r = runner.invoke(app, ["report", str(scn), str(folder), "--out", str(tmp_path / "q.html")])
    assert r.exit_code == 0 and r.exception is None, r.output
    page = (tmp_path / "q.html").read_text()
    assert all(f'id="{chart}"' in page for chart in PERIOD_CHARTS)
    assert page == render_report(plan)


def test_a_one_period_plan_on_a_multi_period_scenario_is_refused(generated_timeline, tmp_path):
    scn, folder, _ = generated_timeline
    snapshot = tmp_path / "snap"
    snapshot.mkdir()
    for name in ("placement.csv", "service.csv"):
        pd.read_csv(folder / name).drop(columns="period").to_csv(snapshot / name, index=False)
    r = runner.invoke(app, ["report", str(scn), str(snapshot), "--out", str(tmp_path / "s.html")])
    assert r.exit_code == 2 and "no period column" in r.output and not (tmp_path / "s.html").exists()
