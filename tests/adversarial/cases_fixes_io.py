"""Fixes from the trust reviews (output side): a file the user names for output (``--report``,
``compare --out``) is never an input of the run — the policy file however it was chosen, the
--baseline policy, anything in the shipped datasets/, anything in the scenario folder; a folder
is fleetopt's only when its files say so (a parseable 0.1.0 summary, unedited generated files);
usage errors are ``error:`` lines, exit 2."""
import json
import shutil
import socket
from pathlib import Path

from harness import Case

from optimizer.bench.generate import generate_fleet

SOLVE = ("solve", "{scn}", "--out", "{tmp}/p")


def baseline_policy(tmp: Path) -> None:
    (tmp / "base.toml").write_text('name = "mine"\nban_tier3 = false\n')


def garbage_summary(tmp: Path) -> None:
    """A folder of another tool's files that happen to carry fleetopt's three names."""
    folder = tmp / "other"
    folder.mkdir()
    for name in ("placement.csv", "service.csv"):
        (folder / name).write_text("a,b\n1,2\n")
    (folder / "summary.json").write_text("not json at all\n")


def foreign_json_summary(tmp: Path) -> None:
    garbage_summary(tmp)
    (tmp / "other" / "summary.json").write_text(json.dumps({"title": "my own summary"}))


def hand_edited_generated(tmp: Path) -> None:
    generate_fleet(tmp / "gen", sites=20, skus=2, seed=1)
    with open(tmp / "gen" / "sites.csv", "a") as fh:
        fh.write("# my edit\n")


def generated_plus_one(tmp: Path) -> None:
    generate_fleet(tmp / "gen", sites=20, skus=2, seed=1)
    (tmp / "gen" / "mine.txt").write_text("my notes\n")


def variant_policy_with_bad_home(tmp: Path) -> None:
    (tmp / "v.toml").write_text('name = "v"\nhome_country = "XXX"\nmin_home_share = 0.5\n')


def variant_policy_cap_on_tier1(tmp: Path) -> None:
    (tmp / "v.toml").write_text('name = "v"\nhome_country = "USA"\n[caps]\nDEU = 1000\n')


def copy_plan(tmp: Path) -> None:
    shutil.copytree(tmp / "plan", tmp / "plan2")


DEAD_PID = 999_999_999    # above any pid_max: never a live process
USER_FILE = "my budget, 2026\n"


def user_file(tmp: Path) -> None:
    (tmp / "budget.csv").write_text(USER_FILE)


def user_file_and_plan(tmp: Path) -> None:
    user_file(tmp)
    copy_plan(tmp)


def user_file_kept(tmp: Path, output: str) -> None:
    assert (tmp / "budget.csv").read_text() == USER_FILE, "a file the user wrote was replaced"


CASES = [
    Case("out-lock-of-another-host", "output-folder", (*SOLVE[:3], "{tmp}/out"), 2,
         ("another fleetopt run", f"pid {DEAD_PID} on elsewhere", ".out.lock"),
         setup=lambda t: (t / ".out.lock").write_text(f"{DEAD_PID} elsewhere\n")),
    Case("out-lock-dead-pid-this-host", "output-folder", (*SOLVE[:3], "{tmp}/out"), 0, ("plan written",),
         setup=lambda t: (t / ".out.lock").write_text(f"{DEAD_PID} {socket.gethostname()}\n"),
         writes=("out", ".out.lock")),
    Case("report-onto-default-preset", "file-path",
         (*SOLVE, "--report", "{data}/policies/aidr-2025.toml"), 2, ("--report", "would overwrite")),
    Case("report-onto-named-preset", "file-path",
         (*SOLVE, "--policy", "none", "--report", "{data}/policies/none.toml"), 2, ("would overwrite",)),
    Case("report-onto-other-preset", "file-path",
         (*SOLVE, "--report", "{data}/policies/nonenforced-2025-05.toml"), 2, ("would overwrite",)),
    Case("report-onto-shipped-countries", "file-path",
         (*SOLVE, "--report", "{data}/countries.csv"), 2, ("would overwrite", "countries.csv")),
    Case("report-new-file-in-datasets", "file-path",
         (*SOLVE, "--report", "{data}/report.html"), 2, ("would overwrite",)),
    Case("report-onto-baseline-policy", "file-path",
         (*SOLVE, "--baseline", "{tmp}/base.toml", "--report", "{tmp}/base.toml"), 2,
         ("would overwrite", "base.toml"), setup=baseline_policy),
    Case("report-new-file-in-scenario", "file-path",
         (*SOLVE, "--report", "{scn}/report.html"), 2, ("would overwrite", "scn")),
    Case("compare-out-into-datasets", "file-path",
         ("compare", "{plan}", "{tmp}/plan2", "--out", "{data}/c.csv"), 2, ("would overwrite",),
         setup=copy_plan, needs_plan=True),
    # a file the user named for output that exists and fleetopt did not write is refused, not replaced
    # (a careless-user pass replaced a CSV with a report, another scenario's sites.csv with a log)
    Case("report-onto-a-users-file", "file-path", (*SOLVE, "--report", "{tmp}/budget.csv"), 2,
         ("--report", "budget.csv", "not a report fleetopt wrote"), setup=user_file, check=user_file_kept),
    Case("log-onto-a-users-file", "file-path", (*SOLVE, "--log", "{tmp}/budget.csv"), 2,
         ("--log", "budget.csv", "not a solver log fleetopt wrote"), setup=user_file, check=user_file_kept),
    Case("report-command-onto-a-users-file", "file-path", ("report", "{scn}", "{plan}", "--out", "{tmp}/budget.csv"),
         2, ("--out", "not a report fleetopt wrote"), setup=user_file, needs_plan=True, check=user_file_kept),
    Case("compare-onto-a-users-file", "file-path", ("compare", "{plan}", "{tmp}/plan2", "--out", "{tmp}/budget.csv"),
         2, ("--out", "not a comparison fleetopt wrote"), setup=user_file_and_plan, needs_plan=True,
         check=user_file_kept),
    Case("report-through-a-symlink-loop", "file-path", (*SOLVE, "--report", "{tmp}/loop.html"), 2,
         ("--report", "loop.html", "cannot resolve"), absent=("internal error",),
         setup=lambda t: (t / "loop.html").symlink_to(t / "loop.html")),
    Case("bench-results-onto-a-users-file", "file-path",
         ("bench", "--sizes", "50", "--paths", "fast", "--workdir", "{tmp}/w", "--results", "{tmp}/budget.csv"), 2,
         ("--results", "not a benchmark results file fleetopt wrote"), setup=user_file, check=user_file_kept),
    Case("bench-sweep-results-onto-a-users-file", "file-path",
         ("bench-sweep", "--sites", "20", "--variants", "2", "--workdir", "{tmp}/w", "--results", "{tmp}/budget.csv"),
         2, ("--results", "not a benchmark results file fleetopt wrote"), setup=user_file, check=user_file_kept),
    Case("out-garbage-summary-folder", "output-folder", ("solve", "{scn}", "--out", "{tmp}/other"), 2,
         ("--out", "other", "did not write"), setup=garbage_summary),
    Case("out-foreign-json-summary-folder", "output-folder", ("solve", "{scn}", "--out", "{tmp}/other"), 2,
         ("--out", "other", "did not write"), setup=foreign_json_summary),
    Case("generate-over-hand-edit", "output-folder", ("generate", "{tmp}/gen", "--sites", "20", "--skus", "2"), 2,
         ("OUT", "gen", "sites.csv", "changed"), setup=hand_edited_generated),
    Case("generate-names-only-foreign-file", "output-folder",
         ("generate", "{tmp}/gen", "--sites", "20", "--skus", "2"), 2,
         ("mine.txt",), setup=generated_plus_one, absent=("chips.csv", "generated.json")),
    Case("generate-into-cwd-names-its-argument", "output-folder", ("generate", "."), 2,
         ("current folder",), absent=("--out",)),
    Case("usage-top-zero", "options", ("explain", "{scn}", "--top", "0"), 2,
         ("error:", "--top"), absent=("╭", "Usage:")),
    Case("usage-bad-path-choice", "options", ("solve", "{scn}", "--out", "{tmp}/p", "--path", "nope"), 2,
         ("error:", "--path", "fast"), absent=("╭",)),
    Case("usage-missing-option-value", "options", ("solve", "{scn}", "--out"), 2,
         ("error:", "--out"), absent=("╭",)),
    Case("usage-sites-zero", "options", ("generate", "{tmp}/g", "--sites", "0"), 2,
         ("error:", "--sites"), absent=("╭",)),
    Case("usage-no-such-command", "options", ("solv", "{scn}"), 2, ("error:", "solv"), absent=("╭",)),
    Case("sweep-variant-policy-bad-home", "sweep",
         ("sweep", "{scn}", "--policies", "{tmp}/v.toml", "--out", "{tmp}/sw"), 2,
         ("variant policy", "v.toml", "XXX"), setup=variant_policy_with_bad_home),
    Case("sweep-variant-policy-cap-on-tier1", "sweep",
         ("sweep", "{scn}", "--policies", "{tmp}/v.toml", "--out", "{tmp}/sw"), 2,
         ("variant policy", "v.toml", "DEU"), setup=variant_policy_cap_on_tier1),
    Case("solve-misspelt-baseline-before-solving", "policy",
         ("solve", "{scn}", "--out", "{tmp}/p", "--baseline", "nonee"), 2, ("--baseline", "nonee")),
    Case("check-arguments-swapped", "plan-files", ("check", "{plan}", "{scn}"), 2,
         ("swapped",), needs_plan=True),
]
