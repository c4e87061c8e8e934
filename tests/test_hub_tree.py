"""The hub tree over site classes (optimizer.model.reduce): a valid binary tree, a cover that
gives every group exactly its classes, splits by the groups' own class sets that need far
fewer draws than splits by geography alone, and idle hubs spliced out with the cover kept."""
from __future__ import annotations

import numpy as np
import pytest

from optimizer.model import reduce as reduce_module
from optimizer.model.reduce import ClassTree, Reduction, best_hub_tree, build_class_tree, tree_cover


def reduction(member: np.ndarray) -> Reduction:
    """A Reduction whose groups (rows) may use the classes (columns) marked in ``member``."""
    h, g = np.nonzero(member)
    return Reduction(np.arange(member.shape[1]), np.arange(member.shape[0]), h, g,
                     member.shape[1], member.shape[0])


def random_member(rng: np.random.Generator, n_groups: int, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Classes at random points of the sphere; each group uses the classes within a random cap
    around a random centre (as latency limits do), at least one."""
    xyz = rng.normal(size=(n_classes, 3))
    xyz /= np.linalg.norm(xyz, axis=1, keepdims=True)
    centre = rng.normal(size=(n_groups, 3))
    centre /= np.linalg.norm(centre, axis=1, keepdims=True)
    cos = centre @ xyz.T
    member = cos >= rng.uniform(0.3, 0.95, size=(n_groups, 1))
    member[np.arange(n_groups), np.argmax(cos, axis=1)] = True
    return xyz, member


def leaves_under(tree: ClassTree, node: int) -> np.ndarray:
    return tree.leaf_order[tree.leaf_start[node]:tree.leaf_end[node]]


def assert_binary_tree(tree: ClassTree) -> None:
    """Leaves 0..G-1, G-1 internal nodes each with two children whose leaf ranges split its own."""
    G = tree.n_leaves
    assert tree.n_nodes == max(2 * G - 1, 1) and sorted(tree.leaf_order) == list(range(G))
    assert (tree.parent == -1).sum() == 1
    for leaf in range(G):
        assert tree.leaf_order[tree.leaf_start[leaf]] == leaf and tree.leaf_end[leaf] == tree.leaf_start[leaf] + 1
    for node in range(G, tree.n_nodes):
        kids = np.flatnonzero(tree.parent == node)
        assert len(kids) == 2 and np.all((kids > node) | (kids < G))
        a, b = sorted(kids, key=lambda k: tree.leaf_start[k])
        assert tree.leaf_start[a] == tree.leaf_start[node] and tree.leaf_end[a] == tree.leaf_start[b]
        assert tree.leaf_end[b] == tree.leaf_end[node]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("by_groups", [False, True])
def test_cover_gives_every_group_exactly_its_classes(seed, by_groups):
    """The draws of each group cover its classes once each and nothing else: the LP on the tree
    then has exactly the eligible group-class arcs (the reduction is exact for any tree)."""
    rng = np.random.default_rng(seed)
    xyz, member = random_member(rng, int(rng.integers(1, 40)), int(rng.integers(1, 120)))
    red = reduction(member)
    tree = build_class_tree(xyz, red if by_groups else None)
    assert_binary_tree(tree)
    h, node = tree_cover(tree, red)
    covered = np.zeros(member.shape, int)
    for group, n in zip(h, node):
        covered[group, leaves_under(tree, n)] += 1
    assert np.array_equal(covered, member.astype(int))


def test_cover_in_slices_is_the_cover_of_all_groups_at_once(monkeypatch):
    """tree_cover works through the groups a slice at a time (memory): same draws, same order."""
    xyz, member = random_member(np.random.default_rng(11), 37, 90)
    red = reduction(member)
    tree = build_class_tree(xyz, red)
    whole = tree_cover(tree, red)
    monkeypatch.setattr(reduce_module, "COVER_GROUPS_PER_SLICE", 5)
    sliced = tree_cover(tree, red)
    assert len(whole[0]) > 37 and all(np.array_equal(a, b) for a, b in zip(whole, sliced))


def median_tree_order(xyz: np.ndarray) -> list[int]:
    """The leaf order of recursive median splits along the axis of widest spread (reference)."""
    def split(idx):
        if len(idx) == 1:
            return [int(idx[0])]
        pts = xyz[idx]
        idx = idx[np.argsort(pts[:, int(np.argmax(pts.max(0) - pts.min(0)))], kind="stable")]
        return split(idx[:len(idx) // 2]) + split(idx[len(idx) // 2:])
    return split(np.arange(len(xyz)))


def test_without_groups_the_tree_is_the_median_split():
    xyz, _ = random_member(np.random.default_rng(3), 5, 77)
    assert build_class_tree(xyz).leaf_order.tolist() == median_tree_order(xyz)


def test_nested_groups_are_one_subtree_each():
    """Groups that nest (halves, quarters, eighths of the classes in a shuffled order, and all of
    them): split by the groups, each is one subtree, one draw; split by position, the classes of
    a group are scattered and need many."""
    rng = np.random.default_rng(8)
    n = 64
    order = rng.permutation(n)
    member = [np.isin(np.arange(n), order[lo:lo + size]) for size in (64, 32, 16, 8) for lo in range(0, n, size)]
    member = np.array(member)
    xyz, _ = random_member(rng, 1, n)
    red = reduction(member)
    assert len(tree_cover(build_class_tree(xyz, red), red)[0]) == len(member)
    assert len(tree_cover(build_class_tree(xyz), red)[0]) > 3 * len(member)


@pytest.mark.parametrize("n_groups,n_classes,seed", [(30, 150, 0), (30, 150, 1), (300, 600, 0), (300, 600, 3)])
def test_best_hub_tree_keeps_the_tree_with_fewer_draws(n_groups, n_classes, seed):
    """On overlapping caps of random points either tree may need fewer draws (the group splits
    on 30 groups x 150 classes, the median splits on 300 x 600 here): the better is kept."""
    xyz, member = random_member(np.random.default_rng(seed), n_groups, n_classes)
    red = reduction(member)
    tree, h, node = best_hub_tree(xyz, red)
    counts = [len(tree_cover(build_class_tree(xyz, r), red)[0]) for r in (red, None)]
    assert len(h) == min(counts)
    assert all(np.array_equal(a, b) for a, b in zip(tree_cover(tree, red), (h, node)))


def test_fast_models_use_the_best_tree(tmp_path):
    """build_fast and build_fast_timeline draw through best_hub_tree: on a generated fleet,
    where the group splits need fewer draws than the median splits."""
    from optimizer import load_scenario
    from optimizer.bench.generate import generate_fleet
    from optimizer.inputs.timeline import load_timeline
    from optimizer.model.data import ModelData
    from optimizer.model.fast import build_fast, class_positions, fleet_network
    from optimizer.model.fast_periods import build_fast_timeline
    from optimizer.model.periods import TimelineData
    d = ModelData.from_scenario(load_scenario(generate_fleet(tmp_path / "f", sites=2000, skus=2, seed=4)))
    red = fleet_network(d)
    xyz = class_positions(d, red)
    by_place = len(tree_cover(build_class_tree(xyz), red)[0])
    assert len(build_fast(d).draw_group) == len(best_hub_tree(xyz, red)[1]) < 0.8 * by_place
    td = TimelineData.from_timeline(load_timeline(generate_fleet(tmp_path / "t", sites=2000, skus=2, seed=4, periods=2)))
    assert len(build_fast_timeline(td).fast.draw_group) == len(build_fast(d).draw_group)


@pytest.mark.parametrize("seed", range(4))
def test_network_pairs_by_group_then_class(seed):
    """reduce_network's (group, class) pairs: exactly the classes each group's markets may use,
    ordered by group, then class (the order the cover and the flow split rely on)."""
    from optimizer.model.reduce import reduce_network
    rng = np.random.default_rng(seed)
    n_sites, n_markets = 80, 23
    eligible = rng.random((n_sites, n_markets)) < 0.3
    eligible[rng.integers(0, n_sites, 5)] = eligible[0]               # some sites share a class
    red = reduce_network(np.packbits(eligible, axis=1), n_markets)
    expected = sorted({(int(red.market_group[m]), int(red.site_class[s]))
                       for s, m in zip(*np.nonzero(eligible))})
    assert list(zip(red.pair_group.tolist(), red.pair_class.tolist())) == expected


def spliced_random_tree(rng: np.random.Generator, groups: tuple[int, int], classes: tuple[int, int], by_groups: bool):
    """Random caps (:func:`random_member`), a tree over them (split by the groups or by place),
    its cover, and the tree with its idle hubs spliced out (optimizer.model.reduce.without_idle_hubs)
    with its draws."""
    from optimizer.model.reduce import without_idle_hubs
    xyz, member = random_member(rng, int(rng.integers(*groups)), int(rng.integers(*classes)))
    red = reduction(member)
    tree = build_class_tree(xyz, red if by_groups else None)
    cover = tree_cover(tree, red)
    return member, red, tree, cover, without_idle_hubs(tree, *cover)


@pytest.mark.parametrize("seed", range(6))
def test_idle_hubs_are_spliced_out_and_the_cover_stays(seed):
    """without_idle_hubs: every hub left is drawn from, every node keeps its classes and hangs
    from its nearest kept ancestor, and the spliced tree's cover is the same draws (renumbered):
    the LP on it has the same group-class arcs and one hub row less per idle hub."""
    rng = np.random.default_rng(seed)
    member, red, tree, (h, node), (spliced, h2, node2) = spliced_random_tree(rng, (2, 40), (20, 150), seed % 2)
    G = tree.n_leaves
    kept = np.concatenate([np.arange(G), np.unique(node[node >= G])])
    assert spliced.n_nodes == len(kept) < tree.n_nodes                 # some hub was idle here
    assert np.array_equal(h2, h) and np.array_equal(kept[node2], node)
    assert set(range(G, spliced.n_nodes)) <= set(node2.tolist())     # no idle hub left
    for new, old in enumerate(kept):
        assert np.array_equal(leaves_under(spliced, new), leaves_under(tree, old))
        up = tree.parent[old]
        while up >= 0 and up not in kept:
            up = tree.parent[up]
        assert spliced.parent[new] == (-1 if up < 0 else int(np.flatnonzero(kept == up)[0]))
    assert all(np.array_equal(a, b) for a, b in zip(tree_cover(spliced, red), (h2, node2)))


def test_a_tree_without_idle_hubs_is_returned_as_it_is():
    from optimizer.model.reduce import without_idle_hubs
    tree = build_class_tree(np.eye(3)[[0, 1, 2, 0]] + 0.01 * np.arange(4)[:, None])
    drawn = np.arange(tree.n_leaves, tree.n_nodes)
    assert without_idle_hubs(tree, np.zeros(len(drawn), np.int64), drawn)[0] is tree


def tree_lp(tree: ClassTree, h: np.ndarray, node: np.ndarray, cap: np.ndarray, demand: np.ndarray,
            value: np.ndarray, class_cost: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """The fast model's network on ``tree`` as a small LP (scipy): groups serve u_h <= demand_h
    worth value_h, drawn through the tree (hub rows e[T] + Σ d[h,T] = Σ_children e[c], group rows
    u_h = Σ_n d[h,n]) from classes of capacity ``cap`` whose outflow costs ``class_cost``;
    its optimum, the draws and every node's upward flow."""
    from scipy.optimize import linprog
    G, nd = tree.n_leaves, len(h)
    nonroot = np.flatnonzero(tree.parent >= 0)
    e_col = np.full(tree.n_nodes, -1)
    e_col[nonroot] = nd + np.arange(len(nonroot))
    nv = nd + len(nonroot) + len(demand)
    c = np.zeros(nv)
    c[nd + len(nonroot):] = -value
    leaf_up = np.flatnonzero(e_col[:G] >= 0)
    c[e_col[leaf_up]] += class_cost[leaf_up]
    on_leaf = np.flatnonzero(node < G)
    c[on_leaf] += class_cost[node[on_leaf]]
    eq = []
    for hub in range(G, tree.n_nodes):
        row = np.zeros(nv)
        if e_col[hub] >= 0:
            row[e_col[hub]] = 1.0
        row[:nd][node == hub] = 1.0
        row[e_col[np.flatnonzero(tree.parent == hub)]] -= 1.0
        eq.append(row)
    for g in range(len(demand)):
        row = np.zeros(nv)
        row[nd + len(nonroot) + g] = 1.0
        row[:nd][h == g] = -1.0
        eq.append(row)
    ub = np.zeros((G, nv))
    ub[leaf_up, e_col[leaf_up]] = 1.0
    ub[node[on_leaf], on_leaf] = 1.0
    res = linprog(c, A_ub=ub, b_ub=cap, A_eq=np.array(eq), b_eq=np.zeros(len(eq)), method="highs",
                  bounds=[(0, None)] * (nd + len(nonroot)) + [(0, x) for x in demand])
    assert res.status == 0
    up = np.zeros(tree.n_nodes)
    up[nonroot] = res.x[nd:nd + len(nonroot)]
    return res.fun, res.x[:nd], up


@pytest.mark.parametrize("seed", range(12))
def test_the_spliced_tree_has_the_same_network_optimum_and_unfolds_within_the_rules(seed):
    """The network LP on the spliced tree has the binary tree's optimum (idle roots, chains of
    idle hubs and leaves under idle hubs among these trees), and its flows unfold onto eligible
    group-class pairs within each class's capacity, each group getting what it drew."""
    from optimizer.model.reduce import unfold_tree_flows
    rng = np.random.default_rng(seed)
    member, red, tree, (h, node), (spliced, h2, node2) = spliced_random_tree(rng, (2, 25), (5, 60), seed % 2)
    G, H = tree.n_leaves, member.shape[0]
    cap, demand = rng.uniform(0, 3, G), rng.uniform(0, 5, H)
    value, class_cost = rng.uniform(1, 3, H), rng.uniform(0, 1.5, G)
    before, _, _ = tree_lp(tree, h, node, cap, demand, value, class_cost)
    after, draws, up = tree_lp(spliced, h2, node2, cap, demand, value, class_cost)
    assert after == pytest.approx(before, rel=1e-9, abs=1e-9)
    group, cls, amount = unfold_tree_flows(spliced, h2, node2, draws, up)
    assert member[group, cls].all()
    assert (np.bincount(cls, amount, G) <= cap + 1e-7).all()
    assert np.allclose(np.bincount(group, amount, H), np.bincount(h2, draws, H), atol=1e-7)
