"""Heat-wave scenarios: the hottest week of a weather file, a "Paris à 50 °C"
heat dome, greening variants of a Scene, and cool refuges.

Weather scenarios take and return :class:`cimcity.heat.Met` (the sky and the
air on one index, what :func:`cimcity.heat.tmrt` takes as ``weather``); an EPW
path or a DataFrame is read by :func:`cimcity.heat.read_met`.

Hottest week
    :func:`hottest_week`: the ``days`` consecutive whole days (7) whose **mean
    daily maximum air temperature** is highest; days are calendar days of the
    index's time zone; ties go to the earliest window. Daily maxima rather than
    means because heat stress in the street is set by the afternoons.

Heat dome ("Paris à 50 °C")
    :func:`heat_dome` morphs air temperature by the *shift-and-stretch* of
    Belcher, Hacker & Powell (2005):
    ``T' = T + ΔT_mean + α (T - <T>)`` with ``α = (ΔT_max - ΔT_min) /
    (<T_max> - <T_min>)``, ``<·>`` over the period, daily maxima and minima
    averaged over its days, and ``ΔT_mean = (ΔT_max + ΔT_min) / 2``. The
    changes are set so that the period's hottest hour reaches ``peak``, with
    the nights warming ``night_ratio`` times as much as the days
    (``ΔT_min = night_ratio ΔT_max``; 0.5 by default — a stated choice, not a
    measurement; 1.0 is a pure shift). **Humidity keeps the water vapour
    pressure** of each hour (so the specific humidity and the dew point at
    constant pressure): relative humidity becomes ``e / e_sat(T')``, with the
    saturation pressure of pythermalcomfort's
    :func:`~pythermalcomfort.psychrometrics.p_sat`. A heat dome is dry,
    subsiding air; keeping the relative humidity instead would give vapour
    pressures outside anything observed (and outside the UTCI's range).
    Measured downwelling longwave ``ldown`` is scaled by ``(T'/T)^4`` (kelvin):
    the sky's effective emissivity is kept, as its vapour pressure is.
    Radiation and wind are unchanged.

Greening (Scene variants, the original scene is never modified)
    :func:`plant_trees` adds tree crowns (discs of ``crown_radius`` with a
    ``height``) to the vegetation layer, which :func:`cimcity.heat.tmrt` reads
    as occluders; :func:`depave` turns the land cover inside an area into grass
    (UMEP class 5) or bare / permeable ground (class 6), in
    ``scene.rasters["landcover"]`` (built from the scene's layers by
    :func:`land_cover` when the scene has none) and as polygons in the
    vegetation layer; :func:`cool_roofs` sets a roof albedo on buildings
    (column ``roof_albedo``).

Cool refuges (îlots de fraîcheur)
    :func:`cool_refuges`: the points of open ground whose UTCI stays at or
    below *moderate heat stress* (≤ 32 °C, Bröde et al. 2012) at every one of
    the hottest hours (the ``n_hours`` hours of highest air temperature),
    summarised per street (roads buffered by half their width), parcel and
    zone as a :class:`CoolRefugeResult`.

Written here because no library does these city-specific steps; the
psychrometrics and the UTCI come from pythermalcomfort.

References
----------
Belcher S. E., Hacker J. N., Powell D. S. (2005). Constructing design weather
data for future climates. Building Services Engineering Research and Technology
26(1):49–61. doi:10.1191/0143624405bt112oa

Bröde P. et al. (2012). Deriving the operational procedure for the UTCI. Int J
Biometeorol 56:481–494. doi:10.1007/s00484-011-0454-1

Lindberg F., Holmer B., Thorsson S. (2008). SOLWEIG 1.0. Int J Biometeorol
52:697–713 (UMEP land-cover classes).
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import i18n
from .._compat import import_optional
from ..errors import DataQualityWarning, InputError
from ..results import Result, plain
from .comfort import category_index
from .met import Met, read_met

__all__ = [
    "hottest_period",
    "hottest_week",
    "heat_dome",
    "morph_air",
    "plant_trees",
    "depave",
    "cool_roofs",
    "land_cover",
    "hottest_hours",
    "cool_refuges",
    "CoolRefugeResult",
    "REFUGE_MAX_UTCI",
]

#: highest UTCI of "moderate heat stress" [°C]: a refuge stays at or below it
REFUGE_MAX_UTCI = 32.0
#: UMEP land-cover classes used by the greening variants
PAVED, BUILDING, GRASS, BARE_SOIL, WATER = 1, 2, 5, 6, 7
#: what asphalt becomes in :func:`depave`
DEPAVE_TO = {"grass": GRASS, "permeable": BARE_SOIL}

i18n.add_terms(
    {
        "cool_refuge": ("Cool refuge", "Îlot de fraîcheur"),
        "cool_refuge_share": ("Cool refuge share", "Part en îlot de fraîcheur"),
        "utci_hottest": (
            "Felt temperature at the hottest hours (UTCI)",
            "Température ressentie aux heures les plus chaudes (UTCI)",
        ),
    },
    units={"cool_refuge_share": "%", "utci_hottest": "°C"},
)


# --------------------------------------------------------------------- weather
def hottest_period(temp_air: pd.Series, days: int = 7):
    """The ``days`` consecutive whole days of highest mean daily maximum.

    Parameters
    ----------
    temp_air : pandas.Series
        Air temperature [°C] on a tz-aware DatetimeIndex (hourly or finer);
        days are calendar days of the index's time zone.
    days : int
        Length of the window [days].

    Returns
    -------
    tuple of (pandas.Timestamp, pandas.Timestamp, float)
        Start (midnight of the first day), end (midnight after the last day,
        exclusive) and the window's mean daily maximum [°C].

    Raises
    ------
    InputError
        Fewer than ``days`` whole days, or a day without any known temperature.
    """
    days = int(days)
    if days < 1:
        raise InputError(f"days={days!r} must be >= 1")
    t = pd.Series(temp_air, dtype=float)
    if not isinstance(t.index, pd.DatetimeIndex) or t.index.tz is None:
        raise InputError("temp_air needs a timezone-aware DatetimeIndex")
    if not len(t):
        raise InputError("temp_air is empty")
    daily = t.groupby(t.index.normalize()).max()
    daily = daily.reindex(pd.date_range(daily.index[0], daily.index[-1], freq="D"))
    if len(daily) < days:
        raise InputError(f"the weather covers {len(daily)} days; the hottest "
                         f"{days}-day period needs at least {days}")
    if daily.isna().any():
        bad = daily.index[daily.isna()][0]
        raise InputError(f"no air temperature on {bad.date()}: the daily maxima "
                         "need every day of the weather")
    mean = daily.rolling(days).mean().dropna()
    end_day = mean.idxmax()  # first of ties
    start = end_day - pd.Timedelta(days=days - 1)
    return start, end_day + pd.Timedelta(days=1), float(mean.max())


def hottest_week(weather, days: int = 7, **read_met_kw):
    """The hottest week of a weather file (see the module docstring).

    Parameters
    ----------
    weather : str, Path, pandas.DataFrame or cimcity.heat.Met
        Anything :func:`cimcity.heat.read_met` takes (an EPW path for Paris-Orly).
    days : int
        Length of the period [days].
    **read_met_kw
        ``latitude``, ``longitude``… for :func:`cimcity.heat.read_met`.

    Returns
    -------
    cimcity.heat.Met
        The rows of the period; ``meta`` holds ``scenario`` ("hottest-week"),
        ``start``, ``end`` (exclusive) and ``mean_daily_max`` [°C].
    """
    met = read_met(weather, **read_met_kw)
    start, end, mean = hottest_period(met.air["temp_air"], days)
    out = met.select((start, end))
    out.meta = dict(met.meta, scenario="hottest-week", start=start, end=end,
                    mean_daily_max=mean)
    return out


def heat_dome(weather, peak: float = 50.0, *, night_ratio: float = 0.5, **read_met_kw):
    """A heat dome: air temperature morphed so the hottest hour reaches ``peak``.

    Shift-and-stretch of Belcher et al. (2005), vapour pressure kept (see the
    module docstring for the equations).

    Parameters
    ----------
    weather : str, Path, pandas.DataFrame or cimcity.heat.Met
        The base period (e.g. :func:`hottest_week`); anything
        :func:`cimcity.heat.read_met` takes.
    peak : float
        Air temperature of the hottest hour after morphing [°C].
    night_ratio : float
        Warming of the mean daily minimum over that of the mean daily maximum
        (0 … 1; 1: a uniform shift).
    **read_met_kw
        For :func:`cimcity.heat.read_met`.

    Returns
    -------
    cimcity.heat.Met
        A new Met, same sky, with ``temp_air``, ``relative_humidity`` and
        ``ldown`` morphed; ``meta`` adds ``scenario`` ("heat-dome"), ``peak``,
        ``delta_max``, ``delta_min``, ``delta_mean`` [K] and ``alpha``.

    Raises
    ------
    InputError
        ``peak`` below the base's hottest hour, ``night_ratio`` outside 0…1, or
        a period without a diurnal range.
    """
    met = read_met(weather, **read_met_kw)
    air = morph_air(met.air, peak, night_ratio=night_ratio)
    out = Met(met.sky, air, f"{met.source}, heat dome {peak:g} °C",
              dict(met.meta, **air.attrs, scenario="heat-dome"))
    return out


def morph_air(air: pd.DataFrame, peak: float, *, night_ratio: float = 0.5):
    """The air table of :func:`heat_dome` (``temp_air``, ``relative_humidity``,
    optional ``ldown``) morphed so its hottest hour reaches ``peak`` [°C].

    Returns
    -------
    pandas.DataFrame
        A copy; ``attrs`` holds ``peak``, ``night_ratio``, ``delta_max``,
        ``delta_min``, ``delta_mean`` [K] and ``alpha`` [-].
    """
    psy = import_optional("pythermalcomfort.psychrometrics")
    for c in ("temp_air", "relative_humidity"):
        if c not in air.columns:
            raise InputError(f"the heat dome needs {c!r} (vapour pressure kept)")
    if not 0.0 <= night_ratio <= 1.0:
        raise InputError(f"night_ratio={night_ratio!r} must be within 0..1")
    t = air["temp_air"].astype(float)
    t_peak = float(t.max())
    if not np.isfinite(peak) or peak < t_peak:
        raise InputError(f"peak={peak!r} °C is below the weather's hottest hour "
                         f"({t_peak:.1f} °C); a heat dome warms")
    daily = t.groupby(t.index.normalize())
    tmax_mean, tmin_mean = float(daily.max().mean()), float(daily.min().mean())
    t_mean = float(t.mean())
    span = tmax_mean - tmin_mean
    if not span > 0:
        raise InputError("the weather has no diurnal temperature range to stretch")
    g = t_peak - t_mean
    # at the hottest hour: peak - t_peak = dmax [(1 + r)/2 + (1 - r) g / span]
    r = float(night_ratio)
    d_max = (peak - t_peak) / ((1 + r) / 2 + (1 - r) * g / span)
    d_min = r * d_max
    d_mean = (d_max + d_min) / 2
    alpha = (d_max - d_min) / span
    t_new = t + d_mean + alpha * (t - t_mean)
    rh = air["relative_humidity"].astype(float)
    e = rh / 100.0 * np.asarray(psy.p_sat(t.to_numpy()), dtype=float)
    out = air.copy()
    out["temp_air"] = t_new
    out["relative_humidity"] = (
        100.0 * e / np.asarray(psy.p_sat(t_new.to_numpy()), dtype=float)
    ).clip(upper=100.0)
    if "ldown" in out.columns:
        out["ldown"] = air["ldown"] * ((t_new + 273.15) / (t + 273.15)) ** 4
    out.attrs = dict(peak=float(peak), night_ratio=r, delta_max=d_max,
                     delta_min=d_min, delta_mean=d_mean, alpha=alpha)
    return out


# -------------------------------------------------------------------- greening
def plant_trees(scene, points, *, crown_radius=4.0, height=8.0):
    """A scene variant with trees planted at ``points``.

    Parameters
    ----------
    scene : cimcity.Scene
    points : (n, 2) array_like or GeoSeries of points
        Trunk positions [m, scene CRS].
    crown_radius : float or (n,) array_like
        Crown radius [m].
    height : float or (n,) array_like
        Tree height [m] (top of the crown above ground).

    Returns
    -------
    cimcity.Scene
        A copy whose vegetation layer holds the new crowns (``kind`` "tree",
        ``height``, ``source`` "planted"); the original is unchanged.
    """
    xy = _points_xy(points)
    n = len(xy)
    r = np.broadcast_to(np.asarray(crown_radius, dtype=float), (n,))
    h = np.broadcast_to(np.asarray(height, dtype=float), (n,))
    if n and (np.any(~(r > 0)) or np.any(~(h > 0))):
        raise InputError("crown_radius and height must be > 0 m for every tree")
    crowns = shapely.buffer(shapely.points(xy), r, quad_segs=8)
    new = gpd.GeoDataFrame(
        {"kind": "tree", "height": h, "source": "planted"},
        geometry=crowns, crs=scene.crs,
    )
    return _with_vegetation(scene, new)


def depave(scene, area, *, to: str = "grass", spacing: float = 1.0):
    """A scene variant where the open ground inside ``area`` is de-paved.

    Parameters
    ----------
    scene : cimcity.Scene
    area : shapely geometry or GeoDataFrame/GeoSeries
        Where asphalt is removed [scene CRS]. Buildings inside keep their class.
    to : {"grass", "permeable"}
        Grass (UMEP class 5) or bare, permeable ground (class 6).
    spacing : float
        Cell size [m] of the land-cover raster built when the scene has none.

    Returns
    -------
    cimcity.Scene
        A copy with ``rasters["landcover"]`` changed (class 1 and 0 → ``to``
        inside ``area``) and the area added to the vegetation layer (``kind``
        "lawn" or "permeable_paving").
    """
    if to not in DEPAVE_TO:
        raise InputError(f"to={to!r}: expected one of {', '.join(DEPAVE_TO)}")
    geom = _area(area, scene.crs)
    lc = scene.rasters.get("landcover") or land_cover(scene, spacing=spacing)
    arr, transform, crs = lc
    arr = np.array(arr, copy=True)
    inside = _cells_in(geom, arr.shape, transform)
    change = inside & np.isin(arr, (0, PAVED))
    arr[change] = DEPAVE_TO[to]
    new = scene.copy()
    new.add_vegetation((arr, transform, crs), raster="landcover")
    if scene.buildings is not None and len(scene.buildings):
        geom = geom.difference(shapely.union_all(scene.buildings.geometry.values))
    poly = gpd.GeoDataFrame(
        {"kind": ["lawn" if to == "grass" else "permeable_paving"], "height": [0.1],
         "source": ["depaved"]},
        geometry=[geom], crs=scene.crs,
    )
    new = _with_vegetation(new, poly)
    new.meta["depaved_m2"] = float(change.sum() * abs(transform.a * transform.e))
    return new


def cool_roofs(scene, albedo: float = 0.7, buildings=None):
    """A scene variant whose roofs reflect ``albedo`` of the sunlight.

    Parameters
    ----------
    scene : cimcity.Scene
    albedo : float
        Roof albedo [0-1] (0.7: a white "cool roof" coating; 0.18: UMEP's
        default roof).
    buildings : sequence of building ids, optional
        Which buildings (default: all).

    Returns
    -------
    cimcity.Scene
        A copy whose ``buildings`` table has a ``roof_albedo`` column (NaN:
        the model's default) set to ``albedo`` for the chosen buildings.
    """
    if not 0.0 <= albedo <= 1.0:
        raise InputError(f"albedo={albedo!r} must be within 0..1")
    new = scene.copy()
    b = new.buildings  # the copy's own table, edited in place then touch()
    ids = b.index if buildings is None else pd.Index(buildings)
    missing = ids.difference(b.index)
    if len(missing):
        raise InputError(f"unknown building ids: {', '.join(map(str, missing[:5]))}")
    if "roof_albedo" not in b.columns:
        b["roof_albedo"] = np.nan
    b.loc[ids, "roof_albedo"] = float(albedo)
    new.touch()
    return new


def land_cover(scene, *, spacing: float = 1.0, bounds=None) -> tuple:
    """UMEP land-cover classes rasterised from the scene's layers.

    Buildings → 2; water (``layers["water"]``) → 7; vegetation of kind lawn,
    shrub, tree (the ground under a crown), meadow → 5 (grass);
    ``permeable_paving`` → 6; everything else → 1 (paved). The "everything
    else is paved" default is an assumption, said by a DataQualityWarning.

    Parameters
    ----------
    scene : cimcity.Scene
    spacing : float
        Cell size [m].
    bounds : (xmin, ymin, xmax, ymax), optional
        Extent [m] (default: the scene's parcels, buildings and vegetation).

    Returns
    -------
    tuple
        ``(array int16, transform, crs)`` north-up.
    """
    from affine import Affine
    from rasterio.features import rasterize

    if bounds is None:
        bounds = _scene_bounds(scene)
    x0, y0, x1, y1 = (float(v) for v in bounds)
    w = max(1, int(np.ceil((x1 - x0) / spacing)))
    h = max(1, int(np.ceil((y1 - y0) / spacing)))
    transform = Affine(spacing, 0, x0, 0, -spacing, y0 + h * spacing)
    shapes = []
    v = scene.vegetation
    if v is not None and len(v):
        for kind, code in (("lawn", GRASS), ("meadow", GRASS), ("shrub", GRASS),
                           ("tree", GRASS), ("permeable_paving", BARE_SOIL)):
            shapes += [(g, code) for g in v.geometry[v["kind"] == kind]]
    water = scene.layers.get("water") if hasattr(scene, "layers") else None
    if water is not None and len(water):
        shapes += [(g, WATER) for g in water.geometry if g.geom_type.endswith("Polygon")]
    if scene.buildings is not None and len(scene.buildings):
        shapes += [(g, BUILDING) for g in scene.buildings.geometry]
    arr = rasterize(shapes, out_shape=(h, w), transform=transform, fill=PAVED,
                    dtype="int16") if shapes else np.full((h, w), PAVED, "int16")
    warnings.warn(
        "land cover built from the scene's layers: ground that no layer describes "
        "is taken as paved (UMEP class 1); give scene.add_vegetation(raster="
        "'landcover') a land-cover map to replace this assumption",
        DataQualityWarning, stacklevel=2,
    )
    return arr, transform, scene.crs


# ---------------------------------------------------------------- cool refuges
def hottest_hours(temp_air: pd.Series, n_hours: int = 3) -> pd.DatetimeIndex:
    """The ``n_hours`` times of highest air temperature (ties: the earliest)."""
    t = pd.Series(temp_air, dtype=float).dropna()
    if len(t) < n_hours or n_hours < 1:
        raise InputError(f"n_hours={n_hours!r} must be within 1..{len(t)}")
    order = np.lexsort((np.arange(len(t)), -t.to_numpy()))[:n_hours]
    return pd.DatetimeIndex(t.index[np.sort(order)])


def cool_refuges(points, utci, scene=None, *, hours=None, temp_air=None,
                 n_hours: int = 3, cell_area=None, by=("street", "parcel", "zone"),
                 max_utci: float = REFUGE_MAX_UTCI):
    """Where open ground stays at or below moderate heat stress at the hottest hours.

    Parameters
    ----------
    points : GeoDataFrame or GeoSeries of points
        The open-ground points (a :class:`~cimcity.heat.TmrtResult` table), in
        the scene CRS; their index names the columns of ``utci``.
    utci : pandas.DataFrame
        UTCI [°C], times as index, one column per point (``points.index``).
    scene : cimcity.Scene, optional
        For the summaries per street (``layers["roads"]`` buffered by half of
        ``largeur``, grouped by ``nom``), parcel and zone.
    hours : DatetimeIndex, optional
        The hottest hours; default :func:`hottest_hours` of ``temp_air``.
    temp_air : pandas.Series, optional
        Air temperature [°C] on ``utci``'s index (needed without ``hours``).
    n_hours : int
        How many hottest hours.
    cell_area : float, optional
        Ground area of each point [m²] (a grid's spacing²); default the median
        nearest-neighbour distance squared.
    by : tuple of {"street", "parcel", "zone"}
        Summaries to make.
    max_utci : float
        Highest UTCI of a refuge [°C] (32: top of *moderate heat stress*).

    Returns
    -------
    CoolRefugeResult
    """
    if not isinstance(utci, pd.DataFrame):
        raise InputError("utci must be a DataFrame (times x points)")
    if hours is None:
        if temp_air is None:
            raise InputError("give hours= or temp_air= (to find the hottest hours)")
        hours = hottest_hours(pd.Series(temp_air).reindex(utci.index), n_hours)
    hours = pd.DatetimeIndex(hours)
    missing = hours.difference(utci.index)
    if len(missing):
        raise InputError(f"hours not in the UTCI table: {list(missing[:3])}")
    pts = gpd.GeoDataFrame(geometry=gpd.GeoSeries(points.geometry), crs=points.crs)
    cols = utci.columns
    if not pts.index.isin(cols).all():
        raise InputError("every point needs a UTCI column (points.index = utci.columns)")
    u = utci.loc[hours, pts.index]
    worst = u.max(axis=0, skipna=False)
    pts["utci_hottest"] = worst.to_numpy()
    pts["category_hottest"] = category_index(worst.to_numpy())
    refuge = (worst <= max_utci).astype(object)
    refuge[worst.isna()] = None  # unknown, not "no"
    pts["refuge"] = refuge.to_numpy()
    if cell_area is None:
        cell_area = _cell_area(pts)
    pts["area_m2"] = float(cell_area)
    if pts["refuge"].isna().any():
        warnings.warn(
            f"cool refuges: {int(pts['refuge'].isna().sum()):,} of {len(pts):,} points "
            "have an unknown UTCI at the hottest hours (refuge unknown)",
            DataQualityWarning, stacklevel=2,
        )
    tables = {"points": pts}
    units = _units(scene, by) if scene is not None else {}
    for name, gdf in units.items():
        tables[name] = _summarise(pts, gdf)
    return CoolRefugeResult(tables, hours=hours, max_utci=max_utci)


class CoolRefugeResult(Result):
    """Cool refuges (îlots de fraîcheur) at the hottest hours.

    Tables: ``points`` (one row per open-ground point: ``utci_hottest`` [°C],
    the worst of the hottest hours, ``refuge`` True/False/None (unknown),
    ``area_m2``), and per unit ``streets``, ``parcels``, ``zones``:
    ``open_area_m2``, ``refuge_area_m2`` [m²], ``refuge_share`` [0-1] (of the
    known area; NaN when none is known), ``utci_hottest_mean``,
    ``utci_hottest_max`` [°C], ``unknown_area_m2``.
    """

    _title = "cool refuges"

    def __init__(self, tables: dict, *, hours, max_utci: float):
        self._tables = tables
        self.hours = hours
        self.max_utci = float(max_utci)

    def tables(self) -> dict:
        return dict(self._tables)

    @property
    def points(self):
        return self._tables["points"]

    def summary(self) -> dict:
        p = self.points
        known = p["refuge"].notna()
        area = float(p.loc[known, "area_m2"].sum())
        ref = float(p.loc[p["refuge"] == True, "area_m2"].sum())  # noqa: E712
        out = {
            "hottest_hours": [str(h) for h in self.hours],
            "max_utci_c": self.max_utci,
            "points": int(len(p)),
            "open_area_m2": float(p["area_m2"].sum()),
            "refuge_area_m2": ref if area else None,
            "refuge_share": ref / area if area else None,
            "unknown_area_m2": float(p.loc[~known, "area_m2"].sum()),
            "utci_hottest_max_c": plain(np.nanmax(p["utci_hottest"]))
            if known.any() else None,
        }
        return out

    def plot(self, column=None, *, ax=None, lang=None, **kwargs):
        """Map of the points: ``"refuge"`` (default; blue: refuge, red: not, grey:
        unknown) or ``"utci_hottest"`` [°C], with a scale bar and a north arrow."""
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D
        from matplotlib_scalebar.scalebar import ScaleBar

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 6))
        column = "refuge" if column is None else column
        if column not in ("refuge", "utci_hottest"):
            raise InputError(f"column={column!r}: expected 'refuge' or 'utci_hottest'")
        p = self.points
        x, y = p.geometry.x.to_numpy(), p.geometry.y.to_numpy()
        size = kwargs.pop("s", 6)
        if column == "refuge":
            colours = {True: "#2b8cbe", False: "#e34a33", None: "#bbbbbb"}
            c = [colours[v if v in (True, False) else None] for v in p["refuge"]]
            ax.scatter(x, y, c=c, s=size, marker="s", linewidths=0, **kwargs)
            names = {True: i18n.term("cool_refuge", lang),
                     False: f"UTCI > {self.max_utci:g} °C", None: i18n.term("unknown", lang)}
            ax.legend(handles=[Line2D([], [], marker="s", ls="", color=colours[k],
                                      label=names[k]) for k in (True, False, None)],
                      loc="upper center", bbox_to_anchor=(0.5, -0.01), ncol=3,
                      fontsize=8, frameon=False)
            ax.set_title(i18n.term("cool_refuge", lang))
        else:
            sc = ax.scatter(x, y, c=p[column], s=size, marker="s", linewidths=0,
                            cmap=kwargs.pop("cmap", "RdYlBu_r"), **kwargs)
            ax.figure.colorbar(sc, ax=ax, shrink=0.8, label=i18n.label(column, lang)
                               if column == "utci_hottest" else column)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.add_artist(ScaleBar(1.0, "m", location="lower right", box_alpha=0.7,
                               length_fraction=0.25))
        ax.annotate("N", xy=(0.95, 0.95), xytext=(0.95, 0.85), xycoords="axes fraction",
                    ha="center", fontsize=10, fontweight="bold",
                    arrowprops={"arrowstyle": "-|>", "color": "black"})
        return ax


def _summarise(pts, units):
    joined = gpd.sjoin(pts[["geometry", "refuge", "utci_hottest", "area_m2"]],
                       units[["geometry"]].rename_axis("_unit"), predicate="within",
                       how="inner")
    g = joined.groupby("_unit")
    known = joined["refuge"].notna()
    df = pd.DataFrame({
        "open_area_m2": g["area_m2"].sum(),
        "refuge_area_m2": joined[joined["refuge"] == True]  # noqa: E712
        .groupby("_unit")["area_m2"].sum(),
        "known_area_m2": joined[known].groupby("_unit")["area_m2"].sum(),
        "utci_hottest_mean": g["utci_hottest"].mean(),
        "utci_hottest_max": g["utci_hottest"].max(),
    }).reindex(units.index)
    df["open_area_m2"] = df["open_area_m2"].fillna(0.0)
    df["known_area_m2"] = df["known_area_m2"].fillna(0.0)
    df["refuge_area_m2"] = df["refuge_area_m2"].fillna(0.0).where(df["known_area_m2"] > 0)
    df["refuge_share"] = df["refuge_area_m2"] / df["known_area_m2"].where(
        df["known_area_m2"] > 0)
    df["unknown_area_m2"] = df["open_area_m2"] - df["known_area_m2"]
    df = df.drop(columns="known_area_m2")
    return gpd.GeoDataFrame(df, geometry=units.geometry, crs=units.crs)


def _units(scene, by) -> dict:
    out = {}
    for name in by:
        if name == "street":
            roads = scene.layers.get("roads") if hasattr(scene, "layers") else None
            if roads is None or not len(roads):
                warnings.warn("heat summary per street: the scene has no 'roads' layer; no "
                              "summary per street", DataQualityWarning, stacklevel=3)
                continue
            width = roads["largeur"] if "largeur" in roads.columns else None
            if width is None or width.isna().any():
                warnings.warn("heat summary per street: roads without a width ('largeur'); "
                              "taken as 10 m", DataQualityWarning, stacklevel=3)
                width = (width if width is not None else pd.Series(np.nan, roads.index)
                         ).fillna(10.0)
            poly = roads.geometry.buffer(width.to_numpy() / 2.0, cap_style="flat")
            key = roads["nom"] if "nom" in roads.columns else pd.Series(roads.index,
                                                                         roads.index)
            g = gpd.GeoDataFrame({"street": key.to_numpy()}, geometry=poly.values,
                                 crs=roads.crs).dissolve("street")
            out["streets"] = g[["geometry"]]
        elif name == "parcel":
            if scene.parcels is not None and len(scene.parcels):
                out["parcels"] = scene.parcels[["geometry"]]
        elif name == "zone":
            if scene.zones is not None and len(scene.zones):
                out["zones"] = scene.zones[["geometry"]]
        else:
            raise InputError(f"by={name!r}: expected street, parcel or zone")
    return out


# ----------------------------------------------------------------- helpers
def _points_xy(points) -> np.ndarray:
    if isinstance(points, (gpd.GeoSeries, gpd.GeoDataFrame)):
        g = points.geometry
        return np.column_stack([g.x.to_numpy(), g.y.to_numpy()])
    xy = np.asarray(points, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2 or not np.isfinite(xy).all():
        raise InputError(f"points must be (n, 2) finite x, y [m]; got shape {xy.shape}")
    return xy


def _area(area, crs):
    if isinstance(area, (gpd.GeoSeries, gpd.GeoDataFrame)):
        if area.crs is not None and crs is not None and area.crs != crs:
            area = area.to_crs(crs)
        return shapely.union_all(area.geometry.values)
    if not isinstance(area, shapely.Geometry) or area.is_empty:
        raise InputError("area must be a non-empty shapely geometry or a GeoDataFrame")
    return area


def _cells_in(geom, shape, transform) -> np.ndarray:
    from rasterio.features import geometry_mask

    return geometry_mask([geom], out_shape=shape, transform=transform, invert=True)


def _with_vegetation(scene, new_rows):
    """A copy of ``scene`` with ``new_rows`` appended to its vegetation (linked to
    parcels and zones), ids ``<source>NNNNNN`` not yet in the scene."""
    new = scene.copy()
    old = set(map(str, scene.vegetation.index)) if scene.vegetation is not None else set()
    prefix = str(new_rows["source"].iloc[0]) if len(new_rows) else "added"
    ids, k = [], 0
    while len(ids) < len(new_rows):
        if f"{prefix}{k:06d}" not in old:
            ids.append(f"{prefix}{k:06d}")
        k += 1
    rows = new_rows.copy()
    rows.index = pd.Index(ids, name="vegetation_id")
    new.add_vegetation(rows)
    return new


def _scene_bounds(scene):
    boxes = [layer.total_bounds for layer in (scene.parcels, scene.buildings,
                                              scene.vegetation)
             if layer is not None and len(layer)]
    if not boxes:
        raise InputError("the scene is empty: give bounds= for the land cover")
    b = np.array(boxes)
    return b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()


def _cell_area(pts) -> float:
    xy = np.column_stack([pts.geometry.x, pts.geometry.y])
    if len(xy) < 2:
        raise InputError("one point: give cell_area= [m²]")
    from scipy.spatial import cKDTree

    d, _ = cKDTree(xy).query(xy, k=2)
    return float(np.median(d[:, 1]) ** 2)
