"""The one solver contract: what every backend takes, which options it honours, what it returns.

Input: a :class:`~optimizer.model.lp.LinearProgram` (maximize ``c·v`` subject to ``row_lo <= A v
<= row_hi`` and ``col_lo <= v <= col_hi``; ``cost`` is the secondary objective) and, for a MIP,
an ``integrality`` array (1 = integer column). Output: a
:class:`~optimizer.solvers.result.SolveResult` whose ``status`` is the one status vocabulary and
whose ``termination`` says why the solver stopped, each backend reading its own codes through its
own table (``HIGHS_TERMINATION``, ``ORTOOLS_TERMINATION``, ``CBC_TERMINATION``).

Duals (backends with the ``duals`` capability, value stage, optimal LPs): ``row_duals[i]`` is the
objective gained per unit increase of row i's *active* bound (its upper bound when the row sits
there, its lower bound when it sits there), so for this maximization a binding ``<=`` row has a
dual >= 0 and a binding ``>=`` row one <= 0; ``col_duals[j]`` (reduced costs) is the same for
column j's active bound. HiGHS and GLOP report exactly this; CBC's are converted.

Options (:class:`SolveOptions`) have the same names for every backend and each backend
translates them; a backend refuses (:class:`UnsupportedOption`) an option it cannot honour
instead of ignoring it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

import numpy as np

from optimizer.model.lp import LinearProgram
from optimizer.solvers.result import SolveResult


class UnsupportedOption(ValueError):
    """A backend was asked for something it cannot do (a bug in the caller, not bad input)."""


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do: ``lp``/``mip`` problems; ``duals`` (row duals and reduced costs);
    ``warm_start`` (a session that reuses the model across solves); ``two_stage`` (the cost
    stage after the value stage); ``ranging`` (right-hand-side ranging); ``native`` (options in
    the solver's own names, passed through)."""

    lp: bool = True
    mip: bool = False
    duals: bool = False
    warm_start: bool = False
    two_stage: bool = False
    ranging: bool = False
    native: bool = False


@dataclass(frozen=True)
class SolveOptions:
    """The common options. ``time_limit`` seconds (None: none); ``gap`` the relative MIP gap
    (MIPs only); ``two_stage`` (off unless asked): after the value stage, minimize cost among plans within 1e-7 of
    its optimum (:func:`~optimizer.solvers.result.value_floor`); ``ranging``: range the value
    stage's right-hand sides; ``native`` and ``cost_stage_native``: the solver's own options for
    the value and the cost stage (HiGHS names), for backends that take them."""

    time_limit: float | None = None
    gap: float | None = None
    two_stage: bool = False
    ranging: bool = False
    native: Mapping = field(default_factory=lambda: MappingProxyType({}))
    cost_stage_native: Mapping = field(default_factory=lambda: MappingProxyType({}))


def refuse_unsupported(name: str, caps: Capabilities, options: SolveOptions, mip: bool) -> None:
    """Raise UnsupportedOption for each option ``caps`` cannot honour on this problem."""
    problems = []
    if mip and not caps.mip or not mip and not caps.lp:
        problems.append(f"{'MIP' if mip else 'LP'} problems")
    if options.gap is not None and not mip:
        problems.append("a MIP gap on an LP")
    if options.two_stage and not caps.two_stage:
        problems.append("the cost stage (two_stage)")
    if options.ranging and (mip or not caps.ranging):
        problems.append("ranging")
    if (options.native or options.cost_stage_native) and not caps.native:
        problems.append("native options")
    if problems:
        raise UnsupportedOption(f"{name} cannot take {', '.join(problems)}")


class Backend(Protocol):
    """A solver backend: a name, its capabilities and one ``solve`` for LPs and MIPs."""

    name: str
    capabilities: Capabilities

    def solve(self, lp: LinearProgram, options: SolveOptions = SolveOptions(),
              integrality: np.ndarray | None = None) -> SolveResult:
        """Maximize ``lp.c`` (then, with ``options.two_stage``, minimize ``lp.cost``); a MIP
        when ``integrality`` marks any column integer."""
        ...


def is_mip(integrality: np.ndarray | None) -> bool:
    return integrality is not None and bool(np.any(integrality))
