"""The fast multi-period value-stage LP with the stock written as additions: exact, and far
easier for the interior point.

In :mod:`optimizer.model.fast_periods` each pool's stock x[p,c,t] is a column per period, chained
by the stock rows x_t - x_{t-1} >= 0: at 3,000 sites over 12 quarters 78,672 of the LP's 99,192
rows. Here x_t = Σ_{τ<=t} y_τ with additions y_τ >= 0, so the stock never falls by construction
and the stock rows go. Writing Σ_{τ<=t} y_τ into every row of period t would repeat each y in up
to T rows; instead each row of a *family* whose x-coefficients are the same in every period
(inventory per chip, class serving, country totals) gets a free column s_t = a·x_t, chained by
s_t - s_{t-1} - a·y_t = 0 (s_0 = a·y_0), and takes s_t in place of a·x_t. A pool's power or racks
row in period t is implied by a later period's row with no more room (x_t <= x_t' component-wise,
the same non-negative per-chip coefficients) and goes, as does any row of a period whose stock
is held at 0 (x_t = 0 forces y_τ = 0 for every τ <= t); a row that stays takes Σ_{τ<=t} y_τ.
For a steady pool (room 0 before its start, one constant room from then on) only the last
period's rows stay.

Exact: the two LPs have the same feasible stock sequences, flows and objective (the value
stage's objective has no stock term). Measured on the generated 3,000-site metro fleet over 12
quarters (one process each, IPX with crossover): 15.8 s against 69 s, the same objective to
1e-11 relative, and crossover ended optimal where on the original LP it ended imprecise.

:func:`stock_additions` returns None (solve the original LP) when a precondition fails: an x
column with other bounds than [0, 0] or [0, inf), stock rows other than x_t - x_{t-1} >= 0, a row
touching x outside these rows, a family or room row whose coefficients change between periods or
that touches another period's stock, or a room row with a negative room or coefficient. A cost on the stock becomes one on
the additions by suffix sums: Σ_t k_t·x_t = Σ_τ (Σ_{t>=τ} k_t)·y_τ.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from optimizer.model.lp import LinearProgram, all_but

FAMILIES = ("inventory", "class_serving", "country_total")   # rows that carry a chain column
ROOMS = ("power", "racks")                                   # kept in the last period only


@dataclass(frozen=True)
class StockAdditions:
    """The additions form of a fast multi-period LP (``lp``) and the maps back to the original's
    columns and rows. Columns: the original's non-stock columns in order, then y (period-major,
    each period's x layout), then one chain column per family row. Rows: the original's kept rows
    in order, then the chain rows."""

    lp: LinearProgram
    n_periods: int
    x_cols: np.ndarray        # T x nx: the original's stock columns per period
    other: np.ndarray         # the original's other columns (the first columns here)
    kept: np.ndarray          # the original's rows kept (the first rows here)
    n_original_cols: int
    n_original_rows: int

    def original_x(self, z: np.ndarray) -> np.ndarray:
        """The original LP's columns from this one's: x_t = Σ_{τ<=t} y_τ."""
        T, nx = self.x_cols.shape
        x = np.zeros(self.n_original_cols)
        x[self.other] = z[:len(self.other)]
        y = z[len(self.other):len(self.other) + T * nx].reshape(T, nx)
        x[self.x_cols] = np.cumsum(np.maximum(y, 0.0), axis=0)     # y within tolerance of 0: stock never falls
        return x

    def original_row_duals(self, duals: np.ndarray) -> np.ndarray:
        """The kept rows' duals at the original's positions; NaN for the rows this form drops
        (stock rows, and power and racks rows before the last period), whose duals it does not
        give (the optimum's duals are not unique there)."""
        out = np.full(self.n_original_rows, np.nan)
        out[self.kept] = duals[:len(self.kept)]
        return out


def _rows(lp: LinearProgram, name: str) -> np.ndarray:
    b = lp.row_blocks[name]
    return np.arange(b.start, b.start + b.size)


def stock_additions(lp: LinearProgram, tags: list[str]) -> StockAdditions | None:
    """The additions form of ``lp``, a fast multi-period LP (:mod:`optimizer.model.fast_periods`,
    possibly with priced violation columns) over the periods ``tags``, in order; or None where it
    does not apply (module docstring)."""
    T = len(tags)
    if T < 2:
        return None
    x_cols = np.stack([np.arange(lp.var_blocks["x" + g].start, lp.var_blocks["x" + g].start
                                 + lp.var_blocks["x" + g].size) for g in tags])
    nx = x_cols.shape[1]
    lo, hi = lp.col_lo[x_cols], lp.col_hi[x_cols]
    if (lo != 0).any() or not np.all((hi == 0) | np.isinf(hi)):
        return None
    closed = np.flip(np.logical_or.accumulate(np.flip(hi == 0, 0), axis=0), 0)   # x_t = 0 for a t' >= τ
    family = [[lp.row_blocks[f + g] for g in tags] for f in FAMILIES]
    rooms = [[lp.row_blocks[r + g] for g in tags] for r in ROOMS]
    if any(not b[t].index.equals(b[0].index) for b in family + rooms for t in range(1, T)):
        return None
    family = [np.stack([np.arange(b.start, b.start + b.size) for b in f]) for f in family]    # each T x n
    rooms = [np.stack([np.arange(b.start, b.start + b.size) for b in r]) for r in rooms]
    stock = np.concatenate([_rows(lp, "stock" + g) for g in tags[1:]])
    A = lp.A.tocsr()
    if not _plain_stock_rows(lp, A, stock, x_cols):
        return None
    coef = [[A[f[t]][:, x_cols[t]].tocsr() for t in range(T)] for f in family + rooms]
    if any((c[t] != c[0]).nnz for c in coef for t in range(1, T)):
        return None
    if any(A[f[t]][:, np.delete(x_cols, t, axis=0).ravel()].nnz for f in family + rooms for t in range(T)):
        return None                                                # a row of period t touches another period's x
    room_rows = np.concatenate([r.ravel() for r in rooms])
    touching = np.flatnonzero(np.diff(A[:, x_cols.ravel()].tocsr().indptr) > 0)
    other = all_but(lp.num_col, x_cols.ravel())
    if ((~np.isin(touching, np.concatenate([stock, room_rows] + [f.ravel() for f in family]))).any()
            or A[np.concatenate([stock, room_rows])][:, other].nnz
            or (lp.row_lo[room_rows] > -np.inf).any() or (lp.row_hi[room_rows] < 0).any()
            or any((c[0].data < 0).any() for c in coef[len(family):])
            or rooms[0].shape[1] == 0):
        return None                     # the rooms' implications need rooms >= 0, coefficients >= 0
    needed = [_needed_rooms(lp.row_hi[r], _rows_held_at_zero(c[0], closed)) for r, c in zip(rooms, coef[len(family):])]
    dropped = np.concatenate([stock] + [r[~k] for r, k in zip(rooms, needed)])
    kept = all_but(lp.num_row, dropped)
    fam_rows = np.concatenate([f.ravel() for f in family])                    # family-major, then period
    n_s, n_o, n_y = len(fam_rows), len(other), T * nx
    pos = np.full(lp.num_row, -1)
    pos[kept] = np.arange(len(kept))
    S_part = sp.csr_matrix((np.ones(n_s), (pos[fam_rows], np.arange(n_s))), shape=(len(kept), n_s))
    Y_part = _room_rows_on_additions(rooms, needed, coef[len(family):], pos, T, nx, len(kept))
    top = sp.hstack([A[kept][:, other], Y_part, S_part]).tocsr()
    chains = _chain_rows(family, coef[:len(family)], T, nx, n_o, n_y, n_s)
    new = LinearProgram(
        A=sp.vstack([top, chains]).tocsr(),
        c=np.concatenate([lp.c[other], _suffix_sums(lp.c[x_cols]), np.zeros(n_s)]),
        cost=np.concatenate([lp.cost[other], _suffix_sums(lp.cost[x_cols]), np.zeros(n_s)]),
        col_lo=np.concatenate([lp.col_lo[other], np.zeros(n_y), np.full(n_s, -np.inf)]),
        col_hi=np.concatenate([lp.col_hi[other], np.where(closed, 0.0, np.inf).ravel(), np.full(n_s, np.inf)]),
        row_lo=np.concatenate([lp.row_lo[kept], np.zeros(chains.shape[0])]),
        row_hi=np.concatenate([lp.row_hi[kept], np.zeros(chains.shape[0])]),
        var_blocks={}, row_blocks={}, cost_scale=lp.cost_scale, cost_offset=lp.cost_offset,
        objective_scale=lp.objective_scale)
    return StockAdditions(new, T, x_cols, other, kept, lp.num_col, lp.num_row)


def _plain_stock_rows(lp: LinearProgram, A: sp.csr_matrix, stock: np.ndarray, x_cols: np.ndarray) -> bool:
    """Whether the stock rows are exactly x_t - x_{t-1} >= 0, column by column, for every stock
    column and period t >= 1 (``stock``: their rows, period after period, in the x layout): the
    form replaces them by y >= 0, so any other row here (a retirement allowed, a bound) would be
    lost."""
    T, nx = x_cols.shape
    if len(stock) != (T - 1) * nx:
        return False
    expected = sp.csr_matrix((np.concatenate([np.ones((T - 1) * nx), -np.ones((T - 1) * nx)]),
                              (np.tile(np.arange((T - 1) * nx), 2),
                               np.concatenate([x_cols[1:].ravel(), x_cols[:-1].ravel()]))), shape=(len(stock), lp.num_col))
    return ((A[stock] != expected).nnz == 0 and (lp.row_lo[stock] == 0).all()
            and np.isinf(lp.row_hi[stock]).all())


def _suffix_sums(k: np.ndarray) -> np.ndarray:
    """Per-unit coefficients of the additions from those of the stock (T x nx):
    Σ_t k_t·x_t = Σ_τ (Σ_{t>=τ} k_t)·y_τ; period-major, flat."""
    return suffix_sums(k, 0).ravel()


def suffix_sums(a: np.ndarray, axis: int) -> np.ndarray:
    """S_τ = Σ_{t>=τ} a_t along ``axis`` (the periods) of a float array, added from the last
    period back, as ``np.cumsum`` over the reversed axis adds them (the same numbers, bit for
    bit), but period slice by period slice: on a sites x periods x chips array (3,000 x 12 x 12)
    1 ms instead of 3-6 ms (the reversed cumsum walks a strided copy)."""
    a = np.moveaxis(np.asarray(a, dtype=np.float64), axis, 0)
    out = np.empty_like(a)
    if len(a):
        out[-1, ...] = a[-1, ...]
        for t in range(len(a) - 2, -1, -1):
            np.add(out[t + 1, ...], a[t, ...], out=out[t, ...])       # [t, ...]: a view even in 1-D
    return np.moveaxis(out, 0, axis)


def _rows_held_at_zero(coef: sp.csr_matrix, closed: np.ndarray) -> np.ndarray:
    """T x rows: whether every stock column a room row touches (``coef``: rows x nx, the same in
    every period) is held at 0 in period t (``closed``: T x nx), whatever the columns' layout."""
    touches_open = abs(coef) @ (~closed).T.astype(float)                              # rows x T
    return (touches_open == 0).T


def _needed_rooms(room: np.ndarray, closed: np.ndarray) -> np.ndarray:
    """T x pools: whether a pool's power (or racks) row in period t is needed: its stock is not
    held at 0 there (``closed``: T x rows, from :func:`_rows_held_at_zero`), and every later period leaves strictly more room
    (a later row with no more room implies it, since x_t <= x_t' component-wise and the
    coefficients are the same non-negative per-chip figures)."""
    later = np.flip(np.minimum.accumulate(np.flip(room, 0), axis=0), 0)          # min over t' >= t
    after = np.vstack([later[1:], np.full((1, room.shape[1]), np.inf)])           # min over t' > t
    return ~closed & (room < after)


def _room_rows_on_additions(rooms, needed, coef, pos, T: int, nx: int, n_rows: int) -> sp.csr_matrix:
    """The kept power and racks rows over y: a row of period t takes its x-coefficients on every
    y_τ, τ <= t (x_t = Σ_{τ<=t} y_τ)."""
    rows, cols, vals = [], [], []
    for r, keep, c in zip(rooms, needed, coef):
        base = c[0].tocoo()                                        # pools x nx, the same every period
        for t in range(T):
            on = keep[t][base.row]
            for tau in range(t + 1):
                rows.append(pos[r[t][base.row[on]]])
                cols.append(tau * nx + base.col[on])
                vals.append(base.data[on])
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_rows, T * nx))


def _chain_rows(family, coef, T: int, nx: int, n_o: int, n_y: int, n_s: int) -> sp.csr_matrix:
    """s_t - s_{t-1} - a·y_t = 0 for every family row (s_0 - a·y_0 = 0), in the chain columns'
    order (family, then period, then row)."""
    blocks = []
    s_at = 0
    for f, c in zip(family, coef):
        n_f = f.shape[1]
        for t in range(T):
            ident = sp.csr_matrix((np.ones(n_f), (np.arange(n_f), s_at + np.arange(n_f))), shape=(n_f, n_s))
            if t:
                ident = ident - sp.csr_matrix((np.ones(n_f), (np.arange(n_f), s_at - n_f + np.arange(n_f))),
                                              shape=(n_f, n_s))
            y = sp.hstack([sp.csr_matrix((n_f, t * nx)), -c[t], sp.csr_matrix((n_f, (T - t - 1) * nx))]).tocsr()
            blocks.append(sp.hstack([sp.csr_matrix((n_f, n_o)), y, ident]).tocsr())
            s_at += n_f
    return sp.vstack(blocks).tocsr()

