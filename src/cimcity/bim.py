"""BimModel: a BIM project (IFC) placed in the scene CRS.

Built by :func:`cimcity.read_ifc`; also constructible by hand (tests, variants).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import GeometryError, InputError


@dataclass(eq=False)
class BimModel:
    """A building project in world coordinates.

    Attributes
    ----------
    id : str
        Project id (IFC project GlobalId or a user label); also its building id
        once swapped into a scene with :meth:`Scene.with_project`.
    mesh : trimesh.Trimesh
        Above-ground building elements, vertices in the scene CRS [m] (float64);
        ``face_element`` maps each face to a row of ``elements``.
    footprint : shapely Polygon / MultiPolygon
        2D projection of all above-ground elements, overhangs included [m].
    base_z, top_z : float
        Lowest and highest altitude of the above-ground elements [m].
    storeys : DataFrame
        One row per storey: ``name``, ``global_id``, ``elevation`` [m, absolute],
        ``height`` [m], ``gross_floor_area`` [m²] (and from quantity sets when
        present).
    elements : DataFrame
        One row per element: ``global_id``, ``ifc_class``, ``storey``, ``name``.
    crs : pyproj.CRS or str or None
        CRS the model was placed in (None when not georeferenced).
    georef : dict
        How the placement was obtained (``method``: map_conversion,
        epset_map_conversion, rigid_operation, site_latlon, user_placement,
        none; parameters; ``approximate`` flag; ``matrix``: 4×4 project metres →
        ``map_crs``; ``warnings``).
    face_element : (m,) int array, optional
        Element row of each mesh face.
    face_kind : (m,) int8 array, optional
        Surface kind code of each face (see :data:`cimcity.mesh.KINDS`).
    """

    id: str
    mesh: object
    footprint: object
    base_z: float
    top_z: float
    storeys: pd.DataFrame = field(default_factory=pd.DataFrame)
    elements: pd.DataFrame = field(default_factory=pd.DataFrame)
    crs: object = None
    georef: dict = field(default_factory=dict)
    name: str | None = None
    schema: str | None = None
    source: str | None = None
    face_element: np.ndarray | None = None
    face_kind: np.ndarray | None = None
    extras: dict = field(default_factory=dict)

    def __post_init__(self):
        # a model without geometry (an IFC with no above-ground element; the
        # reader warns) keeps NaN altitudes and an empty footprint; a model with
        # triangles must be placed consistently
        if not len(getattr(self.mesh, "vertices", ())):
            return
        for name in ("base_z", "top_z"):
            v = getattr(self, name)
            try:
                v = float(v)
            except (TypeError, ValueError) as exc:
                raise InputError(
                    f"BIM project {self.id!r}: {name} must be an altitude [m]; got {v!r}"
                ) from exc
            if not np.isfinite(v):
                raise InputError(
                    f"BIM project {self.id!r}: {name} must be a finite altitude [m]; "
                    f"got {v}"
                )
            setattr(self, name, v)
        if not self.top_z > self.base_z:
            raise InputError(
                f"BIM project {self.id!r}: top_z {self.top_z:g} m is not above base_z "
                f"{self.base_z:g} m; the model has no height"
            )
        fp = self.footprint
        if fp is None or getattr(fp, "is_empty", False) or not getattr(fp, "area", 0.0) > 0:
            raise GeometryError(
                f"BIM project {self.id!r}: the footprint is empty ({fp!r}) although "
                f"the mesh has {len(self.mesh.vertices)} vertices"
            )

    @property
    def height(self) -> float:
        """top_z - base_z [m]."""
        return float(self.top_z - self.base_z)

    @property
    def is_georeferenced(self) -> bool:
        return self.georef.get("method", "none") != "none"

    def model_to_world(self, points) -> np.ndarray:
        """Map project coordinates to the model's CRS.

        Parameters
        ----------
        points : (n, 3) or (3,) float
            Points in the IFC project coordinate system, in metres (project
            length unit already converted).

        Returns
        -------
        (n, 3) float64
            The same points in ``crs`` [m] (unchanged when not georeferenced),
            through ``georef["matrix"]`` (project metres → map CRS) and, when the
            map CRS differs from ``crs``, a horizontal pyproj reprojection.
        """
        p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        mat = self.georef.get("matrix")
        if mat is None:
            return p.copy()
        out = (np.c_[p, np.ones(len(p))] @ np.asarray(mat, float).T)[:, :3]
        src = self.georef.get("map_crs")
        if src is not None and self.crs is not None:
            from pyproj import CRS, Transformer

            a, b = CRS.from_user_input(src), CRS.from_user_input(self.crs)
            if not a.equals(b, ignore_axis_order=True):
                t = Transformer.from_crs(a, b, always_xy=True)
                out[:, 0], out[:, 1] = t.transform(out[:, 0], out[:, 1])
        return out

    def __repr__(self) -> str:
        fp = self.footprint
        return (
            f"<BimModel {self.name or self.id!r} {self.schema or ''} "
            f"{len(self.storeys)} storeys, {len(self.elements)} elements, "
            f"height {_m(self.height, '.2f', 'm')}, footprint "
            f"{_m(None if getattr(fp, 'is_empty', True) else fp.area, '.1f', 'm²')}, "
            f"georef={self.georef.get('method', 'none')}>"
        )


def _m(value, fmt: str, unit: str) -> str:
    """A measure for a repr: formatted with its unit, or "unknown" (None, NaN)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "unknown"
    return "unknown" if v != v else f"{format(v, fmt)} {unit}"
