"""fleetopt command line: a thin layer over the library (see README for exit codes).

Exit codes: 0 success; 1 plan not compliant (check, and only that); 2 bad input; 3 infeasible
scenario; 4 solver failure, time limit without a plan, or an internal error; 5 benchmark paths
disagree; 130 interrupted (Ctrl-C). ``main`` is the console entry point; ``app`` the typer app.
"""
from __future__ import annotations

import os
import sys

try:   # Ctrl-C while the libraries load (about a second) gets the same one line as later on
    import atexit
    import contextlib
    import dataclasses
    import json
    import re
    import time
    from pathlib import Path
    from typing import Annotated, Iterable, Optional

    import numpy as np
    import typer
    import typer.core

    from optimizer import check_plan, load_scenario, read_plan, solve, write_plan
    from optimizer.batch.variants import PARAMETERS as SWEEP_PARAMETERS
    from optimizer.datafiles import resolve_scenario
    from optimizer.errors import EXIT_DISAGREE, EXIT_INTERRUPTED, EXIT_SOLVER, FleetoptError, InputError
    from optimizer.inputs.economics import usd
    from optimizer.inputs.timeline import has_periods, load_timeline
    from optimizer.io.manifest import build_manifest, input_differences, run_inputs, utc_now
    from optimizer.io.planfiles import plan_formats
    from optimizer.outdir import (
        check_apart,
        check_out_dir,
        check_out_file,
        first_line_is,
        out_lock,
        read_run,
        streamed_file,
        write_with,
    )
    from optimizer.planner.integer import DEFAULT_GAP, IntegerMethod, MipSolver
    from optimizer.planner.solve import Objective, SolverPath, check_run_options
    from optimizer.policy.rules import AT_LEAST, ROW_FAMILIES, Family
    from optimizer.progress import SOLVER_LOG_HEADER, SOLVER_LOG_MARK, StatusLine, solver_log
    from optimizer.results.check import check_timeline_plan
    from optimizer.solvers.result import COST_NOT_MINIMISED
except KeyboardInterrupt:
    # os._exit, not SystemExit: an interrupt that landed inside a C extension's own module code
    # leaves CPython marked as killed by Ctrl-C, and it would then exit by SIGINT (-2), not 130;
    # nothing is open yet that would need cleaning up
    sys.stderr.write("interrupted\n")
    sys.stderr.flush()
    os._exit(130)
try:    # typer >= 0.20 carries its own copy of click
    from typer._click.exceptions import ClickException
except ImportError:
    from click.exceptions import ClickException



BOOL_WORDS = {"true", "false", "yes", "no", "on", "off", "1", "0", "t", "f", "y", "n"}


def _is_report(path: Path) -> bool:
    from optimizer.analysis.report import is_report  # the report module loads on demand
    return is_report(path)


# what an existing file must be for fleetopt to replace it (check_out_file's ours and kind)
REPORT_FILE = (_is_report, "a report")
LOG_FILE = (lambda path: first_line_is(path, SOLVER_LOG_MARK), "a solver log")


class FleetoptGroup(typer.core.TyperGroup):
    """typer's group, but a usage error (an unknown option or command, a value typer's own
    checks refuse, a missing argument) is one ``error:`` line and exit 2, like every other bad
    input, instead of typer's boxed panel; typer's message (e.g. the list of choices) is kept."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        argv = kwargs.get("args", args[0] if args else None)
        hints = self.flag_value_hints(list(sys.argv[1:] if argv is None else argv))
        if hints:
            for line in hints:
                typer.echo(f"error: {line}", err=True)
            sys.exit(2)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except ClickException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":     # typer has printed the help already
                sys.exit(2)
            where = f" (see '{exc.ctx.command_path} --help')" if getattr(exc, "ctx", None) else ""
            for line in exc.format_message().splitlines() or [type(exc).__name__]:
                typer.echo(f"error: {line}{where}", err=True)
                where = ""
            sys.exit(2)
        except typer.Abort:
            typer.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(code if isinstance(code, int) else 0)

    def flag_value_hints(self, argv: list[str]) -> list[str]:
        """``--soft true``: an on/off flag given a value. The parser would take the word for
        an argument (or the scenario) and say something unrelated; this names the flag."""
        command = self.commands.get(argv[0]) if argv else None
        flags = {name for p in (command.params if command else []) if getattr(p, "is_flag", False)
                 and not getattr(p, "count", False) for name in (*p.opts, *p.secondary_opts)}
        return [f"{flag} takes no value ({word!r}): it is an on/off flag; write {flag} to turn it on "
                "and leave it out for off" for flag, word in zip(argv, argv[1:])
                if flag in flags and word.lower() in BOOL_WORDS]


HELP_WIDTH = 120     # help lines up to this wide where the terminal allows; option names are never cut


app = typer.Typer(add_completion=False, no_args_is_help=True, cls=FleetoptGroup, rich_markup_mode=None,
                  context_settings={"max_content_width": HELP_WIDTH},
                  help="Place AI accelerators across data centers within export-control limits.")


def _scenario_folder(spec: Path) -> Path:
    """A SCENARIO argument as a folder: a path, or a shipped dataset's name (the one rule of
    optimizer.datafiles.resolve_scenario; a local folder of that name wins, and the loader notes it)."""
    return resolve_scenario(spec)[0]


ScenarioArg = Annotated[Path, typer.Argument(
    metavar="SCENARIO", help="Scenario folder (sites.csv, chips.csv, markets.csv, ...) or a shipped dataset's name "
    "(fleetopt datasets)", callback=_scenario_folder)]
PolicyOpt = Annotated[Optional[str], typer.Option(
    "--policy", metavar="NAME|FILE", help="Policy preset name (fleetopt datasets lists them) or TOML file",
    show_default="the scenario's policy.toml, else aidr-2025")]


def _fail(exc: FleetoptError) -> None:
    for line in str(exc).splitlines():
        typer.echo(f"error: {line}", err=True)
    raise typer.Exit(exc.exit_code)


@app.command("validate")
def validate_cmd(scenario: ScenarioArg, policy: PolicyOpt = None) -> None:
    """Check a scenario folder and its policy; print every problem (exit 2) or a short census."""
    if has_periods(scenario):
        return _validate_timeline(scenario, policy)
    try:
        s = load_scenario(scenario, policy)
    except FleetoptError as exc:
        _fail(exc)
    _print_notes(s.notes)
    typer.echo(f"{scenario}: valid under policy {s.policy.name}: {len(s.sites)} sites in "
               f"{s.sites['country'].nunique()} countries, {len(s.chips)} skus, {len(s.markets)} "
               f"markets, {len(s.installed)} installed rows")


def _validate_timeline(scenario: Path, policy: str | None) -> None:
    """validate on a multi-period folder: every file and period, then one line per period."""
    try:
        tl = load_timeline(scenario, policy)
    except FleetoptError as exc:
        _fail(exc)
    _print_notes(tl.notes)
    s = tl.first
    typer.echo(f"{scenario}: valid multi-period scenario, {len(tl.periods)} periods: {len(s.sites)} sites in "
               f"{s.sites['country'].nunique()} countries, {len(s.chips)} skus, {len(s.markets)} markets, "
               f"{len(s.installed)} installed rows")
    typer.echo(f"  {'period':<10} {'years':>6} {'discount':>8} {'policy':<22} {'available units':>16} {'power MW':>10} "
               f"{'demand TPP':>12}")
    for p in tl.periods:
        ps = p.scenario
        typer.echo(f"  {p.id:<10} {p.years:>6g} {p.discount:>8.4g} {ps.policy.name:<22} {ps.chips['inventory'].sum():>16,.0f} "
                   f"{ps.sites['power_mw'].sum():>10,.1f} {ps.markets['demand_tpp'].sum():>12.4g}")


@app.command("solve")
def solve_cmd(
    scenario: ScenarioArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the plan into")],
    policy: PolicyOpt = None,
    path: Annotated[SolverPath, typer.Option("--path", help="Formulation and solver")] = SolverPath.FAST,
    time_limit: Annotated[Optional[float], typer.Option(
        "--time-limit", metavar="SECONDS", help="Stop the solver after this long (inf: no limit)",
        show_default="no limit")] = None,
    soft: Annotated[bool, typer.Option("--soft", help="Penalize policy violations instead of forbidding them")] = False,
    soft_price: Annotated[Optional[list[str]], typer.Option(
        "--soft-price", metavar="FAMILY=PRICE", help=f"FAMILY=PRICE per TPP of violation "
        f"({', '.join(ROW_FAMILIES)}); implies --soft; default 10 x the largest market value (see README)")] = None,
    baseline: Annotated[Optional[str], typer.Option(
        "--baseline", help="Also solve under this policy (e.g. none) and report the cost of compliance")] = None,
    report: Annotated[Optional[Path], typer.Option("--report", help="Write a self-contained HTML report")] = None,
    integer: Annotated[bool, typer.Option("--integer", help="New units in whole racks (a MIP)")] = False,
    method: Annotated[IntegerMethod, typer.Option(
        "--method", help="Integer mode: exact (the MIP), round (LP, round, repair) or auto (exact up to "
        "20,000 integer columns)")] = IntegerMethod.AUTO,
    solver: Annotated[MipSolver, typer.Option(
        "--solver", help="Integer exact MIP backend: highs, ortools (SCIP) or cbc")] = MipSolver.HIGHS,
    gap: Annotated[Optional[float], typer.Option(
        "--gap", metavar="FRACTION", help="Integer mode: relative MIP gap to stop at (0.01 is 1 %)",
        show_default=f"{DEFAULT_GAP:g}")] = None,
    objective: Annotated[Objective, typer.Option(
        "--objective", help="serve: the most valuable demand served, then the cheapest plan; margin: revenue "
        "less annualised cost (needs markets.csv usd_per_h100e_hour)")] = Objective.SERVE,
    log: LogOpt = None,
    progress: ProgressOpt = None,
    formats: Annotated[str, typer.Option(
        "--format", help="Plan file formats, comma-separated: csv (always written), parquet, xlsx")] = "csv",
    threads: Annotated[Optional[int], typer.Option(
        "--threads", min=1, help="HiGHS threads (fast and plain paths); 1 gives byte-identical reruns; "
        "default: HiGHS's choice, half the cores")] = None,
    freeze_through: Annotated[Optional[str], typer.Option(
        "--freeze-through", help="Multi-period: keep the stock of the --plan plan fixed up to and including "
        "this period, re-optimise the rest")] = None,
    plan_dir: Annotated[Optional[Path], typer.Option(
        "--plan", help="Multi-period: the earlier plan whose stock --freeze-through keeps")] = None,
) -> None:
    """Solve SCENARIO for the most valuable compliant placement and write it to --out."""
    options, started = dict(locals()), utc_now()
    if has_periods(scenario):
        return _solve_timeline(options, started)
    if freeze_through is not None or plan_dir is not None:
        _fail(InputError("--freeze-through and --plan re-plan a multi-period scenario; "
                         f"{scenario} has no periods.csv"))
    try:
        check_run_options(path, time_limit, gap, integer)     # before any work
        chosen = plan_formats(formats)
        highs_options = _thread_options(threads, path, integer)
        target = check_out_dir(out, "plan", scenario)
        inputs = (target, *run_inputs(scenario, policy, baseline))
        log_at = _checked_report_and_log(report, log, inputs)
        with out_lock(target), _watched(progress, "solve"), _solver_log(log_at):
            check_out_dir(out, "plan", scenario, checked=target)     # again, under the lock
            s = load_scenario(scenario, policy)
            _check_baseline(scenario, baseline)
            prices = _parse_prices(soft_price) if (soft or soft_price) else None
            plan = solve(s, path=path, time_limit=time_limit, soft=prices, integer=integer, method=method,
                         mip_solver=solver, gap=gap, baseline=baseline or None, objective=objective,
                         highs_options=highs_options)
            write_plan(plan, out, build_manifest("plan", s.path, s.policy, options, started), chosen)
            if report:
                _write_report(plan, report, inputs)
    except FleetoptError as exc:
        _fail(exc)
    _print_summary(plan.summary, out)
    if report:
        typer.echo(f"report written to {report}")


LogOpt = Annotated[Optional[Path], typer.Option(
    "--log", help="Write the solver's log to this file (while the run goes on; see README)")]
ProgressOpt = Annotated[Optional[bool], typer.Option(
    "--progress/--quiet", help="Phase and elapsed time on stderr: a live line on a terminal (the "
    "default there), plain lines per phase elsewhere with --progress; --quiet: none",
    show_default=False)]


def _watched(progress: bool | None, label: str):
    """The status line on stderr (see :class:`optimizer.progress.StatusLine`): live on a
    terminal unless --quiet; one plain line per phase elsewhere, only with --progress (stderr
    is otherwise one line per problem, which scripts read)."""
    tty = sys.stderr.isatty()
    if progress is False or (progress is None and not tty):
        return contextlib.nullcontext()
    return StatusLine(sys.stderr, live=tty, label=f"fleetopt {label}").shown()


def _checked_report_and_log(report: Path | None, log: Path | None, inputs: tuple[Path, ...]) -> Path | None:
    """Check solve's --report and --log paths before any work (never an input, the plan folder,
    or each other; an existing file only when fleetopt wrote one of its kind); returns the log's
    resolved path, where it is written (a symlink is not followed into a protected folder)."""
    written = (check_out_file(report, "--report", inputs, *REPORT_FILE),) if report else ()
    return check_out_file(log, "--log", (*inputs, *written), *LOG_FILE) if log else None


def _write_report(plan, report: Path, inputs: tuple[Path, ...]) -> None:
    """solve --report: the path checked again (a file may have appeared there during the solve),
    the report written at its resolved path."""
    from optimizer.analysis.report import write_report
    write_report(plan, check_out_file(report, "--report", inputs, *REPORT_FILE))


@contextlib.contextmanager
def _solver_log(path: Path | None):
    """--log: the solver's log streamed to ``path`` (see :func:`optimizer.outdir.streamed_file`)."""
    if path is None:
        yield
        return
    with streamed_file(path) as stream, solver_log(stream):
        stream.write(SOLVER_LOG_HEADER)
        yield


def _print_soft_violations(summary: dict) -> None:
    """One line per violated soft limit (with its period in a multi-period plan)."""
    for v in (summary.get("soft") or {}).get("violations", []):
        pp = f" ({v['violation_pp']:.2f} points)" if v["violation_pp"] is not None else ""
        where = f" in {v['period']}" if "period" in v else ""
        typer.echo(f"soft limit violated{where}: {v['limit']} by {v['violation_tpp']:,.0f} TPP{pp}, "
                   f"penalty {v['cost']:,.0f}")


def _solve_timeline(o: dict, started: str) -> None:
    """solve on a multi-period scenario (periods.csv): one plan over every period, written as a
    snapshot plan is; an option combination it does not take is refused (exit 2)."""
    from optimizer.io.manifest import timeline_manifest
    from optimizer.io.planfiles import read_frozen_stock
    from optimizer.planner.periods import check_integer_options, solve_timeline
    try:
        if (o["freeze_through"] is None) != (o["plan_dir"] is None):
            raise InputError("--freeze-through PERIOD and --plan DIR go together: give both (re-planning keeps "
                             "the stock of the plan in DIR up to and including PERIOD)")
        check_run_options(o["path"], o["time_limit"], o["gap"], o["integer"])
        check_integer_options(o["integer"], o["path"], bool(o["soft"] or o["soft_price"]), o["freeze_through"] is not None,
                              margin=o["objective"] == Objective.MARGIN, mip_solver=o["solver"])
        chosen = plan_formats(o["formats"])
        highs_options = _thread_options(o["threads"], o["path"], o["integer"])
        target = check_out_dir(o["out"], "plan", o["scenario"])
        if o["plan_dir"] is not None:
            check_apart(target, f"--out {o['out']}", o["plan_dir"], "--plan")
        inputs = (target, *run_inputs(o["scenario"], o["policy"], o["baseline"]),
                  *([o["plan_dir"]] if o["plan_dir"] else []))
        log_at = _checked_report_and_log(o["report"], o["log"], inputs)
        with out_lock(target), _watched(o["progress"], "solve"), _solver_log(log_at):
            check_out_dir(o["out"], "plan", o["scenario"], checked=target)
            tl = load_timeline(o["scenario"], o["policy"])
            _check_baseline(o["scenario"], o["baseline"])
            frozen = read_frozen_stock(o["plan_dir"], tl, o["freeze_through"]) if o["plan_dir"] else None
            prices = _parse_prices(o["soft_price"]) if (o["soft"] or o["soft_price"]) else None
            plan = solve_timeline(tl, path=o["path"], time_limit=o["time_limit"], soft=prices, frozen=frozen,
                                  highs_options=highs_options, objective=o["objective"], integer=o["integer"],
                                  method=o["method"], mip_solver=o["solver"], gap=o["gap"],
                                  baseline=o["baseline"] or None)
            write_plan(plan, o["out"], timeline_manifest(tl, o, started), formats=chosen)
            if o["report"]:
                _write_report(plan, o["report"], inputs)
    except FleetoptError as exc:
        _fail(exc)
    _print_timeline_summary(plan.summary, o["out"])
    if o["report"]:
        typer.echo(f"report written to {o['report']}")


def _print_timeline_summary(summary: dict, out: Path) -> None:
    """The status, one line per period (served %, home and Tier-1 share, units added, binding
    limits), the totals, soft violations and notes."""
    typer.echo(_status_line(summary))
    _print_integer(summary)
    typer.echo(f"  {'period':<10} {'served %':>9} {'home %':>7} {'tier1 %':>8} {'new units':>12}  binding limits")
    for r in summary["periods"]:
        added = sum(r["new_units"].values())
        home, tier1 = (100 * r[f.value] for f in (Family.HOME_SHARE, Family.TIER1_SHARE))
        typer.echo(f"  {r['period']:<10} {r['served_pct']:>9.2f} {home:>7.2f} {tier1:>8.2f} {added:>12,.0f}  "
                   f"{', '.join(r['binding_limits']) or '-'}")
    cost = summary["cost"]
    fixed = f", of which fixed ${cost['fixed_usd']:,.0f}" if cost.get("fixed_usd") else ""
    typer.echo(f"over {len(summary['periods'])} periods: served {summary['served_pct']:.2f} % of demand; value "
               f"{summary['objective']:,.0f}; cost ${cost['total_usd']:,.0f}{fixed} "
               f"(discounted ${cost['discounted_usd']:,.0f})")
    _print_timeline_money(summary["economics"])
    _print_soft_violations(summary)
    _print_timeline_baseline(summary.get("baseline"))
    if summary.get("freeze"):
        typer.echo(f"stock kept from the earlier plan through {summary['freeze']['through']}")
    _print_notes(summary.get("notes", []))
    typer.echo(_written_line(out))


def _print_timeline_money(money: dict) -> None:
    """The objective, and over the horizon (each period's USD per year x years x discount) the
    annualised cost of the stock and, with dollar values, revenue and margin."""
    typer.echo(f"objective {money['objective']}: annualised cost of the stock ${money['annualised_cost_usd']:,.0f} "
               f"over the horizon (each period's USD per year x years x discount; annuities at "
               f"{100 * money['discount_rate']:g} %)")
    if money["margin_usd"] is not None:
        typer.echo(f"revenue ${money['revenue_usd']:,.0f}, margin {usd(money['margin_usd'])} over the horizon "
                   "(discounted)")
    else:
        typer.echo("values are abstract value units (markets.csv value), not dollars: no revenue or margin")


def _print_notes(notes: Iterable[str]) -> None:
    """One ``note:`` line per input that was ignored or overridden."""
    for note in notes:
        typer.echo(f"note: {note}")


def _written_line(out: Path) -> str:
    """The closing line of a solve: the plan folder and every file in it (fleetopt has just
    written the whole folder, so its listing is what this run wrote)."""
    names = sorted(p.name for p in Path(out).iterdir() if not p.name.startswith("."))
    return f"plan written to {out}/ ({', '.join(names)})"


def _parse_prices(items: list[str] | None) -> dict[str, float]:
    prices: dict[str, float] = {}
    for item in items or []:
        family, _, value = item.partition("=")
        if family.strip() in prices:
            raise InputError(f"--soft-price {family.strip()} is given twice; give each family one price")
        try:
            prices[family.strip()] = float(value)
        except ValueError:
            raise InputError(f"--soft-price {item!r}: expected FAMILY=PRICE, e.g. tier2_cap=20") from None
    return prices


STOPPED_BY = {"time_limit": "the time limit", "iteration_limit": "the iteration limit",
              "gap_limit": "the round method's neighbourhood (gap above the target)",
              "other_limit": "a solver limit"}


def _status_line(summary: dict) -> str:
    """``status: optimal``, or for a plan stopped by a limit: what stopped it and the gap."""
    line = f"status: {summary['status']}  (path {summary['path']}, solver {summary['solver']})"
    if summary["status"] != "feasible":
        return line
    info = summary.get("integer") or {}
    gap = info.get("gap")
    gap_words = (f"gap {100 * gap:.4g} % (target {100 * info['gap_target']:.4g} %)" if gap is not None
                 else "gap not known (this solver reports no bound)" if info
                 else "the value is optimal but its cost was not minimised (see the note)"
                 if any(n.startswith(COST_NOT_MINIMISED) for n in summary.get("notes", []))
                 else "no gap (an LP stopped early has no bound)")
    stopped = STOPPED_BY.get(summary.get("termination", ""), "a solver limit")
    return (f"{line}\nstatus feasible: a plan that is not proven optimal; stopped by {stopped}; "
            f"{gap_words}")


def _print_integer(summary: dict) -> None:
    """An integer plan's method, solver, objective, bound and gap (nothing for an LP plan)."""
    info = summary.get("integer")
    if info:
        bound = f"{info['bound']:,.0f}" if info.get("bound") is not None else "not reported"
        gap = f"{100 * info['gap']:.4f} %" if info.get("gap") is not None else "not reported"
        what = ("MIP objective (margin per year less the installed fleet's energy, a constant)"
                if summary.get("economics", {}).get("objective") == "margin" else "objective")
        typer.echo(f"integer plan (whole racks) by {info['method']} on {info['solver']}: {what} "
                   f"{info['objective']:,.0f}, bound {bound}, gap {gap}")


def _print_summary(summary: dict, out: Path) -> None:
    typer.echo(_status_line(summary))
    _print_integer(summary)
    money = summary["economics"]
    typer.echo(f"served: {summary['served_pct']:.2f} % of demand "
               f"({summary['served_tpp']:,.0f} of {summary['demand_tpp']:,.0f} TPP); "
               f"value {summary['objective']:,.0f} {money['value_unit']}; cost ${summary['cost']['total_usd']:,.0f}")
    _print_money(summary)
    _print_limits(summary["limits"])
    binding = summary["binding_limits"]
    typer.echo(f"binding policy limits: {', '.join(binding) if binding else 'none'}")
    phys = summary["physical_binding"]
    typer.echo(f"physical limits at capacity: {len(phys['power_sites'])} sites on power, "
               f"{len(phys['rack_sites'])} on racks, skus out of inventory: "
               f"{', '.join(phys['inventory_skus']) or 'none'}")
    flagged = summary.get("licence_required_sites", [])
    if flagged:
        typer.echo(f"licence required (policy {summary['policy']['name']}; a flag, not a limit): "
                   f"{len(flagged)} site{'s' * (len(flagged) != 1)} in {', '.join(sorted({f['country'] for f in flagged}))}")
    _print_soft_violations(summary)
    _print_baseline(summary.get("baseline"))
    top = (summary.get("explain") or {}).get("policy_prices", [])[:3]
    if top:
        typer.echo(f"most valuable policy headroom ({money['value_unit']}): " + "; ".join(
            f"{p['limit']} {p['value_per_unit']:+,.0f} {p['unit']}" for p in top))
    _print_notes(summary.get("notes", []))
    typer.echo(_written_line(out))


def _print_baseline(base: dict | None, horizon: str = "") -> bool:
    """The cost of compliance (summary.json ``baseline``): value, served and cost changes, the
    compute the policy moved and the value by market country (``horizon``: what the totals
    cover, for a multi-period plan). False when there is no baseline plan to compare with."""
    if not base:
        return False
    if "value_change" not in base:
        typer.echo(f"cost of compliance vs {base['baseline_policy']}: not available ({base['status']}): "
                   f"{base['message']}")
        return False
    typer.echo(f"cost of compliance vs {base['baseline_policy']}{horizon} (baseline {base['status']}, "
               f"{base['mode']}): value {base['value_change']:+,.0f} {base['value_unit']} "
               f"({base['value_change_pct']:+.2f} %), served {base['served_tpp_change']:+,.0f} TPP, "
               f"cost {base['cost_change_usd']:+,.0f} USD{_margin_change(base)}")
    moved = ", ".join(f"{c['iso3']} {c['change_tpp']:+,.0f}" for c in base["countries"][:5]
                      if c["change_tpp"]) or "none"
    typer.echo(f"  compute moved by the policy (TPP{', fleet at the end' if horizon else ''}): {moved}")
    worth = sorted(base["countries"], key=lambda c: abs(c["change_value"]), reverse=True)[:5]
    typer.echo(f"  value by market country ({base['value_unit']}): "
               + (", ".join(f"{c['iso3']} {c['change_value']:+,.0f}" for c in worth if c["change_value"])
                  or "no change"))
    return True


def _margin_change(base: dict) -> str:
    """", margin ±N USD per year" (snapshot) or ", margin ±N USD" (over the horizon) with dollar
    values: what compliance costs a margin planner, beside the revenue in ``value``; "" otherwise."""
    for key, unit in (("margin_change_usd_per_year", "USD per year"), ("margin_change_usd", "USD")):
        if isinstance(base.get(key), (int, float)):
            return f", margin {base[key]:+,.0f} {unit}"
    return ""


def _print_timeline_baseline(base: dict | None) -> None:
    """A multi-period plan's cost of compliance: over the horizon, then one line per period."""
    if not _print_baseline(base, f" over {len(base['periods'])} periods" if base and "periods" in base else ""):
        return
    typer.echo(f"  {'period':<10} {'value change':>16} {'%':>8} {'served TPP':>14} {'cost USD':>14}  "
               f"({base['period_value_unit']}; countries per period in summary.json)")
    for r in base["periods"]:
        typer.echo(f"  {r['period']:<10} {r['value_change']:>+16,.0f} {r['value_change_pct']:>+8.2f} "
                   f"{r['served_tpp_change']:>+14,.0f} {r['cost_change_usd']:>+14,.0f}")


def _print_money(summary: dict) -> None:
    """The objective, cash capex beside the annualised cost, and with dollar values revenue and
    margin per year (see optimizer.inputs.economics)."""
    money, cost = summary["economics"], summary["cost"]
    typer.echo(f"objective {money['objective']}: capex ${cost['capex_usd']:,.0f} cash, annualised cost "
               f"${cost['annualised_usd_per_year']:,.0f} per year (capex over each sku's life at "
               f"{100 * money['discount_rate']:g} % + ${cost['energy_usd_per_year']:,.0f} energy)")
    if money["margin_usd_per_year"] is not None:
        typer.echo(f"revenue ${money['revenue_usd_per_year']:,.0f} per year, margin "
                   f"{usd(money['margin_usd_per_year'])} per year")
    else:
        typer.echo("values are abstract value units (markets.csv value), not dollars: no revenue or margin")


SHOWN_TIER2 = 6


def _print_limits(limits: list[dict]) -> None:
    """Minimum shares (home, Tier-1) always; per-country maximums and caps (Tier 2) that bind or
    are the largest, then a count."""
    shown = [l for l in limits if l["sense"] == AT_LEAST]
    tier2 = [l for l in limits if l["family"] in (Family.TIER2_SHARE, Family.TIER2_CAP)]
    tier2.sort(key=lambda l: (l["slack"] >= 0, not l["binding"], -l["value"] / max(l["bound"], 1e-12)))
    shown += tier2[:SHOWN_TIER2]
    for lim in shown:
        fmt = (lambda v: f"{100 * v:.2f} %") if lim["unit"] == "share" else (lambda v: f"{v:,.0f} TPP")
        flag = "  VIOLATED" if lim["slack"] < -1e-9 * max(1.0, abs(lim["bound"])) else \
            "  BINDING" if lim["binding"] else ""
        typer.echo(f"  {lim['name']:<24} {fmt(lim['value']):>18} {lim['sense']} {fmt(lim['bound']):<18}{flag}")
    rest = tier2[SHOWN_TIER2:]
    if rest:
        typer.echo(f"  ... {len(rest)} more Tier-2 limits ({sum(l['binding'] for l in rest)} binding); "
                   "all are in summary.json")


def _thread_options(threads: int | None, path: SolverPath, integer: bool) -> dict | None:
    """HiGHS's thread options for --threads, refused (exit 2) where HiGHS does not solve the LP."""
    if threads is None:
        return None
    if integer or SolverPath(path) not in (SolverPath.FAST, SolverPath.PLAIN):
        raise InputError(f"--threads {threads}: works with the fast and plain LP paths (HiGHS) only; "
                         "leave it out with --integer or another --path")
    from optimizer.solvers.highs import thread_options
    return thread_options(threads)


@app.command("check")
def check_cmd(
    scenario: ScenarioArg,
    plan_dir: Annotated[Path, typer.Argument(help="Plan folder with placement.csv and service.csv")],
    policy: PolicyOpt = None,
) -> None:
    """Audit a plan against every rule; exit 0 if compliant, 1 if any rule is broken.

    The policy is --policy when given, else the one recorded in DIR/summary.json (rebuilt from
    its values and the tiers it used, never re-read by name), else the scenario's. A
    multi-period scenario (periods.csv) is audited period by period, each period under its own
    recorded policy."""
    if has_periods(scenario):
        _check_timeline_cmd(scenario, plan_dir, policy)
        return
    try:
        _check_not_swapped(scenario, plan_dir)
        placement, service, summary = read_plan(plan_dir)
        record = summary.get("policy") if isinstance(summary, dict) else None
        s, origin = _audit_scenario(scenario, plan_dir, policy, record)
        s, edits = _recorded_scenario_edits(s, record)
    except FleetoptError as exc:
        _fail(exc)
    report = check_plan(s, placement, service, integer=_plan_is_integer(summary))
    typer.echo(f"policy: {s.policy.name} ({origin})")
    if policy is None and record is not None and "tiers_used" not in record:
        typer.echo("note: summary.json records no tier table (an older fleetopt): tiers come from "
                   "datasets/countries.csv, the scenario's countries.csv and the recorded [tiers]")
    if edits:
        typer.echo(f"note: the plan is a sweep variant; its recorded demand and inventory parameters "
                   f"are applied to the scenario: {', '.join(f'{k}={v}' for k, v in edits.items())}")
    _print_notes(s.notes)
    _print_report(report)


def _check_timeline_cmd(scenario: Path, plan_dir: Path, policy: str | None) -> None:
    """``check`` on a multi-period scenario: every period audited under its own policy."""
    try:
        _check_not_swapped(scenario, plan_dir)
        timeline = load_timeline(scenario, policy)
        placement, service, summary = read_plan(plan_dir, timeline.ids)
        timeline, origins, notes = _recorded_timeline(scenario, plan_dir, timeline, summary, policy)
        report = check_timeline_plan(timeline, placement, service, integer=_plan_is_integer(summary))
    except FleetoptError as exc:
        _fail(exc)
    for period, origin in zip(timeline.periods, origins):
        typer.echo(f"policy of {period.id}: {period.scenario.policy.name} ({origin})")
    _print_notes(dict.fromkeys([*timeline.notes, *notes, *(n for p in timeline.periods for n in p.scenario.notes)]))
    _print_report(report)


def _recorded_timeline(scenario: Path, plan_dir: Path, timeline, summary: dict, policy: str | None) -> tuple:
    """The timeline to audit against, each period's origin, and notes. A period's policy is
    --policy when given (every period), else its record in summary.json ``periods[i].policy``
    (rebuilt as the snapshot audit rebuilds the top-level record, never re-read by name), else
    the period's own (periods.csv). A sweep variant's recorded scenario edits apply per period."""
    from optimizer.inputs.countries import policy_from_record, territory_differences
    if policy is not None:
        return timeline, [f"--policy {policy}"] * len(timeline.periods), []
    records = [p.get("policy") for p in summary.get("periods", [])] or [None] * len(timeline.periods)
    under: dict[str, object] = {}      # one load of the timeline per distinct recorded policy
    periods, origins, notes = [], [], []
    if "periods" not in summary and summary.get("policy") is not None:
        notes.append(f"{plan_dir / 'summary.json'} records no periods, so its policy record (one policy, "
                     "not one per period) is not used: each period is audited under periods.csv's policy")
    for i, (period, record) in enumerate(zip(timeline.periods, records)):
        if record is None:
            periods.append(period)
            origins.append("periods.csv (the plan records no policy for it)")
            continue
        where = f"{plan_dir / 'summary.json'} periods[{i}].policy"
        key = json.dumps(record, sort_keys=True, default=str)
        if key not in under:
            under[key] = load_timeline(scenario, policy_from_record(record, where))
        s = under[key].periods[i].scenario
        s.notes.extend(territory_differences(record, s))
        s, edits = _recorded_scenario_edits(s, record)
        if edits:
            notes.append(f"{period.id} is a sweep variant; its recorded demand and inventory parameters are "
                         f"applied to the period: {', '.join(f'{k}={v}' for k, v in edits.items())}")
        periods.append(dataclasses.replace(period, scenario=s))
        origins.append(f"recorded in {where}")
    return dataclasses.replace(timeline, periods=tuple(periods)), origins, notes


def _plan_is_integer(summary: dict) -> bool:
    """A whole-rack plan: its summary's mode (a snapshot) or lp_mode (multi-period) is integer."""
    return "integer" in (summary.get("mode"), summary.get("lp_mode"))


def _print_report(report) -> None:
    """The rules table (grouped by period in a multi-period audit), the verdict, exit 1 if broken."""
    typer.echo(f"{'rule':<30}{'scope':<22}{'value':>16}{'limit':>16}{'margin':>16}  ok")
    shown = None
    for r in report.rules.itertuples():
        if r.period != shown and r.period:
            typer.echo(f"-- period {r.period}" if r.period != "all" else "-- the whole plan")
        shown = r.period
        state = "off" if not r.active else "ok" if r.ok else "BROKEN"
        limit, margin = ("-", "-") if not r.active else (f"{r.limit:.6g}", f"{r.margin:.6g}")
        typer.echo(f"{r.rule:<30}{str(r.scope)[:21]:<22}{r.value:>16.6g}{limit:>16}{margin:>16}  {state}")
    periods = [p for p in dict.fromkeys(report.rules["period"]) if p not in ("", "all")]
    if report.ok:
        typer.echo(f"compliant: all {len(report.rules)} rules hold"
                   + (f" in every period ({len(periods)})" if periods else ""))
        return
    for r in report.failures().itertuples():
        where = {"": "", "all": "whole plan: "}.get(r.period, f"period {r.period}: ")
        typer.echo(f"broken: {where}{r.rule} ({r.scope}): value {r.value:.6g}, limit {r.limit:.6g}"
                   + (f"; offending ids: {r.offenders}" if r.offenders else ""), err=True)
    raise typer.Exit(1)


def _check_not_swapped(scenario: Path, plan_dir: Path, command: str = "check") -> None:
    """``check PLAN_DIR SCENARIO`` (or ``report``; the arguments the other way round) says so,
    rather than listing the plan files missing from the scenario folder."""
    looks_plan = (scenario / "placement.csv").is_file() and not (scenario / "sites.csv").is_file()
    looks_scenario = (plan_dir / "sites.csv").is_file() and not (plan_dir / "placement.csv").is_file()
    if looks_plan or looks_scenario:
        what = (f"{scenario} holds a plan and {plan_dir} a scenario" if looks_plan and looks_scenario else
                f"{scenario if looks_plan else plan_dir} holds {'placement.csv' if looks_plan else 'sites.csv'}")
        raise InputError(f"the arguments look swapped: {what}; write fleetopt {command} SCENARIO PLAN_DIR")


def _audit_scenario(scenario: Path, plan_dir: Path, policy: str | None, record) -> tuple:
    """The scenario under the policy to audit against, and where that policy comes from: --policy,
    else the plan's record, else the scenario's. A broken record is reported together with the
    scenario's own problems (read under the scenario's policy)."""
    from optimizer.inputs.countries import policy_from_record, territory_differences
    if policy is not None:
        return load_scenario(scenario, policy), f"--policy {policy}"
    if record is None:
        return load_scenario(scenario), "the scenario's (the plan records no policy)"
    summary_path = plan_dir / "summary.json"
    try:
        chosen = policy_from_record(record, str(summary_path))
    except InputError as exc:
        try:
            load_scenario(scenario)
        except InputError as more:
            raise InputError(exc.problems + more.problems) from None
        raise
    s = load_scenario(scenario, chosen)
    s.notes.extend(territory_differences(record, s))
    return s, f"recorded in {summary_path}"


def _recorded_scenario_edits(s, record) -> tuple:
    """A sweep variant's plan records its parameters; its demand and inventory multipliers
    change the scenario it was planned on, so the audit applies them too."""
    from optimizer.batch.variants import apply_scenario_edits
    params = record.get("sweep_parameters") if isinstance(record, dict) else None
    edits = {k: v for k, v in (params or {}).items()
             if k.split(".")[0] in ("demand_multiplier", "inventory_multiplier")} if isinstance(params, dict) else {}
    return (apply_scenario_edits(s, edits) if edits else s), edits


@app.command("report")
def report_cmd(
    scenario: ScenarioArg,
    plan_dir: Annotated[Path, typer.Argument(help="Plan folder (placement.csv, service.csv; summary.json if any)")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="HTML file to write; default: PLAN_DIR.html "
                                                "beside the plan folder")] = None,
    policy: PolicyOpt = None,
) -> None:
    """Write the self-contained HTML report of a plan folder (made by solve, a sweep or by hand);
    SCENARIO gives the coordinates and capacities. The policy is chosen as check chooses it."""
    from optimizer.analysis.report import write_report
    try:
        _check_not_swapped(scenario, plan_dir, "report")
        sweep = _enclosing_sweep(plan_dir)
        shown = out if out is not None else _default_report_path(plan_dir, sweep)
        target = check_out_file(shown, "--out", (plan_dir, *([sweep] if sweep else []),
                                                 *run_inputs(scenario, policy)), *REPORT_FILE)
        plan = _plan_from_folder(scenario, plan_dir, policy)
        write_report(plan, target)
    except FleetoptError as exc:
        _fail(exc)
    timeline = getattr(plan, "timeline", None)
    _print_notes(dict.fromkeys([*plan.scenario.notes, *(timeline.notes if timeline is not None else [])]))
    from optimizer.analysis.report import stale_figures
    for line in ([] if timeline is not None else stale_figures(plan)):
        typer.echo(f"warning: {line}: the tables were edited after the solve (the report says so)", err=True)
    typer.echo(f"report written to {shown}")


def _default_report_path(plan_dir: Path, sweep: Path | None) -> Path:
    """PLAN_DIR.html beside the plan folder (never inside it: a plan folder holds only its files);
    for a sweep variant's plan, SWEEP-VARIANT_ID.html beside the sweep folder (a sweep folder
    holds only what the sweep writes, or it could no longer be resumed)."""
    folder = plan_dir.expanduser().resolve()
    if sweep is not None:
        return sweep.with_name(f"{sweep.name}-{folder.parent.name}.html")
    return folder.with_name(folder.name + ".html")


def _enclosing_sweep(plan_dir: Path) -> Path | None:
    """The sweep folder that ``plan_dir`` lies in (a variant's plan), if any."""
    return next((p for p in plan_dir.expanduser().resolve().parents if (p / "sweep.json").is_file()), None)


def _plan_from_folder(scenario: Path, plan_dir: Path, policy: str | None):
    """The plan in ``plan_dir`` on ``scenario``, as ``check`` reads it (the recorded policy, a
    sweep variant's demand and inventory edits); on a multi-period scenario (periods.csv), a
    plan with a ``period`` column under the periods' own policies (or --policy). A plan from
    another scenario is refused: ids or periods the scenario lacks, or (when summary.json has a
    run manifest) scenario files that differ."""
    from optimizer.analysis.report import summary_problems
    from optimizer.results.plan import Plan
    if (plan_dir / "sweep.json").is_file() and not (plan_dir / "placement.csv").exists():
        example = next(iter(sorted((plan_dir / "variants").glob("*/plan"))), plan_dir / "variants" / "ID" / "plan")
        raise InputError(f"{plan_dir}: is a sweep folder, not a plan; give one of its variants' plans, e.g. {example}")
    timeline = load_timeline(scenario, policy) if has_periods(scenario) else None
    placement, service, summary = read_plan(plan_dir, timeline.ids if timeline is not None else None)
    if timeline is not None:
        return _timeline_plan_from_folder(scenario, plan_dir, timeline, (placement, service, summary), policy)
    record = summary.get("policy")
    s, _ = _audit_scenario(scenario, plan_dir, policy, record)
    s, _ = _recorded_scenario_edits(s, record)
    rules = check_plan(s, placement, service).rules
    unknown = rules.loc[rules["rule"].str.endswith(("_ids_known", "_values_nonnegative")) & ~rules["ok"]]
    problems = [f"{plan_dir / (r.rule.split('_')[0] + '.csv')}: column {r.scope}: "
                + (f"ids not in the scenario {scenario}: {r.offenders}; was the plan made from another scenario?"
                   if r.rule.endswith("_ids_known") else f"negative values for {r.offenders}")
                for r in unknown.itertuples()]
    problems += summary_problems(summary, str(plan_dir / "summary.json"))
    problems += _manifest_problems(scenario, plan_dir, summary, s.notes)
    if problems:
        raise InputError(problems)
    return Plan(placement, service, summary, s)


def _manifest_problems(scenario: Path, plan_dir: Path, summary: dict, notes: list[str]) -> list[str]:
    """The scenario files that differ from those summary.json's run manifest records (none
    when it records none); a changed shipped dataset is only noted."""
    run = summary.get("run")
    if not (isinstance(run, dict) and isinstance(run.get("scenario"), dict)):
        return []
    differ = input_differences(run, build_manifest("plan", scenario, None, {}))
    changed = [d for d in differ if not d.startswith("datasets/")]
    if changed:
        return [f"{plan_dir / 'summary.json'}: the plan was made from other scenario files than {scenario} "
                f"({', '.join(changed)}); give the scenario it was planned on"]
    if differ:
        notes.append(f"the shipped {', '.join(differ)} since the plan was made; tiers follow the policy recorded "
                     "in summary.json")
    return []


def _timeline_plan_from_folder(scenario: Path, plan_dir: Path, tl, tables: tuple, policy: str | None):
    """A multi-period plan folder on its multi-period scenario (read_plan has checked its periods):
    every row's ids known; each period under the policy the plan records for it, with a sweep
    variant's demand and inventory multipliers applied (as ``check`` audits it; --policy: that
    policy in every period). ``tables``: placement, service and summary as read_plan gives them."""
    from optimizer.analysis.report import summary_problems, timeline_plan
    placement, service, summary = tables
    s, problems = tl.first, []
    known = {"site_id": s.sites.index, "sku": s.chips.index, "market_id": s.markets.index}
    for name, table, columns in (("placement.csv", placement, ("site_id", "sku")),
                                 ("service.csv", service, ("market_id", "site_id"))):
        for column in columns:
            bad = sorted(set(table[column].astype(str)) - set(map(str, known[column])))
            if bad:
                problems.append(f"{plan_dir / name}: column {column}: ids not in the scenario {scenario}: "
                                f"{', '.join(bad[:8])}{' ...' if len(bad) > 8 else ''}; was the plan made from another "
                                "scenario?")
    problems += summary_problems(summary, str(plan_dir / "summary.json"))
    problems += _manifest_problems(scenario, plan_dir, summary, tl.notes)
    if problems:
        raise InputError(problems)
    recorded, _, notes = _recorded_timeline(scenario, plan_dir, tl, summary, policy)
    return timeline_plan(dataclasses.replace(recorded, notes=[*tl.notes, *notes]), placement, service, summary)


@app.command("explain")
def explain_cmd(
    scenario: ScenarioArg,
    policy: PolicyOpt = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Rows per table")] = 15,
    objective: Annotated[Objective, typer.Option(
        "--objective", help="serve or margin, as for solve: the prices are those of this objective")] = Objective.SERVE,
) -> None:
    """Solve, then rank the binding limits by the value of one more unit of headroom and list
    unserved demand by market with its reason."""
    if has_periods(scenario):
        return _explain_timeline(scenario, policy, top, objective)
    try:
        s = load_scenario(scenario, policy)
        plan = solve(s, probe_shares=True, objective=objective)
    except FleetoptError as exc:
        _fail(exc)
    _print_notes(s.notes)
    unit = plan.summary["economics"]["value_unit"]
    typer.echo(f"served {plan.summary['served_pct']:.2f} % of demand; value {plan.summary['objective']:,.0f} {unit}")
    if plan.prices is None:     # a plan stopped by a limit: its duals price nothing
        typer.echo(f"status {plan.summary['status']}: no shadow prices (only an optimal plan has them)")
        return
    typer.echo(f"binding limits, ranked by the objective gained ({unit}) per unit of headroom "
               "(negative: raising that minimum costs value); each price holds while the limit "
               "stays in the range shown:")
    for r in plan.prices.head(top).itertuples():
        typer.echo(f"  {r.limit:<36} {r.value_per_unit:>+20,.0f}  {r.unit}; {_price_range(r)}")
    if len(plan.prices) > top:
        typer.echo(f"  ... {len(plan.prices) - top} more")
    unserved = plan.unserved.sort_values("unserved_tpp", ascending=False)
    by_reason = unserved.groupby(unserved["reason"].str.split(":").str[0])["unserved_tpp"].sum()
    typer.echo("unserved demand by reason: " + ", ".join(f"{k} {v:,.0f} TPP" for k, v in by_reason.items())
               if len(by_reason) else "all demand is served")
    for r in unserved.head(top).itertuples():
        typer.echo(f"  {r.market_id:<40} {r.unserved_tpp:>18,.0f} of {r.demand_tpp:>18,.0f} TPP  {r.reason}")


def _explain_timeline(scenario: Path, policy: str | None, top: int, objective: Objective) -> None:
    """explain on a multi-period scenario: per period, its policy limits ranked by the value of
    one more unit of headroom (the units of the snapshot's explain) and whether they bind."""
    from optimizer.planner.periods import solve_timeline
    try:
        plan = solve_timeline(load_timeline(scenario, policy), objective=objective)
    except FleetoptError as exc:
        _fail(exc)
    money = plan.summary["economics"]
    margin = f", margin {usd(money['margin_usd'])}" if objective == Objective.MARGIN else ""
    typer.echo(f"served {plan.summary['served_pct']:.2f} % of demand over {len(plan.summary['periods'])} periods; "
               f"value {plan.summary['objective']:,.0f} ({money['value_unit']}, each period's x years x discount){margin}")
    typer.echo(f"prices: the objective gained over the horizon ({money['value_unit']} x years x discount) per unit of "
               "headroom of a limit in its period")
    for r in plan.summary["periods"]:
        prices = (r["prices"] or {}).get("policy", {})
        ranked = sorted(((v, k) for k, v in prices.items() if abs(v) > 1e-9), key=lambda vk: -abs(vk[0]))
        typer.echo(f"{r['period']}: served {r['served_pct']:.2f} %; binding: {', '.join(r['binding_limits']) or 'none'}")
        for value, name in ranked[:top]:
            typer.echo(f"  {name:<36} {value:>+20,.0f}  per unit of headroom")
        if r["prices"] is None:
            typer.echo("  no shadow prices (only an optimal plan has them)")
        elif not ranked:
            typer.echo("  no policy limit has a nonzero price in this period")


def _limit_text(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.2f} %"
    return f"{value:,.2f} {unit}" if unit in ("MW", "racks") else f"{value:,.0f} {unit}"


def _price_range(r) -> str:
    """Where a price holds: the limit's value now and its range (a share: its probe's verdict)."""
    now = _limit_text(r.limit_value, r.limit_unit)
    note = getattr(r, "range_note", "")
    if isinstance(note, str) and note:
        return f"limit {now}; {note}"
    if r.range == "probe":
        return f"limit {now}; the same price 0.01 pp below and above (probed)"
    if r.range != "ranging" or np.isnan(r.valid_from) or np.isnan(r.valid_to):
        return f"limit {now}; range not computed"
    lo = "no lower end" if r.valid_from == -np.inf else _limit_text(r.valid_from, r.limit_unit)
    hi = "no upper end" if r.valid_to == np.inf else _limit_text(r.valid_to, r.limit_unit)
    return f"limit {now}, holds from {lo} to {hi}"


@app.command("sweep")
def sweep_cmd(
    scenario: ScenarioArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Sweep folder (resumed if it exists)")],
    grid: Annotated[Optional[Path], typer.Option("--grid", help="TOML (product of lists/ranges) or CSV (one variant per row)")] = None,
    vary: Annotated[Optional[list[str]], typer.Option(
        "--vary", metavar="KEY=VALUES", help="KEY=START:STOP:STEP or KEY=V1,V2 (repeatable); KEY is one of "
        f"{', '.join(SWEEP_PARAMETERS)} (ISO3: a country code, SKU: a chip)")] = None,
    policies: Annotated[Optional[str], typer.Option("--policies", help="Comma-separated presets or files")] = None,
    each_tier2: Annotated[bool, typer.Option("--each-tier2-country-to-tier1", help="One variant per Tier-2 country moved to Tier 1")] = False,
    policy: PolicyOpt = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes on this machine")] = 1,
    dask: Annotated[Optional[str], typer.Option("--dask", help="tcp://HOST:PORT of a Dask scheduler, or 'local'")] = None,
    restart: Annotated[bool, typer.Option("--restart", help="Discard what an earlier sweep wrote into --out, "
                                          "then run afresh")] = False,
    top: Annotated[int, typer.Option("--top", min=1, help="Rows of the tier-move ranking to print")] = 15,
    objective: Annotated[Objective, typer.Option(
        "--objective", help="Every variant's objective, as solve --objective: serve (the most valuable demand "
        "served, then the cheapest plan) or margin (needs markets.csv usd_per_h100e_hour)")] = Objective.SERVE,
) -> None:
    """Solve many variants of SCENARIO (policy parameters, tier moves, caps, demand and inventory
    multipliers), in parallel and resumably; write results.csv/.parquet, plans and a chart. On a
    multi-period scenario (periods.csv) every variant is a multi-period plan, its parameters
    applied to every period."""
    options, started = dict(locals()), utc_now()
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from optimizer.batch.compare import tier_move_ranking
    from optimizer.batch.sweep import SOLVED, run_sweep, sweep_counts, sweep_manifest
    from optimizer.batch.variants import grid_variants
    from optimizer.batch.worker import load_base
    try:
        _check_dask(dask)
        check_out_dir(out, "sweep", scenario)      # before any work; run_sweep locks --out
        base = load_base(scenario, policy)
        variants = grid_variants(grid, vary or [], [p for p in (policies or "").split(",") if p], each_tier2, base)
        _check_policies(scenario, {str(v.params["policy"]) for v in variants if "policy" in v.params})
        run = sweep_manifest(base, variants, options, started, objective)
        counts = {"done": 0, "failed": 0}
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TextColumn("failed {task.fields[failed]}"), TimeRemainingColumn(), transient=False) as bar:
            task = bar.add_task("variants", total=len(variants), failed=0)

            def tick(row: dict) -> None:
                counts["done"] += 1
                counts["failed"] += row.get("status") not in SOLVED
                bar.update(task, advance=1, failed=counts["failed"])

            table = run_sweep(scenario, variants, out, policy=policy, workers=workers, dask=dask, progress=tick,
                              run=run, restart=restart)
    except FleetoptError as exc:
        _fail(exc)
    _print_notes(base.notes)
    if has_periods(scenario):
        typer.echo(f"multi-period: each variant planned over {len(base.periods)} periods ({', '.join(base.ids)}), "
                   "its parameters applied to every period")
    if table.attrs["skipped"]:
        typer.echo(f"resumed: {table.attrs['skipped']} of {len(variants)} variants were done by an earlier run "
                   "and skipped")
    typer.echo(f"{len(table)} variants: {sweep_counts(table)}; "
               f"results in {out}/results.csv and results.parquet, chart objective_vs_parameters.svg")
    ranking = tier_move_ranking(table)
    if len(ranking):
        gained = {"objective": "objective gained", "margin_usd": "margin gained over the horizon, USD",
                  "margin_usd_per_year": "margin gained, USD per year"}[ranking["ranked_by"].iloc[0]]
        typer.echo(f"value of moving each country to Tier 1 ({gained}), best first:")
        for r in ranking.head(top).itertuples():
            typer.echo(f"  {r.country:<5} {round(r.value_of_move):>+22,}")
        if len(ranking) > top:
            typer.echo(f"  showing {top} of {len(ranking)}; --top {len(ranking)} shows every row")


def _check_policies(scenario: Path, names: set[str]) -> None:
    """Every variant policy (--policies, --vary policy=, a grid's policy) is validated on the
    scenario exactly as a base policy is (its values, country codes, home country and caps
    under its tiers; in every period of a multi-period scenario): a bad one is exit 2 before
    any work, not a variant that fails while the sweep exits 0."""
    from optimizer.batch.worker import load_base
    problems = []
    for name in sorted(names):
        try:
            load_base(scenario, name.strip())
        except InputError as exc:
            problems += [f"variant policy {name}: {line}" for line in exc.problems]
    if problems:
        raise InputError(problems)


def _check_baseline(scenario: Path, baseline: str | None) -> None:
    """A --baseline policy is loaded and validated on the scenario (every period of a multi-period
    one) before the main solve, so a misspelt or broken one costs no solve."""
    if baseline:
        try:
            (load_timeline if has_periods(scenario) else load_scenario)(scenario, baseline)
        except InputError as exc:
            raise InputError([f"--baseline {baseline}: {line}" for line in exc.problems]) from None


def _check_dask(address: str | None) -> None:
    """--dask is 'local' or [tcp://]HOST:PORT (dask's own parser fails with a bare ValueError)."""
    if address not in (None, "local") and not re.fullmatch(r"(\w+://)?([^\s:/\[\]]+|\[[0-9a-fA-F:]+\]):\d+/?", address):
        raise InputError(f"--dask {address!r}: expected 'local' or tcp://HOST:PORT of a Dask scheduler")


@app.command("datasets")
def datasets_cmd() -> None:
    """List the shipped scenarios, usable by name from any folder (fleetopt solve sample --out plan)."""
    from optimizer.datafiles import data_dir, scenario_catalog
    from optimizer.policy.policy import preset_names
    try:
        rows, presets, where = scenario_catalog(), preset_names(), data_dir()
    except FleetoptError as exc:
        _fail(exc)
    width = max([len("name"), *(len(r["name"]) for r in rows)]) + 2
    typer.echo(f"{'name':<{width}}{'sites':>7}{'countries':>11}{'markets':>9}{'periods':>9}  what")
    for r in rows:
        typer.echo(f"{r['name']:<{width}}{r['sites']:>7,}{r['countries']:>11,}{r['markets']:>9,}"
                   f"{r['periods']:>9,}  {r['what']}")
    typer.echo(f"policy presets (--policy NAME): {', '.join(presets)}")
    typer.echo(f"shipped in {where} (see its README.md); a folder of the same name in the working "
               "directory is used instead, with a note")


@app.command("compare")
def compare_cmd(
    a: Annotated[Path, typer.Argument(help="Plan or sweep folder A")],
    b: Annotated[Path, typer.Argument(help="Plan or sweep folder B")],
    top: Annotated[int, typer.Option("--top", min=1)] = 10,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Also write every table, whole, "
                                                "into this CSV file (column `table` names each)")] = None,
) -> None:
    """Two plans (a headline, binding limits added or removed, then per country, site and
    market, compute in H100e) or two sweeps (that headline per variant, matched by id, then each
    variant's details), B against A."""
    from optimizer.batch.compare import (
        compare_dirs,
        comparison_table,
        headline_lines,
        is_comparison_csv,
        period_lines,
        readable,
        sweep_comparison_lines,
    )
    try:
        if out is not None:
            out = check_out_file(out, "--out", (*run_inputs(a), b), is_comparison_csv, "a comparison")  # A, B, datasets
        comparison = compare_dirs(a, b)
        tables = comparison.tables
        if out is not None:
            whole = comparison_table(tables)
            write_with(out, lambda p: whole.to_csv(p, index=False))
    except FleetoptError as exc:
        _fail(exc)
    _warn_other_inputs(a, b)
    for line in comparison.warnings:
        typer.echo(f"warning: {line}", err=True)
    for line in comparison.context:
        typer.echo(line)
    if "variants" in tables:
        for line in sweep_comparison_lines(comparison, a, b, top):
            typer.echo(line)
    if "headline" in tables:
        over = " over the horizon" if "periods" in tables else ""
        typer.echo(f"headline{over} (A = {a} -> B = {b}):")
        for line in headline_lines(tables["headline"], tables["limits"]):
            typer.echo(line)
    if "periods" in tables:
        for line in period_lines(tables["periods"], tables["limits"]):
            typer.echo(line)
    for name, table in tables.items():
        if name in ("headline", "periods", "limits", "variants", "details"):
            continue
        typer.echo(f"{name} (A = {a}, B = {b}; largest changes first; compute in H100e):")
        typer.echo(readable(table.head(top)).to_string(float_format=lambda v: f"{v:,.6g}"))
    if out is not None:
        typer.echo(f"tables written to {out}")


def _warn_other_inputs(a: Path, b: Path) -> None:
    """A warning line when the two folders' manifests show different scenario input files, or
    when a folder has no manifest (made by hand, by another tool or by fleetopt 0.1.0), so that
    nobody can tell."""
    runs = [read_run(p / "summary.json") or read_run(p / "sweep.json") for p in (a, b)]
    if all(runs):
        differ = input_differences(*runs)
        if differ:
            typer.echo(f"warning: {a} and {b} were planned from different scenario inputs "
                       f"({', '.join(differ)} from A to B)", err=True)
        return
    unknown = [str(p) for p, run in zip((a, b), runs) if not run]
    typer.echo(f"warning: cannot tell whether {a} and {b} come from the same scenario: {' and '.join(unknown)} "
               f"record{'s' * (len(unknown) == 1)} no run manifest (made by hand or by another tool)", err=True)


@app.command("bench-sweep")
def bench_sweep_cmd(
    sites: Annotated[int, typer.Option("--sites", min=10)] = 3000,
    variants: Annotated[int, typer.Option("--variants", min=2)] = 50,
    seed: Annotated[int, typer.Option("--seed", min=0)] = 1,
    skus: Annotated[int, typer.Option("--skus", min=1, max=12)] = 12,
    workdir: Annotated[Path, typer.Option("--workdir")] = Path("benchmarks/runs/sweep"),
    results: Annotated[Path, typer.Option("--results")] = Path("benchmarks/SWEEP.md"),
) -> None:
    """Time a sweep of the 7 % limit against the same number of separate solves (one run)."""
    from optimizer.bench.harness import SWEEP_TITLE, check_results_paths, run_sweep_benchmark
    try:
        check_results_paths(results, SWEEP_TITLE, plot=False)
        out = run_sweep_benchmark(sites, variants, seed, skus, workdir, results, echo=typer.echo)
    except FleetoptError as exc:
        _fail(exc)
    typer.echo(f"results written to {results}; largest objective difference {out['worst_rel_diff']:.1e}")
    if out["worst_rel_diff"] > 1e-6:
        typer.echo("error: the sweep and the separate solves disagree", err=True)
        raise typer.Exit(EXIT_DISAGREE)


@app.command("generate")
def generate_cmd(
    out: Annotated[Path, typer.Argument(help="Folder to write the scenario into")],
    sites: Annotated[int, typer.Option("--sites", min=1, max=100_000)] = 1000,
    metros: Annotated[Optional[int], typer.Option("--metros", min=1, show_default="sites / 25")] = None,
    skus: Annotated[int, typer.Option("--skus", min=1, max=12)] = 6,
    seed: Annotated[int, typer.Option("--seed", min=0)] = 0,
    periods: Annotated[Optional[int], typer.Option(
        "--periods", min=1, max=40, help="A multi-period fleet over N quarters from 2025Q1 (deliveries, "
        "sites energised later, demand growing 5-10 % a period)")] = None,
    tariffs: Annotated[str, typer.Option("--tariffs", help="metro: a metro's campuses share its energy tariff "
                                         "and PUE (today's fleets, byte for byte); site: each site its own")] = "metro",
) -> None:
    """Write a synthetic fleet (deterministic per seed) as an ordinary scenario folder."""
    from optimizer.bench.generate import generate_fleet
    t0 = time.perf_counter()
    try:
        generate_fleet(out, sites=sites, metros=metros, skus=skus, seed=seed, periods=periods, tariffs=tariffs)
    except FleetoptError as exc:
        _fail(exc)
    over = f", {periods} periods" if periods else ""
    typer.echo(f"wrote {out}/ ({sites} sites, {skus} skus{over}, seed {seed}) in {time.perf_counter() - t0:.2f} s")


def _bench_problems(chosen: list[str], known: set[str], sizes: str, time_limit: float) -> list[str]:
    """One line per bad bench option: paths unknown or none, sizes not integers >= 1, time limit."""
    problems = []
    bad = [p for p in chosen if p not in known]
    if bad or not chosen:
        what = f" {','.join(bad)}: unknown" if bad else ": none given"
        problems.append(f"--paths{what}; paths are {', '.join(sorted(known))}")
    try:
        counts = [int(v) for v in sizes.split(",") if v.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        problems.append(f"--sizes {sizes}: expected comma-separated site counts, integers >= 1")
    if not time_limit > 0:
        problems.append(f"--time-limit {time_limit:g}: must be a number of seconds > 0")
    return problems


def _bench_periods(periods: str | None, paths: list[str], baseline: Path | None) -> tuple[tuple[int, ...], list[str]]:
    """``--periods``: the period counts, and one problem line per bad count or per option that
    multi-period fleets do not take (--baseline: release 0.1 has no multi-period mode; the
    ortools-pdlp path, see optimizer.planner.periods.PDLP_REFUSED)."""
    from optimizer.bench.generate import MAX_PERIODS
    from optimizer.planner.periods import NOT_YET as MP_NOT_YET
    from optimizer.planner.periods import PDLP_REFUSED
    if periods is None:
        return (), []
    try:
        counts = tuple(sorted({int(v) for v in periods.split(",") if v.strip()}))
    except ValueError:
        counts = ()
    problems = [] if counts and 1 <= counts[0] and counts[-1] <= MAX_PERIODS else [
        f"--periods {periods}: expected comma-separated period counts, integers from 1 to {MAX_PERIODS}"]
    if baseline is not None:
        problems.append(f"--periods with --baseline: {MP_NOT_YET} (release 0.1 has no multi-period mode)")
    if SolverPath.ORTOOLS_PDLP.value in paths:
        problems.append(f"--periods with --paths {PDLP_REFUSED.removeprefix('--path ')}")
    return counts, problems


@app.command("bench")
def bench_cmd(
    sizes: Annotated[str, typer.Option("--sizes", help="Comma-separated site counts")] = "100,300,1000,3000,10000",
    paths: Annotated[str, typer.Option("--paths", help="Comma-separated solver paths (LP: fast, plain, pulp, "
                                       "ortools-glop, ortools-pdlp; integer: int-exact-highs, int-exact-ortools, "
                                       "int-exact-cbc, int-round)")] = "fast,plain,pulp",
    time_limit: Annotated[float, typer.Option("--time-limit", help="Seconds per cell")] = 600.0,
    seed: Annotated[int, typer.Option("--seed", min=0)] = 1,
    skus: Annotated[int, typer.Option("--skus", min=1, max=12)] = 12,
    workdir: Annotated[Path, typer.Option("--workdir")] = Path("benchmarks/runs"),
    results: Annotated[Path, typer.Option("--results")] = Path("benchmarks/RESULTS.md"),
    tariffs: Annotated[str, typer.Option("--tariffs", help="Comma-separated fleet kinds: metro (a metro's "
                                         "campuses share a tariff and PUE), site (each site its own)")] = "metro",
    baseline: Annotated[Optional[Path], typer.Option("--baseline", help="A checkout of another release (e.g. "
                                                     "0.1: git archive 3e104df | tar -x -C DIR) whose fast path "
                                                     "runs on the same fleets as the path fast@LABEL")] = None,
    baseline_label: Annotated[str, typer.Option("--baseline-label")] = "0.1",
    baseline_python: Annotated[Optional[Path], typer.Option(
        "--baseline-python", help="The Python of the baseline's own environment (e.g. a venv where that "
        "release was pip-installed, with the solver versions it resolves to); default: this one")] = None,
    baseline_max_sites: Annotated[Optional[int], typer.Option(
        "--baseline-max-sites", min=1, help="Run the baseline only up to this many sites")] = None,
    periods: Annotated[Optional[str], typer.Option(
        "--periods", help="Comma-separated period counts (e.g. 1,12): multi-period fleets over that many quarters, "
        "solved as one plan each, with the ratio of each count's time to the smallest's on the same fleet")] = None,
    repeat: Annotated[int, typer.Option(
        "--repeat", min=1, help="Run each cell this many times (fresh processes) and keep the median run: "
        "steadier ratios on a shared machine")] = 1,
) -> None:
    """Run each solver path on generated fleets, one process per cell; write RESULTS.md and a plot."""
    from optimizer.bench.generate import TARIFFS
    from optimizer.bench.harness import (
        INTEGER_PATHS,
        BenchConfig,
        check_results_paths,
        run_benchmark,
        write_results,
    )
    known = {p.value for p in SolverPath} | set(INTEGER_PATHS)
    chosen = [p.strip() for p in paths.split(",") if p.strip()]
    kinds = tuple(k.strip() for k in tariffs.split(",") if k.strip())
    problems = _bench_problems(chosen, known, sizes, time_limit)
    if not kinds or set(kinds) - set(TARIFFS):
        problems.append(f"--tariffs {tariffs}: expected a comma-separated list of {', '.join(TARIFFS)}")
    if baseline is not None and not (baseline / "optimizer" / "__init__.py").is_file():
        problems.append(f"--baseline {baseline}: not a fleetopt checkout (no optimizer/__init__.py in it)")
    baseline_python = None if baseline_python is None else baseline_python.absolute()   # the cell runs in the checkout
    if baseline_python is not None and (baseline is None or not baseline_python.is_file()):
        problems.append(f"--baseline-python {baseline_python}: " + ("needs --baseline" if baseline is None
                                                                     else "no such file"))
    period_counts, period_problems = _bench_periods(periods, chosen, baseline)
    problems += period_problems
    try:
        check_results_paths(results)
    except InputError as exc:
        problems += exc.problems
    if problems:
        _fail(InputError(problems))
    size_list = [int(v) for v in sizes.split(",") if v.strip()]
    command = (f"fleetopt bench --sizes {sizes} --paths {paths} --time-limit {time_limit:g} "
               f"--seed {seed} --skus {skus} --tariffs {tariffs}"
               + (f" --baseline {baseline} --baseline-label {baseline_label}" if baseline is not None else "")
               + (f" --baseline-python {baseline_python}" if baseline_python is not None else "")
               + (f" --baseline-max-sites {baseline_max_sites}" if baseline_max_sites is not None else "")
               + (f" --periods {periods}" if periods is not None else "")
               + (f" --repeat {repeat}" if repeat > 1 else ""))
    cfg = BenchConfig(size_list, chosen, time_limit, seed, skus, workdir, results, command, kinds, baseline,
                      baseline_label, baseline_max_sites, periods=period_counts, baseline_python=baseline_python,
                      repeat=repeat)
    try:
        table = run_benchmark(cfg, echo=typer.echo)
    except FleetoptError as exc:
        _fail(exc)
    typer.echo(f"results written to {write_results(table, cfg)}")
    if not table["agrees"].all():
        typer.echo("error: paths disagree on the optimum (see rel_diff_vs_fast)", err=True)
        raise typer.Exit(EXIT_DISAGREE)


class StdoutGuard:
    """Stands in for ``sys.stdout``: the first failed write or flush (a reader that went away,
    ``| head -1``; a full disk) is remembered, standard output is pointed at the null device
    and the command goes on, so its own exit code stands (a verdict stays 0 or 1; a plan already
    written stays written) and ``main`` says once, on stderr, that the output was cut short."""

    def __init__(self, stream):
        self._stream = stream
        self.error: OSError | None = None

    def write(self, text: str) -> int:
        return self._guarded(self._stream.write, text, len(text))

    def flush(self) -> None:
        self._guarded(self._stream.flush)

    def _guarded(self, call, *args):
        if self.error is None:
            try:
                return call(*args[:1]) if args else call()
            except OSError as exc:
                self.error = exc
                self._silence()
        return args[1] if len(args) > 1 else None

    def _silence(self) -> None:
        """Point fd 1 at the null device, so later writes and the interpreter's last flush of
        whatever was buffered cannot fail again."""
        try:
            fd = self._stream.fileno()
        except (OSError, ValueError):      # not a file (a test's capture): nothing to point
            return
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _exit_interrupted() -> None:
    """Exit 130 after Ctrl-C: the exit handlers run (multiprocessing's clean-up among them),
    the output is flushed, then ``os._exit``. By now every open file, lock and temporary has
    been released on the way up; and an interrupt that landed inside a C extension's own module
    code (a lazy import) leaves CPython marked as killed by Ctrl-C, so a normal exit would end
    by SIGINT (exit -2), not 130."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(EXIT_INTERRUPTED)


def main() -> None:
    """Console entry point: ``app``, plus one line and exit 130 on Ctrl-C (typer exits 130
    silently), one line when standard output could not be written (the command's exit code
    stands) and a last-resort net that turns an unexpected exception into one ``error:`` line
    and exit 4 instead of a traceback. Every known error path exits through ``_fail`` instead."""
    guard = sys.stdout = StdoutGuard(sys.stdout)
    try:
        app()
    except SystemExit as exc:
        if exc.code == EXIT_INTERRUPTED:
            typer.echo("interrupted", err=True)
        if guard.error is not None:
            typer.echo(f"error: standard output could not be written ({guard.error.strerror or guard.error}); "
                       "the output is cut short, the result stands", err=True)
        if exc.code == EXIT_INTERRUPTED:
            _exit_interrupted()
        raise
    except KeyboardInterrupt:   # outside typer's own handling (e.g. while it parses arguments)
        typer.echo("interrupted", err=True)
        _exit_interrupted()
    except Exception as exc:  # the safety net is the point
        message = " ".join(str(exc).split())
        typer.echo(f"error: internal error: {type(exc).__name__}: {message} (please report this)", err=True)
        sys.exit(EXIT_SOLVER)


if __name__ == "__main__":
    main()
