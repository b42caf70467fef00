"""The one sensor type of the sun analyses: :class:`Sensors`.

Points with normals and the area each stands for, on roofs, walls, open ground
or wherever the user put them; how they are laid is
:mod:`cimcity.sun.sensors` (which re-exports this class).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError

__all__ = ["Sensors"]


@dataclass(eq=False, repr=False)
class Sensors:
    """Sensor points, with what each stands for.

    Attributes
    ----------
    points : (n, 3) float64
        World coordinates in the scene CRS [m], already offset off the surface.
    normals : (n, 3) float64
        Unit outward normals.
    areas : (n,) float64
        Surface area each sensor stands for [m²].
    face : (n,) int64
        Mesh face the sensor lies on (-1 for ground-grid and user points).
    building_id : (n,) object
        Building id (None on open ground and user points).
    kind : (n,) object
        ``"roof"``, ``"wall"``, ``"ground"`` or ``"point"`` (user points).
    cell : (n, 2) int64
        (row, col) of ground-grid sensors in :attr:`grid`; -1 off the grid.
    grid : dict or None
        The ground raster: ``shape`` (rows, cols) and ``transform`` (affine).
    lattice : (n, 3) int64
        (patch, column, row) of sensors laid on a planar patch's grid by
        :func:`cimcity.sun.sensors.sample` (neighbours on one plane, used by
        :mod:`cimcity.sun.reuse` to trace a plane coarse first); -1 off any
        lattice (user points, ground rasters).
    crs : pyproj.CRS or None
        CRS of ``points`` when known (set by :func:`cimcity.sun.sensors.resolve`
        on a Scene).
    """

    points: np.ndarray
    normals: np.ndarray
    areas: np.ndarray
    face: np.ndarray
    building_id: np.ndarray
    kind: np.ndarray
    cell: np.ndarray | None = None
    grid: dict | None = None
    crs: object = field(default=None, compare=False)
    lattice: np.ndarray | None = None

    def __post_init__(self):
        if self.cell is None:
            self.cell = np.full((len(self.points), 2), -1, np.int64)
        if self.lattice is None:
            self.lattice = np.full((len(self.points), 3), -1, np.int64)

    def __repr__(self) -> str:
        counts = Counter(str(k) for k in self.kind)
        kinds = ", ".join(f"{k} {counts[k]:,}" for k in sorted(counts))
        crs = getattr(self.crs, "to_string", lambda: self.crs)()
        where = f", {crs}" if crs else ""
        return f"<Sensors: {len(self):,} points ({kinds or 'none'}){where}>"

    def __len__(self) -> int:
        return len(self.points)

    @classmethod
    def empty(cls) -> Sensors:
        """No sensor."""
        return cls(
            np.zeros((0, 3)),
            np.zeros((0, 3)),
            np.zeros(0),
            np.zeros(0, np.int64),
            np.zeros(0, object),
            np.zeros(0, object),
        )

    def subset(self, mask) -> Sensors:
        """The sensors selected by a boolean mask or an index array."""
        mask = np.asarray(mask)
        return Sensors(
            self.points[mask],
            self.normals[mask],
            self.areas[mask],
            self.face[mask],
            self.building_id[mask],
            self.kind[mask],
            self.cell[mask],
            self.grid,
            self.crs,
            self.lattice[mask],
        )

    @staticmethod
    def concat(parts) -> Sensors:
        """One set from several (in order); keeps the first ground raster."""
        parts = [p for p in parts if p is not None]
        if not parts:
            return Sensors.empty()
        grid = next((p.grid for p in parts if p.grid is not None), None)
        crs = next((p.crs for p in parts if p.crs is not None), None)
        lattice, base = [], 0
        for p in parts:  # patch numbers stay distinct across parts
            lat = np.asarray(p.lattice, np.int64).reshape(-1, 3).copy()
            on = lat[:, 0] >= 0
            lat[on, 0] += base
            base = int(lat[on, 0].max()) + 1 if on.any() else base
            lattice.append(lat)
        return Sensors(
            np.concatenate([p.points for p in parts]).reshape(-1, 3),
            np.concatenate([p.normals for p in parts]).reshape(-1, 3),
            np.concatenate([p.areas for p in parts]),
            np.concatenate([p.face for p in parts]).astype(np.int64),
            np.concatenate([p.building_id for p in parts]).astype(object),
            np.concatenate([p.kind for p in parts]).astype(object),
            np.concatenate([p.cell for p in parts]).reshape(-1, 2),
            grid,
            crs,
            np.concatenate(lattice).reshape(-1, 3),
        )

    def to_frame(self, crs=None):
        """Sensors as a GeoDataFrame of 3D points (in ``crs``, default
        :attr:`crs`).

        Columns ``x``, ``y``, ``z`` [m], ``nx``, ``ny``, ``nz``, ``area``
        [m²], ``kind``, ``building_id``, ``face``.
        """
        import geopandas as gpd

        p = self.points
        return gpd.GeoDataFrame(
            {
                "x": p[:, 0],
                "y": p[:, 1],
                "z": p[:, 2],
                "nx": self.normals[:, 0],
                "ny": self.normals[:, 1],
                "nz": self.normals[:, 2],
                "area": self.areas,
                "kind": self.kind,
                "building_id": self.building_id,
                "face": self.face,
            },
            geometry=gpd.points_from_xy(p[:, 0], p[:, 1], p[:, 2]),
            crs=crs if crs is not None else self.crs,
        )

    @classmethod
    def from_points(cls, points, normals, areas=None, kind="point", building_id=None):
        """Sensors at user-given points with normals (normalised here).

        Parameters
        ----------
        points : (n, 3) float
            World coordinates [m].
        normals : (n, 3) float
            Non-zero normals.
        areas : (n,) float, optional
            Area each point stands for [m²] (default 1).
        kind : str
            Kind of every point.
        building_id : optional
            Building of every point.
        """
        p = np.asarray(points, dtype=np.float64)
        n = np.asarray(normals, dtype=np.float64)
        if p.ndim != 2 or p.shape[1] != 3:
            raise InputError(f"points must have shape (n, 3); got {p.shape}")
        if n.shape != p.shape:
            raise InputError(
                f"normals must have the same shape as points {p.shape}; got {n.shape}"
            )
        if not np.all(np.isfinite(p)) or not np.all(np.isfinite(n)):
            raise InputError("points and normals must be finite (found NaN or inf)")
        length = np.linalg.norm(n, axis=1)
        if np.any(length < 1e-12):
            raise InputError(
                f"normals must be non-zero; {int(np.sum(length < 1e-12))} are zero"
            )
        k = len(p)
        return cls(
            p,
            n / length[:, None],
            np.ones(k) if areas is None else np.asarray(areas, float),
            np.full(k, -1, dtype=np.int64),
            np.full(k, building_id, dtype=object),
            np.full(k, kind, dtype=object),
        )
