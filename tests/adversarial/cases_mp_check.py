"""``fleetopt check`` on multi-period plans (issue 11): every period is audited under its own
recorded policy and each broken rule is named with its period (exit 1); a plan of one kind
checked against a scenario of the other kind, or a plan whose periods are not the scenario's, is
refused (exit 2), never misread. The plans are written by hand in the contract's format."""
import json
from pathlib import Path

import pandas as pd
from harness import Case
from helpers import M, write_periods
from mp_plan_files import edit_summary, write_mp_plan

CHECK = ("check", "{scn}", "{plan}")
# Q1 under no policy, Q2 and Q3 under the scenario's (aidr-2025: 7 % per Tier-2 country);
# 50 more units delivered in Q2 (100, 150, 150 available by Q1, Q2, Q3)
PERIODS = [("Q1", 0.25, 1.0, "none"), ("Q2", 0.25, 1.0, ""), ("Q3", 0.25, 1.0, "")]
DELIVERIES = [("H", "Q2", 50)]
# a compliant build-out: Poland holds 3 of 53 units in Q1 (no limit then), 4 of 64 later (6.25 %)
GOOD = {"Q1": [("US", 10, 40, 50), ("PL", 0, 3, 3)],
        "Q2": [("US", 10, 10, 60), ("PL", 0, 1, 4)],
        "Q3": [("US", 10, 0, 60), ("PL", 0, 0, 4)]}


def service_of(rows) -> dict:
    """Each site serves its own country's market (at most its demand of 50 MTPP)."""
    market = {"US": "us", "PL": "pl"}
    return {t: [(market[s], s, min(u, 50) * M) for s, _, _, u in rs if s in market and u > 0]
            for t, rs in rows.items()}


def mp(rows=None, service=None, summary=True, capacity=None, demand=None, then=None):
    """Setup: the corpus scenario made multi-period, and a hand-written plan at plan/."""
    rows = GOOD if rows is None else rows

    def setup(t: Path) -> None:
        write_periods(t / "scn", PERIODS, DELIVERIES, capacity, demand)
        write_mp_plan(t / "plan", t / "scn", rows, service_of(rows) if service is None else service, summary)
        if then is not None:
            then(t)
    return setup


def edited(**periods) -> dict:
    return {**GOOD, **periods}


def rewrite(name: str, change):
    """Then-step: rewrite plan/NAME through ``change`` (a function of its DataFrame)."""
    def then(t: Path) -> None:
        path = t / "plan" / name
        change(pd.read_csv(path, dtype={"period": str})).to_csv(path, index=False)
    return then


def summary_edit(edit):
    return lambda t: edit_summary(t / "plan", edit)


def snapshot_plan_then_periods(t: Path) -> None:
    """The corpus's solved snapshot plan, then the scenario made multi-period."""
    write_periods(t / "scn", PERIODS, DELIVERIES)


def with_period_column(tmp: Path) -> None:
    """The solved snapshot plan, dressed as a one-period plan (a period column in both tables)."""
    for name in ("placement.csv", "service.csv"):
        table = pd.read_csv(tmp / "plan" / name)
        table.insert(2, "period", "Q1")
        table.to_csv(tmp / "plan" / name, index=False)


def with_summary_periods(tmp: Path) -> None:
    """summary.json lists periods, the tables have none."""
    path = tmp / "plan/summary.json"
    summary = json.loads(path.read_text())
    summary["periods"] = [{"period": "Q1", "policy": summary["policy"]}]
    path.write_text(json.dumps(summary))


def loosen_later_records(summary: dict) -> None:
    """The plan records Q2 and Q3 policies allowing 20 % per Tier-2 country (periods.csv: 7 %)."""
    for period in summary["periods"][1:]:
        period["policy"]["max_tier2_country_share"] = 0.2


def set_q2_record(key, value):
    def edit(summary: dict) -> None:
        summary["periods"][1]["policy"][key] = value
    return edit


TOO_MUCH_PL_IN_Q2 = edited(Q2=[("US", 10, 10, 60), ("PL", 0, 7, 10)], Q3=[("US", 10, 0, 60), ("PL", 0, 0, 10)])

CASES = [
    # --- compliant plans: exit 0, each period audited under its own policy ------------------------
    Case("mp-check-good-plan", "plan-files", CHECK, 0,
         ("policy of Q1: none", "policy of Q2: aidr-2025", "recorded in", "-- period Q1", "-- period Q3",
          "stock_never_falls", "new_units_add_up", "compliant", "every period (3)"), setup=mp()),
    Case("mp-check-no-summary-uses-periods-csv", "plan-files", CHECK, 0,
         ("policy of Q1: none", "periods.csv (the plan records no policy", "compliant"), setup=mp(summary=False)),
    Case("mp-check-recorded-policy-not-preset", "plan-files", CHECK, 0,
         ("recorded in", "compliant"), setup=mp(TOO_MUCH_PL_IN_Q2, then=summary_edit(loosen_later_records))),
    Case("mp-check-summary-without-periods-noted", "plan-files", CHECK, 0,
         ("records no periods", "policy record", "not used", "periods.csv (the plan records no policy", "compliant"),
         setup=mp(then=summary_edit(lambda s: s.pop("periods")))),
    Case("mp-check-policy-option-every-period", "plan-files", (*CHECK, "--policy", "none"), 0,
         ("policy of Q1: none (--policy none)", "policy of Q3: none (--policy none)", "compliant"),
         setup=mp(TOO_MUCH_PL_IN_Q2)),
    Case("mp-check-missing-rows-no-stock", "plan-files", CHECK, 0, ("compliant",),     # Poland has rows in Q3 only
         setup=mp({"Q1": [("US", 10, 40, 50)], "Q2": [("US", 10, 0, 50)], "Q3": [("US", 10, 0, 50), ("PL", 0, 3, 3)]})),
    # --- broken rules: exit 1, each named with its period --------------------------------------
    Case("mp-check-stock-falls-q2", "plan-files", CHECK, 1,
         ("broken: period Q2: stock_never_falls", "PL/H", "broken: period Q3: new_units_add_up"),
         setup=mp(edited(Q2=[("US", 10, 10, 60), ("PL", 0, -1, 2)])), absent=("period Q1: stock",)),
    Case("mp-check-row-missing-q2", "plan-files", CHECK, 1,
         ("broken: period Q2: stock_never_falls", "PL/H"),
         setup=mp(edited(Q2=[("US", 10, 10, 60)], Q3=[("US", 10, 0, 60), ("PL", 0, 4, 4)]))),
    Case("mp-check-installed-removed-q1", "plan-files", CHECK, 1,
         ("broken: period Q1: stock_never_falls", "broken: period Q1: installed_kept", "US/H"),
         setup=mp(edited(Q1=[("PL", 0, 3, 3)], Q2=[("US", 10, 60, 60), ("PL", 0, 1, 4)]))),
    Case("mp-check-new-units-wrong", "plan-files", CHECK, 1,
         ("broken: period Q3: new_units_add_up", "PL/H"),
         setup=mp(edited(Q3=[("US", 10, 0, 60), ("PL", 0, 2, 4)])), absent=("period Q2: new_units",)),
    Case("mp-check-share-broken-q2-only-under-its-policy", "plan-files", CHECK, 1,
         ("broken: period Q2: tier2_share", "broken: period Q3: tier2_share"),
         setup=mp(TOO_MUCH_PL_IN_Q2), absent=("period Q1: tier2",)),
    Case("mp-check-availability-q1-only", "plan-files", CHECK, 1,
         ("broken: period Q1: inventory",),
         setup=mp(edited(Q1=[("US", 10, 100, 110), ("PL", 0, 3, 3)], Q2=[("US", 10, 0, 110), ("PL", 0, 1, 4)],
                         Q3=[("US", 10, 0, 110), ("PL", 0, 0, 4)])),
         absent=("period Q2: inventory", "period Q3: inventory")),
    Case("mp-check-power-before-energised", "plan-files", CHECK, 1,
         ("broken: period Q1: site_power_kw", "PL"),
         setup=mp(capacity=[("PL", "Q1", 0, 0), ("PL", "Q2", 1000, 100000)]),
         absent=("period Q2: site_power", "period Q3: site_power")),
    Case("mp-check-demand-of-period", "plan-files", CHECK, 1,
         ("broken: period Q2: market_demand_tpp", "us"),
         setup=mp(demand=[("us", "Q2", 10 * M)]), absent=("period Q3: market_demand",)),
    Case("mp-check-serves-beyond-period-stock", "plan-files", CHECK, 1,
         ("broken: period Q1: site_serving_tpp", "PL"),
         setup=mp(service={**service_of(GOOD), "Q1": [("us", "US", 50 * M), ("pl", "PL", 4 * M)]})),
    Case("mp-check-ineligible-pair-q3", "plan-files", CHECK, 1,
         ("broken: period Q3: service_pairs_eligible", "pl/US"),
         setup=mp(service={**service_of(GOOD), "Q3": [("us", "US", 40 * M), ("pl", "US", 4 * M)]})),
    Case("mp-check-tier3-ban-q3", "plan-files", CHECK, 1,
         ("broken: period Q3: tier3_ban", "CN"),
         setup=mp(edited(Q3=[("US", 10, 0, 60), ("PL", 0, 0, 4), ("CN", 0, 1, 1)]))),
    Case("mp-check-unknown-site-whole-plan", "plan-files", CHECK, 1,
         ("broken: whole plan: placement_ids_known", "XX"),
         setup=mp(then=rewrite("placement.csv", lambda p: p.replace({"site_id": {"PL": "XX"}})))),
    Case("mp-check-recorded-tighter-policy", "plan-files", CHECK, 1,
         ("broken: period Q2: home_share",),
         setup=mp(then=summary_edit(set_q2_record("min_home_share", 0.99)))),
    # --- refused: exit 2 ------------------------------------------------------------------------
    Case("mp-check-period-plan-vs-snapshot-scenario", "plan-files", CHECK, 2,
         ("has periods", "period column", "multi-period plan", "with periods.csv"), needs_plan=True, setup=with_period_column),
    Case("mp-check-summary-periods-vs-snapshot-scenario", "plan-files", CHECK, 2,
         ("has periods", "summary.json lists periods", "with periods.csv"), needs_plan=True,
         setup=with_summary_periods),
    Case("mp-check-snapshot-plan-vs-periods-scenario", "plan-files", CHECK, 2,
         ("snapshot plan", "multi-period", "periods.csv: Q1, Q2, Q3"), needs_plan=True,
         setup=snapshot_plan_then_periods),
    Case("mp-check-placement-without-period", "plan-files", CHECK, 2,
         ("placement.csv: missing column period", "Q1, Q2, Q3"),
         setup=mp(then=rewrite("placement.csv", lambda p: p.drop(columns="period")))),
    Case("mp-check-service-without-period", "plan-files", CHECK, 2,
         ("service.csv: missing column period",),
         setup=mp(then=rewrite("service.csv", lambda s: s.drop(columns="period")))),
    Case("mp-check-unknown-period", "plan-files", CHECK, 2,
         ("placement.csv: column period", "unknown period id", "Q9"),
         setup=mp(then=rewrite("placement.csv", lambda p: p.replace({"period": {"Q3": "Q9"}})))),
    Case("mp-check-unknown-period-service", "plan-files", CHECK, 2,
         ("service.csv: column period", "2025Q1"),
         setup=mp(then=rewrite("service.csv", lambda s: s.replace({"period": {"Q1": "2025Q1"}})))),
    Case("mp-check-duplicate-site-sku-period", "plan-files", CHECK, 2,
         ("placement.csv", "US/H/Q2", "listed more than once"),
         setup=mp(then=rewrite("placement.csv", lambda p: pd.concat([p, p.iloc[[2]]])))),
    Case("mp-check-summary-other-periods", "plan-files", CHECK, 2,
         ("summary.json", "(Q1, Q2)", "differ", "periods.csv (Q1, Q2, Q3)"),
         setup=mp(then=summary_edit(lambda s: s.update(periods=s["periods"][:2])))),
    Case("mp-check-summary-periods-not-list", "plan-files", CHECK, 2,
         ("summary.json", "'periods' must be a JSON array"),
         setup=mp(then=summary_edit(lambda s: s.update(periods={"Q1": 1})))),
    Case("mp-check-broken-period-record", "plan-files", CHECK, 2,
         ("periods[1].policy", "min_home_share"),
         setup=mp(then=summary_edit(set_q2_record("min_home_share", "half")))),
]
