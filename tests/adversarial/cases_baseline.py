"""Cases that already behaved before the trust issue: kept so they cannot regress."""
from harness import Case, edit_csv

CASES = [
    Case("missing-scenario-folder", "columns", ("validate", "{tmp}/nowhere"), 2, ("not found",)),
    Case("sites-negative-power", "ranges", ("solve", "{scn}", "--out", "{tmp}/out"), 2,
         ("sites.csv", "power_mw", "PL"),
         setup=lambda t: edit_csv(t / "scn/sites.csv", "POL,52.2,21.0,1000.0", "POL,52.2,21.0,-5")),
    Case("unknown-preset", "policy", ("solve", "{scn}", "--out", "{tmp}/out", "--policy", "nosuch"), 2,
         ("unknown preset", "aidr-2025")),
    Case("solve-happy", "output-folder", ("solve", "{scn}", "--out", "{tmp}/out"), 0, ("served",),
         writes=("out",)),
]
