"""The backend registry: name -> backend object, with each backend's capabilities known before
its solver library is imported (OR-Tools is heavy, and highspy's HiPO build cannot share a
process with it: it runs in a child process, :mod:`optimizer.solvers.ortools_process`).

=============  ====================================  ===  ===  =====  ====  =========  =======
name           solver                                lp   mip  duals  warm  two-stage  ranging
=============  ====================================  ===  ===  =====  ====  =========  =======
highs          HiGHS (simplex / IPM; branch and cut)  yes  yes  yes    yes   yes        yes
ortools-glop   OR-Tools GLOP (simplex)               yes  no   yes    no    yes        no
ortools-pdlp   OR-Tools PDLP (first-order)           yes  no   yes    no    yes        no
ortools-scip   OR-Tools SCIP (branch and cut)        no   yes  no     no    no         no
cbc            CBC through PuLP, from the matrices   yes  yes  yes    no    no         no
=============  ====================================  ===  ===  =====  ====  =========  =======
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from optimizer.solvers.contract import Backend, Capabilities


@dataclass(frozen=True)
class Entry:
    """Where a backend object lives (module, attribute) and what it can do."""

    name: str
    capabilities: Capabilities
    module: str
    attribute: str


REGISTRY: dict[str, Entry] = {e.name: e for e in (
    Entry("highs", Capabilities(lp=True, mip=True, duals=True, warm_start=True, two_stage=True,
                                ranging=True, native=True), "optimizer.solvers.highs", "HIGHS"),
    Entry("ortools-glop", Capabilities(lp=True, duals=True, two_stage=True), "optimizer.solvers.ortools_process", "GLOP"),
    Entry("ortools-pdlp", Capabilities(lp=True, duals=True, two_stage=True), "optimizer.solvers.ortools_process", "PDLP"),
    Entry("ortools-scip", Capabilities(lp=False, mip=True), "optimizer.solvers.ortools_process", "SCIP"),
    Entry("cbc", Capabilities(lp=True, mip=True, duals=True), "optimizer.solvers.pulp_cbc", "CBC"),
)}


def backend(name: str) -> Backend:
    """The backend object registered as ``name`` (its module imported on first use)."""
    entry = REGISTRY[name]
    return getattr(importlib.import_module(entry.module), entry.attribute)


def names_with(capability: str) -> list[str]:
    """The registered backends that claim ``capability`` (a Capabilities field)."""
    return [name for name, entry in REGISTRY.items() if getattr(entry.capabilities, capability)]
