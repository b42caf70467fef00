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
* :func:`merge_views`: per point, the directions that meet the same surface
  point merged into one entry with summed face weights, sky dropped
  (time-independent; about a third of the traced directions remain);
* :func:`hour_fluxes`: the six directional short- and longwave fluxes at each
  point for one hour: the unlit part of every surface from the group sums,
  the sunlit part direction by direction (daytime only, the sun fraction of
  what is seen read from the sun profiles), sky radiances and surface
  properties (the per-hour reference);
* :func:`hours_fluxes`: the same and the mean radiant temperature for a chunk
  of hours in one parallel pass over points, on the merged entries, with
  :func:`raster_sun_profiles_many` and :func:`point_sun_many` giving the sun
  of all the chunk's hours at once (one parallel region per step instead of
  three per hour: on a shared 2-core machine each region start costs
  milliseconds).

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


@njit(**_JIT)
def _profile_cell(dsm, dem, cdsm, r0, c0, dc, dr, drop, zmax):
    """Heights under which the vertical of cell ``(r0, c0)`` is shaded by
    buildings/terrain and by canopy tops: one march toward the sun, ``dc``,
    ``dr`` pixels per step and ``drop`` metres of sun ray per step."""
    nrows, ncols = dsm.shape
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
    return tb, tv


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
        tb, tv = _profile_cell(dsm, dem, cdsm, r0, c0, dc, dr, drop, zmax)
        top_b[r0, c0] = tb
        top_v[r0, c0] = tv
    return top_b, top_v


@njit(parallel=True, **_JIT)
def raster_sun_profiles_many(dsm, dem, cdsm, suns, cell, zmax):
    """:func:`raster_sun_profiles` for several sun directions in one pass.

    Parameters
    ----------
    suns : (k, 3) float64
        Unit vectors to the sun.

    Returns
    -------
    top_b, top_v : (R * C, k) float32
        Column ``t``: the raveled profiles of sun ``t`` (the same values as
        :func:`raster_sun_profiles`); a cell's hours side by side, as
        :func:`hours_fluxes` reads them.
    """
    nrows, ncols = dsm.shape
    k = suns.shape[0]
    M = nrows * ncols
    top_b = np.full((M, k), -np.inf, np.float32)
    top_v = np.full((M, k), -np.inf, np.float32)
    dc = np.zeros(k)
    dr = np.zeros(k)
    drop = np.zeros(k)
    walk = np.zeros(k, np.bool_)
    for t in range(k):
        h = np.sqrt(suns[t, 0] ** 2 + suns[t, 1] ** 2)
        if suns[t, 2] <= 0:
            top_b[:, t] = np.inf
            top_v[:, t] = np.inf
        elif h >= 1e-9:
            walk[t] = True
            dc[t] = suns[t, 0] / h * STEP
            dr[t] = -suns[t, 1] / h * STEP
            drop[t] = suns[t, 2] / h * STEP * cell
    for idx in prange(M):
        r0 = idx // ncols
        c0 = idx % ncols
        for t in range(k):
            if walk[t]:
                tb, tv = _profile_cell(dsm, dem, cdsm, r0, c0, dc[t], dr[t],
                                       drop[t], zmax)
                top_b[idx, t] = tb
                top_v[idx, t] = tv
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


@njit(**_JIT)
def _point_sun_one(dsm, dem, cdsm, trunk_ratio, tau, pc, pr, z0, sun, cell, zmax):
    """Sun fraction of one point for a sun above the horizon (see
    :func:`point_sun`)."""
    nrows, ncols = dsm.shape
    h = np.sqrt(sun[0] ** 2 + sun[1] ** 2)
    r0, c0 = _cell(pc, pr, ncols, nrows)
    if h < 1e-9:
        t = cdsm[r0, c0]
        veg = t > 0 and dem[r0, c0] + t > z0
        return tau if veg else 1.0
    ux = sun[0] / h
    uy = -sun[1] / h
    dz = sun[2] / h * cell  # rise per pixel of horizontal travel
    tmc, tdc, sc = _first_crossing(pc, ux)
    tmr, tdr, sr = _first_crossing(pr, uy)
    r, c = r0, c0
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
    return lit


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
    n = pcol.shape[0]
    out = np.zeros(n)
    if sun[2] <= 0:
        return out
    for i in prange(n):
        out[i] = _point_sun_one(dsm, dem, cdsm, trunk_ratio, tau, pcol[i], prow[i],
                                pz[i], sun, cell, zmax)
    return out


@njit(parallel=True, **_JIT)
def point_sun_many(dsm, dem, cdsm, trunk_ratio, tau, pcol, prow, pz, suns, cell,
                   zmax):
    """:func:`point_sun` for several sun directions ``(k, 3)`` in one pass:
    ``(k, n)`` float64, the same values."""
    n = pcol.shape[0]
    k = suns.shape[0]
    out = np.zeros((k, n))
    for i in prange(n):
        for t in range(k):
            if suns[t, 2] > 0:
                out[t, i] = _point_sun_one(dsm, dem, cdsm, trunk_ratio, tau, pcol[i],
                                           prow[i], pz[i], suns[t], cell, zmax)
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


@njit(parallel=True, **_JIT)
def hours_fluxes(
    start, e_kind, e_cls, e_thr, e_m, e_j, e_hz, e_nf, e_f, e_w, groups, top_b,
    top_v, lit_row, eps, normals, sky_sum, leaf_sum, hor_sum, dome, horizon, suns, beam,
    diffuse_h, sky_lw, ta_k, albedo, emissivity, emit0, emit1, svf, person_lit,
    tau, wall_class, sigma, factors, ak, al, keep, tm_out, f_out, tsum, tmax,
    arg, fsum, t0,
):
    """:func:`hour_fluxes` and the mean radiant temperature for ``k`` hours in
    one pass, point by point: each thing a point sees (its directions merged,
    :func:`merge_views`) is read once, then its sun fraction and radiance for
    every daytime hour (the hours of a cell sit side by side in
    ``top_b``/``top_v``).

    The arithmetic of each (point, hour) is that of :func:`hour_fluxes`
    followed by the six-direction Tmrt; only the order of the sums over seen
    things differs (the same numbers to rounding, ``tests/test_heat.py``).

    Parameters
    ----------
    start, e_kind, e_cls, e_thr, e_m, e_j, e_hz, e_nf, e_f, e_w
        The merged entries of :func:`merge_views`.
    groups, eps, normals, sky_sum, leaf_sum, hor_sum
        As :func:`hour_fluxes`.
    top_b, top_v : (M, kd) float32
        Sun profiles of the daytime hours, a column per hour (columns as
        ``lit_row``; :func:`raster_sun_profiles_many`).
    lit_row : (k,) int64
        Column of ``top_b``/``top_v`` of each hour (-1: night, not read).
    dome, horizon, beam, diffuse_h, sky_lw, ta_k : (k,) float64
        As :func:`hour_fluxes`, per hour.
    suns : (k, 3) float64
        Unit vectors to the sun.
    albedo, emissivity : (C,) float64
    emit0, emit1 : (k, C) float64
        Shaded and sunlit emission per hour and class [W/m²].
    svf : (n,) float64
    person_lit : (k, n) float64
        Sun fraction at each point.
    tau : float
    wall_class : int
    sigma : float
    factors : (6,) float64
        Angular factors of the posture (up, down, north, east, south, west).
    ak, al : float
        Short- and longwave absorption of the body.
    keep : bool
        Write every hour's Tmrt and fluxes to ``tm_out``, ``f_out``.
    tm_out : (T, n) float32
        Hourly Tmrt [°C] (written at rows ``t0 .. t0 + k`` when ``keep``).
    f_out : (T, n, 12) float32
        Hourly fluxes [W/m²] (same rows).
    tsum, tmax : (n,) float64
        Running sum and maximum of Tmrt [°C], updated in place.
    arg : (n,) int64
        Hour index (``t0 + t``) of the maximum, updated in place.
    fsum : (n, 12) float64
        Running sum of the fluxes, updated in place.
    t0 : int
        Index of the first of the ``k`` hours in the whole period.
    """
    n = start.shape[0] - 1
    C = albedo.shape[0]
    k = dome.shape[0]
    fn = np.array(
        [[0.0, 0.0, 1.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0],
         [1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [-1.0, 0.0, 0.0]]
    )
    walb = albedo[wall_class]
    galb = albedo[1]
    # per hour: sky and leaf radiance, sun height, unlit/lit class radiance
    lw_sky = np.empty(k)
    lw_leaf = np.empty(k)
    cz = np.zeros(k)
    rl0 = np.empty((k, C))
    drl = np.empty((k, C))
    for t in range(k):
        lw_sky[t] = sky_lw[t] / np.pi
        lw_leaf[t] = sigma * ta_k[t] ** 4 / np.pi
        if suns[t, 2] > 0:
            cz[t] = suns[t, 2]
        for c in range(C):
            rl0[t, c] = emit0[t, c] / np.pi
            drl[t, c] = (emit1[t, c] - emit0[t, c]) / np.pi
        rl0[t, wall_class] += (1.0 - emissivity[wall_class]) * lw_sky[t]
    cal = al * sigma
    nd = 0
    for t in range(k):
        if lit_row[t] >= 0 and beam[t] > 0:
            nd += 1
    dh = np.empty(nd, np.int64)
    drow = np.empty(nd, np.int64)
    nd = 0
    for t in range(k):
        if lit_row[t] >= 0 and beam[t] > 0:
            dh[nd] = t
            drow[nd] = lit_row[t]
            nd += 1
    for i in prange(n):
        out = np.empty((k, 12))
        # unlit part of every surface, every hour (group sums)
        for t in range(k):
            ground_in = diffuse_h[t] * svf[i]
            wall_diffuse = 0.5 * ground_in * (1.0 + galb)
            for f in range(6):
                ksw = dome[t] * sky_sum[i, f] + horizon[t] * hor_sum[i, f]
                klw = lw_sky[t] * sky_sum[i, f] + lw_leaf[t] * leaf_sum[i, f]
                for c in range(C):
                    wg = groups[i, c, f]
                    wr = groups[i, C + c, f]
                    if wg != 0.0:
                        if c == wall_class:
                            ksw += wg * walb * wall_diffuse / np.pi
                        else:
                            ksw += wg * albedo[c] * ground_in / np.pi
                        klw += wg * rl0[t, c]
                    if wr != 0.0:
                        ksw += wr * albedo[c] * diffuse_h[t] / np.pi
                        klw += wr * rl0[t, c]
                out[t, f] = ksw
                out[t, 6 + f] = klw
        # sunlit part: each seen thing once, its daytime hours side by side
        if nd > 0:
            for e in range(start[i], start[i + 1]):
                kd = e_kind[e]
                j = e_j[e]
                z = e_hz[e] + eps
                c = e_cls[e]
                thr = e_thr[e] > 0
                m = e_m[e]
                nf = e_nf[e]
                for u in range(nd):
                    row = drow[u]
                    if z < top_b[j, row]:
                        continue
                    t = dh[u]
                    lt = 1.0 if z >= top_v[j, row] else tau
                    rl = lt * drl[t, c]
                    if kd == WALL:
                        cosi = 0.0
                        if m >= 0:
                            cosi = (normals[m, 0] * suns[t, 0] + normals[m, 1] * suns[t, 1]
                                    + normals[m, 2] * suns[t, 2])
                            if cosi < 0:
                                cosi = 0.0
                        rs = walb * lt * beam[t] * cosi / np.pi
                    else:
                        rs = albedo[c] * lt * beam[t] * cz[t] / np.pi
                    if thr:
                        rs = tau * rs
                        rl = tau * rl
                    for q in range(nf):
                        f = e_f[e, q]
                        w = e_w[e, q]
                        out[t, f] += w * rs
                        out[t, 6 + f] += w * rl
        for t in range(k):
            b = beam[t]
            if b > 0:
                pl = person_lit[t, i]
                if pl > 0:
                    for f in range(6):
                        cf = fn[f, 0] * suns[t, 0] + fn[f, 1] * suns[t, 1] + fn[f, 2] * suns[t, 2]
                        if cf > 0:
                            out[t, f] += pl * b * cf
            s_k = 0.0
            s_l = 0.0
            for f in range(6):
                s_k += out[t, f] * factors[f]
                s_l += out[t, 6 + f] * factors[f]
            s = ak * s_k + al * s_l
            if s < 0:
                s = 0.0
            tm = (s / cal) ** 0.25 - 273.15
            tsum[i] += tm
            if tm > tmax[i]:
                tmax[i] = tm
                arg[i] = t0 + t
            for f in range(12):
                fsum[i, f] += out[t, f]
            if keep:
                tm_out[t0 + t, i] = tm
                for f in range(12):
                    f_out[t0 + t, i, f] = out[t, f]


@njit(**_JIT)
def _merge_point(i, kind, through, cls, normal_index, hit, hz, fidx, fw, write, pos,
                 e_kind, e_cls, e_thr, e_m, e_j, e_hz, e_nf, e_f, e_w):
    """Merged entries of point ``i`` (see :func:`merge_views`); with ``write``
    they are stored from ``pos``. Returns their count."""
    D = kind.shape[1]
    m = 0
    for d in range(D):
        if kind[i, d] != SKY:
            m += 1
    ds = np.empty(m, np.int64)
    keys = np.empty(m, np.int64)
    m = 0
    for d in range(D):
        if kind[i, d] != SKY:
            ds[m] = d
            keys[m] = hit[i, d]
            m += 1
    order = np.argsort(keys, kind="mergesort")
    w6 = np.zeros((m, 6))
    rep = np.empty(m, np.int64)  # representative direction of each merged entry
    u = 0
    a = 0
    while a < m:
        b = a
        while b < m and keys[order[b]] == keys[order[a]]:
            b += 1
        first = u
        for s in range(a, b):
            d = ds[order[s]]
            e = -1
            for v in range(first, u):
                r = rep[v]
                if (hz[i, r] == hz[i, d] and kind[i, r] == kind[i, d]
                        and through[i, r] == through[i, d] and cls[i, r] == cls[i, d]
                        and normal_index[i, r] == normal_index[i, d]):
                    e = v
                    break
            if e < 0:
                e = u
                rep[u] = d
                u += 1
            for q in range(3):
                f = fidx[d, q]
                if f < 0:
                    break
                w6[e, f] += fw[d, q]
        a = b
    if write:
        for v in range(u):
            r = rep[v]
            o = pos + v
            e_kind[o] = kind[i, r]
            e_cls[o] = cls[i, r]
            e_thr[o] = through[i, r]
            e_m[o] = normal_index[i, r]
            e_j[o] = hit[i, r]
            e_hz[o] = hz[i, r]
            nf = 0
            for f in range(6):
                if w6[v, f] != 0.0:
                    e_f[o, nf] = f
                    e_w[o, nf] = w6[v, f]
                    nf += 1
            e_nf[o] = nf
    return u


@njit(parallel=True, **_JIT)
def merge_views(kind, through, cls, normal_index, hit, hz, fidx, fw):
    """Per point, the things it sees merged: directions that meet the same
    point of the same surface (same ``hit``, height, kind, class, canopy and
    wall normal) become one entry with their face weights summed; sky
    directions are dropped. Time-independent (once per view set); the hourly
    kernel :func:`hours_fluxes` then visits each seen thing once.

    Returns
    -------
    start : (n + 1,) int64
        Entries of point ``i``: ``start[i]:start[i + 1]``.
    e_kind, e_cls, e_thr : (E,) int8, int8, uint8
    e_m, e_j : (E,) int32
        Wall normal row (-1 otherwise); index into the sun profiles.
    e_hz : (E,) float32
        Height of the point seen [m].
    e_nf : (E,) int8
        Number of faces the entry reaches.
    e_f : (E, 6) int8
        Those faces.
    e_w : (E, 6) float64
        Their summed weights ``Σ max(0, d·n_f) dΩ``.
    """
    n = kind.shape[0]
    cnt = np.zeros(n + 1, np.int64)
    d8 = np.zeros(1, np.int8)
    du8 = np.zeros(1, np.uint8)
    d32 = np.zeros(1, np.int32)
    df32 = np.zeros(1, np.float32)
    df2 = np.zeros((1, 6), np.int8)
    dw = np.zeros((1, 6))
    for i in prange(n):
        cnt[i + 1] = _merge_point(i, kind, through, cls, normal_index, hit, hz, fidx,
                                  fw, False, 0, d8, d8, du8, d32, d32, df32, d8, df2, dw)
    start = np.cumsum(cnt)
    E = start[n]
    e_kind = np.zeros(E, np.int8)
    e_cls = np.zeros(E, np.int8)
    e_thr = np.zeros(E, np.uint8)
    e_m = np.zeros(E, np.int32)
    e_j = np.zeros(E, np.int32)
    e_hz = np.zeros(E, np.float32)
    e_nf = np.zeros(E, np.int8)
    e_f = np.zeros((E, 6), np.int8)
    e_w = np.zeros((E, 6))
    for i in prange(n):
        _merge_point(i, kind, through, cls, normal_index, hit, hz, fidx, fw, True,
                     start[i], e_kind, e_cls, e_thr, e_m, e_j, e_hz, e_nf, e_f, e_w)
    return start, e_kind, e_cls, e_thr, e_m, e_j, e_hz, e_nf, e_f, e_w
