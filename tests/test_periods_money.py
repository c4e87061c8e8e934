"""Money over time in multi-period plans (issues 11 and 12): each period's discount from
periods.csv or derived from economics.toml ``discount_rate``, and ``--objective margin``.

Conventions as tests/test_periods.py: chip ``H`` with tpp 1e6 (1 unit = 1 MTPP), 1 kW, 10 units
per rack. Each docstring derives what it asserts.
"""
from __future__ import annotations

import pytest
from helpers import M, chip, market, site, write_periods, write_scenario

from optimizer.errors import InputError
from optimizer.inputs.economics import period_discounts
from optimizer.inputs.timeline import load_timeline

PERIODS = [("A", 0.25), ("B", 0.5), ("C", 1.0)]


def folder(tmp_path, periods=PERIODS, rate: str | None = "0.08"):
    """One U.S. site and market; economics.toml with ``rate`` (None: no file, "": no key)."""
    f = write_scenario(tmp_path / "scn", [site("US", "USA")], [chip()], [market("us", "USA", 10 * M)])
    if rate is not None:
        (f / "economics.toml").write_text(f"discount_rate = {rate}\n" if rate else "")
    return write_periods(f, periods)


def discounts(tl) -> list[float]:
    return [p.discount for p in tl.periods]


def test_period_discounts_count_the_years_before_each_period():
    """Starts at 0, 0.25, 0.75 years: (1.08)^0, (1.08)^-0.25, (1.08)^-0.75."""
    assert period_discounts(0.08, [0.25, 0.5, 1.0]) == pytest.approx([1.0, 1.08 ** -0.25, 1.08 ** -0.75], rel=1e-12)
    assert period_discounts(0.0, [1.0, 1.0]) == pytest.approx([1.0, 1.0])


def test_discount_derived_from_the_rate_when_periods_csv_has_none(tmp_path):
    """No discount column, discount_rate 0.08: derived, said in a note naming the rate."""
    tl = load_timeline(folder(tmp_path))
    assert discounts(tl) == pytest.approx([1.0, 1.08 ** -0.25, 1.08 ** -0.75], rel=1e-12)
    note = next(n for n in tl.notes if "discount" in n)
    assert "derived from economics.toml discount_rate = 0.08" in note and "B (0.9809)" in note


def test_periods_csv_discount_wins_over_the_rate(tmp_path):
    """A discount column and a rate: the column discounts, and a note says the rate sets only the annuity."""
    tl = load_timeline(folder(tmp_path, [("A", 0.25, 1.0), ("B", 0.25, 0.5)]))
    assert discounts(tl) == [1.0, 0.5]
    assert any("periods.csv wins" in n for n in tl.notes)


@pytest.mark.parametrize("rate", [None, ""])
def test_without_a_rate_every_discount_stays_one(tmp_path, rate):
    """No economics.toml, or one without discount_rate: today's behaviour, discount 1, no note."""
    tl = load_timeline(folder(tmp_path, rate=rate))
    assert discounts(tl) == [1.0, 1.0, 1.0]
    assert not any("discount" in n for n in tl.notes)


def test_a_blank_discount_with_a_rate_is_refused(tmp_path):
    """Some periods with a discount, some blank, and a rate: two sources, exit 2."""
    with pytest.raises(InputError, match=r"column discount is empty in periods B .*leave the column out"):
        load_timeline(folder(tmp_path, [("A", 0.25, 1.0), ("B", 0.25, None)]))


def test_a_blank_discount_without_a_rate_is_one(tmp_path):
    tl = load_timeline(folder(tmp_path, [("A", 0.25, 0.9), ("B", 0.25, None)], rate=None))
    assert discounts(tl) == [0.9, 1.0]


def test_a_derived_discount_below_the_range_is_refused(tmp_path):
    """Rate 1 over 20 years before C: 2^-20 < 0.001, outside the range solved exactly."""
    with pytest.raises(InputError, match=r"falls below 0.001 .* C \("):
        load_timeline(folder(tmp_path, [("A", 10.0), ("B", 10.0), ("C", 1.0)], rate="1.0"))
