"""The multi-period cost stage decomposed by site: exact, and small on fleets whose sites all cost
differently (the timeline form of :mod:`optimizer.model.costsplit`).

The value stage (serve objective) has no costs, so its pools merge sites whatever their cost
(:func:`optimizer.model.fast_periods.timeline_pools` with ``by_cost=False``). The cost stage
minimizes Σ_t Σ_s Σ_c k[s,t,c]·x[s,t,c] (k: :meth:`TimelineData.stock_cost`, the telescoped capex
and energy of new stock at the end of t) with the value at its floor.

**Which sites.** The sites of *steady* pools (room {0} before a start period t0_s and one
constant room Q_s from t0_s on; the module docstring of :mod:`optimizer.model.fast_periods`)
are decomposed. A site with another room sequence is a pool of its own in the value stage and
keeps its columns, rows and its own costs in the master.

**Blocks.** Each steady site is a block of its own, except that the sites of one value-stage pool
with the same cost in every period (campuses of a metro that share its tariff and PUE) share one.
A block enters the master's rows (all but its pool's power, racks and stock rows) with its pool's
coefficients, through its per-period, per-chip stock. A master column λ[b,j] is a stock
*sequence* y^j[t,c] of the block (the sum of its sites' sequences), with Σ_j λ[b,j] <= 1; the
snapshot's master (:func:`optimizer.model.costsplit.master_lp`) takes it unchanged with "chips"
read as periods x chips. Blocks of sites that cost differently (a serving class and country, as
for a snapshot; or a whole value-stage pool) are as exact but need many more rounds over periods,
since their best plan mixes sequences that differ in timing: measured on a generated per-site
1,000-site fleet over 12 quarters, 952 rounds and 75 s (class and country), 121 rounds and 17 s
(a block per value-stage pool), 57 rounds and 17 s (a block per site); at 3,000 sites 39 rounds
per site. Sites of one pool that cost the same do not mix: they share a start period and a type
cone, so the sequences of the block are those of one site whose room is the sum of theirs
(Minkowski additivity, as for the value stage's pools), and per-site pricing finds that site's
cheapest sequence summed. On the generated 3,000-site metro fleet over 12 quarters (one process
each, from the same value stage): 667 blocks, 99 rounds, 35.0 s against 2,951 blocks, 81 rounds,
98.5 s, the same cost to 1e-12.

**Large fleets: a block per value-stage pool.** From POOL_BLOCKS_MIN_SITES steady sites a block is
a whole value-stage pool, whatever its sites cost (a column is a sequence per site, summed; each
site's plan is still its own combination of its own sequences), with a larger partial-pricing
share: the master has a convexity row per pool instead of per site, and with today's master
settings that wins where the fleet is large. Cost stage from one stored value stage each, one
process each, per-site fleets over 12 quarters (`generate --tariffs site --periods 12`), site
blocks at share 0.05 against pool blocks at 0.2, the same cost to 1e-10: 3,000 sites seed 1 15.0
-> 13.7 s, seed 2 11.3 -> 9.1 s, and on fleets not studied before, seed 3 18.1-18.5 -> 17.1 s,
seed 5 13.3 -> 10.2 s, seed 6 13.3 -> 10.9 s, seed 8 17.4 -> 13.6 s; the metro 3,000-site fleet
(667 same-cost blocks) 6.6 -> 6.2 s. Smaller fleets keep site blocks: 2,000 sites (seed 4) 9.6-9.9
against 9.8 s, 1,000 sites 4.3 against 6.7 s (186 pools: many more rounds).

**Pricing a sequence.** With reduced costs r[s,t,c] a site's cheapest sequence minimizes
Σ_t r_t·x_t over x_t = 0 for t < t0, x_t <= x_{t+1} (stock never falls), x_t in Q_s. Write the
stock as additions a_τ >= 0 (x_t = Σ_{τ<=t} a_τ): every x_t lies in Q_s exactly when
y = Σ_τ a_τ does (x_t <= y and Q_s is down-closed), and the objective is Σ_τ S_τ·a_τ with the
suffix sums S_τ = Σ_{t>=τ} r_t. For a given y, the best split puts each chip's units in the period
τ*_c = argmin_{τ>=t0} S_τ,c, so the site's problem is min over y in Q_s of Σ_c m_c·y_c with
m_c = min_{τ>=t0} S_τ,c: a vertex of the room, as for a snapshot
(:class:`optimizer.model.costsplit.SiteVertices`). The sequence is x_t,c = y_c for t >= τ*_c, else 0.

**Exact.** As for the snapshot: the master's cost is an upper bound, the master's cost plus
Σ_b min(0, rc_b) a lower bound, and the loop stops when they agree within GAP_REL; the plan
(convex combinations of monotone sequences within the rooms, and nothing) is monotone and
within every site's room in every period.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from optimizer.model.costsplit import CostStage, SiteBlocks
from optimizer.model.fast_periods import FastTimelineModel, site_rooms
from optimizer.model.lp import LinearProgram, all_but
from optimizer.model.periods import TimelineData


def timeline_site_blocks(td: TimelineData, fm: FastTimelineModel, lp: LinearProgram) -> tuple[SiteBlocks, np.ndarray]:
    """One block per site of the steady pools (``fm.merged``), and each site's start period;
    ``lp`` is ``fm.fast.lp``. "Chips" of the blocks are periods x chips, period-major."""
    pools, T, C = fm.pools[-1], len(td.periods), td.first.n_chips
    dw_pool = np.flatnonzero(fm.merged)
    sites = np.flatnonzero(pools.pool_of_site >= 0)
    sites = sites[fm.merged[pools.pool_of_site[sites]]]
    power, racks = site_rooms(td)
    start = np.argmax(power[:, sites] > 0, axis=0)
    unit_cost = np.hstack([td.stock_cost(t)[sites] for t in range(T)])      # sites x (T·C)
    # a block per pool on large fleets (module docstring): the same grouping keyed on the pool only
    block, rep = _same_cost_blocks(pools.pool_of_site[sites], unit_cost[:, :0] if pool_blocks(len(sites)) else unit_cost)
    n_blocks = len(rep)
    x_cols = np.concatenate([lp.var_blocks["x" + p.tag].start + (dw_pool[:, None] * C + np.arange(C)).ravel()
                             for p in td.periods])
    drop_rows = [lp.row_blocks[name + p.tag].start + dw_pool for p in td.periods for name in ("power", "racks")]
    drop_rows += [lp.row_blocks["stock" + p.tag].start + (dw_pool[:, None] * C + np.arange(C)).ravel()
                  for p in td.periods[1:]]
    keep_rows, keep_cols = all_but(lp.num_row, np.concatenate(drop_rows)), all_but(lp.num_col, x_cols)
    link, link_of_block = _block_link(lp, td, rep, keep_rows)
    blocks = SiteBlocks(sites, block, n_blocks, power[-1, sites],
                        racks[-1, sites], unit_cost, link, keep_rows, keep_cols, link_of_block)
    return blocks, start


def _same_cost_blocks(pool: np.ndarray, unit_cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The block of each site (sites of one value-stage pool with the same cost in every period
    share one; module docstring), numbered in the order of their first site, and each block's
    pool (whose columns are its coefficients). Rows are compared by value, as == does (-0.0 is
    0.0): np.unique over rows, 3 ms on 2,951 sites x 144 costs where a pandas groupby took 30-70.
    ``unit_cost`` with no columns: a block per pool."""
    if len(pool) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    key = np.column_stack([pool.astype(np.float64), unit_cost])
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))          # by first appearance
    block = rank[inverse.ravel()]
    rep = np.zeros(len(first), dtype=np.int64)
    rep[block[::-1]] = pool[::-1]
    return block, rep


def _block_link(lp: LinearProgram, td: TimelineData, rep: np.ndarray, keep_rows: np.ndarray) -> tuple[sp.csc_matrix, np.ndarray]:
    """Kept rows x (pools·periods·chips): the x columns of the pools ``rep`` names (each once, in
    ascending order), pool g's period t and chip c at column (g·T + t)·C + c; and each block's
    group there (block b's pool ``rep[b]``). Blocks of one pool share its columns: pricing
    computes π·a once per pool, and a block's master column is its pool's columns times its
    stock."""
    C = td.first.n_chips
    pools, inverse = np.unique(rep, return_inverse=True)
    x_start = np.array([lp.var_blocks["x" + p.tag].start for p in td.periods])
    pool_cols = (x_start[None, :, None] + pools[:, None, None] * C + np.arange(C)[None, None, :]).ravel()
    return lp.A.tocsc()[:, pool_cols][keep_rows].tocsc(), inverse.ravel()


# Partial pricing over periods (optimizer.model.costsplit.NEW_COLUMN_SHARE): half the snapshot's
# share. Measured from the same stored value stage, one process each, alternated, the same cost:
# generated per-site fleets over 12 quarters, 3,000 sites seed 1 cost stage 32.8 / 36.2 s against
# 35.7 / 39.3 s at 0.1 (129 rounds, 43,499 master iterations against 86 and 48,057), seed 2 24.1 /
# 25.0 s against 24.3 / 25.7 s, 1,000 sites 8.9 / 8.7 s against 8.9 / 9.2 s, 3,000 metro sites
# (same-cost blocks) 12.8 / 12.6 s against 12.5 / 13.7 s. (A session earlier,
# before the cheapest split and the cheaper pricing rounds, 0.05 was slower on seed 2 and at 1,000
# sites; 0.02, 0.03, 0.2 and 0.3 were no better.)
TIMELINE_NEW_COLUMN_SHARE = 0.05

# From this many steady sites, a block per value-stage pool, priced with a larger share (module
# docstring, "Large fleets"); 0.15-0.3 were within 4 % of each other on the 3,000-site seed 1
# (13.5-14.1 s), 0.1 slower (14.8 s), 0.05 far slower (18.7 s, 392 rounds).
POOL_BLOCKS_MIN_SITES = 2_500
POOL_BLOCKS_SHARE = 0.2

# The master's own held-out columns (flows, chain and non-decomposed stock columns) let in per round
# over several periods: a fixed 30, not the snapshot's max(30, rows / 40) (170 at 3,000 sites x 12
# quarters: 6,813 master rows). Cost stage from one stored value stage, one run each (a fleet's own
# runs spread by about 5 %: seed 1 at 170 took 13.4-14.2 s), the same cost to 1e-10: per-site
# 12-quarter fleets, 3,000 sites seed 1 14.1 -> 12.5 s, seed 2 9.8 -> 9.7, seed 3 17.6 -> 16.2,
# seeds 5, 6, 8 10.5 -> 10.5, 10.8 -> 10.5, 13.6 -> 13.2, 2,000 sites 12.0 -> 10.2, 1,000 sites
# 4.9 -> 4.3, 5,000 sites 44.1 -> 40.3; metro 3,000 sites 6.9 -> 6.6: none slower, seeds 2 and 5
# within 2 %. 20 was as good (16.9, 10.2, 12.4 s on seed 3, 2,000 sites, seed 1), 50 no better
# (18.3, 10.2, 13.4 s), 10 and 3 slower (14.9 and 27.0 s on seed 1). One period keeps the
# snapshot's rule, where it was measured.
TIMELINE_MASTER_ENTER = 30


def pool_blocks(n_sites: int) -> bool:
    """Whether the cost stage over periods takes a block per value-stage pool (POOL_BLOCKS_MIN_SITES)."""
    return n_sites >= POOL_BLOCKS_MIN_SITES


# The master rows written with chain columns (StockChains): the inventory rows (one per chip and
# period), which every block's column touches in every period from its first addition of the chip
# on. Cost stage from one stored value stage, one process each, alternated, the same cost (to
# 3e-11): per-site 12-quarter fleets, 3,000 sites seed 1 11.6 -> 10.6 s, seed 3 16.0 -> 15.2, seeds
# 5, 6, 8 10.7 -> 9.2, 10.7 -> 9.4, 14.4 -> 11.8, 2,000 sites 10.0 -> 9.6, 1,000 sites 3.9 -> 3.0,
# 5,000 sites 39.9 -> 33.9; the metro 3,000-site fleet 5.4-5.6 against 5.5-5.8 s (within 4 %).
# Chaining the class-serving rows as well, or the country totals, was slower (more rows than the
# non-zeros they save: each is touched by the blocks of one class or country only).
CHAINED_FAMILIES = ("inventory",)


@dataclass(frozen=True)
class StockChains:
    """Rows of a multi-period master whose stock coefficients are the same in every period, written
    as the value stage's additions form writes them (:mod:`optimizer.model.additions`): a block
    column enters them in every period from its first addition of a chip on, but changes them only
    where it adds.

    A chained row r reads z_t + Σ_j L_{t,j}·λ_j (<=, >=, =) b_t in period t, z_t its own
    columns (flows, unpooled stock) and L_{t,j} the stock of column j in period t times the row's
    coefficients. Each gets a free chain column s_t and a chain row
    s_t - s_{t-1} - Σ_j (L_{t,j} - L_{t-1,j})·λ_j = 0 (s_{-1} = 0), and reads z_t + s_t (<=, >=, =) b_t.
    Exact: s_t = Σ_j L_{t,j}·λ_j. A column's stock changes only where a sequence adds a chip, so
    its chain entries are few where its row entries filled every later period. The duals of the
    master's own rows are the same in both forms (s_t's reduced cost is 0, so the chain rows'
    duals telescope into the row duals and each λ_j prices as before), and the chain rows come
    after the master's rows: pricing reads the duals it always did."""

    rows: np.ndarray        # chains x periods: each chained row's position in the master, period by period

    @property
    def n_chains(self) -> int:
        return self.rows.size

    @cached_property          # computed once (a frozen dataclass still has its instance __dict__)
    def difference(self) -> sp.csr_matrix:
        """The chain rows' operator on period values v (chain-major): v_t - v_{t-1}."""
        K, T = self.rows.shape
        return sp.kron(sp.identity(K), sp.identity(T) - sp.eye(T, k=-1), format="csr")

    def columns(self, cols: sp.spmatrix) -> sp.csc_matrix:
        """Block columns (over the master's rows) over the chained master's rows: their entries
        in the chained rows move, as differences between periods, into the chain rows."""
        cols = sp.csr_matrix(cols, copy=True)
        chained = self.rows.ravel()
        moved = -(self.difference @ cols[chained])
        in_chain = np.zeros(cols.shape[0], dtype=bool)
        in_chain[chained] = True
        cols.data[np.repeat(in_chain, np.diff(cols.indptr))] = 0.0
        cols.eliminate_zeros()
        return sp.vstack([cols, moved], format="csc")

    def master(self, master: LinearProgram, start: np.ndarray, first_block: int) -> tuple[LinearProgram, np.ndarray]:
        """``master`` (whose columns from ``first_block`` on are block columns) with the chain
        columns after its columns and the chain rows after its rows, and ``start`` with the chain
        columns' values."""
        A = master.A.tocsc()
        n = self.n_chains
        own = sp.vstack([A[:, :first_block], sp.csc_matrix((n, first_block))])
        chain = sp.vstack([sp.csc_matrix((np.ones(n), (self.rows.ravel(), np.arange(n))), shape=(master.num_row, n)),
                           self.difference])
        blocks = A[:, first_block:]
        s0 = (blocks @ start[first_block:])[self.rows.ravel()]
        zeros, inf = np.zeros(n), np.full(n, np.inf)
        chained = LinearProgram(
            A=sp.hstack([own, self.columns(blocks), chain]).tocsr(), c=np.concatenate([master.c, zeros]),
            cost=np.concatenate([master.cost, zeros]), col_lo=np.concatenate([master.col_lo, -inf]),
            col_hi=np.concatenate([master.col_hi, inf]), row_lo=np.concatenate([master.row_lo, zeros]),
            row_hi=np.concatenate([master.row_hi, zeros]), var_blocks={}, row_blocks={},
            cost_scale=master.cost_scale, cost_offset=master.cost_offset)
        return chained, np.concatenate([start, s0])


def stock_chains(td: TimelineData, lp: LinearProgram, keep_rows: np.ndarray) -> StockChains | None:
    """The chains of CHAINED_FAMILIES's rows of ``lp`` (the value stage's LP) in a master that
    keeps ``keep_rows`` of it as its first rows; None with one period, or when a row of a family
    is not kept in some period."""
    if len(td.periods) < 2:
        return None
    at = np.full(lp.num_row, -1)
    at[keep_rows] = np.arange(len(keep_rows))
    chains = []
    for family in CHAINED_FAMILIES:
        blocks = [lp.row_blocks.get(family + p.tag) for p in td.periods]
        if any(b is None or b.size != blocks[0].size for b in blocks):
            return None
        chains.append(np.array([at[b.start:b.start + b.size] for b in blocks]).T)       # rows x periods
    rows = np.vstack(chains)
    return StockChains(rows) if (rows >= 0).all() else None


@dataclass
class TimelineCostStage(CostStage):
    """Pricing over periods: each site's cheapest monotone stock sequence (module docstring); the
    master with its inventory rows chained (``chains``, :class:`StockChains`; None: as built)."""

    start: np.ndarray | None = None       # per site, its first period with room
    n_periods: int = 1
    chains: StockChains | None = None
    _master_columns: int | None = field(default=None, init=False, repr=False)   # master_lp's, by master()

    def new_column_share(self) -> float:
        return POOL_BLOCKS_SHARE if pool_blocks(len(self.start)) else TIMELINE_NEW_COLUMN_SHARE

    def master_columns_per_round(self) -> int | None:
        return TIMELINE_MASTER_ENTER if self.n_periods > 1 else None

    def master(self, lp: LinearProgram, floor: float, start: np.ndarray) -> tuple[LinearProgram, np.ndarray]:
        master, start = super().master(lp, floor, start)
        self._master_columns = master.num_col              # the chain columns come after these
        return (master, start) if self.chains is None else self.chains.master(master, start, len(self.blocks.keep_cols))

    def in_master(self, cols: sp.csc_matrix) -> sp.csc_matrix:
        return cols if self.chains is None else self.chains.columns(cols)

    def master_plan(self, x: np.ndarray) -> np.ndarray:
        if self.chains is None:
            return x
        if self._master_columns is None:
            raise ValueError("TimelineCostStage.master_plan: no master built (call master() first)")
        end = self._master_columns
        return np.delete(x, np.arange(end, end + self.chains.n_chains))

    def __post_init__(self) -> None:
        super().__post_init__()
        T = self.n_periods
        self._closed = np.where(np.arange(T)[None, :, None] < self.start[:, None, None], np.inf, 0.0)   # S x T x 1

    def vertices(self, reduced: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Per site, min Σ_t r_t·x_t over its monotone sequences within its room (module
        docstring), and for :meth:`rows` the room's vertex y (sites x chips) and each chip's
        first period τ*_c."""
        S, T = reduced.shape[0], self.n_periods
        m, tau = least_suffix_sums(reduced.reshape(S, T, reduced.shape[1] // T), self._closed)   # no site: S = 0
        best, y = self._vertices.cheapest(m)
        return best, (y, tau)

    def rows(self, found: tuple[np.ndarray, np.ndarray], sites: np.ndarray) -> np.ndarray:
        """The sequences of ``sites`` (sites x (periods·chips)): x_t,c = y_c from τ*_c on."""
        y, tau = found
        held = np.arange(self.n_periods)[None, :, None] >= tau[sites][:, None, :]
        return (y[sites][:, None, :] * held).reshape(len(sites), self.n_periods * y.shape[1])


def least_suffix_sums(r: np.ndarray, closed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per site and chip, m = min over τ of S_τ + closed_τ with S_τ = Σ_{t>=τ} r_t (r: sites x
    periods x chips; closed: sites x periods x 1, +inf before a site's start, else 0), and the
    first τ that attains it: the numbers of :func:`optimizer.model.additions.suffix_sums`, then
    ``+ closed``, argmin and take along the periods, bit for bit for finite ``r`` (the same
    additions in the same order; ties keep the earliest τ; argmin would pick a NaN, this never
    does), in one pass from the last period back without the sites x periods x chips array of
    suffix sums."""
    S, T, C = r.shape
    run = r[:, T - 1, :].copy()                                   # S_{T-1}
    m = run + closed[:, T - 1, :]
    tau = np.full((S, C), T - 1, dtype=np.int64)
    cand = np.empty_like(m)
    better = np.empty(m.shape, dtype=bool)
    for t in range(T - 2, -1, -1):
        np.add(run, r[:, t, :], out=run)                          # S_t = S_{t+1} + r_t
        np.add(run, closed[:, t, :], out=cand)
        np.less_equal(cand, m, out=better)                        # <=: an earlier τ wins a tie, as argmin's first
        np.copyto(m, cand, where=better)
        tau[better] = t
    return m, tau
