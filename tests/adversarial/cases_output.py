"""Never lose data: where fleetopt may write (the output-folder rule, files named by the user,
locks and leftovers) and when a sweep may be resumed (its manifest). Every refusal must leave
every file as it was; every allowed run may change only what it names in ``writes``."""
import json
import shutil
import socket
from pathlib import Path

import pandas as pd
from harness import Case, app, edit_csv, runner

from optimizer.bench.generate import generate_fleet

SOLVE = ("solve", "{scn}", "--out")
SWEEP = ("sweep", "{scn}", "--vary", "max_tier2_country_share=0.05,0.07", "--out")
DEAD_PID = 999_999_999    # above any pid_max: never a live process


def user_folder(tmp: Path, name: str = "mine") -> None:
    (tmp / name).mkdir()
    (tmp / name / "notes.txt").write_text("my notes\n")


def a_file(tmp: Path) -> None:
    (tmp / "afile").write_text("not a folder\n")


def swept(tmp: Path) -> None:
    r = runner.invoke(app, ["sweep", str(tmp / "scn"), "--vary", "max_tier2_country_share=0.05,0.07",
                            "--out", str(tmp / "sw")])
    assert r.exit_code == 0, r.output


def in_variant(tmp: Path, name: str) -> None:
    """A user's file in the first variant folder of the sweep at sw/ (``name`` may go into plan/)."""
    variant = sorted((tmp / "sw" / "variants").iterdir())[0]
    (variant / name).write_text("my notes\n")


def summary_edit(folder: Path, change) -> None:
    path = folder / "summary.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def old_plan(tmp: Path) -> None:
    """A plan as fleetopt 0.1.0 wrote it: no run manifest, and only its three files."""
    summary_edit(tmp / "plan", lambda d: d.pop("run"))
    for extra in ("prices.csv", "unserved.csv"):
        (tmp / "plan" / extra).unlink()


def other_scenario_plan(tmp: Path) -> None:
    """A copy of the plan whose manifest says it was planned from another chips.csv."""
    shutil.copytree(tmp / "plan", tmp / "plan2")
    summary_edit(tmp / "plan2", lambda d: d["run"]["scenario"]["inputs"].update({"chips.csv": "0" * 64}))


def leftovers(tmp: Path) -> None:
    (tmp / f".plan.tmp-{DEAD_PID}-abc").mkdir()
    (tmp / f".plan.tmp-{DEAD_PID}-abc" / "placement.csv").write_text("half\n")
    (tmp / f".plan.old-{DEAD_PID}-abc").mkdir()


def leftovers_gone(tmp: Path, output: str) -> None:
    assert not [p.name for p in tmp.iterdir() if p.name.startswith(".plan.")]


def generated(tmp: Path) -> None:
    generate_fleet(tmp / "gen", sites=20, skus=2, seed=1)


def parquet_holds_none(tmp: Path, output: str) -> None:
    table = pd.read_parquet(tmp / "sw" / "results.parquet")
    assert sorted(table["param:max_tier2_country_share"]) == ["0.07", "none"]
    assert len(pd.read_csv(tmp / "sw" / "results.csv")) == 2


def comparison_written(tmp: Path, output: str) -> None:
    table = pd.read_csv(tmp / "c.csv")
    assert set(table["table"]) == {"headline", "countries", "sites", "markets"}   # no limit changes: no rows


def then(*steps):
    def run(tmp: Path) -> None:
        for step in steps:
            step(tmp)
    return run


CASES = [
    # --- solve --out: the rule --------------------------------------------------------------
    Case("out-user-folder", "output-folder", (*SOLVE, "{tmp}/mine"), 2, ("mine", "did not write", "notes.txt"),
         setup=user_folder),
    Case("out-is-scenario", "output-folder", (*SOLVE, "{scn}"), 2, ("is the scenario folder",)),
    Case("out-contains-scenario", "output-folder", (*SOLVE, "{tmp}/.."), 2, ("contains the scenario folder",)),
    Case("out-inside-scenario", "output-folder", (*SOLVE, "{scn}/plan"), 2, ("inside the scenario folder",)),
    Case("out-symlink-to-scenario", "output-folder", (*SOLVE, "{tmp}/link"), 2, ("is the scenario folder",),
         setup=lambda t: (t / "link").symlink_to(t / "scn")),
    Case("out-dot", "output-folder", (*SOLVE, "."), 2, ("current folder",)),
    Case("out-is-a-file", "output-folder", (*SOLVE, "{tmp}/afile"), 2, ("is a file",), setup=a_file),
    Case("out-under-a-file", "output-folder", (*SOLVE, "{tmp}/afile/plan"), 2, ("afile", "is a file"),
         setup=a_file),
    Case("out-unwritable", "output-folder", (*SOLVE, "/proc/fleetopt-nowhere/plan"), 2, ("cannot create",)),
    Case("out-new-nested-folder-on-bad-input", "output-folder", (*SOLVE, "{tmp}/a/b/plan", "--policy", "nosuch"),
         2, ("unknown preset",)),
    Case("out-empty-folder", "output-folder", (*SOLVE, "{tmp}/empty"), 0, ("plan written",),
         setup=lambda t: (t / "empty").mkdir(), writes=("empty",)),
    Case("out-earlier-plan", "output-folder", (*SOLVE, "{plan}", "--policy", "none"), 0, ("plan written",),
         needs_plan=True, writes=("plan",)),
    Case("out-plan-0.1.0", "output-folder", (*SOLVE, "{plan}"), 0, ("plan written",), needs_plan=True,
         setup=old_plan, writes=("plan",)),
    Case("out-symlink-to-plan", "output-folder", (*SOLVE, "{tmp}/link"), 0, ("plan written",), needs_plan=True,
         setup=lambda t: (t / "link").symlink_to(t / "plan"), writes=("plan",)),
    Case("out-plan-with-user-file", "output-folder", (*SOLVE, "{plan}"), 2, ("did not write", "notes.txt"),
         needs_plan=True, setup=lambda t: (t / "plan" / "notes.txt").write_text("mine\n")),
    Case("out-sweep-folder", "output-folder", (*SOLVE, "{tmp}/sw"), 2, ("is a sweep folder",), setup=swept),
    Case("out-live-lock", "output-folder", (*SOLVE, "{tmp}/out"), 2, ("another fleetopt run", "(pid 1)"),
         setup=lambda t: (t / ".out.lock").write_text(f"1 {socket.gethostname()}\n")),
    Case("out-stale-lock-taken-over", "output-folder", (*SOLVE, "{tmp}/out"), 0, ("plan written",),
         setup=lambda t: (t / ".out.lock").write_text(f"{DEAD_PID} {socket.gethostname()}\n"),
         writes=("out", ".out.lock")),
    Case("out-leftovers-cleaned", "output-folder", (*SOLVE, "{plan}"), 0, ("plan written",), needs_plan=True,
         setup=leftovers, writes=("plan", f".plan.tmp-{DEAD_PID}-abc", f".plan.old-{DEAD_PID}-abc"),
         check=leftovers_gone),
    # --- generate OUT ---------------------------------------------------------------------------
    Case("generate-into-user-folder", "output-folder", ("generate", "{tmp}/mine", "--sites", "20"), 2,
         ("OUT", "did not write", "notes.txt"), setup=user_folder),
    Case("generate-into-user-scenario", "output-folder", ("generate", "{scn}", "--sites", "20"), 2,
         ("did not write", "sites.csv")),
    Case("generate-into-a-file", "output-folder", ("generate", "{tmp}/afile", "--sites", "20"), 2, ("is a file",),
         setup=a_file),
    Case("generate-into-dot", "output-folder", ("generate", ".", "--sites", "20"), 2, ("current folder",)),
    Case("generate-over-generated", "output-folder", ("generate", "{tmp}/gen", "--sites", "30", "--seed", "2"), 0,
         ("wrote",), setup=generated, writes=("gen",)),
    Case("generate-over-edited-generated", "output-folder", ("generate", "{tmp}/gen", "--sites", "30"), 2,
         ("did not write", "links.csv"),
         setup=then(generated, lambda t: (t / "gen" / "links.csv").write_text("market_id,site_id\n"))),
    # --- files named by the user --------------------------------------------------------------------
    Case("report-is-a-folder", "file-path", (*SOLVE, "{tmp}/out", "--report", "{tmp}/rdir"), 2, ("is a folder",),
         setup=lambda t: (t / "rdir").mkdir()),
    Case("report-under-a-file", "file-path", (*SOLVE, "{tmp}/out", "--report", "{tmp}/afile/r.html"), 2,
         ("is a file",), setup=a_file),
    Case("report-over-an-input", "file-path", (*SOLVE, "{tmp}/out", "--report", "{scn}/sites.csv"), 2,
         ("would overwrite",)),
    Case("report-inside-out", "file-path", (*SOLVE, "{tmp}/out", "--report", "{tmp}/out/r.html"), 2,
         ("would overwrite",)),
    Case("report-replaces-a-report-fleetopt-wrote", "file-path", (*SOLVE, "{tmp}/out", "--report", "{tmp}/r.html"),
         0, ("report written",), writes=("out", "r.html"),
         setup=lambda t: (t / "r.html").write_text('<html><head><meta name="generator" content="fleetopt report">\n')),
    Case("report-refuses-a-file-fleetopt-did-not-write", "file-path",
         (*SOLVE, "{tmp}/out", "--report", "{tmp}/r.html"), 2, ("not a report fleetopt wrote",),
         setup=lambda t: (t / "r.html").write_text("old\n"), absent=("report written",)),
    Case("compare-out-is-a-folder", "file-path", ("compare", "{plan}", "{plan}", "--out", "{tmp}/d"), 2,
         ("is a folder",), needs_plan=True, setup=lambda t: (t / "d").mkdir()),
    Case("compare-out-inside-a-plan", "file-path", ("compare", "{plan}", "{plan}", "--out", "{plan}/c.csv"), 2,
         ("would overwrite",), needs_plan=True),
    Case("compare-out-writes-one-csv", "file-path", ("compare", "{plan}", "{plan}", "--out", "{tmp}/c.csv"), 0,
         ("tables written",), needs_plan=True, writes=("c.csv",), absent=("warning",), check=comparison_written),
    Case("compare-warns-on-other-inputs", "file-path", ("compare", "{plan}", "{tmp}/plan2"), 0,
         ("warning:", "chips.csv changed"), needs_plan=True, setup=other_scenario_plan),
    # --- sweeps ---------------------------------------------------------------------------------------
    Case("sweep-into-user-folder", "sweep", (*SWEEP, "{tmp}/mine"), 2, ("did not write", "notes.txt"),
         setup=user_folder),
    Case("sweep-restart-user-folder", "sweep", (*SWEEP, "{tmp}/mine", "--restart"), 2, ("did not write",),
         setup=user_folder),
    Case("sweep-into-plan-folder", "sweep", (*SWEEP, "{plan}"), 2, ("is a plan folder",), needs_plan=True),
    Case("sweep-out-is-scenario", "sweep", (*SWEEP, "{scn}"), 2, ("is the scenario folder",)),
    Case("sweep-out-inside-scenario", "sweep", (*SWEEP, "{scn}/sw"), 2, ("inside the scenario folder",)),
    Case("sweep-folder-with-user-file", "sweep", (*SWEEP, "{tmp}/sw"), 2, ("did not write", "notes.txt"),
         setup=then(swept, lambda t: (t / "sw" / "notes.txt").write_text("mine\n"))),
    Case("sweep-restart-user-file-in-variant-plan", "sweep", (*SWEEP, "{tmp}/sw", "--restart"), 2,
         ("did not write", "/plan/notes.txt"), setup=then(swept, lambda t: in_variant(t, "plan/notes.txt"))),
    Case("sweep-rerun-user-file-in-variant-plan", "sweep", (*SWEEP, "{tmp}/sw"), 2,
         ("did not write", "/plan/notes.txt"), setup=then(swept, lambda t: in_variant(t, "plan/notes.txt"))),
    Case("sweep-restart-user-file-in-variant", "sweep", (*SWEEP, "{tmp}/sw", "--restart"), 2,
         ("did not write", "variants/", "/mine.txt"), setup=then(swept, lambda t: in_variant(t, "mine.txt"))),
    Case("sweep-rerun-after-chips-edit", "sweep", (*SWEEP, "{tmp}/sw"), 2,
         ("chips.csv changed", "new --out", "--restart"),
         setup=then(swept, lambda t: edit_csv(t / "scn/chips.csv", ",100,", ",90,"))),
    Case("sweep-rerun-other-policy", "sweep", (*SWEEP, "{tmp}/sw", "--policy", "none"), 2,
         ("policy differs", "--restart"), setup=swept),
    Case("sweep-rerun-skips-done", "sweep", (*SWEEP, "{tmp}/sw"), 0, ("resumed: 2 of 2",), setup=swept,
         writes=("sw",)),
    Case("sweep-restart-after-edit", "sweep", (*SWEEP, "{tmp}/sw", "--restart"), 0, ("2 variants",),
         setup=then(swept, lambda t: edit_csv(t / "scn/chips.csv", ",100,", ",90,")), writes=("sw",),
         absent=("resumed",)),
    Case("sweep-none-value-in-every-output", "sweep",
         ("sweep", "{scn}", "--vary", "max_tier2_country_share=0.07,none", "--out", "{tmp}/sw"), 0,
         ("2 variants",), writes=("sw",), check=parquet_holds_none),
]
