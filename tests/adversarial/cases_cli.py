"""Command-line options out of range and plan files that cannot be read (issue 9, sections 3-4):
each is one `error:` line naming the option or file, exit 2, nothing written. A plan without
summary.json is fine: plans made by hand or by another tool are audited too."""
from pathlib import Path

from harness import Case, edit_csv

SOLVE = ("solve", "{scn}", "--out", "{tmp}/out")
CHECK = ("check", "{scn}", "{plan}")
BINARY = bytes(range(256)) * 4


def write(rel: str, data: str | bytes):
    """A setup that writes ``data`` at ``tmp/rel`` (text or bytes)."""
    def setup(tmp: Path) -> None:
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data)
    return setup


def replace_with_folder(rel: str):
    """A setup that puts an empty folder where the file ``tmp/rel`` was."""
    def setup(tmp: Path) -> None:
        (tmp / rel).unlink()
        (tmp / rel).mkdir()
    return setup


def remove(rel: str):
    return lambda tmp: (tmp / rel).unlink()


def sweep_folder(rel: str, text: str = "variant,status,objective,served_pct,cost_usd\nbase,optimal,1,1,1\n"):
    """A setup that writes a minimal sweep folder (results.csv only)."""
    return write(f"{rel}/results.csv", text)


PLAN_FILES = [
    Case("check-plan-dir-is-file", "plan-files", ("check", "{scn}", "{tmp}/plan.txt"), 2,
         ("plan.txt", "not a folder"), setup=write("plan.txt", "x")),
    Case("check-plan-dir-missing", "plan-files", ("check", "{scn}", "{tmp}/nowhere"), 2, ("nowhere", "not found")),
    Case("check-placement-binary", "plan-files", CHECK, 2, ("placement.csv", "utf-8", "binary"), needs_plan=True,
         setup=write("plan/placement.csv", BINARY)),
    Case("check-placement-empty", "plan-files", CHECK, 2, ("placement.csv", "empty file"), needs_plan=True,
         setup=write("plan/placement.csv", "")),
    Case("check-placement-wrong-columns", "plan-files", CHECK, 2, ("placement.csv", "missing column", "new_units"),
         needs_plan=True, setup=write("plan/placement.csv", "site,chip,count\nUS,H,3\n")),
    Case("check-placement-units-not-numbers", "plan-files", CHECK, 2,
         ("placement.csv", "column units", "line 2", "lots"), needs_plan=True,
         setup=write("plan/placement.csv", "site_id,sku,installed_units,new_units,units\nUS,H,10,0,lots\n")),
    Case("check-placement-installed-not-numbers", "plan-files", CHECK, 2,
         ("placement.csv", "column installed_units", "line 3", "''"), needs_plan=True,
         setup=lambda t: edit_csv(t / "plan/placement.csv", "\nUS,USA,1,H,10.0,", "\nUS,USA,1,H,,")),
    Case("check-placement-units-inf", "plan-files", CHECK, 2, ("placement.csv", "not finite"), needs_plan=True,
         setup=write("plan/placement.csv", "site_id,sku,installed_units,new_units,units\nUS,H,10,inf,inf\n")),
    Case("check-placement-is-folder", "plan-files", CHECK, 2, ("placement.csv", "is a folder"), needs_plan=True,
         setup=replace_with_folder("plan/placement.csv")),
    Case("check-service-missing", "plan-files", CHECK, 2, ("service.csv", "file missing"), needs_plan=True,
         setup=remove("plan/service.csv")),
    Case("check-service-binary", "plan-files", CHECK, 2, ("service.csv", "utf-8"), needs_plan=True,
         setup=write("plan/service.csv", BINARY)),
    Case("check-summary-corrupt", "plan-files", CHECK, 2, ("summary.json", "not valid json"), needs_plan=True,
         setup=write("plan/summary.json", '{"status": "optimal", ')),
    Case("check-summary-empty", "plan-files", CHECK, 2, ("summary.json", "empty file"), needs_plan=True,
         setup=write("plan/summary.json", "")),
    Case("check-summary-binary", "plan-files", CHECK, 2, ("summary.json", "utf-8"), needs_plan=True,
         setup=write("plan/summary.json", BINARY)),
    Case("check-summary-list", "plan-files", CHECK, 2, ("summary.json", "json object", "array"), needs_plan=True,
         setup=write("plan/summary.json", "[]")),
    Case("check-summary-string", "plan-files", CHECK, 2, ("summary.json", "string"), needs_plan=True,
         setup=write("plan/summary.json", '"plan"')),
    Case("check-summary-policy-number", "plan-files", CHECK, 2, ("summary.json", "'policy'", "number"),
         needs_plan=True, setup=write("plan/summary.json", '{"policy": 5}')),
    Case("check-summary-is-folder", "plan-files", CHECK, 2, ("summary.json", "folder"), needs_plan=True,
         setup=replace_with_folder("plan/summary.json")),
    Case("check-all-three-broken-at-once", "plan-files", CHECK, 2,
         ("placement.csv", "service.csv", "summary.json"), needs_plan=True,
         setup=lambda t: [write(f"plan/{n}", "")(t) for n in ("placement.csv", "service.csv", "summary.json")]),
    # a hand-made plan need not have summary.json: judged under the scenario's policy by its verdict
    Case("check-summary-missing-is-fine", "plan-files", CHECK, 0, ("compliant",), needs_plan=True,
         setup=remove("plan/summary.json")),
    Case("compare-b-missing", "plan-files", ("compare", "{plan}", "{tmp}/nowhere"), 2, ("nowhere", "not found"),
         needs_plan=True),
    Case("compare-plan-with-sweep", "plan-files", ("compare", "{plan}", "{tmp}/sw"), 2,
         ("a plan folder", "a sweep folder"), needs_plan=True, setup=sweep_folder("sw")),
    Case("compare-both-plans-broken", "plan-files", ("compare", "{plan}", "{tmp}/p2"), 2,
         ("plan/summary.json", "p2/placement.csv"), needs_plan=True,
         setup=lambda t: [write("plan/summary.json", "[]")(t), write("p2/placement.csv", BINARY)(t),
                          write("p2/service.csv", "market_id,site_id,tpp\n")(t)]),
    Case("compare-hand-made-plan-without-tpp", "plan-files", ("compare", "{plan}", "{tmp}/p2"), 2,
         ("p2/placement.csv", "compare needs", "country"), needs_plan=True,
         setup=lambda t: [write("p2/placement.csv", "site_id,sku,installed_units,new_units,units\nUS,H,10,0,10\n")(t),
                          write("p2/service.csv", "market_id,site_id,tpp\n")(t)]),
    Case("compare-sweep-results-binary", "plan-files", ("compare", "{tmp}/sa", "{tmp}/sb"), 2,
         ("sb/results.csv", "not a readable"), setup=lambda t: [sweep_folder("sa")(t), write("sb/results.csv", BINARY)(t)]),
    Case("compare-sweep-results-wrong-columns", "plan-files", ("compare", "{tmp}/sa", "{tmp}/sb"), 2,
         ("sb/results.csv", "missing column", "objective"),
         setup=lambda t: [sweep_folder("sa")(t), sweep_folder("sb", "variant,status\nbase,optimal\n")(t)]),
    Case("compare-two-sweeps", "plan-files", ("compare", "{tmp}/sa", "{tmp}/sb"), 0,
         ("headline per variant", "1 in both", "variant base: optimal -> optimal", "binding limits: not recorded"),
         setup=lambda t: [sweep_folder("sa")(t), sweep_folder("sb")(t)]),
]

OPTIONS = [
    Case("solve-time-limit-negative", "options", (*SOLVE, "--time-limit", "-5"), 2, ("--time-limit -5", "> 0")),
    Case("solve-time-limit-nan", "options", (*SOLVE, "--time-limit", "nan"), 2, ("--time-limit nan", "> 0")),
    Case("solve-time-limit-zero", "options", (*SOLVE, "--time-limit", "0"), 2, ("--time-limit 0", "> 0")),
    Case("solve-time-limit-inf-is-no-limit", "options", (*SOLVE, "--time-limit", "inf"), 0, ("status: optimal",),
         writes=("out",)),
    Case("solve-time-limit-not-a-number", "options", (*SOLVE, "--time-limit", "soon"), 2, ("--time-limit",)),
    Case("solve-gap-negative", "options", (*SOLVE, "--integer", "--gap", "-1"), 2, ("--gap -1", "fraction")),
    Case("solve-gap-nan", "options", (*SOLVE, "--integer", "--gap", "nan"), 2, ("--gap nan",)),
    Case("solve-gap-two", "options", (*SOLVE, "--integer", "--gap", "2"), 2, ("--gap 2", "< 1")),
    Case("solve-gap-without-integer", "options", (*SOLVE, "--gap", "0.01"), 2, ("--gap", "--integer")),
    Case("solve-bad-options-all-at-once", "options", (*SOLVE, "--time-limit", "-1", "--gap", "-1"), 2,
         ("--time-limit", "--gap")),
    Case("solve-path-unknown", "options", (*SOLVE, "--path", "fastest"), 2, ("--path",)),
    Case("solve-method-unknown", "options", (*SOLVE, "--integer", "--method", "guess"), 2, ("--method", "exact")),
    Case("explain-top-zero", "options", ("explain", "{scn}", "--top", "0"), 2, ("--top",)),
    Case("compare-top-zero", "options", ("compare", "{plan}", "{plan}", "--top", "0"), 2, ("--top",),
         needs_plan=True),
    Case("sweep-workers-zero", "options", ("sweep", "{scn}", "--out", "{tmp}/sw", "--workers", "0"), 2,
         ("--workers",)),
    Case("sweep-policies-misspelt", "options",
         ("sweep", "{scn}", "--out", "{tmp}/sw", "--policies", "aidr-2025,aidr-2052"), 2,
         ("policy aidr-2052", "unknown preset")),
    Case("sweep-grid-policy-misspelt", "options", ("sweep", "{scn}", "--out", "{tmp}/sw", "--grid", "{tmp}/grid.toml"),
         2, ("policy nosuch", "unknown preset"), setup=write("grid.toml", 'policy = ["none", "nosuch"]\n')),
    Case("sweep-dask-address-junk", "options", ("sweep", "{scn}", "--out", "{tmp}/sw", "--dask", "junk"), 2,
         ("--dask", "tcp://host:port")),
    Case("sweep-vary-junk", "options", ("sweep", "{scn}", "--out", "{tmp}/sw", "--vary", "junk"), 2,
         ("--vary", "key=start:stop:step")),
    Case("sweep-vary-empty-value", "options",
         ("sweep", "{scn}", "--out", "{tmp}/sw", "--vary", "max_tier2_country_share="), 2,
         ("--vary", "empty value")),
    Case("sweep-vary-nan", "options",
         ("sweep", "{scn}", "--out", "{tmp}/sw", "--vary", "max_tier2_country_share=0.05,nan"), 2,
         ("max_tier2_country_share = nan", "none")),
    Case("sweep-vary-range-backwards", "options",
         ("sweep", "{scn}", "--out", "{tmp}/sw", "--vary", "max_tier2_country_share=0.1:0.05:0.01"), 2,
         ("step must be > 0",)),
    Case("sweep-grid-not-toml", "options", ("sweep", "{scn}", "--out", "{tmp}/sw", "--grid", "{tmp}/grid.toml"), 2,
         ("grid.toml", "not valid toml"), setup=write("grid.toml", "max_tier2_country_share = [0.05,")),
    Case("sweep-grid-binary", "options", ("sweep", "{scn}", "--out", "{tmp}/sw", "--grid", "{tmp}/grid.toml"), 2,
         ("grid.toml", "utf-8"), setup=write("grid.toml", BINARY)),
    Case("sweep-grid-empty-csv", "options", ("sweep", "{scn}", "--out", "{tmp}/sw", "--grid", "{tmp}/grid.csv"), 2,
         ("grid.csv", "no variants"), setup=write("grid.csv", "")),
    Case("sweep-grid-empty-toml", "options", ("sweep", "{scn}", "--out", "{tmp}/sw", "--grid", "{tmp}/grid.toml"),
         2, ("grid.toml", "no parameters"), setup=write("grid.toml", "# nothing yet\n")),
    Case("sweep-grid-is-folder", "options", ("sweep", "{scn}", "--out", "{tmp}/sw", "--grid", "{tmp}/g"), 2,
         ("--grid",), setup=lambda t: (t / "g").mkdir()),
    Case("generate-zero-sites", "options", ("generate", "{tmp}/g", "--sites", "0"), 2, ("--sites",)),
    # more metros than sites (the default for small fleets) crashed when no site had installed units
    Case("generate-more-metros-than-sites", "options", ("generate", "{tmp}/g", "--sites", "3", "--metros", "50"),
         0, ("3 sites",), writes=("g",)),
    Case("generate-negative-seed", "options", ("generate", "{tmp}/g", "--sites", "3", "--seed", "-1"), 2,
         ("--seed",)),
    Case("generate-one-site", "options", ("generate", "{tmp}/g", "--sites", "1"), 0, ("1 sites",), writes=("g",)),
    Case("bench-sizes-zero", "options",
         ("bench", "--sizes", "0", "--paths", "fast", "--workdir", "{tmp}/bw", "--results", "{tmp}/r.md"), 2,
         ("sizes", ">= 1")),
    Case("bench-no-paths", "options",
         ("bench", "--sizes", "5", "--paths", "", "--workdir", "{tmp}/bw", "--results", "{tmp}/r.md"), 2,
         ("--paths: none given", "paths are")),
    Case("bench-every-bad-option-at-once", "options",
         ("bench", "--sizes", "abc", "--paths", "fast,zz", "--time-limit", "nan", "--workdir", "{tmp}/bw",
          "--results", "{tmp}/r.md"), 2, ("--paths zz: unknown", "--sizes abc", "--time-limit nan")),
    Case("bench-time-limit-negative", "options",
         ("bench", "--sizes", "5", "--paths", "fast", "--time-limit", "-1", "--workdir", "{tmp}/bw",
          "--results", "{tmp}/r.md"), 2, ("--time-limit -1",)),
    Case("policy-is-a-folder", "file-path", ("validate", "{scn}", "--policy", "{tmp}/pol"), 2, ("pol",),
         setup=lambda t: (t / "pol").mkdir()),
    Case("policy-binary-file", "file-path", ("validate", "{scn}", "--policy", "{tmp}/pol.toml"), 2,
         ("pol.toml", "toml"), setup=write("pol.toml", BINARY)),
    Case("policy-empty-name", "file-path", ("validate", "{scn}", "--policy", ""), 2, ("policy",)),
    Case("scenario-is-a-file", "file-path", ("solve", "{tmp}/scn/sites.csv", "--out", "{tmp}/out"), 2,
         ("sites.csv",)),
]

CASES = PLAN_FILES + OPTIONS
