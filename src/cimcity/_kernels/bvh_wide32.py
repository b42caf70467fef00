"""8-wide BVH with a conservative float32 node test: flat rays one by one.

The binary BVH is collapsed into 8-wide nodes of least SAH cost by
:mod:`cimcity._kernels.bvh_collapse`, whose leaves are binary subtrees of up
to 15 triangles (fewer, larger leaves than :mod:`cimcity._kernels.bvh_wide`'s
collapse: 7,924 rows instead of 33,294 on Paris 11e; the greedy collapse
with leaves of up to 8 triangles, used until then, gave 12,981). Every
child box is enlarged by ``delta`` (:func:`enlarge`) and tested in float32
(:func:`cimcity._kernels.simd.box8f`: one ``<8 x float>`` register, each
slab plane one fused multiply-add ``plane * inv - o * inv``), where the
float64 test widens eight float32 bounds to two halves of float64 and
subtracts, then multiplies. A leaf's triangles are stored four to a block
(:func:`leaf_blocks`) and tested four at a time by
:func:`cimcity._kernels.simd.tri4`: the watertight float64 triangle test
(Woop et al. 2013) lane by lane, the same operations in the same order as
the scalar test, so each lane accepts a triangle exactly when the scalar
test does. The per-ray traversals are inlined into their ray loops, and the
ray set-up picks its axes without branches
(:func:`~cimcity._kernels.bvh_traverse.ray_setup`). Hand-written: no
library offers a BVH traversal callable from numba kernels on cimcity's
layout.

Why answers are unchanged
-------------------------
The float32 test accepts every box the float64 test of
:func:`cimcity._kernels.simd.box8` accepts (it may accept a few more: extra
box visits cost time, never answers). Every box of the float32 tree, a
merged leaf's included, is the box of a binary node. A triangle hit at
``tmin < t <= tmax`` lies in every box above it, and the float64 test never
culls a box holding such a hit (the binary traversal's robustness, Ize
2013), so the float32 traversal enters every box above it and reaches its
leaf. The triangle test being the same, lane by lane, the float32
traversal finds every hit the float64 traversal finds (any-hit) and the
same nearest distance (closest hit; pruning by entry distance only skips
children whose float32 entry, never above the float64 one, lies beyond the
current hit; lanes a block accepts are rechecked in triangle order against
the nearest hit so far with the scalar comparison). It can find no hit the
float64 one misses either: both report hits of the same triangle test.

Proof of the box claim. Notation: ``u = 2**-24`` (float32 unit roundoff),
``P`` = :data:`~cimcity._kernels.bvh_traverse.BOX_PAD` (``1e-9``), ``C``
(:func:`enlarge`) a bound on ``|coordinate|`` of every box plane and of the
origin of every ray traced here (rays with an origin farther than ``C`` from
the local frame's origin in some axis, or a direction component below
``1e-30`` in magnitude but not zero, take the float64 path: see
:func:`fits`). The ray is ``o`` (float64, local frame), unit ``d``, ``i =
fl64(1/d_k)`` per axis (``1e30`` for ``d_k = 0``), so ``1 - 1e-15 <= |i| <=
1e30``. The float32 ray is ``o' = fl32(o)``, ``i' = fl32(i)`` (finite,
same sign), ``m = fl32(o' * i')`` (exact product rounded once),
``tmin' = fl32(tmin (1 - 2**-22)) <= tmin`` and ``tmax' = fl32(tmax (1 +
2P) (1 + 2**-22)) >= tmax (1 + 2P)``. Each box ``[lo, hi]`` is stored as
``lo' <= lo - delta``, ``hi' >= hi + delta`` (float32, rounded outward) with
``delta = 10 u C``.

Take an axis with ``i > 0`` (near plane ``lo``; ``i < 0`` mirrors it) and
``N = (lo - o) i`` in exact arithmetic. The float32 near distance is
``near' = fl32(lo' i' - m) = i' ((lo' - o') - e_m o') (1 + e_r)`` with
``|e_m|, |e_r| <= u`` and ``i' = i (1 + e_i)``, ``|e_i| <= u``. Write
``A = (lo' - o') - e_m o'``: ``A <= (lo - o) - delta + 2.01 u C`` (``|o' -
o| <= u C``, ``|e_m o'| <= u C (1 + u)``) and ``|A| <= 2.01 C``. Hence
``near' <= i A + i |A| (2u + u^2) <= N - i (delta - 6.1 u C)``. The float64
value is ``near64 = N (1 + t)``, ``|t| <= 2.3e-16``, ``|N| <= 2 C i``, so
``near' <= near64 - s`` with ``s = (delta - 6.1 u C - 1e-15 C)(1 - 1e-15)
>= 3.8 u C > 0`` (using ``|i| >= 1 - 1e-15``). Likewise ``far' >= far64 +
s`` for the far plane. (Without the fused multiply-add, ``fl32(fl32(lo' -
o') i')``, the same steps give ``7.1 u C``, also below ``delta``.)

Then ``tn' = max(near'_x, near'_y, near'_z, tmin') <= tn64 = max(near64_x,
.., tmin)``. For the far side, the float64 test compares with ``tf64 =
fl64(M (1 + P))``, ``M = min(far64_x, far64_y, far64_z, tmax)``. If ``M <=
0`` the float64 test accepts only at ``tn64 = tf64 = 0``, and then ``tn' <=
0 < min(far', tmax') = tf'``. If ``M > 0``: ``M <= far64`` of the axis with
``|d_k| >= 1/sqrt 3`` is at most ``3.5 C``, so ``tf64 <= M (1 + P)(1 + 2.3e-16)
<= M + 3.5 C (P + 2.3e-16)``, and ``tf' = min(far'_k, tmax') >=
min(M + s, tmax (1 + 2P)) >= tf64`` because ``s >= 3.8 u C > 3.5 C (P +
2.3e-16)`` (``u = 5.96e-8``). So ``tn64 <= tf64`` implies ``tn' <= tn64 <=
tf64 <= tf'``: the float32 test accepts. No overflow (``2.1 C 1e30 < 3.4e38``
for ``C <= 1e7``: :func:`enlarge` refuses larger scenes), no NaN (``0 *
inf`` never arises: ``i'`` is finite and empty lanes give ``inf * i'``), and
results below the normal range have absolute errors under ``1e-44`` m,
covered by ``delta`` as ``C >= 1`` m. ``tests/test_bvh_wide.py`` checks the
claim on adversarial rays (origins on box faces, grazing rays, far origins,
zero direction components, ``tmax`` at a box's entry).

``delta`` is ``10 u C``: 1.4 mm on the 40 x 40 grid of
``benchmarks/bench_raycast.py`` (``C = 2.4 km``), 3.1 mm on Paris 11e
(``C = 5.2 km``).

Measured
--------
One thread, 200,000 random rays, ns per ray (before this module's blocks ->
now; raw embreex in the same run): grid 40 x 40 any-hit 115-121 -> 101-105
(101-104), Paris 11e any-hit 170-196 -> 120-128 (111-123) for uniform
origins and 218 -> 157 (173) from sensors. Each step on its own: the
branch-free axis choice saves 11 ns a ray, inlining the traversal into the
ray loop 22 ns (a call passes about 60 flattened array arguments), leaf
blocks of four triangles 15-60 ns (fewer, larger leaves: fewer node visits;
with a scalar triangle test larger leaves gained nothing). With the greedy
collapse, leaves of 4, 6, 8, 12 and 15 triangles were within 10 % of each
other (8 the best compromise across the grid and Paris); the SAH-optimal
collapse chooses each leaf's size and gained 3-9 % more
(:mod:`cimcity._kernels.bvh_collapse`). Eight lanes (``<8 x double>``, one
zmm register) instead of four: no faster, more padding. Rays outside
:func:`fits` are traced after the others: a fallback branch inside the main
loop cost 5 % (register pressure). Tried and dropped: children in stack
order instead of nearest first for any-hit (9 % slower on the grid), ray
set-up for blocks of 64 rays ahead of their traversal (no gain),
prefetching the leaves' triangles (no gain on Paris 11e), skipping the
prefetch of pushed children or a shortcut for a single entered child
(within noise).

Layout: ``wide32`` is the merged-leaf tree with the bounds enlarged; inner
references and leaf masks as in :mod:`cimcity._kernels.bvh_wide`, leaf
references recoded as block ranges ``-((first block << 4) | blocks) - 1``
(:func:`leaf_blocks`); each block row holds its four triangles' corners and
mesh faces (a closest hit reads its face there: 148 -> 136 ns a ray, Paris
11e uniform origins, one thread, where the face table lookup missed the
cache). Rays outside the proof's domain (:func:`fits`) take the exact
float64 traversal of the binary BVH
(:func:`~cimcity._kernels.bvh_traverse.occluded_rays`), whose nodes and
triangles the packets use anyway; the unmerged float64 wide tree of
:mod:`cimcity._kernels.bvh_wide` is no longer built for the engine (8.5 MB
on Paris 11e) and stays the tests' and benchmarks' reference.

Per-ray set-up: rays are set up :data:`CHUNK` at a time in a loop LLVM
vectorises (:func:`_unit_rays`, same values as the scalar set-up) before
being traced one by one: 79 -> 69-72 ns a ray on the 10 x 10 grid, 103 ->
91-94 on the 40 x 40 grid, 113-132 -> 97-106 on Paris 11e (uniform origins,
any-hit, one thread; raw embreex 79, 101, 105-115 in the same runs). Setting
up the node and triangle rays in the same vectorised pass as well gained
nothing more; pre-splitting long triangles before the build (early split
clipping: 1-35 % more references) was up to 8 % slower on Paris 11e.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .bvh_traverse import _BIG, BOX_PAD, intersect_rays, occluded_rays, ray_axes
from .bvh_wide import LEAVES, REF, WIDTH, fetch_row, ray_planes
from .simd import TRI_BLOCK, TRI_LANES, box8f, ctz, tri4, tri4_dist

_JIT = dict(nogil=True, cache=True, error_model="numpy")
#: the per-ray traversals are inlined into their ray loops (numba IR inlining):
#: called, their ~60 flattened array arguments cost 22 ns a ray (51 -> 30 ns
#: for a ray missing the scene, one thread, grid 40 x 40)
_INLINE = dict(_JIT, inline="always")

#: float32 unit roundoff
U32 = 2.0**-24
#: ``delta = SAFETY * U32 * C`` (the proof needs 6.1 with the fused
#: multiply-add, 7.1 without, plus 3.5 P / u = 0.06)
SAFETY = 10.0
#: largest origin bound ``C`` [m] the float32 test is proven for (overflow)
MAX_BOUND = 1e7
#: inverse direction components above this take the float64 path
MAX_INV = 1e30
#: float64 words of a triangle block: corners (:data:`TRI_BLOCK`), then the
#: mesh face of each lane
BLOCK_COLS = TRI_BLOCK + TRI_LANES
#: rays set up together ahead of their traversals (:func:`_unit_rays`)
CHUNK = 128
#: rows of the chunk buffer: local origin, unit direction, inverse direction,
#: validity (0 or 1)
_CHUNK_ROWS = 10
_DOWN = 1.0 - 2.0**-22
_UP = (1.0 + 2.0 * BOX_PAD) * (1.0 + 2.0**-22)


def enlarge(wide):
    """Float32 wide nodes for :func:`cimcity._kernels.simd.box8f`.

    Parameters
    ----------
    wide : (rows, 64) float32
        Wide nodes from :func:`cimcity._kernels.bvh_wide.collapse`.

    Returns
    -------
    wide32 : (rows, 64) float32, 64-byte aligned
        ``wide`` with every non-empty child box enlarged by ``delta`` on each
        side, rounded outward to float32 (references unchanged).
    bound : float
        ``C`` [m]: twice the largest ``|coordinate|`` of the root's children
        plus 1 m. Box planes lie within it; rays whose origin does (every
        axis) are traced in float32 (:func:`fits`).
    delta : float
        Enlargement [m], ``SAFETY * 2**-24 * C``.
    """
    box = wide[:, : 6 * WIDTH].astype(np.float64)
    root = wide[0, : 6 * WIDTH]
    finite = np.isfinite(root)
    extent = float(np.abs(root[finite]).max()) if finite.any() else 0.0
    bound = 2.0 * extent + 1.0
    if not bound <= MAX_BOUND:
        raise OverflowError(f"scene extends {extent} m from its local origin (> 5e6)")
    delta = SAFETY * U32 * bound
    lo = box[:, : 3 * WIDTH] - delta
    hi = box[:, 3 * WIDTH :] + delta
    lo32 = lo.astype(np.float32)
    hi32 = hi.astype(np.float32)
    lo32 = np.where(lo32 > lo, np.nextafter(lo32, np.float32(-np.inf)), lo32)
    hi32 = np.where(hi32 < hi, np.nextafter(hi32, np.float32(np.inf)), hi32)
    out = np.empty(wide.size + 16, np.float32)
    offset = (-out.ctypes.data % 64) // 4
    wide32 = out[offset : offset + wide.size].reshape(wide.shape)
    wide32[:] = wide
    wide32[:, : 3 * WIDTH] = lo32  # empty lanes: inf - delta stays inf
    wide32[:, 3 * WIDTH : 6 * WIDTH] = hi32
    return wide32, bound, delta


@njit(**_JIT)
def fits(ox, oy, oz, ix, iy, iz, bound):
    """True when the ray (local origin, inverse direction) is in the domain
    of the float32 proof: ``|o_k| <= bound`` and ``|i_k| <= 1e30``."""
    return (
        abs(ox) <= bound
        and abs(oy) <= bound
        and abs(oz) <= bound
        and abs(ix) <= MAX_INV
        and abs(iy) <= MAX_INV
        and abs(iz) <= MAX_INV
    )


@njit(**_JIT)
def _leaf_blocks(refs32, tri, tri_face, blocks, block_tri):
    """Fill ``blocks`` (module docstring) leaf by leaf and recode the leaf
    references of ``refs32`` in place; returns the number of blocks used."""
    nb = 0
    for r in range(refs32.shape[0]):
        lanes = refs32[r, LEAVES]
        for j in range(WIDTH):
            if not (lanes >> j) & 1:
                continue
            leaf = -refs32[r, REF + j] - 1
            start = leaf >> 4
            count = leaf & 15
            n = (count + TRI_LANES - 1) // TRI_LANES
            for q in range(n):
                block_tri[nb + q] = start + q * TRI_LANES
                for lane in range(min(TRI_LANES, count - q * TRI_LANES)):
                    k = start + q * TRI_LANES + lane
                    for c in range(9):
                        blocks[nb + q, c * TRI_LANES + lane] = tri[k, c]
                    blocks[nb + q, TRI_BLOCK + lane] = tri_face[k]
            refs32[r, REF + j] = -((nb << 4) | n) - 1
            nb += n
    return nb


def leaf_blocks(wide32, tri, tri_face):
    """Triangle blocks of the leaves of ``wide32``, four triangles a block.

    Parameters
    ----------
    wide32 : (rows, 64) float32
        Wide nodes (:func:`enlarge`) whose leaf references (triangle ranges
        of :func:`~cimcity._kernels.bvh_wide.collapse`) are recoded in place
        as block ranges: ``-((first block << 4) | blocks) - 1``.
    tri : (m, 9) float64
        Triangle corners, BVH order (local frame) [m].
    tri_face : (m,) int64
        Mesh face of each triangle.

    Returns
    -------
    blocks : (n, 40) float64, rows 64-byte aligned
        Corner ``a``, axis ``k`` of lane ``j`` at column ``(3 a + k) * 4 +
        j``, the lane's mesh face at column ``36 + j`` (exact as float64);
        lanes past a leaf's last triangle are NaN (never hit), face -1. A
        closest hit reads its face from the block it has just tested rather
        than from a face table (a cache miss a ray on Paris 11e).
    block_tri : (n,) int64
        BVH-order index of each block's lane-0 triangle.
    """
    refs32 = wide32.view(np.int32)
    n_leaves = sum(bin(int(m)).count("1") for m in refs32[:, LEAVES])
    cap = tri.shape[0] // TRI_LANES + n_leaves + 1  # sum of ceil(count / 4)
    block_tri = np.empty(cap, np.int64)
    tmp = np.full((cap, BLOCK_COLS), np.nan)
    tmp[:, TRI_BLOCK:] = -1.0
    nb = _leaf_blocks(refs32, tri, np.asarray(tri_face, np.int64), tmp, block_tri)
    raw = np.empty(nb * BLOCK_COLS + 8)
    offset = (-raw.ctypes.data % 64) // 8  # rows of 5 cache lines exactly
    blocks = raw[offset : offset + nb * BLOCK_COLS].reshape(nb, BLOCK_COLS)
    blocks[:] = tmp[:nb]
    return blocks, block_tri[:nb].copy()


@njit(**_JIT)
def ray32_setup(ox, oy, oz, ix, iy, iz, tmin, tmax, ray32):
    """Fill ``ray32`` (8,) float32 ``(-fl32(o'x i'x), .., i'x, .., tmin',
    tmax')`` (module docstring)."""
    jx = np.float32(ix)
    jy = np.float32(iy)
    jz = np.float32(iz)
    # float32 x float32 is exact in float64: one rounding on the store
    ray32[0] = -(np.float64(np.float32(ox)) * np.float64(jx))
    ray32[1] = -(np.float64(np.float32(oy)) * np.float64(jy))
    ray32[2] = -(np.float64(np.float32(oz)) * np.float64(jz))
    ray32[3] = jx
    ray32[4] = jy
    ray32[5] = jz
    ray32[6] = tmin * _DOWN
    ray32[7] = tmax * _UP


@njit(**_INLINE)
def _fetch_children(wide32, refs32, node, inner):
    """Prefetch the rows of the entered inner children (bit mask ``inner``)
    before the node's leaves are tested, so that their loads from memory
    overlap the triangle tests (Paris 11e street-level rays 5-8 % faster
    than fetching them as they are pushed)."""
    while inner != 0:
        fetch_row(wide32, refs32[node, REF + ctz(inner)])
        inner &= inner - 1


@njit(**_INLINE)
def any_hit8f(wide32, refs32, blocks, stack, planes, ray32, tn, axes, rayk):
    """True when the ray hits a triangle at ``tmin < t <= tmax``: as
    :func:`cimcity._kernels.bvh_wide.any_hit8` with the float32 boxes
    ``wide32`` (``refs32`` its int32 view, leaves as block ranges of
    :func:`leaf_blocks`), ``ray32`` from :func:`ray32_setup`, ``tn`` (8,)
    float32 scratch, and the triangle test four triangles at a time
    (:func:`~cimcity._kernels.simd.tri4` with ``axes`` and ``rayk``)."""
    node = 0
    sp = 0
    while True:
        leaf_lanes = refs32[node, LEAVES]
        hits = box8f(wide32, node, planes, ray32, tn)
        leaves = hits & leaf_lanes
        inner = hits ^ leaves
        _fetch_children(wide32, refs32, node, inner)
        while leaves != 0:
            leaf = -refs32[node, REF + ctz(leaves)] - 1
            leaves &= leaves - 1
            start = leaf >> 4
            if axes[0] < 0:
                _triangle_ray(axes, rayk)
            for blk in range(start, start + (leaf & 15)):
                if tri4(blocks, blk, axes, rayk) != 0:
                    return True
        if inner == 0:
            if sp == 0:
                return False
            sp -= 1
            node = stack[sp]
            continue
        # nearest entered child next; the others wait on the stack
        j = ctz(inner)
        inner &= inner - 1
        nxt = refs32[node, REF + j]
        nt = tn[j]
        while inner != 0:
            j = ctz(inner)
            inner &= inner - 1
            r = refs32[node, REF + j]
            if tn[j] < nt:
                stack[sp] = nxt
                nxt = r
                nt = tn[j]
            else:
                stack[sp] = r
            sp += 1
        node = nxt


@njit(**_INLINE)
def closest_hit8f(wide32, refs32, blocks, stack, stack_t, planes, ray32, tn, axes,
                  rayk, t_scaled, det):  # fmt: skip
    """Distance and mesh face of the nearest hit at ``tmin < t <= tmax``
    (``inf, -1`` when none): as :func:`cimcity._kernels.bvh_wide.closest_hit8`
    (which returns the BVH-order triangle) with the arguments of
    :func:`any_hit8f` (``blocks`` with their faces) plus ``stack_t`` float64 scratch and
    ``t_scaled``, ``det`` (4,) float64 scratch. ``ray32[7]`` and ``rayk[7]``
    are lowered to each hit found. The lanes a block test accepts are
    rechecked in triangle order against the nearest hit so far, with the
    scalar test's own comparison (``t_scaled <= far * det``), so the hit kept
    is the one the scalar traversal keeps.

    Leaves and inner children are visited together in order of entry
    distance (a leaf is pushed on the stack like a node, as in Embree), so a
    near hit culls the farther leaves of the same node: on Paris 11e uniform
    rays 4-6 % faster on one thread and 0-4 % on two than testing a node's
    leaves before its inner children (1 % slower on rays from sensors)."""
    tmin = rayk[6]
    best_t = np.inf
    best_k = -1
    far = rayk[7]
    pad = 1.0 + BOX_PAD
    node = 0
    sp = 0
    while True:
        nxt = -1  # no child to visit next (a leaf reference is <= -2)
        if node < 0:  # a leaf: its blocks of four triangles
            leaf = -node - 1
            start = leaf >> 4
            if axes[0] < 0:
                _triangle_ray(axes, rayk)
            for blk in range(start, start + (leaf & 15)):
                lanes = tri4_dist(blocks, blk, axes, rayk, t_scaled, det)
                while lanes != 0:
                    j = ctz(lanes)
                    lanes &= lanes - 1
                    ts = t_scaled[j]
                    dt = det[j]
                    if ts > tmin * dt and ts <= far * dt:
                        t = ts / dt
                        if t < best_t:
                            best_t = t
                            best_k = np.int64(blocks[blk, TRI_BLOCK + j])
                            far = t
                            rayk[7] = t
                            ray32[7] = t * _UP
        else:
            hits = box8f(wide32, node, planes, ray32, tn)
            _fetch_children(wide32, refs32, node, hits & ~refs32[node, LEAVES])
            nt = np.inf
            while hits != 0:
                j = ctz(hits)
                hits &= hits - 1
                t = np.float64(tn[j])
                if t > far * pad:  # a hit found in this node is nearer
                    continue
                r = refs32[node, REF + j]
                if nxt == -1:
                    nxt = r
                    nt = t
                    continue
                if t < nt:
                    stack[sp] = nxt
                    stack_t[sp] = nt
                    nxt = r
                    nt = t
                else:
                    stack[sp] = r
                    stack_t[sp] = t
                sp += 1
        while nxt == -1:
            if sp == 0:
                return best_t, best_k
            sp -= 1
            if stack_t[sp] <= far * pad:
                nxt = stack[sp]
        node = nxt


@njit(**_JIT)
def _permuted(ox, oy, oz, kx, ky, kz):
    # without branches, as ray_setup's axis choice (12 ns a ray as a chain
    # of conditional expressions on random directions); only the sign of a
    # zero may differ from a plain selection, which no comparison sees
    okx = ox * np.float64(kx == 0) + oy * np.float64(kx == 1) + oz * np.float64(kx == 2)
    oky = ox * np.float64(ky == 0) + oy * np.float64(ky == 1) + oz * np.float64(ky == 2)
    okz = ox * np.float64(kz == 0) + oy * np.float64(kz == 1) + oz * np.float64(kz == 2)
    return okx, oky, okz


@njit(**_INLINE)
def _triangle_ray(axes, rayk):
    """Turn ``rayk`` (8,) float64 ``(ox, oy, oz, dx, dy, dz, tmin, tmax)``
    (local origin, unit direction) into the triangle test's ray
    ``(o[kx], o[ky], o[kz], sx, sy, sz, tmin, tmax)`` and ``axes`` (3,) int64
    ``(kx, ky, kz)`` for :func:`~cimcity._kernels.simd.tri4`: the values of
    :func:`~cimcity._kernels.bvh_traverse.ray_setup` (``sz = 1 / d[kz]``, the
    inverse it selects: ``d[kz]``, the largest component, is never 0). Done
    when a ray reaches its first leaf: a ray that reaches none (a third to a
    half of random rays) skips it."""
    dx = rayk[3]
    dy = rayk[4]
    dz = rayk[5]
    kx, ky, kz, sx, sy, sz = ray_axes(dx, dy, dz)
    okx, oky, okz = _permuted(rayk[0], rayk[1], rayk[2], kx, ky, kz)
    axes[0] = kx
    axes[1] = ky
    axes[2] = kz
    rayk[0] = okx
    rayk[1] = oky
    rayk[2] = okz
    rayk[3] = sx
    rayk[4] = sy
    rayk[5] = sz


@njit(**_INLINE)
def _flat_ray(ox, oy, oz, dx, dy, dz, tmin, tmax, axes, rayk):
    """``rayk`` before :func:`_triangle_ray` (``axes[0] = -1``: not yet)."""
    axes[0] = -1
    rayk[0] = ox
    rayk[1] = oy
    rayk[2] = oz
    rayk[3] = dx
    rayk[4] = dy
    rayk[5] = dz
    rayk[6] = tmin
    rayk[7] = tmax


@njit(**_INLINE)
def _chunk_ray(buf, q):
    """Ray ``q`` of a chunk set up by :func:`_unit_rays`: ``(ox, oy, oz, dx,
    dy, dz, ix, iy, iz)``."""
    return (buf[0, q], buf[1, q], buf[2, q], buf[3, q], buf[4, q], buf[5, q],
            buf[6, q], buf[7, q], buf[8, q])  # fmt: skip


@njit(**_INLINE)
def _unit_rays(origins, directions, shift, c0, m, buf):
    """Rays ``c0 .. c0 + m - 1`` set up into ``buf`` (:data:`_CHUNK_ROWS`,
    :data:`CHUNK`) float64, one ray a column: local origin, unit direction,
    inverse direction, validity. The values of
    :func:`~cimcity._kernels.bvh_traverse.unit_ray` and the inverse direction
    of :func:`~cimcity._kernels.bvh_traverse.ray_setup` (same operations:
    IEEE division and square root are correctly rounded, in vector
    registers as in scalar ones), computed for the whole chunk in a
    loop without branches that LLVM vectorises: traced one by one, each ray
    waited for its own chain of a square root and two divisions, and the
    divider's throughput bounded the scalar set-up (8-16 ns a ray less, one
    thread, grids and Paris 11e, random rays)."""
    x = buf[0]
    y = buf[1]
    z = buf[2]
    dx = buf[3]
    dy = buf[4]
    dz = buf[5]
    ix = buf[6]
    iy = buf[7]
    iz = buf[8]
    ok = buf[9]
    a = origins.shape[0] > 1
    b = directions.shape[0] > 1
    for q in range(m):  # gather (rows broadcast when an array has one)
        i = c0 + q
        x[q] = origins[i * a, 0] - shift[0]
        y[q] = origins[i * a, 1] - shift[1]
        z[q] = origins[i * a, 2] - shift[2]
        dx[q] = directions[i * b, 0]
        dy[q] = directions[i * b, 1]
        dz[q] = directions[i * b, 2]
    for q in range(m):  # vectorised
        length = np.sqrt(dx[q] * dx[q] + dy[q] * dy[q] + dz[q] * dz[q])
        # NaN unless the origin is finite; then False for NaN, 0 or inf length
        check = length + (x[q] + y[q] + z[q]) * 0.0
        ok[q] = np.float64((check > 0.0) & (check < np.inf))
        ux = dx[q] / length
        uy = dy[q] / length
        uz = dz[q] / length
        jx = 1.0 / ux
        jy = 1.0 / uy
        jz = 1.0 / uz
        ix[q] = _BIG if ux == 0.0 else jx
        iy[q] = _BIG if uy == 0.0 else jy
        iz[q] = _BIG if uz == 0.0 else jz
        dx[q] = ux
        dy[q] = uy
        dz[q] = uz


@njit(**_JIT)
def occluded_wide32_rays(wide32, refs32, blocks, depth32, nodes, refs, tri, depth,
                         bound, shift, origins, directions, tmin, tmax, out, i0,
                         i1):  # fmt: skip
    """Any-hit for rays ``i0 .. i1 - 1`` in input order on the float32 wide
    nodes ``wide32`` (``refs32`` their int32 view, ``blocks`` from
    :func:`leaf_blocks`, ``depth32`` their depth; ``bound`` from
    :func:`enlarge`); rays outside the proof's domain (:func:`fits`) on the
    binary BVH ``nodes`` (``refs``, ``tri``, ``depth``: the exact float64
    traversal of :func:`~cimcity._kernels.bvh_traverse.occluded_rays`),
    after the others (kept out of the main loop, which runs faster without
    them). Arguments and result otherwise as
    :func:`~cimcity._kernels.bvh_traverse.occluded_rays` (same answers)."""
    one_tmax = tmax.shape[0] == 1
    bad = 0
    stack = np.empty((WIDTH - 1) * (depth32 + 1) + 2, np.int64)
    planes = np.empty(6, np.int64)
    ray32 = np.empty(8, np.float32)
    tn32 = np.empty(WIDTH, np.float32)
    axes = np.empty(3, np.int64)
    rayk = np.empty(8)
    slow = np.empty(i1 - i0, np.int64)
    n_slow = 0
    buf = np.empty((_CHUNK_ROWS, CHUNK))
    # this loop and intersect_wide32_rays' are written out alike on purpose:
    # a shared inlined set-up returning the ray's state (invalid, outside
    # fits, ready) made both 8-14 % slower (one thread, grid and Paris 11e)
    for c0 in range(i0, i1, CHUNK):
        m = min(CHUNK, i1 - c0)
        _unit_rays(origins, directions, shift, c0, m, buf)
        for q in range(m):
            i = c0 + q
            if buf[9, q] == 0.0:
                out[i] = False
                bad += 1
                continue
            ox, oy, oz, dx, dy, dz, ix, iy, iz = _chunk_ray(buf, q)
            if not fits(ox, oy, oz, ix, iy, iz, bound):
                slow[n_slow] = i
                n_slow += 1
                continue
            ray_planes(ix, iy, iz, planes)
            t1 = tmax[0] if one_tmax else tmax[i]
            ray32_setup(ox, oy, oz, ix, iy, iz, tmin, t1, ray32)
            _flat_ray(ox, oy, oz, dx, dy, dz, tmin, t1, axes, rayk)
            out[i] = any_hit8f(wide32, refs32, blocks, stack, planes, ray32, tn32,
                               axes, rayk)  # fmt: skip
    for s in range(n_slow):  # exact float64 binary traversal
        i = slow[s]
        occluded_rays(nodes, refs, tri, depth, shift, origins, directions, tmin, tmax,
                      out, i, i + 1)  # fmt: skip
    return bad


@njit(**_JIT)
def intersect_wide32_rays(wide32, refs32, blocks, depth32, nodes, refs, tri,
                          tri_face, depth, bound, shift, origins, directions, tmin,
                          tmax, dist, face, i0, i1):  # fmt: skip
    """Closest hit for rays ``i0 .. i1 - 1`` in input order on the float32
    wide nodes (rays outside :func:`fits` on the binary BVH, after the
    others): arguments as :func:`occluded_wide32_rays` plus ``tri_face``
    (the binary BVH's faces), results as
    :func:`~cimcity._kernels.bvh_traverse.intersect_rays` (same distances;
    faces up to exact ties)."""
    one_tmax = tmax.shape[0] == 1
    bad = 0
    size = (WIDTH - 1) * (depth32 + 1) + 2
    stack = np.empty(size, np.int64)
    stack_t = np.empty(size)
    planes = np.empty(6, np.int64)
    ray32 = np.empty(8, np.float32)
    tn32 = np.empty(WIDTH, np.float32)
    axes = np.empty(3, np.int64)
    rayk = np.empty(8)
    t_scaled = np.empty(TRI_LANES)
    det = np.empty(TRI_LANES)
    slow = np.empty(i1 - i0, np.int64)
    n_slow = 0
    buf = np.empty((_CHUNK_ROWS, CHUNK))
    for c0 in range(i0, i1, CHUNK):
        m = min(CHUNK, i1 - c0)
        _unit_rays(origins, directions, shift, c0, m, buf)
        for q in range(m):
            i = c0 + q
            if buf[9, q] == 0.0:
                dist[i] = np.inf
                face[i] = -1
                bad += 1
                continue
            ox, oy, oz, dx, dy, dz, ix, iy, iz = _chunk_ray(buf, q)
            if not fits(ox, oy, oz, ix, iy, iz, bound):
                slow[n_slow] = i
                n_slow += 1
                continue
            ray_planes(ix, iy, iz, planes)
            t1 = tmax[0] if one_tmax else tmax[i]
            ray32_setup(ox, oy, oz, ix, iy, iz, tmin, t1, ray32)
            _flat_ray(ox, oy, oz, dx, dy, dz, tmin, t1, axes, rayk)
            t, k = closest_hit8f(wide32, refs32, blocks, stack, stack_t, planes,
                                 ray32, tn32, axes, rayk, t_scaled, det)  # fmt: skip
            dist[i] = t
            face[i] = k
    for s in range(n_slow):  # exact float64 binary traversal
        i = slow[s]
        intersect_rays(nodes, refs, tri, tri_face, depth, shift, origins, directions,
                       tmin, tmax, dist, face, i, i + 1)  # fmt: skip
    return bad
