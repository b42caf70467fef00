"""Languages of everything a person reads: labels, titles, legends, reports, pages.

cimcity speaks French and English. Every view (maps, 3D renders, the interactive
page, the permit report) takes ``lang=`` ("fr" or "en"); ``None`` means the
package-wide default, set by :func:`set_language` or the ``CIMCITY_LANG``
environment variable, and French otherwise (the library's first users are French
planning departments).

The terms of the field are kept as planners say them: *emprise au sol*,
*prospect*, *pleine terre*, *gabarit*, *heures d'ensoleillement*.

Written by hand: the catalogue is a few hundred short strings with units, which
gettext's compiled catalogues and build step would only make harder to keep next
to the code that uses them.

Examples
--------
>>> from cimcity import i18n
>>> i18n.term("sun_hours", lang="fr")
"Heures d'ensoleillement"
>>> i18n.label("sun_hours", lang="en")
'Sun hours (h)'
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from .errors import CimcityError

__all__ = [
    "LANGUAGES",
    "get_language",
    "set_language",
    "resolve",
    "term",
    "label",
    "unit",
    "add_terms",
    "format_date",
    "format_period",
]

#: The languages cimcity writes.
LANGUAGES = ("fr", "en")

_default: str | None = None

# key -> (English, French).  Keep the field's French terms.  Helpers of each view
# add their own keys with :func:`add_terms` at module top (one catalogue in the
# end), or in the blocks below.
_TERMS: dict[str, tuple[str, str]] = {
    # --- places, layers, states
    "buildings": ("Buildings", "Bâtiments"),
    "building": ("Building", "Bâtiment"),
    "parcels": ("Parcels", "Parcelles"),
    "parcel": ("Parcel", "Parcelle"),
    "roads": ("Roads", "Voirie"),
    "water": ("Water", "Eau"),
    "vegetation": ("Vegetation", "Végétation"),
    "trees": ("Trees", "Arbres"),
    "terrain": ("Terrain", "Terrain"),
    "ground": ("Ground", "Sol"),
    "project": ("Project", "Projet"),
    "neighbours": ("Neighbours", "Voisins"),
    "study_area": ("Study area", "Zone d'étude"),
    "context": ("Context (not analysed)", "Contexte (non analysé)"),
    "today": ("Today", "Aujourd'hui"),
    "with_project": ("With project", "Avec le projet"),
    "before": ("Before", "Avant"),
    "after": ("After", "Après"),
    "change": ("Change", "Variation"),
    "unknown": ("Unknown", "Inconnu"),
    "no_data": ("No data", "Pas de donnée"),
    "north": ("N", "N"),
    "grid_north": ("Grid north", "Nord du quadrillage"),
    "convergence": (
        "true north is {angle:.2f}° from grid north (Lambert-93 convergence)",
        "le nord géographique est à {angle:.2f}° du nord du quadrillage "
        "(convergence Lambert-93)",
    ),
    "easting_km": ("Easting (km)", "X (km)"),
    "northing_km": ("Northing (km)", "Y (km)"),
    "source": ("Source", "Source"),
    # --- quantities (label() appends the unit)
    "height": ("Height", "Hauteur"),
    "altitude": ("Altitude", "Altitude"),
    "storeys": ("Storeys", "Niveaux"),
    "footprint": ("Footprint", "Emprise au sol"),
    "setback": ("Setback (prospect)", "Prospect"),
    "open_soil": ("Open soil (pleine terre)", "Pleine terre"),
    "envelope": ("Building envelope (gabarit)", "Gabarit"),
    "sun_hours": ("Sun hours", "Heures d'ensoleillement"),
    "sun_hours_change": ("Change in sun hours", "Variation des heures d'ensoleillement"),
    "shadow": ("Shadow", "Ombre"),
    "shadows": ("Shadows", "Ombres"),
    "irradiation": ("Irradiation", "Irradiation"),
    "annual_irradiation": ("Annual irradiation", "Irradiation annuelle"),
    "irradiance": ("Irradiance", "Éclairement"),
    "sky_view_factor": ("Sky view factor", "Facteur de vue du ciel"),
    "water_depth": ("Water depth", "Hauteur d'eau"),
    "water_level": ("Water level", "Cote de l'eau"),
    "flooded_storeys": ("Flooded storeys", "Niveaux inondés"),
    "flood_extent": ("Flood extent", "Zone inondée"),
    "green_share": ("Green share", "Part végétalisée"),
    "biotope_coefficient": ("Biotope coefficient", "Coefficient de biotope"),
    "tmrt": ("Mean radiant temperature", "Température moyenne radiante"),
    "utci": ("Felt temperature (UTCI)", "Température ressentie (UTCI)"),
    "air_temperature": ("Air temperature", "Température de l'air"),
    "heat_stress": ("Heat stress", "Stress thermique"),
    "hours_above": ("Hours above", "Heures au-dessus de"),
    # --- maps (views: maps and .plot())
    # --- render3d (views: pyvista renders, animations)
    # --- page (views: the interactive 3D page)
    # --- report (permit report)
    # --- heat
}

# key -> unit shown by label(); units are the same in both languages.
_UNITS: dict[str, str] = {
    "height": "m",
    "altitude": "m NGF",
    "footprint": "m²",
    "setback": "m",
    "open_soil": "%",
    "sun_hours": "h",
    "sun_hours_change": "h",
    "irradiation": "kWh/m²",
    "annual_irradiation": "kWh/m²/an|kWh/m²/yr",
    "irradiance": "W/m²",
    "sky_view_factor": "",
    "water_depth": "m",
    "water_level": "m NGF",
    "flooded_storeys": "",
    "green_share": "%",
    "biotope_coefficient": "",
    "tmrt": "°C",
    "utci": "°C",
    "air_temperature": "°C",
}

_MONTHS = {
    "en": (
        "January February March April May June July August September October "
        "November December"
    ).split(),
    "fr": (
        "janvier février mars avril mai juin juillet août septembre octobre "
        "novembre décembre"
    ).split(),
}


def _check(lang: str) -> str:
    code = str(lang).lower().split("-")[0].split("_")[0]
    if code not in LANGUAGES:
        raise CimcityError(
            f"lang={lang!r} is not a language cimcity writes; use one of {LANGUAGES}"
        )
    return code


def get_language() -> str:
    """The package-wide default language.

    Returns
    -------
    str
        "fr" or "en": the value given to :func:`set_language`, else the
        ``CIMCITY_LANG`` environment variable, else "fr".
    """
    if _default is not None:
        return _default
    env = os.environ.get("CIMCITY_LANG")
    return _check(env) if env else "fr"


def set_language(lang: str | None) -> None:
    """Set the package-wide default language of labels, reports and pages.

    Parameters
    ----------
    lang : {"fr", "en"} or None
        The default for every ``lang=None``; ``None`` goes back to
        ``CIMCITY_LANG`` or French.
    """
    global _default
    _default = None if lang is None else _check(lang)


def resolve(lang: str | None = None) -> str:
    """The language to write in: ``lang`` checked, or the default when None.

    Raises
    ------
    CimcityError
        If ``lang`` is not one of :data:`LANGUAGES`.
    """
    return get_language() if lang is None else _check(lang)


def add_terms(terms: Mapping[str, tuple[str, str]], units=None) -> None:
    """Add ``key -> (English, French)`` terms (and ``key -> unit``) to the catalogue.

    A key already present with other text is refused, so two views cannot give
    one key two meanings.
    """
    for key, pair in terms.items():
        if len(pair) != 2:
            raise CimcityError(f"term {key!r} needs (English, French), got {pair!r}")
        old = _TERMS.get(key)
        if old is not None and tuple(old) != tuple(pair):
            raise CimcityError(f"term {key!r} is already {old!r}; pick another key")
        _TERMS[key] = (str(pair[0]), str(pair[1]))
    for key, u in (units or {}).items():
        _UNITS[key] = str(u)


def term(key: str, lang: str | None = None, **values) -> str:
    """The text of ``key`` in ``lang``, formatted with ``values``.

    Parameters
    ----------
    key : str
        A catalogue key ("sun_hours", "footprint", "with_project"…).
    lang : {"fr", "en"} or None
        None: the package default (:func:`get_language`).
    **values
        Fields of the text (``term("convergence", angle=0.3)``).

    Raises
    ------
    KeyError
        For a key not in the catalogue (a typo must not print a raw key).
    """
    en, fr = _TERMS[key]
    text = fr if resolve(lang) == "fr" else en
    return text.format(**values) if values else text


def unit(key: str, lang: str | None = None) -> str:
    """The unit shown with ``key`` ("h", "m", "kWh/m²"…), "" when none."""
    u = _UNITS.get(key, "")
    if "|" in u:
        fr, en = u.split("|")
        return fr if resolve(lang) == "fr" else en
    return u


def label(key: str, lang: str | None = None, unit_text: str | None = None) -> str:
    """``term`` with its unit, as axis labels and legends show it: "Hauteur (m)".

    Parameters
    ----------
    unit_text : str, optional
        Overrides the catalogue's unit ("" for none).
    """
    u = unit(key, lang) if unit_text is None else unit_text
    text = term(key, lang)
    return f"{text} ({u})" if u else text


def _day(day: int, code: str) -> str:
    # French writes the first of the month as an ordinal: "1er juin".
    return "1er" if (code == "fr" and day == 1) else str(day)


def format_date(when, lang: str | None = None, *, time: bool = False) -> str:
    """A date as people write it: "21 décembre 2026", "21 December 2026".

    French writes the first of the month "1er" ("1er juin 2026").

    Parameters
    ----------
    when : datetime-like
        A timestamp (its own time zone is kept).
    time : bool
        Append the clock time ("21 décembre 2026, 13:00").
    """
    import pandas as pd

    ts = pd.Timestamp(when)
    code = resolve(lang)
    month = _MONTHS[code][ts.month - 1]
    text = f"{_day(ts.day, code)} {month} {ts.year}"
    if time:
        text += f", {ts:%H:%M}"
    return text


def format_period(start, end, lang: str | None = None) -> str:
    """A period as people write it, with no word repeated.

    "du 1er au 29 juin 2026" / "1–29 June 2026" within a month,
    "du 1er juin au 31 août 2026" / "1 June – 31 August 2026" within a year,
    both dates in full across years; one date when start and end share a day.
    """
    import pandas as pd

    a, b = pd.Timestamp(start), pd.Timestamp(end)
    code = resolve(lang)
    if a.normalize() == b.normalize():
        return format_date(a, code)
    last = format_date(b, code)
    if a.year == b.year and a.month == b.month:
        if code == "fr":
            return f"du {_day(a.day, code)} au {last}"
        return f"{a.day}\u2013{last}"
    first = format_date(a, code)
    if a.year == b.year:
        first = first.rsplit(" ", 1)[0]
    if code == "fr":
        return f"du {first} au {last}"
    return f"{first} \u2013 {last}"
