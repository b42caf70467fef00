"""Level sweep: flooded area, volume and exposed buildings over a series of levels.

A crisis team reads a flood by the gauge: from which reading do the first
buildings get water, how fast does the flooded area grow. :func:`sweep` runs
:func:`~cimcity.flood.extent` (and the building exposure, prepared once) for
each level and returns a :class:`SweepResult` with one row per level.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import i18n
from .._compat import import_optional, keyword_only_after
from .._progress import bar
from ..errors import DataQualityWarning, InputError
from ..results import Result, plain
from .exposure import exposure_context, water_at_buildings
from .extent import flood_at
from .ground import DEFAULT_RING
from .levels import Level, LevelProfile
from .views import column_or_axes

# labels of the sweep chart (views of issue 13)
i18n.add_terms(
    {
        "sweep_gauge": ("Gauge reading", "Hauteur à l'échelle"),
        "sweep_area": ("Flooded area", "Surface inondée"),
        "sweep_reached": ("Buildings reached", "Bâtiments atteints"),
        "sweep_storeys": (
            "Buildings with flooded storeys", "Bâtiments avec niveaux inondés"
        ),
        "sweep_buildings": ("Buildings", "Bâtiments"),
        "sweep_title": (
            "Flooded area and buildings by water level",
            "Surface inondée et bâtiments selon la cote de l'eau",
        ),
    }
)

#: flooded cells per sweep (levels x DEM cells) from which a progress bar shows
PROGRESS_CELLS = 5e7


@dataclass(eq=False, repr=False)
class SweepResult(Result):
    """Flood numbers for a series of levels.

    Attributes
    ----------
    levels : DataFrame
        The main table (also :attr:`table`): one row per level, in the order
        given: ``level`` [m], ``gauge_reading`` [m] (when levels come from a
        gauge), ``flooded_area`` [m²], ``volume`` [m³], ``max_depth`` [m];
        with a scene also ``flooded_buildings``, ``unknown_buildings`` (no
        DEM data around them), ``buildings_with_flooded_storeys``,
        ``flooded_storeys`` (NaN when a reached building's storeys are
        unknown), ``basements_flooded``. ``attrs`` holds the vertical datum, mode and
        connectivity.
    vertical_datum : str
        Datum of the levels (the DEM's).
    mode : {"connected", "bathtub"}
    connectivity : {4, 8}
    """

    levels: pd.DataFrame
    vertical_datum: str | None = None
    mode: str = "connected"
    connectivity: int = 8

    def tables(self) -> dict:
        """``{"levels": one row per level}``."""
        return {"levels": self.levels}

    def summary(self) -> dict:
        """Headline numbers of the sweep.

        Returns
        -------
        dict
            ``levels`` (count), ``min_level_m``, ``max_level_m`` [m],
            ``max_flooded_area_m2`` [m²], ``max_volume_m3`` [m³],
            ``vertical_datum``, ``mode``; with buildings also
            ``max_flooded_buildings``, ``first_level_reaching_buildings_m``
            [m] (None when no level reaches one) and ``unknown_buildings``
            (buildings without DEM data around them).
        """
        t = self.levels
        out = {
            "levels": len(t),
            "min_level_m": t["level"].min() if len(t) else None,
            "max_level_m": t["level"].max() if len(t) else None,
            "max_flooded_area_m2": t["flooded_area"].max() if len(t) else None,
            "max_volume_m3": t["volume"].max() if len(t) else None,
            "vertical_datum": self.vertical_datum,
            "mode": self.mode,
        }
        if "flooded_buildings" in t.columns:
            reached = t.loc[t["flooded_buildings"] > 0, "level"]
            out["max_flooded_buildings"] = t["flooded_buildings"].max()
            out["first_level_reaching_buildings_m"] = (
                reached.min() if len(reached) else None
            )
            if "unknown_buildings" in t.columns:
                out["unknown_buildings"] = int(t["unknown_buildings"].max())
        return plain(out)

    def plot(self, column=None, *, ax=None, x: str = "level", lang=None, title=None):
        """Chart of the sweep against the level (or the gauge reading).

        Parameters
        ----------
        column : str, optional
            A column of :attr:`levels` to draw alone; default: flooded area
            [ha] and, when present, buildings reached and buildings with
            flooded storeys on a second axis.
        ax : matplotlib Axes, optional
        x : {"level", "gauge_reading"}
            Horizontal axis: water level [m, datum] or gauge reading [m].
        lang : {"fr", "en"}, optional
            Language of the labels (default: :func:`cimcity.i18n.get_language`).
        title : str, optional
            Default: what the chart shows.

        Returns
        -------
        matplotlib Axes (the area axis for the default chart)
        """
        plt = import_optional("matplotlib.pyplot")
        column, ax = column_or_axes(column, ax, "SweepResult.plot")
        table = self.levels
        for name, what in ((x, "x"), (column, "column")):
            if name is not None and name not in table.columns:
                raise InputError(
                    f"{what} must be a column of the sweep table {list(table.columns)}; "
                    f"got {name!r}"
                )
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        datum = str(self.vertical_datum or "")
        ax.set_xlabel(
            i18n.label("water_level", lang, unit_text=f"m {datum}".strip())
            if x == "level"
            else i18n.label("sweep_gauge", lang, unit_text="m")
        )
        ax.grid(alpha=0.3)
        ax.set_title(title or i18n.term("sweep_title", lang), fontsize=10)
        if column is not None:
            ax.plot(table[x], table[column], "o-", color="tab:blue", label=column)
            ax.set_ylabel(column.replace("_", " "))
            return ax
        ax.plot(
            table[x],
            table["flooded_area"] / 1e4,
            "o-",
            color="tab:blue",
            label=i18n.term("sweep_area", lang),
        )
        ax.set_ylabel(i18n.label("sweep_area", lang, unit_text="ha"), color="tab:blue")
        if "flooded_buildings" in table.columns:
            ax2 = ax.twinx()
            ax2.plot(
                table[x],
                table["flooded_buildings"],
                "s--",
                color="tab:red",
                label=i18n.term("sweep_reached", lang),
            )
            ax2.plot(
                table[x],
                table["buildings_with_flooded_storeys"],
                "^:",
                color="tab:orange",
                label=i18n.term("sweep_storeys", lang),
            )
            ax2.set_ylabel(i18n.term("sweep_buildings", lang), color="tab:red")
            ax2.yaxis.get_major_locator().set_params(integer=True)
            ax2.legend(loc="upper left", fontsize=8)
        return ax


@keyword_only_after(2)
def sweep(
    terrain,
    levels,
    *,
    scene=None,
    sources=None,
    connectivity: int = 8,
    mode: str = "connected",
    progress=None,
    **exposure_kw,
) -> SweepResult:
    """Flooded area, volume and exposed buildings for a series of levels.

    Parameters
    ----------
    terrain : Terrain
        The DEM [m].
    levels : sequence of float or Level
        Water levels [m, DEM datum], e.g. ``gauge_level(np.arange(5, 9.5, 0.5))``.
    scene : Scene, optional
        Adds building counts (the ring samples are prepared once).
    sources, connectivity, mode : as in :func:`~cimcity.flood.extent`
    progress : bool, optional
        Show a progress bar over the levels (None: for long sweeps on a
        terminal).
    **exposure_kw
        ``ring``, ``spacing``, ``exclude_buildings``, ``storey_height`` as in
        :func:`~cimcity.flood.exposure`.

    Every argument after ``levels`` is keyword-only (positional use still
    works for one release, with a ``FutureWarning``). Levels above the DEM's
    highest cell give one :class:`~cimcity.errors.DataQualityWarning`; a level
    more than 100 m above it is refused (see :func:`~cimcity.flood.extent`).

    Returns
    -------
    SweepResult
        ``.table`` (also ``.levels``): one row per level, sorted as given:
        ``level`` [m], ``gauge_reading`` [m] (when levels come from a gauge),
        ``flooded_area`` [m²], ``volume`` [m³], ``max_depth`` [m]; with a
        scene also ``flooded_buildings``, ``unknown_buildings``,
        ``buildings_with_flooded_storeys``, ``flooded_storeys`` (NaN:
        unknown), ``basements_flooded``. ``.plot()`` draws it.
    """
    if isinstance(levels, (int, float, Level, LevelProfile)):
        levels = [levels]
    levels = list(levels)
    if not levels:
        raise InputError("sweep needs at least one level")
    ctx = None
    if scene is not None:
        ctx = exposure_context(
            scene,
            terrain,
            exposure_kw.get("ring", DEFAULT_RING),
            exposure_kw.get("spacing"),
            exposure_kw.get("exclude_buildings", True),
            exposure_kw.get("storey_height"),
        )
    elif exposure_kw:
        raise InputError(f"exposure options {sorted(exposure_kw)} need a scene")
    rows = []
    cells = float(np.prod(terrain.shape))
    with bar(
        len(levels),
        desc="flood sweep",
        unit="level",
        progress=progress,
        work=len(levels) * cells,
        threshold=PROGRESS_CELLS,
    ) as pbar:
        for lv in levels:
            f = flood_at(terrain, lv, sources, connectivity, mode, warn_above=False)
            rows.append(_sweep_row(lv, f, ctx))
            pbar.update(1)
    df = pd.DataFrame(rows)
    _warn_levels_above(df["level"], terrain)
    if df["gauge_reading"].isna().all():
        df = df.drop(columns="gauge_reading")
    df.attrs.update(
        vertical_datum=terrain.vertical_datum, mode=mode, connectivity=connectivity
    )
    return SweepResult(df, terrain.vertical_datum, mode, connectivity)


def _warn_levels_above(levels, terrain) -> None:
    """One warning for the levels of a sweep above the DEM's highest cell."""
    z = terrain.elevation
    finite = z[np.isfinite(z)]
    if not finite.size:
        return
    hi = float(finite.max())
    above = levels[levels >= hi]
    if len(above):
        warnings.warn(
            f"{len(above)} of {len(levels)} sweep levels (from {above.min():g} m) are "
            f"above the DEM's highest cell ({hi:.2f} m): at those levels the whole "
            f"DEM floods, so the extent stops at the DEM's edge, not at the water's",
            DataQualityWarning,
            stacklevel=4,
        )


def _sweep_row(lv, f, ctx) -> dict:
    """One row of the sweep table for the flood ``f`` at level ``lv``."""
    row = {
        "level": f.level if f.level is not None else np.nan,
        "gauge_reading": lv.reading if isinstance(lv, Level) else np.nan,
        "flooded_area": f.area,
        "volume": f.volume,
        "max_depth": f.max_depth,
    }
    if ctx is not None:
        w = water_at_buildings(ctx, f)
        fst = w["flooded_storeys"]
        row.update(
            flooded_buildings=int(w["flooded"].sum()),
            unknown_buildings=int((~w["known"]).sum()),
            buildings_with_flooded_storeys=int((np.nan_to_num(fst) > 0).sum()),
            # unknown when a reached building's storeys are unknown
            flooded_storeys=float(fst.sum()) if np.isfinite(fst).all() else np.nan,
            basements_flooded=int(
                np.asarray(w["basement_flooded"].fillna(False), bool).sum()
            ),
        )
    return row


def plot_sweep(table, ax=None, x: str = "level"):
    """Deprecated: use ``sweep(...).plot(ax=ax, x=x)``.

    Parameters
    ----------
    table : SweepResult or DataFrame
        From :func:`sweep` (a DataFrame as returned by earlier releases).
    ax : matplotlib Axes, optional
    x : {"level", "gauge_reading"}

    Returns
    -------
    matplotlib Axes
    """
    warnings.warn(
        "flood.plot_sweep(table) is deprecated; use flood.sweep(...).plot(); it "
        "will be removed in a future release",
        FutureWarning,
        stacklevel=2,
    )
    if not isinstance(table, SweepResult):
        table = SweepResult(
            table,
            table.attrs.get("vertical_datum"),
            table.attrs.get("mode", "connected"),
            table.attrs.get("connectivity", 8),
        )
    return table.plot(ax=ax, x=x)
