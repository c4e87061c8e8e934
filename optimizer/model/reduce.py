"""Exact reductions of the serving network used by the fast formulation.

* **Site classes.** Sites with the same set of eligible markets are interchangeable for serving:
  any flow that a class can carry in total (Σ_m f[m,g] <= Σ_{s in g} capacity_s) splits among
  its sites, because every site of the class may serve every market the class serves.
* **Market groups.** Markets that see exactly the same set of classes share one node: flows
  f[h,g] from the group's classes, and each market's served amount u_m <= demand_m with
  Σ_{m in h} u_m = Σ_g f[h,g]. Any split among the group's markets is realizable, since each
  of them may draw from every class of the group.

Both are exact: the reduced LP has the same optimum, and :func:`split_flows` turns its solution
back into per-pair service (a northwest-corner split, so at most |markets| + |sites| - 1 pairs
per block instead of a dense product).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Reduction:
    """site_class[s] (-1: serves nothing), market_group[m], and the (group, class) pairs."""

    site_class: np.ndarray
    market_group: np.ndarray
    pair_group: np.ndarray
    pair_class: np.ndarray
    n_classes: int
    n_groups: int


def reduce_network(bits: np.ndarray, n_markets: int) -> Reduction:
    """Group sites by identical eligibility bitsets, then markets by identical class sets."""
    serves = bits.any(axis=1)
    site_class = np.full(len(bits), -1, dtype=np.int64)
    if not serves.any():
        return Reduction(site_class, np.zeros(n_markets, np.int64), np.zeros(0, np.int64),
                         np.zeros(0, np.int64), 0, 1 if n_markets else 0)
    rows = np.ascontiguousarray(bits[serves])
    unique, inverse = np.unique(rows.view(np.dtype((np.void, rows.shape[1]))).ravel(),
                                return_inverse=True)
    site_class[serves] = inverse.ravel()
    class_bits = np.frombuffer(unique.tobytes(), dtype=np.uint8).reshape(len(unique), -1)
    class_market = np.unpackbits(class_bits, axis=1, count=n_markets).astype(bool)   # G x M
    market_cols = np.ascontiguousarray(np.packbits(class_market, axis=0).T)          # M x ceil(G/8)
    groups, first, market_group = np.unique(
        market_cols.view(np.dtype((np.void, market_cols.shape[1]))).ravel(),
        return_index=True, return_inverse=True)
    # H x G, row-major: the pairs come out by group, then class (no sort of tens of millions)
    h, g = np.nonzero(np.ascontiguousarray(class_market[:, first].T))
    return Reduction(site_class, market_group.ravel().astype(np.int64), h, g, len(unique), len(groups))


def northwest_corner(supply: np.ndarray, capacity: np.ndarray, tiny: float = 0.0):
    """Split Σ supply over consecutive capacities: (i, j, amount) with amounts > tiny.

    The i-th supply and j-th capacity share the overlap of [A_{i-1}, A_i) and [B_{j-1}, B_j)
    (A, B cumulative sums). Supply beyond the total capacity (solver tolerance) goes to the last
    capacity that is positive (not to a place holding nothing: a CBC plan's tolerance put 40 TPP
    at a site without units, which check rejects), or to the last when none is.
    """
    A, B = np.cumsum(supply), np.cumsum(capacity)
    if len(A) == 0 or len(B) == 0 or A[-1] <= 0:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    cuts = np.unique(np.concatenate([[0.0], A, B[B < A[-1]]]))
    lo, hi = cuts[:-1], cuts[1:]
    mid = (lo + hi) / 2
    i = np.minimum(np.searchsorted(A, mid, side="right"), len(A) - 1)
    held = np.flatnonzero(capacity > 0)
    j = np.minimum(np.searchsorted(B, mid, side="right"), held[-1] if len(held) else len(B) - 1)
    amount = hi - lo
    keep = amount > tiny
    return i[keep], j[keep], amount[keep]


def split_flows(red: Reduction, flow_group: np.ndarray, flow_class: np.ndarray, flow: np.ndarray,
                served: np.ndarray, capacity: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-pair service (market, site, amount) from group-class flows and market amounts.

    ``flow[p]`` goes from class ``flow_class[p]`` to group ``flow_group[p]``; ``served[m]`` is
    each market's amount; ``capacity[s]`` each site's compute. Step 1 splits each group's flows
    among its markets; step 2 splits each class's market flows among its sites, both by the
    northwest corner rule.
    """
    order = np.lexsort((flow_class, flow_group))
    mg_m, mg_g, mg_amt = _split_groups(red, flow_group[order], flow_class[order], flow[order], served)
    out_m, out_s, out_amt = [], [], []
    order = np.argsort(mg_g, kind="stable")
    mg_m, mg_g, mg_amt = mg_m[order], mg_g[order], mg_amt[order]
    site_order = np.argsort(red.site_class, kind="stable")
    site_class_sorted = red.site_class[site_order]
    bounds_f = np.searchsorted(mg_g, np.arange(red.n_classes + 1))
    bounds_s = np.searchsorted(site_class_sorted, np.arange(red.n_classes + 1))
    for g in np.unique(mg_g):
        fs = slice(bounds_f[g], bounds_f[g + 1])
        sites = site_order[bounds_s[g]:bounds_s[g + 1]]
        i, j, amt = northwest_corner(mg_amt[fs], capacity[sites])
        out_m.append(mg_m[fs][i])
        out_s.append(sites[j])
        out_amt.append(amt)
    if not out_m:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    return np.concatenate(out_m), np.concatenate(out_s), np.concatenate(out_amt)


def _split_groups(red: Reduction, flow_group: np.ndarray, flow_class: np.ndarray, flow: np.ndarray,
                  served: np.ndarray):
    """Each group's markets draw its class flows in order (northwest corner per group)."""
    markets_by_group = np.argsort(red.market_group, kind="stable")
    mb = np.searchsorted(red.market_group[markets_by_group], np.arange(red.n_groups + 1))
    pb = np.searchsorted(flow_group, np.arange(red.n_groups + 1))
    out_m, out_g, out_amt = [], [], []
    for h in range(red.n_groups):
        markets = markets_by_group[mb[h]:mb[h + 1]]
        pairs = slice(pb[h], pb[h + 1])
        if pb[h] == pb[h + 1]:
            continue
        i, j, amt = northwest_corner(served[markets], flow[pairs])
        out_m.append(markets[i])
        out_g.append(flow_class[pairs][j])
        out_amt.append(amt)
    if not out_m:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    return np.concatenate(out_m), np.concatenate(out_g), np.concatenate(out_amt)


# --------------------------------------------------------------------------------------------
# Hub tree over site classes: exact compression of the group-class arcs.
#
# Classes are leaves of a tree; every internal node is an uncapacitated hub
# with conservation  e[T] + Σ_h d[h,T] = Σ_{children c} e[c]  (e: flow up to the parent, d: a
# group's draw). A group draws from the maximal subtrees whose classes it may all use, so each
# path class -> hubs -> group stands for an arc of the group-class graph, and every flow on that
# graph routes through the tree: the LPs have the same optimum, for any tree, with far fewer
# arcs when a group's classes fill whole subtrees (build_class_tree splits by the groups' own
# class sets; by geography alone, a disk needs about its boundary's worth of subtrees). The
# trees are built binary; the hubs no group draws from are then spliced out (without_idle_hubs).
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassTree:
    """Leaves 0..G-1 are classes; internal nodes follow. parent[root] = -1."""

    parent: np.ndarray
    n_leaves: int
    leaf_start: np.ndarray   # each node's leaves are leaf_order[leaf_start[n]:leaf_end[n]]
    leaf_end: np.ndarray
    leaf_order: np.ndarray

    @property
    def n_nodes(self) -> int:
        return len(self.parent)


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on the unit sphere (n x 3) for latitudes and longitudes in degrees."""
    phi, lmb = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(phi) * np.cos(lmb), np.cos(phi) * np.sin(lmb), np.sin(phi)], axis=1)


def group_classes(red: Reduction, n_classes: int) -> np.ndarray:
    """Groups x classes, True where the group may use the class (``red``'s pairs)."""
    member = np.zeros((red.n_groups, n_classes), dtype=bool)
    member[red.pair_group, red.pair_class] = True
    return member


# A split by a group's membership must leave at least this share of the node's classes on each
# side; a node no group splits that evenly is split at the median of the positions instead.
MIN_SPLIT_SHARE = 0.1


def build_class_tree(xyz: np.ndarray, red: Reduction | None = None) -> ClassTree:
    """Binary tree over the classes (positions ``xyz``, n x 3), built top down.

    With ``red`` (the market groups' classes), each node's classes are split into those a market
    group may use and those it may not, taking the group that splits them most evenly (at least
    MIN_SPLIT_SHARE on each side): that group's classes then sit in whole subtrees, so it draws
    from few nodes (:func:`tree_cover`). Nodes that no group splits that evenly (including those
    every group may use all of or none of) and trees without ``red`` are split at the median of
    the positions along the axis of widest spread. Any binary tree gives the same LP optimum
    (see the comment above); the tree only decides how many draws the LP has: on a generated
    30,000-site fleet 50,330 with group splits against 220,495 with median splits alone, but
    on groups that are overlapping caps of random points the two are close, either way
    (:func:`best_hub_tree` keeps the better)."""
    G = len(xyz)
    member = group_classes(red, G) if red is not None and len(red.pair_group) else None
    parent = np.full(max(2 * G - 1, 0), -1, dtype=np.int64)
    starts, ends = np.zeros(len(parent), np.int64), np.zeros(len(parent), np.int64)
    order = np.arange(G)
    next_node = G
    groups = np.arange(member.shape[0]) if member is not None else np.zeros(0, np.int64)
    stack = [(np.arange(G), 0, -1, groups)] if G else []
    while stack:
        idx, lo, up, groups = stack.pop()
        if len(idx) == 1:
            node = int(idx[0])
            order[lo] = node
        else:
            node, next_node = next_node, next_node + 1
            left, right, groups = _split_classes(idx, xyz, member, groups)
            stack.append((right, lo + len(left), node, groups))
            stack.append((left, lo, node, groups))
        parent[node], starts[node], ends[node] = up, lo, lo + len(idx)
    return ClassTree(parent, G, starts, ends, order)


def _split_classes(idx: np.ndarray, xyz: np.ndarray, member: np.ndarray | None,
                   groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One node's classes ``idx`` in two (see :func:`build_class_tree`), and the groups that use
    some but not all of them (only those can split the node's descendants)."""
    if member is not None and len(groups):
        sub = member[np.ix_(groups, idx)]
        count = sub.sum(axis=1)
        mixed = (count > 0) & (count < len(idx))
        groups, sub, count = groups[mixed], sub[mixed], count[mixed]
        if len(groups):
            k = int(np.argmin(np.abs(count - len(idx) / 2)))
            if min(count[k], len(idx) - count[k]) >= MIN_SPLIT_SHARE * len(idx):
                return idx[sub[k]], idx[~sub[k]], groups
    pts = xyz[idx]
    axis = int(np.argmax(pts.max(axis=0) - pts.min(axis=0)))
    idx = idx[np.argsort(pts[:, axis], kind="stable")]
    half = len(idx) // 2
    return idx[:half], idx[half:], groups


def flat_tree(n_classes: int) -> ClassTree:
    """No hubs: every class is its own root, so groups draw straight from classes."""
    idx = np.arange(n_classes)
    return ClassTree(np.full(n_classes, -1, dtype=np.int64), n_classes, idx, idx + 1, idx.copy())


# Groups per slice of tree_cover: its arrays are this many groups x tree nodes (the cumulative
# counts int64, about 100 MB at 100,000 sites and 50,000 nodes), where all groups at once took
# several GB.
COVER_GROUPS_PER_SLICE = 256


def tree_cover(tree: ClassTree, red: Reduction) -> tuple[np.ndarray, np.ndarray]:
    """(group, node) draws: for each group the maximal subtrees whose classes it may all use,
    ordered by group, then node. Computed for COVER_GROUPS_PER_SLICE groups at a time."""
    if tree.n_leaves == 0 or len(red.pair_group) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    member = group_classes(red, tree.n_leaves)
    size = (tree.leaf_end - tree.leaf_start)[None, :]
    has_parent = tree.parent >= 0
    out_h, out_node = [], []
    for lo in range(0, red.n_groups, COVER_GROUPS_PER_SLICE):
        part = member[lo:lo + COVER_GROUPS_PER_SLICE]
        by_pos = np.concatenate([np.zeros((len(part), 1), np.int64),
                                 np.cumsum(part[:, tree.leaf_order], axis=1)], axis=1)
        full = (by_pos[:, tree.leaf_end] - by_pos[:, tree.leaf_start]) == size      # groups x nodes
        parent_full = np.zeros_like(full)
        parent_full[:, has_parent] = full[:, tree.parent[has_parent]]
        h, node = np.nonzero(full & ~parent_full)
        out_h.append(h + lo)
        out_node.append(node)
    return np.concatenate(out_h), np.concatenate(out_node)


def best_hub_tree(xyz: np.ndarray, red: Reduction) -> tuple[ClassTree, np.ndarray, np.ndarray]:
    """The hub tree the fast models use and its draws (:func:`tree_cover`): split by the groups'
    class sets or by position alone (:func:`build_class_tree` with and without ``red``),
    whichever needs fewer draws (the first on a tie). Both keep the optimum; the draws are the
    LP's largest block of columns."""
    best = None
    for tree in (build_class_tree(xyz, red), build_class_tree(xyz)):
        draws = tree_cover(tree, red)
        if best is None or len(draws[0]) < len(best[1]):
            best = (tree, *draws)
    return without_idle_hubs(*best)


def without_idle_hubs(tree: ClassTree, draw_group: np.ndarray, draw_node: np.ndarray
                      ) -> tuple[ClassTree, np.ndarray, np.ndarray]:
    """The tree with every hub no group draws from spliced out (its children hang from its
    nearest kept ancestor, or become roots), nodes renumbered in order, and the draws on the new
    numbers. Exact: an idle hub's row says e[T] = Σ_children e[c] (a root's, Σ e[c] = 0), so its
    parent's row may take its children's flows directly (and a root's children carry nothing
    up either way), and every drawn subtree keeps its classes. Such rows reach LPs that are
    never presolved (the cost stage's warm-started master: at 3,000 sites x 12 quarters 24 of
    each period's 110 hubs)."""
    G = tree.n_leaves
    keep = np.zeros(tree.n_nodes, dtype=bool)
    keep[:G] = True                               # every class
    keep[draw_node] = True                        # and every node some group draws from
    if keep.all():
        return tree, draw_group, draw_node
    parent = tree.parent.copy()
    while True:                                   # climb past idle hubs, one level a pass
        idle = (parent >= 0) & ~keep[np.maximum(parent, 0)]
        if not idle.any():
            break
        parent[idle] = tree.parent[parent[idle]]
    new_id = np.cumsum(keep) - 1
    kept = np.flatnonzero(keep)
    parent = parent[kept]
    parent = np.where(parent >= 0, new_id[np.maximum(parent, 0)], -1)
    spliced = ClassTree(parent, G, tree.leaf_start[kept], tree.leaf_end[kept], tree.leaf_order)
    return spliced, draw_group, new_id[draw_node]


def unfold_tree_flows(tree: ClassTree, draw_group: np.ndarray, draw_node: np.ndarray,
                      draw: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group-class flows (group, class, amount) from hub-tree draws and upward edge flows.

    Top-down: each node's demands (group, amount) — its own draws plus what its parent asked of
    it — are split over its children's upward flows by the northwest corner rule.
    """
    children: list[list[int]] = [[] for _ in range(tree.n_nodes)]
    for node, par in enumerate(tree.parent):
        if par >= 0:
            children[par].append(node)
    own: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(tree.n_nodes)]
    order = np.argsort(draw_node, kind="stable")
    bounds = np.searchsorted(draw_node[order], np.arange(tree.n_nodes + 1))
    out_h, out_g, out_amt = [], [], []
    roots = [n for n in range(tree.n_nodes) if tree.parent[n] < 0]
    stack = list(roots)
    while stack:
        node = stack.pop()
        sel = order[bounds[node]:bounds[node + 1]]
        parts = own[node] + [(draw_group[sel], draw[sel])]
        groups = np.concatenate([p[0] for p in parts])
        amount = np.concatenate([p[1] for p in parts])
        if node < tree.n_leaves:
            out_h.append(groups)
            out_g.append(np.full(len(groups), node))
            out_amt.append(amount)
            continue
        kids = children[node]
        i, j, amt = northwest_corner(amount, up[kids])
        for k, kid in enumerate(kids):
            hit = j == k
            own[kid].append((groups[i[hit]], amt[hit]))
        stack.extend(kids)
    if not out_h:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    h, g, a = np.concatenate(out_h), np.concatenate(out_g), np.concatenate(out_amt)
    keep = a > 0
    return h[keep], g[keep], a[keep]
