"""Run every case of the adversarial corpus (``cases_*.py``); see ``harness.py`` for what each
case asserts. A corpus summary test keeps the floor of the trust issue: at least 80 cases."""
from __future__ import annotations

import importlib
from collections import Counter
from pathlib import Path

import pytest
from harness import Case, run_case

MODULES = sorted(p.stem for p in Path(__file__).parent.glob("cases_*.py"))
CASES: list[Case] = [c for m in MODULES for c in importlib.import_module(m).CASES]


def test_case_ids_are_unique():
    dup = [k for k, n in Counter(c.id for c in CASES).items() if n > 1]
    assert not dup, dup


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case, tmp_path):
    run_case(case, tmp_path)
