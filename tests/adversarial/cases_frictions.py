"""Issue 12, small frictions: a SCENARIO given by the name of a shipped dataset (from a folder
that is not the checkout), a local folder that shadows that name, and output aimed at the
shipped dataset's own folder. Each runs in the corpus's temp folder, so ``sample`` is a name,
not a path, unless a case makes a folder of that name."""
import shutil
from pathlib import Path

from harness import DATASETS, Case, good_scenario


def local_sample(tmp: Path) -> None:
    """A small valid scenario at ``tmp/sample``: it shadows the shipped sample."""
    good_scenario(tmp / "sample")


def file_named_sample(tmp: Path) -> None:
    (tmp / "sample").write_text("not a folder\n")


def copy_plan_to(name: str):
    def setup(tmp: Path) -> None:
        shutil.copytree(tmp / "plan", tmp / name)
    return setup


SHADOW = "is used, not the shipped dataset"

CASES = [
    Case("shipped-name-validates-anywhere", "file-path", ("validate", "sample"), 0,
         words=("valid under policy", "253 sites", str(DATASETS / "sample")), absent=(SHADOW,)),
    Case("shipped-name-lists", "file-path", ("datasets",), 0, words=("sample", "253", "499", "aidr-2025")),
    Case("shipped-name-unknown", "file-path", ("validate", "smaple"), 2,
         words=("smaple: scenario folder not found", "shipped datasets", "sample", "fleetopt datasets")),
    Case("shipped-name-solve-writes-only-out", "file-path", ("solve", "sample", "--out", "out"), 0,
         words=("plan written to out/",), writes=("out",)),
    Case("shipped-name-shadowed-by-local-folder", "file-path", ("validate", "sample"), 0,
         setup=local_sample, words=("note: scenario sample", SHADOW, "3 sites")),
    Case("shipped-name-shadowed-solve", "file-path", ("solve", "sample", "--out", "out"), 0,
         setup=local_sample, words=(SHADOW, "plan written to out/"), writes=("out",)),
    Case("shipped-name-shadowed-check", "file-path", ("check", "sample", "{plan}"), 0,
         setup=local_sample, needs_plan=True, words=(SHADOW, "compliant")),
    Case("shipped-name-shadowed-explain", "file-path", ("explain", "sample"), 0,
         setup=local_sample, words=(SHADOW, "served")),
    Case("shipped-name-file-does-not-shadow", "file-path", ("validate", "sample"), 0,
         setup=file_named_sample, words=("253 sites",), absent=(SHADOW,)),
    Case("shipped-name-out-into-shipped-folder", "output-folder",
         ("solve", "sample", "--out", str(DATASETS / "sample" / "plan")), 2, words=("error:",)),
    Case("shipped-name-out-is-shipped-folder", "output-folder",
         ("solve", "sample", "--out", str(DATASETS / "sample")), 2, words=("error:",)),
    Case("shipped-name-report-into-shipped-folder", "output-folder",
         ("solve", "sample", "--out", "out", "--report", str(DATASETS / "sample" / "r.html")), 2,
         words=("error:", "--report")),
    Case("shipped-name-check-swapped", "plan-files", ("check", "{plan}", "sample"), 2,
         needs_plan=True, words=("look swapped",)),
]
