"""What a CityJSON file holds, without building a Scene (for ``cimcity info``
and :func:`cimcity.io.describe`)."""

from __future__ import annotations

from .document import BUILDING_TYPES, PART_TYPES, _load, _vertices


def describe(path) -> dict:
    """Summary of a CityJSON file (for ``cimcity info``).

    Returns
    -------
    dict
        ``format``, ``version``, ``crs`` (referenceSystem or None), ``counts``
        (per CityObject type), ``lods`` (geometry count per LoD),
        ``geometry_types``, ``semantics`` (surface type counts), ``attributes``
        (names on buildings), ``extent`` [minx, miny, minz, maxx, maxy, maxz]
        (computed from the vertices), ``n_vertices``, ``transform``.

    Raises
    ------
    FileFormatError
        Missing, empty, truncated, non-CityJSON or unsupported version.
    """
    cj = _load(path)
    V = _vertices(cj)
    counts: dict = {}
    lods: dict = {}
    gtypes: dict = {}
    sem: dict = {}
    attrs: dict = {}
    for o in cj["CityObjects"].values():
        t = o.get("type", "?")
        counts[t] = counts.get(t, 0) + 1
        for g in o.get("geometry") or []:
            lod = str(g.get("lod"))
            lods[lod] = lods.get(lod, 0) + 1
            gtypes[g.get("type")] = gtypes.get(g.get("type"), 0) + 1
            for s in (g.get("semantics") or {}).get("surfaces", []):
                sem[s.get("type")] = sem.get(s.get("type"), 0) + 1
        if t in BUILDING_TYPES + PART_TYPES:
            for k in o.get("attributes") or {}:
                attrs[k] = attrs.get(k, 0) + 1
    meta = cj.get("metadata") or {}
    return {
        "format": "CityJSON",
        "path": str(path),
        "version": cj["version"],
        "crs": meta.get("referenceSystem"),
        "counts": counts,
        "lods": dict(sorted(lods.items())),
        "geometry_types": gtypes,
        "semantics": sem,
        "attributes": attrs,
        "extent": [*map(float, V.min(0)), *map(float, V.max(0))] if len(V) else None,
        "n_vertices": int(len(V)),
        "transform": cj.get("transform"),
    }
