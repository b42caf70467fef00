"""Radiant heat on plain arrays (numba): raster views, raster sun, hourly fluxes.

Kernels on arrays only (no package imports):

* :func:`raster_views`: for each person point and each direction of a set
  covering the sphere, march through a 2.5D raster scene (DSM with buildings,
  DEM, canopy heights) and record what the ray meets first among opaque
  things (sky, ground, roof, wall) and whether it crossed tree canopy on the
  way. Time-independent: traced once per geometry.
* :func:`raster_sun_profiles`: for every cell, the height above which a
  vertical line standing on the cell sees the sun past buildings, and past
  canopy tops, for one sun direction (one march per cell toward the sun).
* :func:`point_sun`: the sun fraction at arbitrary points (buildings opaque,
  canopy crossed between trunk height and top transmits ``tau``).
* :func:`group_weights`: the face weights of what each point sees, summed by
  surface group (time-independent);
* :func:`hour_fluxes`: the six directional short- and longwave fluxes at each
  point for one hour: the unlit part of every surface from the group sums,
  the sunlit part direction by direction (daytime only, the sun fraction of
  what is seen read from the sun profiles), sky radiances and surface
  properties.

Written by hand: no maintained library traces 2.5D rasters per direction or
sums radiance by surface kind per direction (UMEP's SOLWEIG does the raster
part with its own shadow-casting code, the peer we measure against).

Raster conventions: arrays are (rows, cols), row 0 at the north edge; point
positions are in fractional pixel units ``(col, row)`` measured from the
upper-left corner (cell centres at ``+0.5``); directions are (east, north, up)
unit vectors; heights are absolute [m]; ``cell`` is the pixel size [m].
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_JIT = dict(nogil=True, cache=True, error_model="numpy")

#: kinds of what a direction sees
SKY = 0
GROUND = 1
ROOF = 2
WALL = 3

#: a cell whose DSM exceeds the DEM by more than this is built [m]
BUILT_MIN = 1.0
#: march step along the horizontal, in pixels
STEP = 0.5


@njit(**_JIT)
def _cell(col, row, ncols, nrows):
    c = int(np.floor(col))
    r = int(np.floor(row))
    if c < 0 or r < 0 or c >= ncols or r >= nrows:
        return -1, -1
    return r, c


@njit(parallel=True, **_JIT)
def raster_views(dsm, dem, cdsm, trunk_ratio, pcol, prow, pz, dirs, cell, zmax):
    """Trace every (point, direction) through the raster scene.

    Parameters
    ----------
    dsm, dem, cdsm : (R, C) float64
        Surface (buildings and ground), ground elevation [m], canopy height
        above ground [m] (0: no tree).
    trunk_ratio : float
        Share of a tree's height that is trunk (no leaves) [-].
    pcol, prow : (n,) float64
        Point positions [pixels].
    pz : (n,) float64
        Absolute heights of the points [m].
    dirs : (D, 3) float64
        Unit directions (east, north, up).
    cell : float
        Pixel size [m].
    zmax : float
        Highest surface or canopy top of the raster [m].

    Returns
    -------
    kind : (n, D) int8
        :data:`SKY`, :data:`GROUND`, :data:`ROOF` or :data:`WALL`.
    through : (n, D) uint8
        1 when the ray crossed canopy before what it sees.
    hit : (n, D) int32
        Flat index of the cell seen (ground, roof) or of the open cell in
        front of the wall seen (walls); -1 for the sky.
    hz : (n, D) float32
        Height of the point seen [m].
    normal : (n, D) int8
        For walls, the wall's outward normal: 0 east, 1 west, 2 north,
        3 south; -1 otherwise.
    """
    nrows, ncols = dsm.shape
    n = pcol.shape[0]
    D = dirs.shape[0]
    kind = np.zeros((n, D), np.int8)
    through = np.zeros((n, D), np.uint8)
    hit = np.full((n, D), -1, np.int32)
    hz = np.zeros((n, D), np.float32)
    normal = np.full((n, D), -1, np.int8)
    maxk = int(2.0 * (nrows + ncols) / STEP) + 2
    for i in prange(n):
        r0, c0 = _cell(pcol[i], prow[i], ncols, nrows)
        for d in range(D):
            ex = dirs[d, 0]
            ny = dirs[d, 1]
            uz = dirs[d, 2]
            h = np.sqrt(ex * ex + ny * ny)
            if h < 1e-9:
                # straight up or down
                if uz > 0:
                    top = dem[r0, c0] + cdsm[r0, c0]
                    base = dem[r0, c0] + trunk_ratio * cdsm[r0, c0]
                    if cdsm[r0, c0] > 0 and top > pz[i] and base < top:
                        through[i, d] = 1
                    kind[i, d] = SKY
                else:
                    kind[i, d] = GROUND
                    hit[i, d] = r0 * ncols + c0
                    hz[i, d] = dem[r0, c0]
                continue
            dc = ex / h * STEP
            dr = -ny / h * STEP
            dz = uz / h * STEP * cell
            col = pcol[i]
            row = prow[i]
            z = pz[i]
            pr = r0
            pc = c0
            found = False
            for k in range(maxk):
                col += dc
                row += dr
                z += dz
                r, c = _cell(col, row, ncols, nrows)
                if r < 0:
                    break
                if r == pr and c == pc and k > 0:
                    # same cell: only the height changed
                    pass
                g = dem[r, c]
                s = dsm[r, c]
                if z <= g:
                    kind[i, d] = GROUND
                    hit[i, d] = r * ncols + c
                    hz[i, d] = g
                    found = True
                    break
                if z < s and s - g > BUILT_MIN:
                    if z - dz >= s or (pr == r and pc == c):
                        kind[i, d] = ROOF
                        hit[i, d] = r * ncols + c
                        hz[i, d] = s
                    else:
                        kind[i, d] = WALL
                        hit[i, d] = pr * ncols + pc
                        hz[i, d] = z
                        if c != pc and (r == pr or abs(dc) >= abs(dr)):
                            normal[i, d] = 1 if dc > 0 else 0
                        else:
                            normal[i, d] = 3 if dr < 0 else 2
                    found = True
                    break
                if z < s:
                    # low structure (kerb, wall top under 1 m): ground-like
                    kind[i, d] = GROUND
                    hit[i, d] = r * ncols + c
                    hz[i, d] = s
                    found = True
                    break
                t = cdsm[r, c]
                if t > 0 and z < g + t and z > g + trunk_ratio * t:
                    through[i, d] = 1
                if dz > 0 and z > zmax:
                    break
                pr = r
                pc = c
            if not found:
                if uz > 0:
                    kind[i, d] = SKY
                else:
                    # left the raster going down: the ground at the edge
                    rr = min(max(pr, 0), nrows - 1)
                    cc = min(max(pc, 0), ncols - 1)
                    kind[i, d] = GROUND
                    hit[i, d] = rr * ncols + cc
                    hz[i, d] = dem[rr, cc]
    return kind, through, hit, hz, normal


@njit(parallel=True, **_JIT)
def raster_sun_profiles(dsm, dem, cdsm, sun, cell, zmax):
    """Per cell, the heights under which a vertical line is shaded.

    Parameters
    ----------
    sun : (3,) float64
        Unit vector to the sun (east, north, up), above the horizon.

    Returns
    -------
    top_b : (R, C) float32
        Height [m] below which the vertical of the cell's centre is shaded by
        buildings or terrain (``-inf``: nowhere).
    top_v : (R, C) float32
        Same for canopy tops (trees taken as solid between their top and the
        ground; used for walls and ground, where trunks matter little).
    """
    nrows, ncols = dsm.shape
    top_b = np.full((nrows, ncols), -np.inf, np.float32)
    top_v = np.full((nrows, ncols), -np.inf, np.float32)
    h = np.sqrt(sun[0] ** 2 + sun[1] ** 2)
    if sun[2] <= 0:
        top_b[:, :] = np.inf
        top_v[:, :] = np.inf
        return top_b, top_v
    if h < 1e-9:
        return top_b, top_v
    dc = sun[0] / h * STEP
    dr = -sun[1] / h * STEP
    drop = sun[2] / h * STEP * cell
    for idx in prange(nrows * ncols):
        r0 = idx // ncols
        c0 = idx % ncols
        col = c0 + 0.5
        row = r0 + 0.5
        tb = -np.inf
        tv = -np.inf
        base = dem[r0, c0]
        k = 0
        while True:
            k += 1
            col += dc
            row += dr
            r, c = _cell(col, row, ncols, nrows)
            if r < 0:
                break
            fall = k * drop
            v = dsm[r, c] - fall
            if v > tb:
                tb = v
            t = cdsm[r, c]
            if t > 0:
                v = dem[r, c] + t - fall
                if v > tv:
                    tv = v
            if zmax - fall < base:
                break
        top_b[r0, c0] = tb
        top_v[r0, c0] = tv
    return top_b, top_v


@njit(**_JIT)
def _first_crossing(p, u):
    """DDA set-up along one axis: parameter of the first cell boundary, the
    step between boundaries and the cell step (Amanatides & Woo 1987)."""
    c = np.floor(p)
    if u > 1e-12:
        return (c + 1.0 - p) / u, 1.0 / u, 1
    if u < -1e-12:
        return (p - c) / -u, 1.0 / -u, -1
    return np.inf, np.inf, 0


@njit(parallel=True, **_JIT)
def point_sun(dsm, dem, cdsm, trunk_ratio, tau, pcol, prow, pz, sun, cell, zmax):
    """Sun fraction at points: 0 behind a building or the terrain, ``tau`` when
    the ray crosses canopy (between trunk height and top), 1 in the open.

    The ray visits every cell it crosses (exact grid traversal, Amanatides &
    Woo 1987): a cell blocks when the ray enters it below the cell's surface
    (the ray climbs, so its entry is its lowest point there).

    Returns
    -------
    (n,) float64
    """
    nrows, ncols = dsm.shape
    n = pcol.shape[0]
    out = np.zeros(n)
    h = np.sqrt(sun[0] ** 2 + sun[1] ** 2)
    if sun[2] <= 0:
        return out
    for i in prange(n):
        r0, c0 = _cell(pcol[i], prow[i], ncols, nrows)
        if h < 1e-9:
            t = cdsm[r0, c0]
            veg = t > 0 and dem[r0, c0] + t > pz[i]
            out[i] = tau if veg else 1.0
            continue
        ux = sun[0] / h
        uy = -sun[1] / h
        dz = sun[2] / h * cell  # rise per pixel of horizontal travel
        tmc, tdc, sc = _first_crossing(pcol[i], ux)
        tmr, tdr, sr = _first_crossing(prow[i], uy)
        r, c = r0, c0
        z0 = pz[i]
        lit = 1.0
        veg = False
        t_in = 0.0
        while True:
            t_out = min(tmc, tmr)
            tt = cdsm[r, c]
            if tt > 0:
                base = dem[r, c] + trunk_ratio * tt
                top = dem[r, c] + tt
                if z0 + t_in * dz < top and z0 + t_out * dz > base:
                    veg = True
            if tmc < tmr:
                c += sc
                tmc += tdc
            else:
                r += sr
                tmr += tdr
            if r < 0 or c < 0 or r >= nrows or c >= ncols:
                break
            t_in = t_out
            z = z0 + t_in * dz
            if z > zmax:
                break
            if z < dsm[r, c]:
                lit = 0.0
                break
        if lit > 0 and veg:
            lit = tau
        out[i] = lit
    return out


@njit(**_JIT)
def face_lists(weights):
    """The (at most three) faces each direction reaches: ``(D, 3)`` face
    indices (-1: none) and weights, so the hourly loop skips empty faces."""
    D = weights.shape[1]
    fidx = np.full((D, 3), -1, np.int64)
    fw = np.zeros((D, 3))
    for d in range(D):
        k = 0
        for f in range(6):
            if weights[f, d] > 0 and k < 3:
                fidx[d, k] = f
                fw[d, k] = weights[f, d]
                k += 1
    return fidx, fw


@njit(parallel=True, **_JIT)
def view_sums(kind, through, weights, hweights, up_weight, tau):
    """Time-independent sums of the views of each point.

    Returns
    -------
    sky : (n, 6) float64
        ``Σ w_fd`` over directions seeing the sky (``τ w_fd`` through canopy):
        a uniform sky radiance ``L`` gives ``L · sky[f]`` on face ``f``.
    leaf : (n, 6) float64
        ``Σ (1 - τ) w_fd`` over directions crossing canopy (leaves' share).
    horizon : (n, 6) float64
        ``Σ h_fd`` of the horizon band over directions seeing the sky.
    svf : (n,) float64
        Sky view factor of a horizontal plane (``up_weight``: ``cos θ dΩ / π``
        of each upper direction).
    """
    n, D = kind.shape
    sky = np.zeros((n, 6))
    leaf = np.zeros((n, 6))
    hor = np.zeros((n, 6))
    svf = np.zeros(n)
    for i in prange(n):
        for d in range(D):
            tr = through[i, d] > 0
            if tr:
                for f in range(6):
                    leaf[i, f] += (1.0 - tau) * weights[f, d]
            if kind[i, d] == SKY:
                a = tau if tr else 1.0
                svf[i] += a * up_weight[d]
                for f in range(6):
                    sky[i, f] += a * weights[f, d]
                    hor[i, f] += a * hweights[f, d]
    return sky, leaf, hor, svf


@njit(parallel=True, **_JIT)
def group_weights(kind, through, cls, fidx, fw, n_rows, tau):
    """Face weights of what each point sees, summed by surface group.

    Time-independent: the unlit part of every hour's fluxes is these sums
    times the group's radiance (see :func:`hour_fluxes`).

    Parameters
    ----------
    kind, through, cls : (n, D)
        :func:`raster_views` or the mesh tracer.
    fidx, fw : (D, 3)
        :func:`face_lists`.
    n_rows : int
        Class rows (``cls`` < ``n_rows``).
    tau : float
        Canopy transmissivity: directions through canopy weigh ``tau``.

    Returns
    -------
    (n, 2 n_rows, 6) float64
        Group ``c`` (seen ground or wall of class row ``c``) and
        ``n_rows + c`` (roof of class row ``c``).
    """
    n, D = kind.shape
    out = np.zeros((n, 2 * n_rows, 6))
    for i in prange(n):
        for d in range(D):
            kd = kind[i, d]
            if kd == SKY:
                continue
            g = cls[i, d] + (n_rows if kd == ROOF else 0)
            a = tau if through[i, d] else 1.0
            for k in range(3):
                f = fidx[d, k]
                if f < 0:
                    break
                out[i, g, f] += a * fw[d, k]
    return out


@njit(parallel=True, **_JIT)
def hour_fluxes(
    kind, through, cls, normal_index, groups, hit, hz, top_b, top_v, eps,
    normals, fidx, fw, sky_sum, leaf_sum, hor_sum, dome, horizon, sun, beam,
    diffuse_h, sky_lw, ta_k, albedo, emissivity, emit0, emit1, svf, person_lit,
    tau, wall_class, sigma,
):
    """The six directional short- and longwave fluxes at each point, one hour.

    Every seen surface radiates an unlit part (its emission at air
    temperature, the diffuse light it reflects) and, when sunlit, an extra
    part (the wave's warming, the reflected beam), both linear in its sun
    fraction. The unlit parts come from the time-independent group sums
    ``groups`` (:func:`group_weights`) times one radiance per group; only the
    sunlit directions are visited, and only in daytime hours.

    Parameters
    ----------
    kind, through : (n, D) int8, uint8
        What each direction sees (:func:`raster_views` or the mesh tracer).
    cls : (n, D) int8
        Surface class row of what is seen (land-cover code, ``wall_class``
        for walls, roof rows after it).
    normal_index : (n, D) int32
        Row of ``normals`` for walls (-1 otherwise).
    groups : (n, 2 C, 6) float64
        :func:`group_weights`.
    hit : (n, D) int32
        Index into ``top_b``/``top_v`` of what each direction sees.
    hz : (n, D) float32
        Height of the point seen [m].
    top_b, top_v : (M,) float32
        Heights under which the seen point is shaded by buildings / canopy
        (:func:`raster_sun_profiles` raveled); the sun fraction of a seen
        point at ``z = hz + eps`` is 0 below ``top_b``, ``tau`` below
        ``top_v``, 1 above. Not read when ``beam`` is 0.
    eps : float
        Offset of the seen point off its surface [m].
    normals : (M, 3) float64
        Wall normals.
    fidx, fw : (D, 3) int64, float64
        Faces each direction reaches and its weights ``max(0, d·n_f) dΩ``
        (:func:`face_lists`; faces up, down, north, east, south, west, each
        summing to π over the sphere).
    sky_sum, leaf_sum, hor_sum : (n, 6) float64
        :func:`view_sums`.
    dome : float
        Isotropic sky-dome radiance [W m⁻² sr⁻¹].
    horizon : float
        Perez horizon band intensity [W m⁻² rad⁻¹].
    sun : (3,) float64
        Unit vector to the sun.
    beam : float
        Beam plus circumsolar normal irradiance [W/m²] (0 at night).
    diffuse_h : float
        Diffuse irradiance of the sky dome on an open horizontal plane,
        without the circumsolar part (that travels with ``beam``) [W/m²].
    sky_lw : float
        Downwelling longwave of the whole sky on a horizontal plane [W/m²]
        (isotropic radiance ``sky_lw / π``).
    ta_k : float
        Air temperature [K] (leaves emit at it).
    albedo, emissivity : (C,) float64
        Per class row.
    emit0, emit1 : (C,) float64
        Emitted longwave of a shaded and of a sunlit surface of each class
        [W/m²] (``ε σ T⁴`` at ``Ta`` and ``Ta + ΔT``); a partly lit surface
        takes the share in between.
    svf : (n,) float64
        Sky view factor of each point [-] (diffuse reaching nearby surfaces).
    person_lit : (n,) float64
        Sun fraction at each point.
    tau : float
        Canopy shortwave transmissivity [-].
    wall_class : int
        Row of walls in the class arrays.
    sigma : float
        Stefan-Boltzmann constant.

    Returns
    -------
    (n, 12) float64
        ``Kdown Kup Kn Ke Ks Kw Ldown Lup Ln Le Ls Lw`` [W/m²].
    """
    n, D = kind.shape
    C = albedo.shape[0]
    out = np.zeros((n, 12))
    lw_sky = sky_lw / np.pi
    lw_leaf = sigma * ta_k**4 / np.pi
    fn = np.array(
        [[0.0, 0.0, 1.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0],
         [1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [-1.0, 0.0, 0.0]]
    )
    walb = albedo[wall_class]
    galb = albedo[1]
    cz = sun[2] if sun[2] > 0 else 0.0
    day = beam > 0
    # per class: unlit longwave radiance, lit longwave extra [W m⁻² sr⁻¹]
    rl0 = np.empty(C)
    drl = np.empty(C)
    for c in range(C):
        rl0[c] = emit0[c] / np.pi
        drl[c] = (emit1[c] - emit0[c]) / np.pi
    rl0[wall_class] += (1.0 - emissivity[wall_class]) * lw_sky
    tb = top_b.ravel()
    tv = top_v.ravel()
    for i in prange(n):
        ground_in = diffuse_h * svf[i]
        wall_diffuse = 0.5 * ground_in * (1.0 + galb)
        for f in range(6):
            ksw = dome * sky_sum[i, f] + horizon * hor_sum[i, f]
            klw = lw_sky * sky_sum[i, f] + lw_leaf * leaf_sum[i, f]
            for c in range(C):
                wg = groups[i, c, f]
                wr = groups[i, C + c, f]
                if wg != 0.0:
                    if c == wall_class:
                        ksw += wg * walb * wall_diffuse / np.pi
                    else:
                        ksw += wg * albedo[c] * ground_in / np.pi
                    klw += wg * rl0[c]
                if wr != 0.0:
                    ksw += wr * albedo[c] * diffuse_h / np.pi
                    klw += wr * rl0[c]
            out[i, f] = ksw
            out[i, 6 + f] = klw
        if not day:
            continue
        for d in range(D):
            kd = kind[i, d]
            if kd == SKY:
                continue
            j = hit[i, d]
            z = hz[i, d] + eps
            if z < tb[j]:
                continue
            lt = 1.0 if z >= tv[j] else tau
            c = cls[i, d]
            rl = lt * drl[c]
            if kd == WALL:
                m = normal_index[i, d]
                cosi = 0.0
                if m >= 0:
                    cosi = (normals[m, 0] * sun[0] + normals[m, 1] * sun[1]
                            + normals[m, 2] * sun[2])
                    if cosi < 0:
                        cosi = 0.0
                rs = walb * lt * beam * cosi / np.pi
            else:
                rs = albedo[c] * lt * beam * cz / np.pi
            if through[i, d]:
                rs = tau * rs
                rl = tau * rl
            for k in range(3):
                f = fidx[d, k]
                if f < 0:
                    break
                w = fw[d, k]
                out[i, f] += w * rs
                out[i, 6 + f] += w * rl
        pl = person_lit[i]
        if pl > 0:
            for f in range(6):
                cf = fn[f, 0] * sun[0] + fn[f, 1] * sun[1] + fn[f, 2] * sun[2]
                if cf > 0:
                    out[i, f] += pl * beam * cf
    return out
