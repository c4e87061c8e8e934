"""Money: what a market's value means, and how a unit's capex becomes a yearly cost.

**Value units.** markets.csv gives either ``value`` (an abstract weight per TPP served, the
default) or ``usd_per_h100e_hour`` (revenue per H100-equivalent hour served; one H100e is
``H100E_TPP`` = 15,832 TPP). The latter is converted once, at load, to a value per TPP-year::

    value [USD per TPP-year] = usd_per_h100e_hour x 8,760 h/year / 15,832 TPP per H100e

so that a plan's value (Σ value x served TPP) is revenue in USD per year, in the same currency
and period as its annualised cost. Both columns in one file is an error.

**Annualised capex.** A new unit's capex is spread over its life (chips.csv ``life_years``,
default 5) at the scenario's ``discount_rate`` (``economics.toml``, default 0.08) by the capital
recovery factor, the annuity that repays 1 USD over L years at rate r::

    CRF(r, L) = r (1 + r)^L / ((1 + r)^L - 1),     CRF(0, L) = 1 / L

``life_years`` only sets this annuity: units are not retired inside a plan's horizon.
``economics.toml`` is policy-independent: it belongs to the scenario, not to a policy.

**Annualised fixed cost.** A site's one-time ``fixed_cost_usd`` (sites.csv, integer plans: paid
when the site gets new units) is spread the same way, over ``fixed_cost_life_years``
(economics.toml, default 5, the default life of the units it is paid for) at the same rate:
fixed_cost_usd x CRF(discount_rate, fixed_cost_life_years) per year. The margin objective
charges that annuity; the serve objective's cost stage charges the cash fixed cost.

**Discount over periods.** A multi-period scenario whose periods.csv has no ``discount`` column
(and an economics.toml that sets ``discount_rate``) discounts each period from its start, the
years elapsed before it (period lengths from periods.csv ``years``)::

    discount_t = (1 + r)^-(years_1 + ... + years_{t-1}),     discount_1 = 1

so a period's value and cost are worth what they are at its start, in money of the plan's start.
periods.csv ``discount``, when given, is the one source; without economics.toml (or without its
``discount_rate``) every period's discount stays 1 (see optimizer.inputs.timeline).
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

H100E_TPP = 15_832.0          # TPP of one H100-equivalent
HOURS_PER_YEAR = 8760.0
USD_PER_H100E_HOUR = "usd_per_h100e_hour"
USD_H100E_HOUR_TO_TPP_YEAR = HOURS_PER_YEAR / H100E_TPP   # USD/(H100e·h) -> USD/(TPP·year)
ECONOMICS_FILE = "economics.toml"
DEFAULT_DISCOUNT_RATE = 0.08
DEFAULT_FIXED_COST_LIFE_YEARS = 5.0
MAX_FIXED_COST_LIFE_YEARS = 100.0
ECONOMICS_KEYS = ("discount_rate", "fixed_cost_life_years")

DOLLARS = "USD per year"
ABSTRACT = "abstract value units"


def horizon_value_unit(value_unit: str) -> str:
    """The unit of per-year values summed over periods weighted by their years (a multi-period
    plan's value): USD for USD per year, else ``UNIT x years``."""
    return "USD" if value_unit == DOLLARS else f"{value_unit} x years"


@dataclass(frozen=True)
class Economics:
    """The scenario's money settings: the discount rate of the annuity, the life over which a
    site's fixed cost is annualised, and whether market values are dollars (markets.csv gave
    ``usd_per_h100e_hour``) or abstract weights."""

    discount_rate: float = DEFAULT_DISCOUNT_RATE
    dollars: bool = False
    fixed_cost_life_years: float = DEFAULT_FIXED_COST_LIFE_YEARS
    rate_given: bool = False       # economics.toml sets discount_rate (else the default is used)

    @property
    def value_unit(self) -> str:
        """What a plan's value (and every shadow price) is counted in."""
        return DOLLARS if self.dollars else ABSTRACT

    @property
    def value_input(self) -> str:
        """The markets.csv column the values came from."""
        return USD_PER_H100E_HOUR if self.dollars else "value"

    def record(self) -> dict[str, Any]:
        """The settings as summary.json keeps them."""
        return {"discount_rate": self.discount_rate, "fixed_cost_life_years": self.fixed_cost_life_years,
                "value_input": self.value_input, "value_unit": self.value_unit}

    def annualised_fixed_cost(self, fixed_usd: np.ndarray) -> np.ndarray:
        """One-time fixed costs as yearly annuities: fixed x CRF(discount_rate, fixed_cost_life_years)."""
        return np.asarray(fixed_usd, float) * capital_recovery_factor(
            self.discount_rate, np.array([self.fixed_cost_life_years]))[0]


def usd(amount: float) -> str:
    """Dollars for people: ``$1,234`` and ``-$1,234`` (never ``$-1,234``), whole dollars."""
    return f"{'-' * (amount < 0)}${abs(amount):,.0f}"


def capital_recovery_factor(rate: float, life_years: np.ndarray) -> np.ndarray:
    """CRF(r, L) = r (1+r)^L / ((1+r)^L - 1) per element of ``life_years`` (1/L at r = 0)."""
    life = np.asarray(life_years, float)
    if rate == 0:
        return 1.0 / life
    growth = (1.0 + rate) ** life
    return rate * growth / (growth - 1.0)


def period_discounts(rate: float, years: np.ndarray) -> np.ndarray:
    """discount_t = (1 + rate)^-(Σ_{u<t} years_u): each period discounted from its start."""
    years = np.asarray(years, float)
    return (1.0 + rate) ** -(np.cumsum(years) - years)


def read_economics(folder: Path, problems: list[str]) -> Economics:
    """The folder's economics.toml (defaults when absent); problems go to ``problems``.

    Keys: ``discount_rate``, a number in [0, 1] (0.08 is 8 %); ``fixed_cost_life_years``, a
    number of years in (0, 100]. An unknown key is a problem."""
    path = folder / ECONOMICS_FILE
    if not path.exists():
        return Economics()
    if not path.is_file():
        problems.append(f"{ECONOMICS_FILE}: is not a regular file; it must be a TOML file (or absent)")
        return Economics()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problems.append(f"{ECONOMICS_FILE}: not valid UTF-8 TOML ({exc})")
        return Economics()
    before = len(problems)
    unknown = sorted(set(raw) - set(ECONOMICS_KEYS))
    if unknown:
        problems.append(f"{ECONOMICS_FILE}: unknown key(s) {', '.join(unknown)}; allowed keys are "
                        f"{', '.join(ECONOMICS_KEYS)}")
    rate = raw.get("discount_rate", DEFAULT_DISCOUNT_RATE)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (math.isfinite(rate) and 0 <= rate <= 1):
        problems.append(f"{ECONOMICS_FILE}: discount_rate = {rate!r} must be a number in [0, 1] "
                        "(a fraction per year: 0.08 is 8 %)")
    life = raw.get("fixed_cost_life_years", DEFAULT_FIXED_COST_LIFE_YEARS)
    if isinstance(life, bool) or not isinstance(life, (int, float)) or not (
            math.isfinite(life) and 0 < life <= MAX_FIXED_COST_LIFE_YEARS):
        problems.append(f"{ECONOMICS_FILE}: fixed_cost_life_years = {life!r} must be a number of years > 0 and "
                        f"<= {MAX_FIXED_COST_LIFE_YEARS:g} (the life over which sites.csv fixed_cost_usd is annualised)")
    if len(problems) > before:
        return Economics()
    return Economics(discount_rate=float(rate), fixed_cost_life_years=float(life),
                     rate_given="discount_rate" in raw)

