"""The policy rules, one object per family: the only place a family is named.

Every export limit has one of two shapes on fleet compute (installed + new, in TPP), with T the
whole fleet and T_G the compute of the countries in a group G (a site counts as the country it
counts as for policy purposes, a territory as its sovereign):

* a share:   T_G >= a·T  (a minimum)  or  T_G <= a·T  (a maximum), unit ``share``;
* an amount: T_G <= b    (a cap), unit ``tpp``.

A :class:`Rule` turns a policy, the tier of each country and the scenario's countries into
:class:`Limit` objects of these shapes, and says how its limits are priced and worded. Every
formulation (plain rows, rows on totals, PuLP rows), the elastic/soft columns, the checker, the
summary, shadow prices and the infeasibility diagnosis read only the shapes, so adding a family is
one new Rule here (plus its policy key in :mod:`optimizer.policy.policy`).

The Tier-3 ban is kept by leaving out placement columns at Tier-3 sites (``enforced="columns"``);
its limit T_G <= 0 is the audit's. With the ban lifted its limit is ``enforced="off"``: audited as
a row that never fails, in no model.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Iterable, Mapping, Sequence

from optimizer.policy.policy import Policy


class Family(str, Enum):
    """The policy limit families (str-valued: the strings in summary.json, explain and soft)."""

    HOME_SHARE = "home_share"
    TIER1_SHARE = "tier1_share"
    TIER2_SHARE = "tier2_share"
    TIER2_CAP = "tier2_cap"
    GROUP_SHARE = "group_share"
    TIER3_BAN = "tier3_ban"

    def __str__(self) -> str:
        return self.value


AT_LEAST, AT_MOST = ">=", "<="
SHARE, TPP = "share", "tpp"


@dataclass(frozen=True)
class Limit:
    """One export limit: T_G (sense) bound·T for a share, T_G (sense) bound for an amount.

    ``row`` names the limit's row in the models, ``audit_scope`` its scope in ``fleetopt check``;
    ``enforced`` is ``row`` (a model row), ``columns`` (no placement columns: the ban) or ``off``.
    """

    family: Family
    scope: str
    members: frozenset[str]
    sense: str
    bound: float
    unit: str
    row: str
    audit_scope: str
    enforced: str = "row"

    @property
    def name(self) -> str:
        """The limit's name in summary.json: ``family[scope]``."""
        return f"{self.family.value}[{self.scope}]"

    @property
    def description(self) -> str:
        """What the limit's family asks, in words (summary.json ``limits``)."""
        return RULES[self.family].description

    @property
    def share(self) -> float:
        """a in T_G (sense) a·T + b (0 for an amount)."""
        return self.bound if self.unit == SHARE else 0.0

    @property
    def amount_tpp(self) -> float:
        """b in T_G (sense) a·T + b, in TPP (0 for a share)."""
        return self.bound if self.unit == TPP else 0.0


@dataclass(frozen=True)
class Countries:
    """Plain data a rule reads: each country's tier (2 when unlisted), the countries the
    scenario's sites count as, and territory -> the country it counts as."""

    tiers: Mapping[str, int]
    present: Sequence[str]
    counts_as: Mapping[str, str]

    def with_tier(self, tier: int) -> list[str]:
        return [k for k in self.present if int(self.tiers.get(k, 2)) == tier]


class Rule:
    """One family: its limits, its soft-price leverage, its price unit and infeasibility wording."""

    family: Family
    unit: str
    sense: str
    description: str
    has_rows = True      # a model row per limit (so a violation column in soft mode and diagnosis)

    def limits(self, pol: Policy, c: Countries) -> list[Limit]:
        raise NotImplementedError

    def leverage(self, pol: Policy) -> float:
        """How much fleet one TPP of violation can free (the default soft price's multiplier):
        1/a for a minimum share a, 1/(1 - a) for a maximum share, 1 for an amount."""
        return 1.0

    def problems(self, pol: Policy, c: Countries) -> list[str]:
        """What a valid policy cannot mean under these countries (exit 2)."""
        return []

    def infeasible(self, lim: Limit, installed_group: float, installed_total: float, short: str) -> str:
        """Why ``lim`` cannot be met, in planner terms (installed compute in TPP)."""
        raise NotImplementedError

    def _limit(self, scope: str, members: Iterable[str], bound: float, row: str | None = None,
               audit_scope: str | None = None, enforced: str = "row") -> Limit:
        return Limit(self.family, scope, frozenset(members), self.sense, float(bound), self.unit,
                     row or f"{self.family.value}[{scope}]", audit_scope or scope, enforced)


def _share_of(installed_group: float, installed_total: float) -> float:
    return installed_group / installed_total if installed_total else 0.0


def _min_leverage(share: float | None) -> float:
    return 1.0 / share if share else 1.0


class HomeShare(Rule):
    family, unit, sense = Family.HOME_SHARE, SHARE, AT_LEAST
    description = "at least min_home_share of compute in the home country"

    def limits(self, pol, c):
        if pol.min_home_share is None or pol.home_country is None:
            return []
        return [self._limit(pol.home_country, [pol.home_country], pol.min_home_share,
                            row=self.family.value)]

    def leverage(self, pol):
        return _min_leverage(pol.min_home_share)

    def infeasible(self, lim, installed_group, installed_total, short):
        return (f"home-country share limit ({lim.scope} >= {lim.bound:.0%}) cannot be met: the "
                f"installed base has {_share_of(installed_group, installed_total):.1%} there and the "
                f"sites and inventory cannot add enough ({short})")


class Tier1Share(Rule):
    family, unit, sense = Family.TIER1_SHARE, SHARE, AT_LEAST
    description = "at least min_tier1_share of compute in Tier-1 countries"

    def limits(self, pol, c):
        if pol.min_tier1_share is None:
            return []
        return [self._limit("tier1", c.with_tier(1), pol.min_tier1_share,
                            row=self.family.value, audit_scope="Tier 1")]

    def leverage(self, pol):
        return _min_leverage(pol.min_tier1_share)

    def infeasible(self, lim, installed_group, installed_total, short):
        return (f"Tier-1 share limit (>= {lim.bound:.0%}) cannot be met: the installed base has "
                f"{_share_of(installed_group, installed_total):.1%} in Tier-1 countries and the sites "
                f"and inventory cannot add enough ({short})")


class Tier2Share(Rule):
    family, unit, sense = Family.TIER2_SHARE, SHARE, AT_MOST
    description = "at most max_tier2_country_share of compute in any one Tier-2 country"

    def limits(self, pol, c):
        if pol.max_tier2_country_share is None:
            return []
        return [self._limit(k, [k], pol.max_tier2_country_share) for k in c.with_tier(2)]

    def leverage(self, pol):
        a = pol.max_tier2_country_share
        return 1.0 / (1.0 - a) if a is not None and a < 1 else 1.0

    def infeasible(self, lim, installed_group, installed_total, short):
        return (f"Tier-2 country share limit for {lim.scope} cannot be met: the installed base already "
                f"puts {_share_of(installed_group, installed_total):.1%} of compute in {lim.scope}; the "
                f"limit is {lim.bound:.0%} ({short} even with all inventory placed elsewhere)")


class Tier2Cap(Rule):
    family, unit, sense = Family.TIER2_CAP, TPP, AT_MOST
    description = "at most a TPP cap per Tier-2 country (tier2_country_cap_tpp, [caps])"

    def limits(self, pol, c):
        return [self._limit(k, [k], pol.cap_for(k)) for k in c.with_tier(2)
                if pol.cap_for(k) is not None]

    def infeasible(self, lim, installed_group, installed_total, short):
        return (f"Tier-2 country cap for {lim.scope} cannot be met: the installed base there is "
                f"{installed_group:,.0f} TPP; the cap is {lim.bound:,.0f} TPP")


class GroupShare(Rule):
    family, unit, sense = Family.GROUP_SHARE, SHARE, AT_LEAST
    description = "at least a group's min_share of compute in its countries ([groups])"

    def limits(self, pol, c):
        return [self._limit(name, g["countries"], g["min_share"])
                for name, g in sorted(pol.groups.items())]

    def leverage(self, pol):
        return max([_min_leverage(g["min_share"]) for g in pol.groups.values()], default=1.0)

    def problems(self, pol, c):
        out = []
        for name, g in sorted(pol.groups.items()):
            moved = sorted(f"{k} (write {c.counts_as[k]})" for k in g["countries"] if c.counts_as.get(k, k) != k)
            if moved:
                out.append(f"{pol.source}: [groups.{name}] countries lists territories that count as "
                           f"another country for policy purposes: {', '.join(moved)}")
        return out

    def infeasible(self, lim, installed_group, installed_total, short):
        return (f"group share limit for {lim.scope} (>= {lim.bound:.0%} in {', '.join(sorted(lim.members))}) "
                f"cannot be met: the installed base has {_share_of(installed_group, installed_total):.1%} "
                f"there and the sites and inventory cannot add enough ({short})")


class Tier3Ban(Rule):
    family, unit, sense = Family.TIER3_BAN, TPP, AT_MOST
    has_rows = False     # kept by leaving out placement columns at Tier-3 sites
    description = "nothing in Tier-3 countries unless ban_tier3 = false"

    def limits(self, pol, c):
        if pol.ban_tier3:
            return [self._limit("tier3", c.with_tier(3), 0.0, audit_scope="Tier 3",
                                enforced="columns")]
        return [self._limit("tier3", c.with_tier(3), 0.0, audit_scope="off", enforced="off")]


RULES: dict[Family, Rule] = {r.family: r for r in (HomeShare(), Tier1Share(), Tier2Share(), Tier2Cap(),
                                                   GroupShare(), Tier3Ban())}
ROW_FAMILIES = tuple(f for f, rule in RULES.items() if rule.has_rows)
SHARE_FAMILIES = tuple(f for f in ROW_FAMILIES if RULES[f].unit == SHARE)


def policy_limits(pol: Policy, c: Countries) -> list[Limit]:
    """Every limit of ``pol`` for a scenario with these countries, family by family."""
    return [lim for rule in RULES.values() for lim in rule.limits(pol, c)]


def rule_problems(pol: Policy, c: Countries) -> list[str]:
    """Every rule's problems with ``pol`` under these countries (one line each)."""
    return [p for rule in RULES.values() for p in rule.problems(pol, c)]


def price_unit(family: Family) -> str:
    """The unit of a shadow price on a limit of ``family`` (what one unit of headroom is)."""
    rule = RULES[family]
    if rule.unit == TPP:
        return "per +1,000 H100e of cap"
    return "per +1 pp of the minimum" if rule.sense == AT_LEAST else "per +1 pp of the maximum"


def limit_unit(family: Family) -> str:
    """The unit of a limit's own value in explain (``%`` for a share, ``TPP`` for an amount)."""
    return "%" if RULES[family].unit == SHARE else "TPP"


def default_soft_prices(pol: Policy, base: float) -> dict[str, float]:
    """Price per TPP of violation per row family: ``base`` x the rule's leverage (at least 1)."""
    return {f.value: base * max(1.0, RULES[f].leverage(pol)) for f in ROW_FAMILIES}


def describe_infeasible(lim: Limit, installed_group: float, installed_total: float, excess_tpp: float) -> str:
    """The diagnosis line for a limit the elastic re-solve must break by ``excess_tpp``."""
    short = f"missing by at least {excess_tpp:,.0f} TPP"
    return RULES[lim.family].infeasible(lim, installed_group, installed_total, short)

