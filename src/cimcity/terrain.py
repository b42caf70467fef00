"""Terrain: a DEM (and optional DSM) on a regular grid in the scene CRS."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .crs import DEFAULT_VERTICAL_DATUM, as_projected_crs
from .errors import InputError

#: plausible range of a city's elevations [m]: below the Dead Sea shore
#: (-430 m) to above the highest summit; values outside are undeclared nodata
#: (-9999, -3.4e38) or unit errors (mm, cm)
ELEVATION_RANGE = (-1_000.0, 9_000.0)


def check_elevation(z, what: str = "elevation") -> None:
    """Refuse an elevation grid that holds no value, infinite values or values
    outside :data:`ELEVATION_RANGE`; NaN marks nodata and is allowed.

    Parameters
    ----------
    z : ndarray of float64
        Elevations [m].
    what : str
        What the grid is, for the message.

    Raises
    ------
    InputError
        Naming the first bad value and how many cells hold one.
    """
    finite = np.isfinite(z)
    if not finite.any():
        raise InputError(
            f"the {what} holds only nodata (NaN) cells ({z.shape[0]}x{z.shape[1]}); "
            f"give a grid with elevations"
        )
    inf = np.isinf(z)
    if inf.any():
        v = float(z[inf][0])
        raise InputError(
            f"the {what} holds {int(inf.sum())} infinite value(s) ({v}); mark "
            f"nodata cells with NaN"
        )
    lo, hi = ELEVATION_RANGE
    bad = finite & ((z < lo) | (z > hi))
    if bad.any():
        v = float(z[bad][0])
        raise InputError(
            f"the {what} holds {int(bad.sum())} value(s) outside {lo:g}..{hi:g} m "
            f"(first: {v:g}); an undeclared nodata value or a unit error (mm, cm)? "
            f"Set those cells to NaN"
        )


@dataclass(eq=False)
class Terrain:
    """Elevation raster in a projected CRS.

    Parameters
    ----------
    elevation : (rows, cols) float64
        Heights [m] in ``vertical_datum``; NaN marks nodata cells.
    transform : affine.Affine
        Pixel → CRS transform (north-up, rasterio convention: pixel (row, col)
        corner at ``transform * (col, row)``).
    crs : pyproj.CRS or str
        Projected CRS in metres.
    vertical_datum : str
        Vertical reference of ``elevation`` (``"NGF-IGN69"`` by default,
        ``"unknown"`` when the file does not say).
    kind : str
        ``"dem"`` (bare ground) or ``"dsm"`` (surface with buildings/trees).
    """

    elevation: np.ndarray
    transform: object
    crs: object = "EPSG:2154"
    vertical_datum: str = DEFAULT_VERTICAL_DATUM
    kind: str = "dem"
    source: str | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        from affine import Affine

        self.crs = as_projected_crs(self.crs, what="terrain")
        try:
            z = np.asarray(self.elevation, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"terrain elevation must be numbers [m]; got {exc}"
            ) from exc
        if z.ndim != 2 or min(z.shape) < 2:
            raise InputError(
                f"terrain elevation must be a 2D array of at least 2x2 cells, "
                f"got shape {z.shape}"
            )
        check_elevation(z, f"{self.kind} elevation")
        self.elevation = z
        try:
            if not isinstance(self.transform, Affine):
                self.transform = Affine(*tuple(self.transform)[:6])
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"terrain transform must be an affine.Affine or 6 numbers; got "
                f"{self.transform!r}"
            ) from exc
        t = self.transform
        if t.b != 0 or t.d != 0 or not t.a > 0 or not t.e < 0:
            raise InputError(
                f"terrain transform must be north-up without rotation "
                f"(a>0, e<0, b=d=0); got {tuple(float(v) for v in tuple(t)[:6])}"
            )

    # -- construction -------------------------------------------------------------
    @classmethod
    def from_array(cls, elevation, origin, resolution, crs="EPSG:2154", **kw):
        """Build from an array whose first row is the northern edge.

        Parameters
        ----------
        elevation : (rows, cols) array [m]
        origin : (x_min, y_max) of the upper-left corner [m]
        resolution : float or (dx, dy), cell size [m]
        """
        from affine import Affine

        dx, dy = (resolution, resolution) if np.isscalar(resolution) else resolution
        return cls(
            elevation,
            Affine(dx, 0, origin[0], 0, -dy, origin[1]),
            crs,
            **kw,
        )

    # -- grid ---------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return self.elevation.shape

    @property
    def resolution(self) -> tuple[float, float]:
        """Cell size (dx, dy) [m]."""
        return (self.transform.a, -self.transform.e)

    @property
    def cell_area(self) -> float:
        """Area of one cell [m²]."""
        dx, dy = self.resolution
        return dx * dy

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of the grid [m]."""
        rows, cols = self.shape
        t = self.transform
        return (t.c, t.f + rows * t.e, t.c + cols * t.a, t.f)

    def cell_centers(self) -> tuple[np.ndarray, np.ndarray]:
        """x (cols,) and y (rows,) coordinates of cell centres [m]."""
        rows, cols = self.shape
        t = self.transform
        x = t.c + (np.arange(cols) + 0.5) * t.a
        y = t.f + (np.arange(rows) + 0.5) * t.e
        return x, y

    # -- queries ------------------------------------------------------------------
    def sample(self, x, y, method: str = "bilinear") -> np.ndarray:
        """Elevation at points [m], NaN outside the grid or on nodata.

        Parameters
        ----------
        x, y : array-like
            Coordinates in the terrain CRS [m].
        method : {"bilinear", "nearest"}
            Bilinear between cell centres (clamped at the outer half cell) or the
            value of the containing cell.
        """
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        rows, cols = self.shape
        t = self.transform
        fc = (x - t.c) / t.a  # fractional column (0 at left edge)
        fr = (y - t.f) / t.e
        inside = (fc >= 0) & (fc <= cols) & (fr >= 0) & (fr <= rows)
        out = np.full(np.broadcast(x, y).shape, np.nan)
        if method == "nearest":
            c = np.clip(np.floor(fc).astype(np.int64), 0, cols - 1)
            r = np.clip(np.floor(fr).astype(np.int64), 0, rows - 1)
            out[inside] = self.elevation[r[inside], c[inside]]
            return out
        if method != "bilinear":
            raise InputError(
                f"unknown sampling method {method!r}; expected 'bilinear' or 'nearest'"
            )
        cc = np.clip(fc - 0.5, 0, cols - 1)
        rr = np.clip(fr - 0.5, 0, rows - 1)
        c0 = np.clip(np.floor(cc).astype(np.int64), 0, cols - 2)
        r0 = np.clip(np.floor(rr).astype(np.int64), 0, rows - 2)
        wc = cc - c0
        wr = rr - r0
        z = self.elevation
        v = (
            z[r0, c0] * (1 - wc) * (1 - wr)
            + z[r0, c0 + 1] * wc * (1 - wr)
            + z[r0 + 1, c0] * (1 - wc) * wr
            + z[r0 + 1, c0 + 1] * wc * wr
        )
        out[inside] = v[inside]
        return out

    def index(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """(row, col) integer indices of the cells containing points (-1 outside)."""
        x = np.atleast_1d(np.asarray(x, dtype=float))
        y = np.atleast_1d(np.asarray(y, dtype=float))
        rows, cols = self.shape
        t = self.transform
        c = np.floor((x - t.c) / t.a).astype(np.int64)
        r = np.floor((y - t.f) / t.e).astype(np.int64)
        bad = (c < 0) | (c >= cols) | (r < 0) | (r >= rows)
        c[bad] = -1
        r[bad] = -1
        return r, c

    def clip(self, bounds) -> Terrain:
        """Sub-grid covering ``bounds`` (minx, miny, maxx, maxy) [m]."""
        from affine import Affine

        minx, miny, maxx, maxy = bounds
        t = self.transform
        rows, cols = self.shape
        c0 = int(np.clip(np.floor((minx - t.c) / t.a), 0, cols - 2))
        c1 = int(np.clip(np.ceil((maxx - t.c) / t.a), c0 + 2, cols))
        r0 = int(np.clip(np.floor((maxy - t.f) / t.e), 0, rows - 2))
        r1 = int(np.clip(np.ceil((miny - t.f) / t.e), r0 + 2, rows))
        new_t = Affine(t.a, 0, t.c + c0 * t.a, 0, t.e, t.f + r0 * t.e)
        # a sub-grid of a checked grid: only nodata is possible, and allowed
        # (a tile over a gap of the DEM), so the checks are not run again
        out = object.__new__(Terrain)
        out.__dict__.update(
            elevation=self.elevation[r0:r1, c0:c1].copy(),
            transform=new_t,
            crs=self.crs,
            vertical_datum=self.vertical_datum,
            kind=self.kind,
            source=self.source,
            meta=dict(self.meta),
        )
        return out

    def __repr__(self) -> str:
        z = self.elevation
        finite = z[np.isfinite(z)]
        zr = f"{finite.min():.1f}–{finite.max():.1f} m" if finite.size else "all nodata"
        return (
            f"<Terrain {self.kind} {self.shape[0]}x{self.shape[1]} cells at "
            f"{self.resolution[0]:g} m, z {zr} ({self.vertical_datum}), "
            f"{self.crs.to_string()}>"
        )
