"""Explicit SIMD for numba kernels: 8-wide slab tests emitted as LLVM vector IR.

numba compiles scalar Python loops; LLVM's auto-vectoriser does not turn a
BVH node test (eight child boxes against one ray, then a mask) into vector
code reliably, so the one operation that needs it is written here as a numba
``intrinsic`` that builds LLVM IR with llvmlite: vector loads of eight float32
bounds, exact widening to float64, the slab test of
:mod:`cimcity._kernels.bvh_traverse` lane by lane (same operations in the
same order: ``(plane - o) * inv``, max/min with ``tmin``/``tmax``, far
distance times ``1 + BOX_PAD``), one vector compare and its bit mask. LLVM
lowers ``<8 x double>`` to the widest registers the host has (two ymm with
AVX2, zmm with AVX-512), so the code is portable. No library offers SIMD
intrinsics callable from numba kernels, hence hand-written.

Each lane's arithmetic is the scalar test's, so a box is culled here exactly
when the scalar traversal culls it.

:func:`tri4` and :func:`tri4_dist` test a ray against 4 triangles at once
(``<4 x double>``, one ymm register with AVX2): the watertight float64 test of
:mod:`cimcity._kernels.bvh_traverse` lane by lane, same operations in the
same order, no fused multiply-add, so each lane accepts a triangle exactly
when the scalar test does.

:func:`box8f` is the float32 variant (one ``<8 x float>`` register, no
widening, each plane one fused multiply-add ``plane * inv - o * inv``): on
its own it may cull a box the float64 test enters, so it is only used on
boxes enlarged as :mod:`cimcity._kernels.bvh_wide32` proves sufficient.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .bvh_traverse import BOX_PAD

_F4x8 = ir.VectorType(ir.FloatType(), 8)
_F8x8 = ir.VectorType(ir.DoubleType(), 8)
#: float32 words per wide node row (see :mod:`cimcity._kernels.bvh_wide`)
ROW = 64


def _splat(builder, value):
    vec = builder.insert_element(
        ir.Constant(_F8x8, ir.Undefined), value, ir.Constant(ir.IntType(32), 0)
    )
    zeros = ir.Constant(ir.VectorType(ir.IntType(32), 8), [0] * 8)
    return builder.shuffle_vector(vec, ir.Constant(_F8x8, ir.Undefined), zeros)


def _vmax(builder, a, b):
    return builder.select(builder.fcmp_ordered(">", a, b), a, b)


def _vmin(builder, a, b):
    return builder.select(builder.fcmp_ordered("<", a, b), a, b)


def _array(context, builder, signature, args, k):
    """Argument ``k`` (an array) of an intrinsic, as an LLVM array struct."""
    return context.make_array(signature.args[k])(context, builder, args[k])


def _load(builder, arr, k):
    """Element ``k`` (a constant) of a 1-d array."""
    return builder.load(builder.gep(arr.data, [ir.Constant(ir.IntType(64), k)]))


def _box8_codegen(context, builder, signature, args):
    """LLVM IR of :func:`box8`."""
    node_arr, plane_arr, ray_arr, out_arr = (
        _array(context, builder, signature, args, k) for k in (0, 2, 3, 4)
    )
    i64 = ir.IntType(64)
    base = builder.mul(args[1], ir.Constant(i64, ROW))

    def scalar(arr, k):
        return _load(builder, arr, k)

    def plane(k):
        off = builder.add(base, scalar(plane_arr, k))
        ptr = builder.bitcast(builder.gep(node_arr.data, [off]), _F4x8.as_pointer())
        return builder.fpext(builder.load(ptr, align=32), _F8x8)

    o = [_splat(builder, scalar(ray_arr, k)) for k in range(3)]
    inv = [_splat(builder, scalar(ray_arr, 3 + k)) for k in range(3)]
    tmin = _splat(builder, scalar(ray_arr, 6))
    tmax = _splat(builder, scalar(ray_arr, 7))
    near = [builder.fmul(builder.fsub(plane(k), o[k]), inv[k]) for k in range(3)]
    far = [builder.fmul(builder.fsub(plane(3 + k), o[k]), inv[k]) for k in range(3)]
    # max(a, b, c, tmin) and min(a, b, c, tmax) as a two-level tree (shorter
    # dependency chain; the same values as the scalar code's chain: no NaN
    # arises, and max/min are exact and associative)
    tn = _vmax(builder, _vmax(builder, near[0], near[1]), _vmax(builder, near[2], tmin))
    tf = _vmin(builder, _vmin(builder, far[0], far[1]), _vmin(builder, far[2], tmax))
    pad = _splat(builder, ir.Constant(ir.DoubleType(), 1.0 + BOX_PAD))
    tf = builder.fmul(tf, pad)
    hit = builder.fcmp_ordered("<=", tn, tf)
    out_ptr = builder.bitcast(out_arr.data, _F8x8.as_pointer())
    builder.store(tn, out_ptr, align=8)
    bits = builder.bitcast(hit, ir.IntType(8))
    return builder.zext(bits, i64)


@intrinsic
def box8(typingctx, nodes, row, planes, ray, tnear):
    """Slab test of the 8 child boxes of wide node ``row``.

    ``nodes`` (rows, 64) float32 C-contiguous with 32-byte aligned rows;
    ``planes`` (6,) int64 column offsets of the near x, y, z and far x, y, z
    planes for the ray's direction signs; ``ray`` (8,) float64
    ``(ox, oy, oz, ix, iy, iz, tmin, tmax)``; ``tnear`` (8,) float64 receives
    each lane's entry distance. Returns the bit mask (int64) of the lanes
    whose box the ray enters at ``tmin <= t <= tmax``, far side padded by
    ``BOX_PAD`` relative, as :func:`cimcity._kernels.bvh_traverse.any_hit`.
    """
    sig = types.int64(nodes, types.int64, planes, ray, tnear)

    return sig, _box8_codegen


def _splat32(builder, value):
    vec = builder.insert_element(
        ir.Constant(_F4x8, ir.Undefined), value, ir.Constant(ir.IntType(32), 0)
    )
    zeros = ir.Constant(ir.VectorType(ir.IntType(32), 8), [0] * 8)
    return builder.shuffle_vector(vec, ir.Constant(_F4x8, ir.Undefined), zeros)


def _box8f_codegen(context, builder, signature, args):
    """LLVM IR of :func:`box8f`."""
    node_arr, plane_arr, ray_arr, out_arr = (
        _array(context, builder, signature, args, k) for k in (0, 2, 3, 4)
    )
    i64 = ir.IntType(64)
    base = builder.mul(args[1], ir.Constant(i64, ROW))
    fnty = ir.FunctionType(_F4x8, [_F4x8, _F4x8, _F4x8])
    fma = cgutils.get_or_insert_function(builder.module, fnty, "llvm.fma.v8f32")

    def scalar(arr, k):
        return _load(builder, arr, k)

    def plane(k):
        off = builder.add(base, scalar(plane_arr, k))
        ptr = builder.bitcast(builder.gep(node_arr.data, [off]), _F4x8.as_pointer())
        return builder.load(ptr, align=32)

    # ray: (-o*inv x, y, z, inv x, y, z, tmin, tmax), float32
    noi = [_splat32(builder, scalar(ray_arr, k)) for k in range(3)]
    inv = [_splat32(builder, scalar(ray_arr, 3 + k)) for k in range(3)]
    tmin = _splat32(builder, scalar(ray_arr, 6))
    tmax = _splat32(builder, scalar(ray_arr, 7))
    near = [builder.call(fma, [plane(k), inv[k], noi[k]]) for k in range(3)]
    far = [builder.call(fma, [plane(3 + k), inv[k], noi[k]]) for k in range(3)]
    tn = _vmax(builder, _vmax(builder, near[0], near[1]), _vmax(builder, near[2], tmin))
    tf = _vmin(builder, _vmin(builder, far[0], far[1]), _vmin(builder, far[2], tmax))
    hit = builder.fcmp_ordered("<=", tn, tf)
    out_ptr = builder.bitcast(out_arr.data, _F4x8.as_pointer())
    builder.store(tn, out_ptr, align=4)
    bits = builder.bitcast(hit, ir.IntType(8))
    return builder.zext(bits, i64)


@intrinsic
def box8f(typingctx, nodes, row, planes, ray, tnear):
    """Float32 slab test of the 8 child boxes of wide node ``row``, one
    fused multiply-add per plane: ``fma(plane, inv, -o*inv)``.

    ``nodes`` (rows, 64) float32 as :func:`box8`; ``planes`` as :func:`box8`;
    ``ray`` (8,) float32 ``(-ox*ix, -oy*iy, -oz*iz, ix, iy, iz, tmin, tmax)``;
    ``tnear`` (8,) float32 receives each lane's entry distance. Returns the
    bit mask (int64) of the lanes with ``max(near, tmin) <= min(far, tmax)``
    (no padding: the boxes are enlarged instead, see
    :mod:`cimcity._kernels.bvh_wide32`).
    """
    sig = types.int64(nodes, types.int64, planes, ray, tnear)

    return sig, _box8f_codegen


@intrinsic
def ctz(typingctx, x):
    """Index of the lowest set bit of ``x`` (int64, non-zero)."""
    sig = types.int64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 0))

    return sig, codegen


@intrinsic
def prefetch(typingctx, arr, index):
    """Hint the CPU to load the cache line holding flat element ``index`` of
    the C-contiguous ``arr`` (no effect on results)."""
    sig = types.void(arr, types.int64)

    def codegen(context, builder, signature, args):
        a = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.bitcast(
            builder.gep(a.data, [args[1]]), ir.IntType(8).as_pointer()
        )
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # read, high temporal locality, data cache
        builder.call(
            fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)]
        )
        return context.get_dummy_value()

    return sig, codegen


# -- four triangles at once --------------------------------------------------------------
_F8x4 = ir.VectorType(ir.DoubleType(), 4)
#: triangles per block (lanes of :func:`tri4`)
TRI_LANES = 4
#: float64 words per block: corner ``a`` (0-2), axis ``k`` (0-2) at
#: ``(3 a + k) * TRI_LANES``, one word per lane
TRI_BLOCK = 9 * TRI_LANES


def _splat4(builder, value):
    vec = builder.insert_element(
        ir.Constant(_F8x4, ir.Undefined), value, ir.Constant(ir.IntType(32), 0)
    )
    zeros = ir.Constant(ir.VectorType(ir.IntType(32), 4), [0] * 4)
    return builder.shuffle_vector(vec, ir.Constant(_F8x4, ir.Undefined), zeros)


def _tri4_codegen(context, builder, signature, args, dist):
    """LLVM IR of :func:`tri4` (``dist``: also store ``t_scaled`` and ``det``)."""
    blk_arr, k_arr, ray_arr = (
        _array(context, builder, signature, args, k) for k in (0, 2, 3)
    )
    i64 = ir.IntType(64)
    # the block's row: its first TRI_BLOCK words (rows may be longer)
    row_bytes = cgutils.unpack_tuple(builder, blk_arr.strides, 2)[0]
    data = builder.bitcast(blk_arr.data, ir.IntType(8).as_pointer())
    row = builder.gep(data, [builder.mul(args[1], row_bytes)])
    row = builder.bitcast(row, ir.DoubleType().as_pointer())

    def scalar(arr, k):
        return _load(builder, arr, k)

    axes = [scalar(k_arr, j) for j in range(3)]  # kx, ky, kz

    def corner(a, j):
        col = builder.add(ir.Constant(i64, 3 * a), axes[j])
        off = builder.mul(col, ir.Constant(i64, TRI_LANES))
        ptr = builder.bitcast(builder.gep(row, [off]), _F8x4.as_pointer())
        return builder.load(ptr, align=8)

    okx, oky, okz, sx, sy, sz, tmin, tmax = (
        _splat4(builder, scalar(ray_arr, j)) for j in range(8)
    )
    sub, mul, add = builder.fsub, builder.fmul, builder.fadd
    # the scalar test's expressions, evaluated left to right as there
    az = sub(corner(0, 2), okz)
    bz = sub(corner(1, 2), okz)
    cz = sub(corner(2, 2), okz)
    ax = sub(sub(corner(0, 0), okx), mul(sx, az))
    ay = sub(sub(corner(0, 1), oky), mul(sy, az))
    bx = sub(sub(corner(1, 0), okx), mul(sx, bz))
    by = sub(sub(corner(1, 1), oky), mul(sy, bz))
    cx = sub(sub(corner(2, 0), okx), mul(sx, cz))
    cy = sub(sub(corner(2, 1), oky), mul(sy, cz))
    u = sub(mul(cx, by), mul(cy, bx))
    v = sub(mul(ax, cy), mul(ay, cx))
    w = sub(mul(bx, ay), mul(by, ax))
    zero = ir.Constant(_F8x4, [0.0] * 4)

    def cmp(op, a, b):
        return builder.fcmp_ordered(op, a, b)

    neg = builder.or_(builder.or_(cmp("<", u, zero), cmp("<", v, zero)), cmp("<", w, zero))
    pos = builder.or_(builder.or_(cmp(">", u, zero), cmp(">", v, zero)), cmp(">", w, zero))
    det = add(add(u, v), w)
    t_scaled = mul(sz, add(add(mul(u, az), mul(v, bz)), mul(w, cz)))
    flip = cmp("<", det, zero)
    t_scaled = builder.select(flip, builder.fneg(t_scaled), t_scaled)
    det = builder.select(flip, builder.fneg(det), det)
    # a padding lane (NaN corners) fails every ordered comparison below
    ok = builder.and_(builder.not_(builder.and_(neg, pos)), cmp("!=", det, zero))
    near = cmp(">", t_scaled, mul(tmin, det))
    far = cmp("<=", t_scaled, mul(tmax, det))
    hit = builder.and_(ok, builder.and_(near, far))
    if dist:
        for arr_i, vec in ((4, t_scaled), (5, det)):
            out = _array(context, builder, signature, args, arr_i)
            builder.store(vec, builder.bitcast(out.data, _F8x4.as_pointer()), align=8)
    return builder.zext(builder.bitcast(hit, ir.IntType(4)), i64)


@intrinsic
def tri4(typingctx, blocks, block, axes, ray):
    """Watertight test of the 4 triangles of ``block``: bit mask (int64) of
    the lanes hit at ``tmin < t <= tmax``.

    ``blocks`` (n, >= :data:`TRI_BLOCK`) float64 C-contiguous, the
    corners in each row's first :data:`TRI_BLOCK` words (unused lanes NaN,
    never hit); ``axes`` (3,) int64 ``(kx, ky, kz)`` and ``ray`` (8,)
    float64 ``(o[kx], o[ky], o[kz], sx, sy, sz, tmin, tmax)`` from
    :func:`~cimcity._kernels.bvh_traverse.ray_setup` (origin in the local
    frame). Lane ``j`` is hit exactly when the scalar test of
    :func:`~cimcity._kernels.bvh_traverse.any_hit` accepts that triangle.
    """
    sig = types.int64(blocks, types.int64, axes, ray)
    return sig, lambda c, b, s, a: _tri4_codegen(c, b, s, a, False)


@intrinsic
def tri4_dist(typingctx, blocks, block, axes, ray, t_scaled, det):
    """:func:`tri4`, also storing each lane's ``t_scaled`` and ``det`` (4,)
    float64 (``det > 0`` after the sign flip; distance ``t_scaled / det``),
    for a closest-hit traversal to recheck lanes against a nearer hit."""
    sig = types.int64(blocks, types.int64, axes, ray, t_scaled, det)
    return sig, lambda c, b, s, a: _tri4_codegen(c, b, s, a, True)
