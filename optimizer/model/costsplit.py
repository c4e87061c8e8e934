"""The cost stage decomposed by site: exact, and small on fleets whose sites all cost differently.

The value stage has no costs, so its placement pools merge sites whatever their cost
(:func:`optimizer.model.pools.make_pools` with ``by_cost=False``). The cost stage minimizes
Σ_s Σ_c k[s,c]·x[s,c] with the value held at its floor, where every site's own cost (capex + its
own tariff and PUE) counts: one pool per site would make the LP as large as the fleet.

Dantzig-Wolfe decomposition keeps it small and exact. Sites of one *block* (serving class and
country) have the same coefficients in every row but their own power and racks rows, so a block
enters the other rows only through its per-chip total. The **master** LP has the fast model's
rows less the pools' power and racks rows, its columns less x, a value-floor row, and per block b
columns λ[b,j] >= 0 with Σ_j λ[b,j] <= 1 (a convexity row), each column a placement y^j of the
block's sites that keeps every site within its power and racks: the block places Σ_j λ[b,j]·y^j.

**Pricing.** With the master's row duals, one unit of chip c at site s has the reduced cost
k[s,c] - a_b(c)·π; the cheapest placement over {x >= 0 : p·x <= P_s, r·x <= R_s} sits at a
vertex: nothing, one chip up to the first limit it meets, or two chips filling both limits
(C + C(C-1)/2 candidates, vectorised over all sites). A block's new column has the reduced cost
rc_b = Σ_{s in b} min_s - μ_b (μ_b: its convexity row's dual). Only the most negative share of
those columns enter each round (partial pricing, NEW_COLUMN_SHARE).

**Exact.** The master's objective z is the cost of a feasible plan (an upper bound);
z + Σ_b min(0, rc_b) is a lower bound on the cost stage's optimum (Lagrangian: each block's
λ sum to at most 1). The loop stops when the two agree within GAP_REL; the plan
x_s = Σ_j λ[b,j]·y^j_s keeps every site within its limits (a convex combination of placements
that do, and nothing).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from optimizer.model.data import ModelData
from optimizer.model.fast import FastModel
from optimizer.model.lp import LinearProgram, all_but

GAP_REL = 1e-10     # the loop stops when (upper - lower bound) <= GAP_REL·max(1, |cost|)

# Partial pricing: of the blocks whose column prices out, only the most negative NEW_COLUMN_SHARE
# (at least one) enter each round. Each master re-solve then pivots in fewer columns, most of
# which a full round would see leave again once the duals move, so the rounds get cheaper by more
# than their number grows (one run each, the 100,000-site per-site fleet: 38 rounds and 337 s
# instead of 24 rounds and 781 s; see the README's "Cost stage by site blocks"). The bound gap
# still sums every block, so the stopping test, and the optimum, are unchanged.
NEW_COLUMN_SHARE = 0.1


@dataclass(frozen=True)
class SiteBlocks:
    """Sites with room for new units, grouped into blocks (class, country), and the rows that a
    unit of each chip in each block touches in the master."""

    sites: np.ndarray         # site positions (fast model: pool_of_site >= 0)
    block: np.ndarray         # block of each of them
    n_blocks: int
    power: np.ndarray         # MW left at each
    racks: np.ndarray         # racks left at each
    unit_cost: np.ndarray     # len(sites) x C, MUSD per model unit
    link: sp.csc_matrix       # kept rows x (groups·C): one unit of chip c in a block of group g
    keep_rows: np.ndarray     # fast-model rows in the master (all but the pools' power and racks)
    keep_cols: np.ndarray     # fast-model columns in the master (all but x)
    # each block's group of link columns (blocks with the same coefficients share one: the site
    # blocks of a value-stage pool over periods); None: a group per block, in block order
    link_of_block: np.ndarray | None = None

    @property
    def n_chips(self) -> int:
        return self.unit_cost.shape[1]

    def link_groups(self) -> np.ndarray:
        """The link column group of each block (:attr:`link_of_block`)."""
        return np.arange(self.n_blocks) if self.link_of_block is None else self.link_of_block


def site_blocks(d: ModelData, fm: FastModel, lp: LinearProgram) -> SiteBlocks:
    """Blocks of the sites of ``fm``'s pools (any pooling; ``lp`` is ``fm.lp``, possibly with
    elastic columns appended)."""
    pools, C = fm.pools, d.n_chips
    key = pd.DataFrame({"cls": pools.site_class, "country": pools.country})
    block_of_pool = key.groupby(["cls", "country"], sort=False).ngroup().to_numpy()
    n_blocks = int(block_of_pool.max()) + 1 if pools.n else 0
    rep = np.zeros(n_blocks, dtype=np.int64)            # a pool of each block (same coefficients)
    rep[block_of_pool[::-1]] = np.arange(pools.n)[::-1]
    sites = np.flatnonzero(pools.pool_of_site >= 0)
    s = d.scenario.sites
    x = lp.var_blocks["x"]
    pool_rows = np.concatenate([np.arange(lp.row_blocks[b].start, lp.row_blocks[b].start + lp.row_blocks[b].size)
                                for b in ("power", "racks")])
    keep_rows = all_but(lp.num_row, pool_rows)
    keep_cols = np.concatenate([np.arange(x.start), np.arange(x.start + x.size, lp.num_col)])
    rep_cols = (x.start + rep[:, None] * C + np.arange(C)[None, :]).ravel()
    link = lp.A.tocsc()[:, rep_cols][keep_rows].tocsc()
    return SiteBlocks(sites, block_of_pool[pools.pool_of_site[sites]], n_blocks,
                      (s["power_mw"].to_numpy(float) - d.inst_power)[sites],
                      (s["racks"].to_numpy(float) - d.inst_racks)[sites], d.unit_cost[sites], link,
                      keep_rows, keep_cols)


def block_columns(blocks: SiteBlocks, y: np.ndarray, which: np.ndarray,
                  members: np.ndarray | None = None) -> tuple[sp.csc_matrix, np.ndarray]:
    """Master columns (kept rows, convexity rows, value-floor row) and costs of a placement for
    the blocks ``which`` (ascending): ``y`` holds, row by row, the placement of the sites
    ``members`` (None: every site), which are the sites of those blocks."""
    sites = np.arange(len(blocks.block)) if members is None else members
    C, k = blocks.n_chips, len(which)
    pos = np.searchsorted(which, blocks.block[sites])
    if len(sites) and (pos.max() >= k or not np.array_equal(which[pos], blocks.block[sites])):
        raise ValueError("block_columns: a member site's block is not among the blocks asked for")
    member = sp.csr_matrix((np.ones(len(sites)), (pos, np.arange(len(sites)))), shape=(k, len(sites)))
    totals = np.asarray(member @ y)                      # blocks x chips (np.add.at: several times slower)
    group = blocks.link_groups()[which]
    spread = sp.csc_matrix((totals.ravel(), ((group[:, None] * C + np.arange(C)).ravel(), np.repeat(np.arange(k), C))),
                           shape=(blocks.link.shape[1], k))
    convexity = sp.csc_matrix((np.ones(k), (which, np.arange(k))), shape=(blocks.n_blocks, k))
    cols = sp.vstack([blocks.link @ spread, convexity, sp.csc_matrix((1, k))]).tocsc()
    cost = member @ (blocks.unit_cost[sites] * y).sum(axis=1)
    return cols, cost


def master_lp(blocks: SiteBlocks, lp: LinearProgram, floor: float, y0: np.ndarray) -> LinearProgram:
    """The master: ``lp``'s kept rows and columns, one column per block placing ``y0`` (a feasible
    placement of the sites, e.g. the value stage's), convexity rows Σ_j λ[b,j] <= 1 and the row
    value >= ``floor``. Its ``c`` is the cost to minimize (``cost`` too)."""
    kr, kc = blocks.keep_rows, blocks.keep_cols
    B = blocks.n_blocks
    cols, cost0 = block_columns(blocks, y0, np.arange(B))
    value = sp.csr_matrix(lp.c[kc][None, :])
    base = sp.vstack([lp.A[kr][:, kc], sp.csr_matrix((B, len(kc))), value]).tocsc()
    cost = np.concatenate([lp.cost[kc], cost0])
    return LinearProgram(
        A=sp.hstack([base, cols]).tocsr(), c=cost, cost=cost,
        col_lo=np.concatenate([lp.col_lo[kc], np.zeros(B)]), col_hi=np.concatenate([lp.col_hi[kc], np.full(B, np.inf)]),
        row_lo=np.concatenate([lp.row_lo[kr], np.full(B, -np.inf), [floor]]),
        row_hi=np.concatenate([lp.row_hi[kr], np.ones(B), [np.inf]]),
        var_blocks={}, row_blocks={}, cost_scale=lp.cost_scale, cost_offset=lp.cost_offset)


@dataclass(frozen=True)
class SiteVertices:
    """The candidate vertices of each site's room {x >= 0 : p·x <= power, r·x <= racks}, which
    depend on the sites alone, not on prices: computed once, priced every round. ``single``:
    sites x chips, one chip up to the first limit it meets; pairs (a, b) with xa, xb: sites x
    pairs, two chips filling both limits (0 where that point is outside the room: priced at 0,
    it never beats nothing)."""

    single: np.ndarray
    a: np.ndarray
    b: np.ndarray
    xa: np.ndarray
    xb: np.ndarray

    @classmethod
    def of(cls, power: np.ndarray, racks: np.ndarray, p: np.ndarray, r: np.ndarray) -> "SiteVertices":
        """p, r > 0 (validated inputs)."""
        single = np.minimum(power[:, None] / p[None, :], racks[:, None] / r[None, :])       # S x C
        a, b = np.triu_indices(len(p), 1)
        det = p[a] * r[b] - p[b] * r[a]
        a, b, det = a[det != 0], b[det != 0], det[det != 0]
        xa = (power[:, None] * r[b] - racks[:, None] * p[b]) / det          # both limits met
        xb = (racks[:, None] * p[a] - power[:, None] * r[a]) / det
        outside = (xa < 0) | (xb < 0)
        return cls(single, a, b, np.where(outside, 0.0, xa), np.where(outside, 0.0, xb))

    def cheapest(self, reduced: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per site, min reduced·x over its room (<= 0: nothing is a vertex) and a minimizing
        vertex (sites x chips)."""
        S, C = reduced.shape
        rows = np.arange(S)
        at_single = reduced * self.single
        c1 = at_single.argmin(axis=1)
        best = np.minimum(0.0, at_single[rows, c1])
        y = np.zeros((S, C))
        take = best < 0
        y[rows[take], c1[take]] = self.single[rows[take], c1[take]]
        if len(self.a):
            val = reduced[:, self.a] * self.xa + reduced[:, self.b] * self.xb
            k = val.argmin(axis=1)
            pair = val[rows, k] < best
            sel, kp = rows[pair], k[pair]
            y[sel] = 0.0
            y[sel, self.a[kp]] = self.xa[sel, kp]
            y[sel, self.b[kp]] = self.xb[sel, kp]
            best = np.where(pair, val[rows, k], best)
        return best, y


def cheapest_vertices(power: np.ndarray, racks: np.ndarray, reduced: np.ndarray, p: np.ndarray,
                      r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per site, min reduced·x over {x >= 0 : p·x <= power, r·x <= racks} (<= 0: nothing is a
    vertex) and a minimizing vertex (sites x chips). p, r > 0 (validated inputs)."""
    return SiteVertices.of(power, racks, p, r).cheapest(reduced)


def _groups_fit(groups: np.ndarray, n_blocks: int, link_columns: int, n_chips: int) -> bool:
    """Whether every block names a group of the link (of ``link_columns`` = groups x chips)."""
    n_groups, rest = divmod(link_columns, n_chips) if n_chips else (0, link_columns)
    return (rest == 0 and len(groups) == n_blocks
            and (len(groups) == 0 or (groups.min() >= 0 and groups.max() < n_groups)))


def entering_blocks(rc: np.ndarray, share: float) -> np.ndarray:
    """The blocks whose new columns enter the master, ascending: of those with rc < 0, the most
    negative ``share`` (at least one; ties broken by block number)."""
    negative = np.flatnonzero(rc < 0)
    most = max(1, int(np.ceil(share * len(negative)))) if len(negative) else 0
    return np.sort(negative[np.argsort(rc[negative], kind="stable")[:most]])


@dataclass
class CostStage:
    """The pricing side of the loop: prices the master's duals into new block columns and keeps
    every column's placement, to assemble the plan from the master's λ."""

    blocks: SiteBlocks
    p: np.ndarray
    r: np.ndarray
    y0: np.ndarray
    _added: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)  # (blocks, sites, rows)
    _vertices: SiteVertices | None = None
    _site_link: np.ndarray | None = field(default=None, init=False, repr=False)   # each site's link group
    _reduced: np.ndarray | None = field(default=None, init=False, repr=False)     # sites x chips, reused

    def __post_init__(self) -> None:
        self._vertices = SiteVertices.of(self.blocks.power, self.blocks.racks, self.p, self.r)
        bl = self.blocks
        groups = bl.link_groups()
        if bl.link is not None and not _groups_fit(groups, bl.n_blocks, bl.link.shape[1], bl.n_chips):
            raise ValueError("CostStage: the blocks' link groups do not match the link's columns")
        self._site_link = groups[bl.block]
        self._reduced = np.empty_like(bl.unit_cost, dtype=np.float64)

    def cheapest(self, reduced: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per site, the least reduced cost of a placement within its room and that placement
        (sites x chips): a vertex of the room (:class:`SiteVertices`)."""
        best, found = self.vertices(reduced)
        return best, self.rows(found, np.arange(reduced.shape[0]))

    def vertices(self, reduced: np.ndarray) -> tuple[np.ndarray, Any]:
        """:meth:`cheapest`'s least reduced costs, and what :meth:`rows` needs to write the
        placements (pricing writes them only for the sites whose column enters)."""
        return self._vertices.cheapest(reduced)

    def rows(self, found: Any, sites: np.ndarray) -> np.ndarray:
        """The cheapest placements of ``sites`` (one row each) from :meth:`vertices`."""
        return found[sites]

    def new_column_share(self) -> float:
        """The share of pricing-out blocks whose columns enter each round (NEW_COLUMN_SHARE)."""
        return NEW_COLUMN_SHARE

    def master_columns_per_round(self) -> int | None:
        """How many of the master's own held-out columns (flows, ...) may enter each round; None:
        the column generation's default (:class:`optimizer.solvers.highs.HeldColumns`)."""
        return None

    def master(self, lp: LinearProgram, floor: float, start: np.ndarray) -> tuple[LinearProgram, np.ndarray]:
        """The master the loop solves and ``start`` over its columns: :func:`master_lp` of ``lp``
        (the value stage's LP) with the value at ``floor``, ``start`` a point over its columns."""
        return master_lp(self.blocks, lp, floor, self.y0), start

    def in_master(self, cols: sp.csc_matrix) -> sp.csc_matrix:
        """Block columns (over :func:`master_lp`'s rows) over the rows of :meth:`master`."""
        return cols

    def master_plan(self, x: np.ndarray) -> np.ndarray:
        """A plan of :meth:`master` (its columns, then the generated ones) over :func:`master_lp`'s
        columns, then the generated ones."""
        return x

    def price(self, row_duals: np.ndarray) -> tuple[sp.csc_matrix, np.ndarray, float]:
        """New columns (with negative reduced cost: those of :func:`entering_blocks`; over the rows
        of :meth:`master`), their costs, and the bound gap -Σ_b min(0, rc_b) over every block
        (master cost minus this gap is a lower bound). ``row_duals``: the master's, of which the
        rows of :func:`master_lp` come first."""
        bl = self.blocks
        n_kept = len(bl.keep_rows)
        pi = (bl.link.T @ row_duals[:n_kept]).reshape(-1, bl.n_chips)       # per link group
        mu = row_duals[n_kept:n_kept + bl.n_blocks]
        # each site's reduced costs k - π·a, written into one buffer (a fresh sites x chips array
        # each round cost more in page faults than the arithmetic; mode "raise" would write into
        # a temporary copy of it first)
        reduced = np.take(pi, self._site_link, axis=0, out=self._reduced, mode="clip")   # in range: __post_init__
        value, found = self.vertices(np.subtract(bl.unit_cost, reduced, out=reduced))
        rc = np.bincount(bl.block, value, bl.n_blocks) - mu
        gap = float(-rc[rc < 0].sum())
        new = entering_blocks(rc, self.new_column_share())
        members = np.flatnonzero(np.isin(bl.block, new))
        y = self.rows(found, members)
        cols, cost = block_columns(bl, y, new, members)
        self._added.append((new, members, y))
        return self.in_master(cols), cost, gap

    def placement(self, lam: np.ndarray) -> np.ndarray:
        """Sites (of ``blocks``) x chips: Σ_j λ_j·y^j, with ``lam`` the master's λ columns in order
        (the last priced columns are not among them when the loop stopped on the bound gap)."""
        bl = self.blocks
        y = self.y0 * lam[:bl.n_blocks][bl.block][:, None]
        at = bl.n_blocks
        for new, members, placed in self._added:
            if at >= len(lam):
                break
            weight = np.zeros(bl.n_blocks)
            weight[new] = lam[at:at + len(new)]
            y[members] += placed * weight[bl.block[members]][:, None]
            at += len(new)
        return y
