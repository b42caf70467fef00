"""PLU (plan local d'urbanisme): CNIG ``zone_urba`` zones and cimcity rule packs.

Two readers live here:

* :func:`read_plu` reads the zoning layer of a PLU published to the CNIG
  standard (Géoportail de l'Urbanisme ``zone_urba``): one polygon per zone with
  ``libelle``, ``libelong``, ``typezone``...
* :func:`read_rules` reads a *rule pack*: a TOML file, keyed by zone
  ``libelle``, that turns the written regulation (height, footprint, setbacks,
  gabarit, green shares...) into typed, validated numbers with their article
  references. The format is documented in ``docs/rules.md``; permit and
  vegetation analyses read the :class:`RulePack` it returns.
"""

from __future__ import annotations

import math
import os
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._compat import import_optional
from ..errors import DataQualityWarning, FileFormatError, InputError, RuleError
from .vector import read_vector

__all__ = [
    "KNOWN_RULES",
    "DEFAULT_BIOTOPE_WEIGHTS",
    "STANDARD_TYPEZONES",
    "Rule",
    "ZoneRules",
    "RulePack",
    "read_rules",
    "read_plu",
]

# ---------------------------------------------------------------------------------
# rule pack schema
# ---------------------------------------------------------------------------------

#: default biotope (CBS) weights per surface type, 0..1, used when a pack has no
#: ``[biotope_weights]`` table or leaves a surface type out (Berlin BFF / Paris
#: PLU "coefficient de biotope par surface" conventions).
DEFAULT_BIOTOPE_WEIGHTS = {
    "pleine_terre": 1.0,
    "green_roof_deep": 0.7,
    "green_roof_shallow": 0.5,
    "green_wall": 0.2,
    "permeable_paving": 0.3,
    "impervious": 0.0,
}

_HEIGHT_REFERENCES = ("natural_ground", "ngf")

# parameter kinds: how a value is checked
#   height   finite float >= 0 [m]
#   length   finite float >= 0 [m]
#   ratio    finite float in [0, 1]
#   nonneg   finite float >= 0 (a ratio that may exceed 1, a factor)
#   positive finite float > 0
#   finite   any finite float (absolute altitude)
#   count    integer >= 0
#   bool     true / false
#   ref      one of _HEIGHT_REFERENCES
_P = tuple  # (kind, required, default)

#: rule name -> (allowed units (first = default), {parameter: (kind, required, default)})
_SPECS: dict[str, tuple[tuple[str, ...], dict[str, _P]]] = {
    "max_height": (
        ("m",),
        {
            "value": ("height", True, None),
            "reference": ("ref", False, "natural_ground"),
        },
    ),
    "max_eave_height": (
        ("m",),
        {
            "value": ("height", True, None),
            "reference": ("ref", False, "natural_ground"),
        },
    ),
    "max_altitude": (("m NGF", "m"), {"value": ("finite", True, None)}),
    "max_footprint_ratio": (("ratio",), {"value": ("ratio", True, None)}),
    "street_setback": (
        ("m",),
        {
            "alignment": ("bool", True, None),
            "tolerance": ("length", False, 0.5),
            "min": ("length", False, 0.0),
        },
    ),
    "side_setback": (
        ("m",),
        {
            "k": ("nonneg", True, None),
            "d_min": ("length", True, None),
            "allow_on_limit": ("bool", False, False),
        },
    ),
    "rear_setback": (
        ("m",),
        {
            "k": ("nonneg", True, None),
            "d_min": ("length", True, None),
            "allow_on_limit": ("bool", False, False),
        },
    ),
    "envelope": (
        ("m",),
        {
            "c": ("length", True, None),
            "slope": ("positive", True, None),
            "ceiling": ("height", False, None),
        },
    ),
    "min_open_space_share": (("ratio",), {"value": ("ratio", True, None)}),
    "min_pleine_terre_share": (("ratio",), {"value": ("ratio", True, None)}),
    "min_green_share": (("ratio",), {"value": ("ratio", True, None)}),
    "min_biotope_coefficient": (("ratio",), {"value": ("ratio", True, None)}),
    "max_storeys": (("storeys",), {"value": ("count", True, None)}),
    "max_floor_area_ratio": (("ratio",), {"value": ("nonneg", True, None)}),
}

#: the rule names a pack may use, in documentation order
KNOWN_RULES = tuple(_SPECS)

_RULE_COMMON = ("article", "unit", "description")
_ZONE_META = ("description", "libelong", "typezone")
_TOP_LEVEL = ("pack", "biotope_weights", "zones")


@dataclass(frozen=True)
class Rule:
    """One typed PLU rule of a zone.

    Parameters
    ----------
    name : str
        One of :data:`KNOWN_RULES` (``"max_height"``, ``"side_setback"``...).
    article : str
        Article of the written regulation it comes from (``"UG.10.1"``).
    unit : str
        ``"m"``, ``"m NGF"``, ``"ratio"`` or ``"storeys"``.
    params : dict
        Validated parameters with defaults filled in: ``value`` for single-value
        rules; ``k``, ``d_min``, ``allow_on_limit`` for setbacks; ``alignment``,
        ``tolerance``, ``min`` for the street setback; ``c``, ``slope``,
        ``ceiling`` for the envelope; ``reference`` for heights.
    description : str or None
        Free text from the pack.
    zone : str or None
        Libellé of the zone holding the rule.
    """

    name: str
    article: str
    unit: str
    params: dict
    description: str | None = None
    zone: str | None = None

    @property
    def value(self):
        """``params["value"]`` (None for rules without a single value)."""
        return self.params.get("value")

    def get(self, key, default=None):
        """A parameter by name (``rule.get("d_min")``)."""
        return self.params.get(key, default)

    def __getitem__(self, key):
        return self.params[key]

    def __repr__(self) -> str:
        p = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"Rule({self.name!r}, {p}, unit={self.unit!r}, article={self.article!r})"


@dataclass
class ZoneRules:
    """The rules of one PLU zone, keyed by rule name.

    Parameters
    ----------
    libelle : str
        Zone libellé (the ``libelle`` of ``zone_urba``), e.g. ``"UG"``.
    description : str or None
    rules : dict of str -> Rule
    biotope_weights : dict of str -> float
        Zone-specific overrides of the pack's biotope weights (0..1).
    meta : dict
        Other zone metadata from the pack (``libelong``, ``typezone``).
    """

    libelle: str
    description: str | None = None
    rules: dict = field(default_factory=dict)
    biotope_weights: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def get(self, name: str) -> Rule | None:
        """The rule called ``name`` or None when the zone does not regulate it."""
        return self.rules.get(name)

    def __contains__(self, name) -> bool:
        return name in self.rules

    def __iter__(self):
        return iter(self.rules.values())

    def __len__(self) -> int:
        return len(self.rules)

    def __repr__(self) -> str:
        return f"<ZoneRules {self.libelle!r}: {', '.join(self.rules) or 'no rules'}>"


@dataclass
class RulePack:
    """A PLU rule pack: typed rules per zone libellé (see ``docs/rules.md``).

    Parameters
    ----------
    name : str
    zones : dict of str -> ZoneRules
        Keyed by zone ``libelle``.
    biotope_weights : dict of str -> float
        Default biotope weights per surface type (0..1), defaults of
        :data:`DEFAULT_BIOTOPE_WEIGHTS` completed by the pack's table.
    meta : dict
        The ``[pack]`` table (``authority``, ``version``, ``vertical_datum``...).
    source : str or None
        File the pack was read from.
    """

    name: str
    zones: dict = field(default_factory=dict)
    biotope_weights: dict = field(default_factory=lambda: dict(DEFAULT_BIOTOPE_WEIGHTS))
    meta: dict = field(default_factory=dict)
    source: str | None = None

    def for_zone(self, libelle) -> ZoneRules | None:
        """Rules of the zone ``libelle`` (exact match, then ignoring surrounding
        blanks), or None when the pack does not cover it."""
        if libelle is None:
            return None
        z = self.zones.get(libelle)
        if z is None and isinstance(libelle, str):
            z = self.zones.get(libelle.strip())
        return z

    def weights(self, libelle=None) -> dict:
        """Biotope weights for a zone: pack defaults updated by the zone's
        overrides (the pack defaults when ``libelle`` is None or unknown)."""
        out = dict(self.biotope_weights)
        z = self.for_zone(libelle)
        if z is not None:
            out.update(z.biotope_weights)
        return out

    def __contains__(self, libelle) -> bool:
        return self.for_zone(libelle) is not None

    def __iter__(self):
        return iter(self.zones.values())

    def __len__(self) -> int:
        return len(self.zones)

    def to_frame(self):
        """One row per (zone, rule): ``zone, rule, article, unit, value, params``.

        Returns
        -------
        pandas.DataFrame
        """
        import pandas as pd

        rows = [
            {
                "zone": z.libelle,
                "rule": r.name,
                "article": r.article,
                "unit": r.unit,
                "value": r.value,
                "params": {k: v for k, v in r.params.items() if k != "value"},
            }
            for z in self.zones.values()
            for r in z.rules.values()
        ]
        return pd.DataFrame(
            rows, columns=["zone", "rule", "article", "unit", "value", "params"]
        )

    def to_dict(self) -> dict:
        """The pack as the nested dict of its TOML form (round-trips through
        :meth:`from_dict`)."""
        zones = {}
        for z in self.zones.values():
            d = {}
            if z.description is not None:
                d["description"] = z.description
            d.update(z.meta)
            for r in z.rules.values():
                rd = {k: v for k, v in r.params.items() if v is not None}
                rd.update(unit=r.unit, article=r.article)
                if r.description is not None:
                    rd["description"] = r.description
                d[r.name] = rd
            if z.biotope_weights:
                d["biotope_weights"] = dict(z.biotope_weights)
            zones[z.libelle] = d
        return {
            "pack": {"name": self.name, **self.meta},
            "biotope_weights": dict(self.biotope_weights),
            "zones": zones,
        }

    @classmethod
    def from_dict(cls, data: dict, source=None) -> RulePack:
        """Build and validate a pack from the nested dict of its TOML form.

        Raises
        ------
        RuleError
            Unknown rule or key, missing parameter, wrong type or value out of
            range; the message names the zone, the rule and the bad value.
        """
        return _parse_pack(data, source)

    def __repr__(self) -> str:
        n = sum(len(z) for z in self.zones.values())
        return (
            f"<RulePack {self.name!r}: {len(self.zones)} zones "
            f"({', '.join(self.zones)}), {n} rules>"
        )


def _where(source, zone=None, rule=None) -> str:
    s = f"rule pack {source}" if source else "rule pack"
    if zone is not None:
        s += f", zone {zone!r}"
    if rule is not None:
        s += f", rule {rule!r}"
    return s


def _is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check_param(kind, v, where, key):
    """Validate one parameter value of kind ``kind``; return it normalised."""
    if kind == "bool":
        if not isinstance(v, bool):
            raise RuleError(f"{where}: {key} = {v!r} must be true or false")
        return v
    if kind == "ref":
        if v not in _HEIGHT_REFERENCES:
            raise RuleError(
                f"{where}: {key} = {v!r} is not a height reference; expected one of "
                f"{', '.join(map(repr, _HEIGHT_REFERENCES))}"
            )
        return v
    if not _is_number(v):
        raise RuleError(f"{where}: {key} = {v!r} ({type(v).__name__}) must be a number")
    if not math.isfinite(v):
        raise RuleError(f"{where}: {key} = {v!r} must be finite")
    if kind == "count":
        if float(v) != int(v) or v < 0:
            raise RuleError(f"{where}: {key} = {v!r} must be a whole number >= 0")
        return int(v)
    v = float(v)
    if kind in ("height", "length", "nonneg") and v < 0:
        what = {"height": "a height", "length": "a distance", "nonneg": "it"}[kind]
        raise RuleError(f"{where}: {key} = {v!r} is negative; {what} must be >= 0")
    if kind == "positive" and v <= 0:
        raise RuleError(f"{where}: {key} = {v!r} must be > 0")
    if kind == "ratio" and not 0.0 <= v <= 1.0:
        raise RuleError(
            f"{where}: {key} = {v!r} is outside [0, 1]; give ratios as fractions "
            f"(0.35, not 35)"
        )
    return v


def _parse_weights(table, where) -> dict:
    if not isinstance(table, dict):
        raise RuleError(f"{where}: biotope_weights must be a table, got {table!r}")
    out = {}
    for k, v in table.items():
        out[str(k)] = _check_param("ratio", v, f"{where}, biotope weight {k!r}", k)
    return out


def _parse_rule(name, table, zone, source) -> Rule:
    where = _where(source, zone, name)
    if name not in _SPECS:
        raise RuleError(
            f"{_where(source, zone)}: unknown rule {name!r}; known rules are "
            f"{', '.join(KNOWN_RULES)}"
        )
    if not isinstance(table, dict):
        raise RuleError(
            f"{where}: expected a table like [zones.{zone}.{name}] with its "
            f"parameters and article, got {table!r}"
        )
    units, spec = _SPECS[name]
    allowed = (*spec, *_RULE_COMMON)
    unknown = [k for k in table if k not in allowed]
    if unknown:
        raise RuleError(
            f"{where}: unknown parameter(s) {', '.join(map(repr, unknown))}; "
            f"{name} accepts {', '.join(allowed)}"
        )
    article = table.get("article")
    if article is None:
        raise RuleError(
            f"{where}: missing required parameter 'article' (the regulation article "
            f'the rule comes from, e.g. article = "{zone}.10")'
        )
    if not isinstance(article, str) or not article.strip():
        raise RuleError(f"{where}: article = {article!r} must be a non-empty string")
    unit = table.get("unit", units[0])
    if unit not in units:
        raise RuleError(
            f"{where}: unit {unit!r} is not supported; {name} is expressed in "
            f"{' or '.join(map(repr, units))}"
        )
    desc = table.get("description")
    if desc is not None and not isinstance(desc, str):
        raise RuleError(f"{where}: description = {desc!r} must be a string")
    params = {}
    for key, (kind, required, default) in spec.items():
        if key not in table:
            if required:
                raise RuleError(f"{where}: missing required parameter {key!r}")
            params[key] = default
            continue
        params[key] = _check_param(kind, table[key], where, key)
    return Rule(name, article.strip(), unit, params, desc, zone)


def _parse_zone(libelle, table, source) -> ZoneRules:
    where = _where(source, libelle)
    if not isinstance(table, dict):
        raise RuleError(f"{where}: expected a table [zones.{libelle}], got {table!r}")
    zone = ZoneRules(str(libelle))
    for key, v in table.items():
        if key in _ZONE_META:
            if not isinstance(v, str):
                raise RuleError(f"{where}: {key} = {v!r} must be a string")
            if key == "description":
                zone.description = v
            else:
                zone.meta[key] = v
        elif key == "biotope_weights":
            zone.biotope_weights = _parse_weights(v, where)
        elif isinstance(v, dict) or key in _SPECS:
            zone.rules[key] = _parse_rule(key, v, zone.libelle, source)
        else:
            raise RuleError(
                f"{where}: unknown key {key!r} = {v!r}; a zone holds "
                f"{', '.join(_ZONE_META)}, biotope_weights and rule tables "
                f"({', '.join(KNOWN_RULES)})"
            )
    h, e = zone.get("max_height"), zone.get("max_eave_height")
    if h is not None and e is not None and e.value > h.value:
        raise RuleError(
            f"{_where(source, libelle, 'max_eave_height')}: value {e.value!r} m is "
            f"above max_height {h.value!r} m; the eaves cannot be higher than the "
            f"top of the building"
        )
    return zone


def _parse_pack(data, source=None) -> RulePack:
    where = _where(source)
    if not isinstance(data, dict):
        raise RuleError(f"{where}: expected a table at the top level, got {data!r}")
    unknown = [k for k in data if k not in _TOP_LEVEL]
    if unknown:
        raise RuleError(
            f"{where}: unknown top-level key(s) {', '.join(map(repr, unknown))}; "
            f"expected {', '.join(_TOP_LEVEL)}"
        )
    meta = dict(data.get("pack", {}) or {})
    if not isinstance(meta, dict):
        raise RuleError(f"{where}: [pack] must be a table, got {meta!r}")
    default_name = Path(str(source)).stem if source else "rule pack"
    name = meta.pop("name", default_name)
    if not isinstance(name, str):
        raise RuleError(f"{where}: pack name = {name!r} must be a string")
    weights = dict(DEFAULT_BIOTOPE_WEIGHTS)
    weights.update(_parse_weights(data.get("biotope_weights", {}), where))
    zones_t = data.get("zones")
    if not zones_t:
        raise RuleError(
            f"{where}: no zones; add at least one [zones.<libelle>] table "
            f"(e.g. [zones.UG.max_height])"
        )
    if not isinstance(zones_t, dict):
        raise RuleError(f"{where}: zones must be a table, got {zones_t!r}")
    zones = {str(k): _parse_zone(k, v, source) for k, v in zones_t.items()}
    return RulePack(name, zones, weights, meta, None if source is None else str(source))


def _load_toml(text: str):
    try:
        import tomllib
    except ImportError:  # Python 3.10

        tomllib = import_optional("tomli")
    return tomllib.loads(text), tomllib.TOMLDecodeError


def read_rules(path) -> RulePack:
    """Read a PLU rule pack (TOML keyed by zone ``libelle``).

    The format is described in ``docs/rules.md``: a ``[pack]`` table (name,
    authority, version, vertical datum), default ``[biotope_weights]`` and one
    ``[zones.<libelle>.<rule>]`` table per rule with its parameters, ``unit``
    and ``article``.

    Parameters
    ----------
    path : str, os.PathLike, dict or RulePack
        The TOML file; a dict of the same structure or a pack is accepted too.

    Returns
    -------
    RulePack
        ``pack.zones[libelle]`` → :class:`ZoneRules`; ``pack.for_zone(l)``;
        ``pack.weights(l)`` (biotope weights, defaults merged with the zone's
        overrides).

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    FileFormatError
        Empty file, not UTF-8 or not valid TOML (the message gives the line).
    RuleError
        Unknown rule, missing parameter, wrong type or out-of-range value; the
        message names the zone, the rule and the bad value.

    Examples
    --------
    >>> pack = cc.read_rules("data/samples/paris/plu_rules.toml")  # doctest: +SKIP
    >>> pack.for_zone("UG").get("max_height").value  # doctest: +SKIP
    37.0
    """
    if isinstance(path, RulePack):
        return path
    if isinstance(path, dict):
        return _parse_pack(path, None)
    if not isinstance(path, str | os.PathLike):
        raise InputError(
            f"read_rules expects a path to a TOML rule pack, got {type(path).__name__}"
        )
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(2, f"rule pack not found: {p}", str(p))
    raw = p.read_bytes()
    if not raw.strip():
        raise FileFormatError(f"rule pack {p} is empty; see docs/rules.md")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileFormatError(
            f"rule pack {p} is not UTF-8 (bad byte {raw[exc.start]:#04x} at offset "
            f"{exc.start}); TOML files must be saved as UTF-8"
        ) from exc
    try:
        data, _ = _load_toml(text)
    except Exception as exc:
        if type(exc).__name__ != "TOMLDecodeError":
            raise
        raise FileFormatError(f"rule pack {p} is not valid TOML: {exc}") from exc
    return _parse_pack(data, p)


# ---------------------------------------------------------------------------------
# CNIG zone_urba
# ---------------------------------------------------------------------------------

#: TYPEZONE values of the CNIG PLU standard (zone_urba)
STANDARD_TYPEZONES = ("U", "AUc", "AUs", "A", "N")


def _zone_family(values) -> np.ndarray:
    """U / AU / A / N family of typezone strings (None when unrecognised):
    ``Ux`` → U, ``AUc`` → AU, ``Ah`` → A, ``Nh`` → N (case-insensitive)."""
    out = np.full(len(values), None, dtype=object)
    for i, v in enumerate(values):
        if not isinstance(v, str):
            continue
        s = v.strip().upper()
        if s.startswith("AU"):
            out[i] = "AU"
        elif s[:1] in ("U", "A", "N"):
            out[i] = s[:1]
    return out


def read_plu(path, layer=None, bbox=None, crs="EPSG:2154"):
    """Read a CNIG ``zone_urba`` layer (PLU zoning) into the scene CRS.

    Column names are matched case-insensitively and returned in lower case
    (``libelle``, ``libelong``, ``typezone``, ``idurba``, ``destdomi``...).
    Every row and attribute is kept: ``typezone`` values outside the CNIG
    standard (U, AUc, AUs, A, N), such as ``AU``, ``Ux`` or ``Nh``, stay as they
    are and are reported in a :class:`~cimcity.errors.DataQualityWarning` naming
    them with their counts; strings already broken upstream (U+FFFD
    replacement characters) survive and are counted in a warning too.

    Parameters
    ----------
    path : str or os.PathLike
        GeoPackage, shapefile, GeoJSON, GeoParquet...
    layer : str, optional
        Layer name in multi-layer files (default: the only layer, or the one
        named like ``zone_urba``).
    bbox : (minx, miny, maxx, maxy), optional
        Read only zones intersecting this box, in ``crs`` [m].
    crs : str or pyproj.CRS
        Target projected CRS (default Lambert-93).

    Returns
    -------
    geopandas.GeoDataFrame
        Polygons with the lower-case attribute columns plus ``zone_family``
        (U / AU / A / N derived from ``typezone``, None when unrecognised) and
        ``typezone_standard`` (bool).

    Raises
    ------
    InputError
        When there is no ``libelle`` column.
    FileFormatError, CRSError, GeometryError
        See :func:`cimcity.io.vector.read_vector`.
    """

    gdf = read_vector(
        path,
        layer=layer,
        bbox=bbox,
        crs=crs,
        what="PLU zones",
        polygons=True,
        prefer_layers=("zone_urba", "zoning", "zonage"),
    )
    geom = gdf.geometry.name
    gdf = gdf.rename(columns={c: c.lower() for c in gdf.columns if c != geom})
    if "libelle" not in gdf.columns:
        raise InputError(
            f"PLU zones {path}: no 'libelle' column (columns: "
            f"{', '.join(c for c in gdf.columns if c != geom)}); a CNIG zone_urba "
            f"layer names each zone in LIBELLE"
        )
    if "typezone" in gdf.columns:
        tz = gdf["typezone"].to_numpy(dtype=object)
        gdf["zone_family"] = _zone_family(tz)
        std = np.isin(tz, STANDARD_TYPEZONES)
        gdf["typezone_standard"] = std
        odd = Counter(str(v) for v in tz[~std])
        if odd:
            listing = ", ".join(f"{k!r} ({n})" for k, n in odd.most_common())
            warnings.warn(
                f"PLU zones {path}: {int((~std).sum())} of {len(gdf)} zones have a "
                f"typezone outside the CNIG standard {'/'.join(STANDARD_TYPEZONES)}: "
                f"{listing}; kept as is (zone_family gives U/AU/A/N)",
                DataQualityWarning,
                stacklevel=2,
            )
    return gdf
