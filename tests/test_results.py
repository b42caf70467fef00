"""Every public analysis result follows one protocol (the floor-plan issue).

The test walks every subclass of :class:`cimcity.results.Result` in the package
and checks each with :func:`cimcity.testing.assert_result_protocol` (methods and
signatures, ``summary()`` of plain values, ``to_file`` round trips by suffix
into created folders, GeoTIFF for raster results, ``.xyz`` refused,
``_repr_html_``), plus ``plot()`` returning matplotlib axes and every table of
``tables()`` writable by ``layer=``. A new result class without a factory here
fails ``test_every_result_class_is_covered``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import pytest
import shapely

import cimcity
from cimcity import flood, permit, shadow, solar, vegetation
from cimcity.errors import InputError
from cimcity.results import Result
from cimcity.testing import X0, Y0, assert_result_protocol, box_project, lone_box

matplotlib.use("Agg")

SPACING = 4.0  # coarse sensors: the protocol, not the physics, is under test [m]


def _all_result_classes() -> set[type]:
    for m in pkgutil.walk_packages(cimcity.__path__, "cimcity."):
        if ".commands" in m.name or m.name.endswith("__main__"):
            continue
        importlib.import_module(m.name)
    out, todo = set(), [Result]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith("cimcity.") and sub not in out:
                out.add(sub)
                todo.append(sub)
    return out


def _pair():
    """A box on its parcel, and the same with a project to its south."""
    parcels = gpd.GeoDataFrame(
        {"parcel_id": ["BOX", "PRJ_LAND"]},
        geometry=[shapely.box(X0 - 60, Y0 - 5, X0 + 80, Y0 + 80),
                  shapely.box(X0 - 60, Y0 - 60, X0 + 80, Y0 - 5)],
        crs="EPSG:2154",
    ).set_index("parcel_id")
    before = lone_box().add_parcels(parcels)
    after = before.with_project(box_project((X0, Y0 - 35, X0 + 20, Y0 - 23), height=24.0))
    return before, after


def _solar(paris):
    return solar.irradiance(paris, "2023-06-21", spacing=SPACING, progress=False)


def _sun_hours(paris):
    return shadow.sun_hours(paris, "2024-12-21", spacing=SPACING, step="30min")


def _sun_hours_impact(paris):
    before, after = _pair()
    return shadow.impact(before, after, "2024-12-21", spacing=SPACING, step="30min",
                         surfaces=("wall",))


def _solar_impact(paris):
    before, after = _pair()
    return solar.impact(before, after, "2023-06-21", spacing=SPACING, progress=False)


def _flood(paris):
    return flood.extent(paris.terrain, 34.5)


def _exposure(paris):
    return flood.exposure(paris, flood.extent(paris.terrain, 34.5))


def _sweep(paris):
    return flood.sweep(paris.terrain, [33.0, 34.5], scene=paris)


def _vegetation(paris):
    return vegetation.ratios(paris, by="parcel")


def _permit(paris):
    bim = paris.projects[paris.meta["project_id"]]
    return permit.check(bim, paris)


def _tmrt(paris):
    import pvlib

    from cimcity import heat

    times = pd.date_range("2023-07-15 12:00", periods=2, freq="1h", tz="Europe/Paris")
    w = pvlib.location.Location(48.86, 2.35).get_clearsky(times)
    w = w.assign(temp_air=30.0, relative_humidity=40.0, wind_speed=2.0)
    b = paris.buildings.total_bounds
    return heat.tmrt(
        paris, w, spacing=5.0, area=(b[0], b[1], b[0] + 80, b[1] + 80), timeseries=True
    )


def _cool_refuges(paris):
    from cimcity.heat import scenarios

    x0, y0, x1, y1 = paris.parcels.total_bounds
    xs, ys = np.meshgrid(np.arange(x0 + 2, x1, 8.0), np.arange(y0 + 2, y1, 8.0))
    pts = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(xs.ravel(), ys.ravel()), crs=paris.crs
    )
    t = pd.date_range("2023-08-15 14:30", periods=3, freq="h", tz="Europe/Paris")
    u = pd.DataFrame(
        np.where(np.arange(len(pts)) % 2, 30.0, 35.0)[None, :].repeat(3, 0),
        index=t,
        columns=pts.index,
    )
    return scenarios.cool_refuges(pts, u, paris, hours=t, cell_area=64.0)


def _heat_impact(paris):
    import pvlib

    from cimcity import heat

    bim = paris.projects[paris.meta["project_id"]]
    x0, y0, x1, y1 = bim.footprint.bounds
    times = pd.date_range("2023-07-15 12:00", periods=2, freq="1h", tz="Europe/Paris")
    w = pvlib.location.Location(48.86, 2.35).get_clearsky(times)
    w = w.assign(temp_air=30.0, relative_humidity=40.0, wind_speed=2.0)
    return heat.impact(paris, paris.with_project(bim), w, spacing=4.0,
                       area=(x0 - 30, y0 - 30, x1 + 30, y1 + 30))


FACTORIES = {
    "SolarResult": _solar,
    "SunHoursResult": _sun_hours,
    "ImpactResult": _sun_hours_impact,
    "SolarImpact": _solar_impact,
    "FloodResult": _flood,
    "ExposureResult": _exposure,
    "SweepResult": _sweep,
    "VegetationResult": _vegetation,
    "PermitReport": _permit,
    "TmrtResult": _tmrt,
    "CoolRefugeResult": _cool_refuges,
    "HeatImpactResult": _heat_impact,
}


def test_every_result_class_is_covered():
    names = {c.__name__ for c in _all_result_classes()}
    assert names == set(FACTORIES), (
        f"result classes without a protocol check: {sorted(names - set(FACTORIES))}; "
        f"factories for missing classes: {sorted(set(FACTORIES) - names)}"
    )


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_result_follows_the_protocol(name, paris, tmp_path):
    import matplotlib.pyplot as plt

    result = FACTORIES[name](paris)
    assert type(result).__name__ == name
    assert_result_protocol(result, tmp_path)
    # the protocol's signatures, read from the class
    plot = inspect.signature(type(result).plot).parameters
    assert list(plot)[:2] == ["self", "column"] and plot["ax"].kind is inspect.Parameter.KEYWORD_ONLY
    to_file = inspect.signature(type(result).to_file).parameters
    assert list(to_file)[:3] == ["self", "path", "layer"]
    ax = result.plot()
    assert isinstance(ax, matplotlib.axes.Axes)
    plt.close("all")
    # every table is reachable by layer=, written into a folder that did not exist
    for layer, table in result.tables().items():
        if table is None:
            continue
        out = result.to_file(tmp_path / "by_layer" / layer / "t.csv", layer=layer)
        assert out.exists()
    with pytest.raises(InputError, match="unknown layer"):
        result.to_file(tmp_path / "x.csv", layer="no_such_table")
    assert len(repr(result)) < 400  # a short repr, never an array dump
