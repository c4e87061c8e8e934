"""The HTML report opens with no network and every chart draws, checked in headless Chromium
(Debian's chromium package, which .ci/run installs)."""
from __future__ import annotations

import shutil
import subprocess

import pytest
from helpers import M, chip, market, site, write_scenario

from optimizer import load_scenario, solve
from optimizer.analysis.report import CHARTS, charts_drawn, render_report, write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def dump_dom(path, tmp_path) -> str:
    out = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                          path.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    return out.stdout


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    f = write_scenario(tmp_path_factory.mktemp("rep"),
                       [site("US", "USA", 39.0, -77.5), site("PL", "POL", 52.2, 21.0), site("CN", "CHN", 31.2, 121.5)],
                       [chip(inventory=100)],
                       [market("us", "USA", 50 * M, 39.0, -77.5), market("pl", "POL", 80 * M, 52.2, 21.0, in_country_only=True),
                        market("cn", "CHN", 20 * M, 31.2, 121.5, in_country_only=True)],
                       installed=[("US", "H", 10)])
    return solve(load_scenario(f))


def test_report_is_self_contained(plan, tmp_path):
    html = render_report(plan)
    assert "http://" not in html and "https://" not in html and "<script src" not in html
    for chart in CHARTS:
        assert f'id="{chart}"' in html


@needs_chromium
def test_every_chart_draws(plan, tmp_path):
    path = write_report(plan, tmp_path / "report.html")
    drawn = charts_drawn(dump_dom(path, tmp_path))
    assert set(drawn) == set(CHARTS)
    assert all(n > 0 for n in drawn.values()), drawn


@needs_chromium
def test_a_missing_chart_is_caught(plan, tmp_path):
    html = render_report(plan).replace('<canvas id="chart-map"', '<div id="gone"')
    path = tmp_path / "broken.html"
    path.write_text(html)
    drawn = charts_drawn(dump_dom(path, tmp_path))
    assert "chart-map" not in drawn and set(CHARTS) - set(drawn) == {"chart-map"}
