#!/usr/bin/env bash
# Objectives of two checkouts (e.g. a release and main) on the same generated fleets, path by path:
#   git worktree add /tmp/old <commit>
#   bash benchmarks/compare_objectives.sh /tmp/old . [WORKDIR]
# Prints one line per (sites, path) with both objectives and their relative difference; a
# restructuring must leave every one at 0 (1e-9 at most).
set -u
OLD=$(cd "$1" && pwd); NEW=$(cd "$2" && pwd); OUT=${3:-/tmp/fleetopt-compare}
rm -rf "$OUT"; mkdir -p "$OUT"
for n in 100 300 1000 3000 10000; do
  (cd "$NEW" && python -m cli generate "$OUT/fleet-$n" --sites $n --skus 12 --seed 1 >/dev/null)
done
for spec in "100 fast" "300 fast" "1000 fast" "3000 fast" "10000 fast" "100 plain" "300 plain" "1000 plain" \
            "100 pulp" "300 pulp" "1000 pulp" "100 ortools-glop" "300 ortools-glop" "1000 ortools-glop" \
            "100 ortools-pdlp"; do
  set -- $spec
  for side in old new; do
    dir=$OLD; [ $side = new ] && dir=$NEW
    (cd "$dir" && timeout 600 python -m cli solve "$OUT/fleet-$1" --out "$OUT/plan-$1-$2-$side" --path $2 >/dev/null 2>&1)
  done
  python - "$OUT/plan-$1-$2-old/summary.json" "$OUT/plan-$1-$2-new/summary.json" "$1 $2" <<'PY'
import json, sys
try:
    a, b = (json.load(open(p))["objective"] for p in sys.argv[1:3])
    print(f"{sys.argv[3]:<22} old {a:.10e} new {b:.10e} rel {abs(a - b) / max(abs(a), 1e-9):.1e}")
except (OSError, KeyError, ValueError) as exc:
    print(f"{sys.argv[3]:<22} no comparison ({exc})")
PY
done
