"""SAH-optimal collapse of the binary BVH into 8-wide nodes (numba).

:func:`cimcity._kernels.bvh_wide.collapse` builds each wide node greedily
(open the inner child of largest surface area until 8 lanes are used, turn
every subtree of at most ``max_leaf`` triangles into a leaf). This module
instead picks, by dynamic programming over the binary tree, the wide tree of
least surface-area-heuristic cost among all collapses of the same binary
tree (Ylitie, Karras & Laine 2017, "Efficient incoherent ray traversal on
GPUs through compressed wide BVHs", section 3.1): which binary nodes become
wide nodes, which become leaves (up to :data:`MAX_LEAF` triangles) and how
the 8 lanes of each wide node are shared between the two halves of its
binary subtree. The cost of a tree is ``sum(A(node)) * C_NODE + sum(A(leaf)
* blocks(leaf)) * C_BLOCK``, ``A`` the surface area of a box (the chance
that a random ray entering the root enters it), ``blocks`` the leaf's
triangles four to a block (:func:`cimcity._kernels.bvh_wide32.leaf_blocks`).

Recurrence, for a binary node ``n`` and ``i`` lanes (``1 <= i <= 8``):
``C(n, 1) = min(leaf(n), A(n) C_NODE + D(n, 8))``, ``C(n, i) = min(C(n, i -
1), D(n, i))`` and ``D(n, j) = min_k C(left, k) + C(right, j - k)`` (``n``
opened, its two children sharing ``j`` lanes); a binary leaf costs its leaf
cost whatever its lanes. Every box of the result is a binary node's box and
every leaf a binary subtree (a contiguous triangle range), so the float32
traversal's proof (:mod:`cimcity._kernels.bvh_wide32`) holds unchanged and
answers are the same; only the time differs.

Measured (one thread, 300,000 random rays, ns a ray, greedy collapse with
leaves of up to 8 triangles -> this one, ``C_BLOCK = 0.3``): Paris 11e
uniform origins any-hit 107-112 -> 98-102 and closest 133-171 -> 125-136,
rays from sensors 149-151 -> 143-145 and 212-214 -> 205-206, sky rays
104-105 -> 98-99 and 133 -> 123-126; 40 x 40 grid 0-10 % faster on every
kind, none slower. ``C_BLOCK`` 0.2-0.6 (a block test against a wide node
test) and a fixed cost per leaf were within noise of each other on Paris;
0.3 was best or level everywhere. Hand-written: no library builds wide BVHs on
cimcity's node layout.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .bvh_wide import WIDTH, _subtrees, row_buffer, worklist, write_row

_JIT = dict(nogil=True, cache=True, error_model="numpy")

#: SAH cost of a wide node's 8-box test (the unit)
C_NODE = 1.0
#: SAH cost of one block of four triangles against a wide node test
C_BLOCK = 0.3
#: a leaf holds at most this many triangles (the 4-bit count of a leaf
#: reference)
MAX_LEAF = 15


@njit(**_JIT)
def _area(nodes, row, c):
    """Half surface area of child ``c`` of binary row ``row``, in float64."""
    b = 6 * c
    ex = np.float64(nodes[row, b + 3]) - np.float64(nodes[row, b])
    ey = np.float64(nodes[row, b + 4]) - np.float64(nodes[row, b + 1])
    ez = np.float64(nodes[row, b + 5]) - np.float64(nodes[row, b + 2])
    return ex * ey + ey * ez + ez * ex


@njit(**_JIT)
def _leaf_cost(area, count, c_block):
    return area * ((count + 3) // 4) * c_block


@njit(**_JIT)
def _lane_cost(cost, nodes, refs, row, c, lanes, c_block):
    """Cost of child ``c`` of binary row ``row`` given ``lanes`` lanes."""
    x = refs[row, 12 + c]
    if x >= 0:
        return cost[x, lanes]
    return _leaf_cost(_area(nodes, row, c), (-x - 1) & 15, c_block)


@njit(**_JIT)
def _optimise(nodes, refs, sub_count, c_node, c_block, max_leaf):
    """The recurrence of the module docstring, rows in reverse order
    (children after parents). Returns ``choice`` (rows, 9) int8 (column
    ``j >= 2``: 0 when ``C(row, j) = C(row, j - 1)``, else the lanes of child
    0 in ``D(row, j)``; column 1: 1 when the row is a leaf; column 0: the
    lanes of child 0 in ``D(row, 8)``, the row's split as a wide node) and
    the root's cost as a wide node."""
    n = nodes.shape[0]
    area = np.empty(n)
    for r in range(n):
        for c in range(2):
            x = refs[r, 12 + c]
            if x >= 0:
                area[x] = _area(nodes, r, c)
    e = np.empty(3)
    for a in range(3):
        hi = max(np.float64(nodes[0, 3 + a]), np.float64(nodes[0, 9 + a]))
        e[a] = hi - min(np.float64(nodes[0, a]), np.float64(nodes[0, 6 + a]))
    area[0] = e[0] * e[1] + e[1] * e[2] + e[2] * e[0]
    cost = np.empty((n, WIDTH + 1))
    choice = np.zeros((n, WIDTH + 1), np.int8)
    d = np.empty(WIDTH + 1)
    root = 0.0
    for x in range(n - 1, -1, -1):
        for j in range(2, WIDTH + 1):
            best = np.inf
            for k in range(1, j):
                v = _lane_cost(cost, nodes, refs, x, 0, k, c_block) + _lane_cost(
                    cost, nodes, refs, x, 1, j - k, c_block
                )
                if v < best:
                    best = v
                    choice[x, j] = k
            d[j] = best
        choice[x, 0] = choice[x, WIDTH]  # D(x, 8)'s split, kept for _lanes
        inner = area[x] * c_node + d[WIDTH]
        leaf = np.inf
        if sub_count[x] <= max_leaf:
            leaf = _leaf_cost(area[x], sub_count[x], c_block)
        cost[x, 1] = min(leaf, inner)
        choice[x, 1] = 1 if leaf <= inner else 0
        for j in range(2, WIDTH + 1):
            if cost[x, j - 1] <= d[j]:
                cost[x, j] = cost[x, j - 1]
                choice[x, j] = 0
            else:
                cost[x, j] = d[j]
        if x == 0:
            root = inner
    return choice, root / area[0]


@njit(**_JIT)
def _lanes(refs, choice, b, lane_row, lane_c):
    """The lanes of the wide node of binary row ``b``: pairs (binary row,
    child) into ``lane_row``, ``lane_c``; returns their number."""
    st_row = np.empty(2 * WIDTH, np.int64)
    st_lanes = np.empty(2 * WIDTH, np.int64)
    st_row[0] = b
    st_lanes[0] = WIDTH
    sp = 1
    n = 0
    while sp > 0:
        sp -= 1
        x = st_row[sp]
        j = st_lanes[sp]
        # the wide node's own split, then the splits of the opened children
        k = np.int64(choice[x, 0] if x == b else choice[x, j])
        for c in range(2):
            s = k if c == 0 else j - k
            y = refs[x, 12 + c]
            if y >= 0:
                while s > 1 and choice[y, s] == 0:
                    s -= 1
            if y < 0 or s == 1:
                lane_row[n] = x
                lane_c[n] = c
                n += 1
            else:
                st_row[sp] = y
                st_lanes[sp] = s
                sp += 1
    return n


@njit(**_JIT)
def _emit(nodes, refs, sub_first, sub_count, choice, wide, wrefs):
    """Fill ``wide`` top-down from the choices; returns the number of wide
    rows and the depth."""
    as_leaf = choice[:, 1] == 1  # a subtree made one leaf
    work, lane_row, lane_c = worklist(nodes.shape[0])
    sp = 1
    n_wide = 1
    depth = 0
    while sp > 0:
        sp -= 1
        b, w, dp = work[sp, 0], work[sp, 1], work[sp, 2]
        depth = max(depth, dp)
        n = _lanes(refs, choice, b, lane_row, lane_c)
        sp, n_wide = write_row(nodes, refs, sub_first, sub_count, as_leaf, lane_row,
                               lane_c, n, wide, wrefs, w, work, sp, n_wide, dp)  # fmt: skip
    return n_wide, depth


def collapse_sah(nodes, c_node=C_NODE, c_block=C_BLOCK, max_leaf=MAX_LEAF):
    """8-wide BVH of least SAH cost among the collapses of a binary one.

    Parameters
    ----------
    nodes : (inner, 16) float32
        Binary nodes from :func:`~cimcity._kernels.bvh_build.pack_nodes`.
    c_node, c_block : float
        SAH cost of a wide node's box test and of a block of four triangles.
    max_leaf : int
        Most triangles in a leaf (<= 15).

    Returns
    -------
    wide : (rows, 64) float32
        Wide nodes in the layout of :mod:`cimcity._kernels.bvh_wide` (leaves
        as triangle ranges), 64-byte aligned.
    depth : int
        Depth of the wide tree (root = 0).
    cost : float
        The tree's SAH cost (module docstring) divided by the root's area.
    """
    if not 0 <= max_leaf <= 15:
        raise ValueError(f"max_leaf must be in 0 .. 15, got {max_leaf}")
    refs = nodes.view(np.int32)
    sub_first, sub_count = _subtrees(refs)
    choice, cost = _optimise(nodes, refs, sub_count, c_node, c_block, max_leaf)
    wide = row_buffer(nodes.shape[0])
    n_wide, depth = _emit(nodes, refs, sub_first, sub_count, choice, wide,
                          wide.view(np.int32))  # fmt: skip
    packed = row_buffer(n_wide)
    packed[:] = wide[:n_wide]
    return packed, int(depth), float(cost)
