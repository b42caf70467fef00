"""What a rule check says, in French and English.

A check builds its explanation with :func:`msg` (a catalogue key and its
values); :meth:`CheckContext.add <cimcity.permit.checks.context.CheckContext.add>`
writes the English text in the results table (the table a script reads stays
one language) and keeps both texts in the report's context, so the report is
written in the language asked for at report time (``to_html(lang=...)``).

French numbers take a decimal comma ("12,50 m"); names of the field are kept
as instructors write them (*emprise au sol*, *prospect*, *pleine terre*,
*gabarit-enveloppe*, *limite séparative*, *alignement*, *égout du toit*).

Closed sets of words the checks and the limits carry (facade and limit names,
where a surface comes from) are translated by :func:`phrase`; a text it does
not know (a road name, an error from a reader) is kept as it is.

Written by hand: a few dozen sentences with numbers in them; a gettext
catalogue would only separate them from the checks that fill them.
"""

from __future__ import annotations

import re
import string

from ... import i18n

__all__ = ["RULE_LABELS", "RULE_LABELS_FR", "Message", "msg", "phrase", "rule_label", "text", "number"]

_P = "pm_"  # prefix of this module's catalogue keys

#: key -> (English, French); English texts are those the table has always held
MESSAGES = {
    # -- locate
    "georef_none": (
        "The model carries no usable georeference ({why}) and no placement was "
        "given, so its position, heights above ground and distances are unknown; "
        "give placement=(x, y, z, rotation_deg).",
        "La maquette ne porte aucun géoréférencement utilisable ({why}) et aucun "
        "positionnement n'a été donné : sa position, ses hauteurs au-dessus du sol "
        "et ses distances sont inconnues ; donner placement=(x, y, z, rotation_deg).",
    ),
    "georef_default_why": (
        "no IfcMapConversion, no IfcSite latitude/longitude",
        "ni IfcMapConversion, ni latitude/longitude d'IfcSite",
    ),
    "georef_approx": (
        "The placement comes from {method} and is approximate: distances to the "
        "limits may be off by metres; ask for a surveyed placement (IfcMapConversion).",
        "Le positionnement vient de {method} et n'est qu'approché : les distances "
        "aux limites peuvent être fausses de plusieurs mètres ; demander un "
        "positionnement géomètre (IfcMapConversion).",
    ),
    "zone_unplaced": (
        "Zone unknown: the project cannot be located without a georeference or the "
        "parcel ids (parcels=...).",
        "Zone inconnue : le projet ne peut être localisé sans géoréférencement ni "
        "identifiants de parcelles (parcels=...).",
    ),
    "land_none": (
        "The placed project (centroid x={x:,.1f}, y={y:,.1f}) stands on no parcel "
        "of the scene{far}: check the placement or give parcels=[...].",
        "Le projet positionné (centre x={x:,.1f}, y={y:,.1f}) ne repose sur aucune "
        "parcelle de la scène{far} : vérifier le positionnement ou donner "
        "parcels=[...].",
    ),
    "land_nearest": (
        "; the nearest parcel is {d:,.0f} m away",
        " ; la parcelle la plus proche est à {d:,.0f} m",
    ),
    "zone_none": (
        "The scene has no PLU zones (zone_urba with a libelle).",
        "La scène n'a pas de zones du PLU (zone_urba avec un libellé).",
    ),
    "zone_outside": (
        "The land lies outside every PLU zone of the scene.",
        "Le terrain est hors de toutes les zones du PLU de la scène.",
    ),
    "rules_none": (
        "No rule pack: give rules=... or add_zones(..., rules=...).",
        "Pas de règlement : donner rules=... ou add_zones(..., rules=...).",
    ),
    "rules_zone": (
        "Zone {zone!r} has no rules in pack {pack!r} (it covers {zones}).",
        "La zone {zone!r} n'a pas de règles dans le règlement {pack!r} (il couvre "
        "{zones}).",
    ),
    "no_zone": ("no zone", "aucune zone"),
    "zone_multi": (
        "The project also stands in zone(s) {zones}; it was checked against the "
        "rules of {zone} only.",
        "Le projet est aussi en zone(s) {zones} ; il n'a été vérifié qu'au regard "
        "des règles de la zone {zone}.",
    ),
    "unplaced": (
        "The model is not georeferenced and no placement was given: its position, "
        "heights above ground and distances are unknown.",
        "La maquette n'est pas géoréférencée et aucun positionnement n'a été donné : "
        "sa position, ses hauteurs au-dessus du sol et ses distances sont inconnues.",
    ),
    # -- heights
    "no_geometry": ("The model has no geometry.", "La maquette n'a pas de géométrie."),
    "height_ngf": (
        "Highest point at {m:.2f} m NGF for a ceiling of {limit:.2f} m NGF.",
        "Point le plus haut à {m:.2f} m NGF pour une cote maximale de {limit:.2f} m NGF.",
    ),
    "height_no_ground": (
        "No terrain model: height measured from the project's base ({base:.2f} m), "
        "not from natural ground; {m:.2f} m against {limit:.2f} m.",
        "Pas de modèle de terrain : hauteur mesurée depuis la base du projet "
        "({base:.2f} m) et non depuis le terrain naturel ; {m:.2f} m pour "
        "{limit:.2f} m autorisés.",
    ),
    "height_over": (
        "The highest point stands {h:.2f} m above the natural ground under it "
        "(top {top:.2f} m NGF, ground {ground:.2f} m NGF); it exceeds the "
        "{limit:.2f} m limit.",
        "Le point le plus haut est à {h:.2f} m au-dessus du terrain naturel à son "
        "aplomb (sommet {top:.2f} m NGF, sol {ground:.2f} m NGF) : il dépasse la "
        "hauteur maximale de {limit:.2f} m.",
    ),
    "height_within": (
        "The highest point stands {h:.2f} m above the natural ground under it "
        "(top {top:.2f} m NGF, ground {ground:.2f} m NGF); it is within the "
        "{limit:.2f} m limit.",
        "Le point le plus haut est à {h:.2f} m au-dessus du terrain naturel à son "
        "aplomb (sommet {top:.2f} m NGF, sol {ground:.2f} m NGF) : il respecte la "
        "hauteur maximale de {limit:.2f} m.",
    ),
    "eave_none": ("No eave found ({how}).", "Aucun égout du toit trouvé ({how})."),
    "eave_ngf": ("Eave ({how}) at {ez:.2f} m NGF.", "Égout du toit ({how}) à {ez:.2f} m NGF."),
    "eave_no_ground": (
        "No terrain model: eave height ({how}) measured from the project's base; "
        "{m:.2f} m against {limit:.2f} m.",
        "Pas de modèle de terrain : hauteur à l'égout ({how}) mesurée depuis la base "
        "du projet ; {m:.2f} m pour {limit:.2f} m autorisés.",
    ),
    "eave_ground": (
        "Eave height ({how}) {h:.2f} m above natural ground on the {facade} for a "
        "limit of {limit:.2f} m.",
        "Hauteur à l'égout ({how}) de {h:.2f} m au-dessus du terrain naturel sur la "
        "{facade}, pour une limite de {limit:.2f} m.",
    ),
    "altitude": (
        "Highest point at {m:.2f} m ({datum}) for a ceiling of {limit:.2f} m.",
        "Point le plus haut à {m:.2f} m ({datum}) pour une cote maximale de "
        "{limit:.2f} m.",
    ),
    # -- footprint
    "footprint_ratio": (
        "Footprint {fa:.1f} m² (overhangs included) on {la:.1f} m² of land: {r:.3f} "
        "for a maximum of {limit:.3f}.",
        "Emprise au sol de {fa:.1f} m² (débords compris) sur un terrain de "
        "{la:.1f} m² : {r:.3f} pour un maximum de {limit:.3f}.",
    ),
    "within_land": (
        "{area:.1f} m² of the footprint lie outside the land of the application "
        "({where}).",
        "{area:.1f} m² de l'emprise sont hors du terrain d'assiette ({where}).",
    ),
    "on_parcels": ("on parcel(s) {ids}", "sur la ou les parcelles {ids}"),
    "on_public": ("on the public domain", "sur le domaine public"),
    # -- setbacks
    "street_none": (
        "No street frontage found on the cadastre (every edge of the land is shared "
        "with another parcel, or no road is near).",
        "Aucune façade sur voie trouvée au cadastre (toutes les limites du terrain "
        "sont partagées avec une autre parcelle, ou aucune voie n'est proche).",
    ),
    "street_align": (
        "The {facade} stands {d:.2f} m from the alignment of the {street}; alignment "
        "is required (tolerance {tol:.2f} m).",
        "La {facade} est à {d:.2f} m de l'alignement de la {street} ; l'implantation "
        "à l'alignement est imposée (tolérance {tol:.2f} m).",
    ),
    "street_min": (
        "The {facade} stands {d:.2f} m back from the {street} for a minimum setback "
        "of {dmin:.2f} m.",
        "La {facade} est en retrait de {d:.2f} m de la {street}, pour un retrait "
        "minimal de {dmin:.2f} m.",
    ),
    "side_none": (
        "No side limit was found on the cadastre around the land (see the site plan).",
        "Aucune limite séparative latérale trouvée au cadastre autour du terrain "
        "(voir le plan de masse).",
    ),
    "rear_none": (
        "No rear limit was found on the cadastre around the land (see the site plan).",
        "Aucune limite de fond de parcelle trouvée au cadastre autour du terrain "
        "(voir le plan de masse).",
    ),
    "crossing": (
        "The {facade} crosses the {limit} by {depth:.2f} m (onto the neighbouring "
        "land).",
        "La {facade} franchit la {limit} de {depth:.2f} m (sur le terrain voisin).",
    ),
    "on_limit_ok": (
        "Built on the {limit} over {length:.1f} m, which the article allows.",
        "Implanté sur la {limit} sur {length:.1f} m, ce que l'article autorise.",
    ),
    "on_limit_ko": (
        "Built on the {limit} ({length:.1f} m), which the article does not allow: a "
        "setback of at least max({k:g}·H, {dmin:.2f} m) is required.",
        "Implanté sur la {limit} ({length:.1f} m), ce que l'article n'autorise pas : "
        "un prospect d'au moins max({k:g}·H ; {dmin:.2f} m) est exigé.",
    ),
    "prospect": (
        "The {facade} at {h:.2f} m above ground stands {dist:.2f} m from the "
        "{limit}; the article requires max({k:g} × {h:.2f}, {dmin:.2f}) = {req:.2f} m.",
        "La {facade}, à {h:.2f} m au-dessus du sol, est à {dist:.2f} m de la "
        "{limit} ; le prospect exigé est max({k:g} × {h:.2f} ; {dmin:.2f}) = "
        "{req:.2f} m.",
    ),
    "prospect_no_ground": (
        " (No terrain model: heights from the project's base.)",
        " (Pas de modèle de terrain : hauteurs depuis la base du projet.)",
    ),
    # -- envelope
    "env_no_street": (
        "No street frontage found: the street envelope cannot be drawn.",
        "Aucune façade sur voie trouvée : le gabarit-enveloppe ne peut être tracé.",
    ),
    "env_no_width": (
        "The street width is unknown (no 'largeur' in the roads layer and no parcel "
        "found across the street).",
        "La largeur de la voie est inconnue (pas de 'largeur' dans la couche des "
        "voies et aucune parcelle trouvée en face).",
    ),
    "env_no_dem": (
        "The DEM does not cover the street in front of the project.",
        "Le MNT ne couvre pas la voie devant le projet.",
    ),
    "env_over": (
        "The building leaves the envelope of the {street} (P = {P:.2f} m, {source}) "
        "by up to {pen:.2f} m on the {facade}, {depth:.2f} m behind the alignment, "
        "where {allowed:.2f} m is allowed (vertical P + {c:g} m, slope {slope:g}"
        "{ceiling}).",
        "La construction sort du gabarit-enveloppe de la {street} (P = {P:.2f} m, "
        "{source}) de {pen:.2f} m au plus sur la {facade}, à {depth:.2f} m en "
        "arrière de l'alignement, où {allowed:.2f} m sont autorisés (verticale "
        "P + {c:g} m, pente {slope:g}{ceiling}).",
    ),
    "env_ceiling": (", ceiling {ceiling:g} m", ", plafond {ceiling:g} m"),
    "env_fit": (
        "The building fits the envelope of the {street} (P = {P:.2f} m, {source}, "
        "vertical P + {c:g} = {Pc:.2f} m): the closest point is {gap:.2f} m under it, "
        "{depth:.2f} m behind the alignment.",
        "La construction s'inscrit dans le gabarit-enveloppe de la {street} "
        "(P = {P:.2f} m, {source}, verticale P + {c:g} = {Pc:.2f} m) : le point le "
        "plus proche est {gap:.2f} m en dessous, à {depth:.2f} m en arrière de "
        "l'alignement.",
    ),
    # -- open space and green
    "open_space": (
        "Open space {free:.1f} m² (land minus footprint) of {la:.1f} m²: {share:.3f} "
        "for a minimum of {limit:.3f}.",
        "Espaces libres de {free:.1f} m² (terrain moins emprise) sur {la:.1f} m² : "
        "{share:.3f} pour un minimum de {limit:.3f}.",
    ),
    "green_none": (
        "No site plan (site_plan=..., a 'site_plan' layer or site elements in the "
        "model) and no vegetation data on the land: the surfaces are unknown.",
        "Ni plan de masse (site_plan=..., couche 'site_plan' ou éléments extérieurs "
        "dans la maquette) ni donnée de végétation sur le terrain : les surfaces sont "
        "inconnues.",
    ),
    "pleine_terre": (
        "Pleine terre {v:.1f} m² of {la:.1f} m² ({m:.3f}), from {source}. Minimum "
        "{limit:.3f}.",
        "Pleine terre de {v:.1f} m² sur {la:.1f} m² ({m:.3f}), d'après {source}. "
        "Minimum {limit:.3f}.",
    ),
    "green": (
        "Green surfaces (vegetation and green roofs) {v:.1f} m² of {la:.1f} m² "
        "({m:.3f}), from {source}. Minimum {limit:.3f}.",
        "Surfaces végétalisées (végétation et toitures végétalisées) de {v:.1f} m² "
        "sur {la:.1f} m² ({m:.3f}), d'après {source}. Minimum {limit:.3f}.",
    ),
    "biotope": (
        "Biotope coefficient ({terms}) / {la:.1f} m² = {m:.3f}, from {source}. "
        "Minimum {limit:.3f}.",
        "Coefficient de biotope ({terms}) / {la:.1f} m² = {m:.3f}, d'après {source}. "
        "Minimum {limit:.3f}.",
    ),
    "biotope_nothing": ("no weighted surface", "aucune surface pondérée"),
    # -- storeys
    "storeys_none": ("Cannot count storeys: {why}.", "Niveaux non comptés : {why}."),
    "storeys": (
        "{n} storeys above {ground} ({names}) for a maximum of {limit}.",
        "{n} niveaux au-dessus {ground} ({names}) pour un maximum de {limit}.",
    ),
    "far_none": (
        "Cannot measure floor area: {why}.",
        "Surface de plancher non mesurée : {why}.",
    ),
    "far_no_gfa": (
        "Some storeys have no gross floor area and the model could not be sectioned.",
        "Des niveaux n'ont pas de surface brute et la maquette n'a pu être coupée.",
    ),
    "far": (
        "Gross floor area {total:.1f} m² over {n} storeys (from {how}) on {la:.1f} m² "
        "of land: {r:.3f} for a maximum of {limit:.3f} (gross area bounds the surface "
        "de plancher from above).",
        "Surface brute de plancher de {total:.1f} m² sur {n} niveaux (d'après {how}) "
        "pour un terrain de {la:.1f} m² : {r:.3f} pour un maximum de {limit:.3f} (la "
        "surface brute majore la surface de plancher).",
    ),
    # -- neighbours
    "nb_frame": ("Not computed: {exc}.", "Non calculé : {exc}."),
    "nb_unavailable": (
        "Shadow analysis unavailable ({exc}).",
        "Analyse des ombres indisponible ({exc}).",
    ),
    "nb_no_buildings": (
        "No buildings layer: the neighbours' facades are unknown. The open ground of "
        "the neighbouring parcels within {radius:.0f} m loses no sun on {days}.{note}",
        "Pas de couche des bâtiments : les façades voisines sont inconnues. Le sol "
        "libre des parcelles voisines à moins de {radius:.0f} m ne perd pas "
        "d'ensoleillement le {days}.{note}",
    ),
    "nb_none": (
        "No neighbouring facade or open space within {radius:.0f} m loses sun on "
        "{days} (informative).{note}",
        "Aucune façade ni espace libre voisin à moins de {radius:.0f} m ne perd "
        "d'ensoleillement le {days} (à titre indicatif).{note}",
    ),
    "nb_loss": (
        "Informative (no PLU limit): the {receiver} loses {lost:.2f} h of sun on "
        "{date} (mean over {area:.0f} m², from {before:.2f} to {after:.2f} h); "
        "{n_fac} facade(s) and {n_open} open space(s) lose sun on {days}.{more}{note}",
        "À titre indicatif (pas de limite au PLU) : {receiver} perd {lost:.2f} h "
        "d'ensoleillement le {date} (moyenne sur {area:.0f} m², de {before:.2f} à "
        "{after:.2f} h) ; {n_fac} façade(s) et {n_open} espace(s) libre(s) perdent "
        "de l'ensoleillement le {days}.{more}{note}",
    ),
    "nb_no_buildings_more": (
        " No buildings layer: the neighbours' facades are unknown.",
        " Pas de couche des bâtiments : les façades voisines sont inconnues.",
    ),
    "far_how_both": (
        "the storeys' gross floor areas and horizontal sections of the model",
        "les surfaces brutes des niveaux et des coupes horizontales de la maquette",
    ),
    "location": ("the location of the project", "la localisation du projet"),
    # -- distances drawn on the site plan
    "mark_distance": ("{d:.2f} m", "{d:.2f} m"),
    "mark_cross": ("crosses by {depth:.2f} m", "franchit de {depth:.2f} m"),
    "mark_prospect": ("{d:.2f} m {sign} {req:.2f} m", "{d:.2f} m {sign} {req:.2f} m"),
}

#: English phrase -> French, for the closed sets of words values carry
PHRASES = {
    "lowest edge of the pitched roof": "bas de pente du toit",
    "top of the facades (flat roof)": "sommet des façades (toit-terrasse)",
    "no geometry": "pas de géométrie",
    "the site plan": "le plan de masse",
    "the scene's 'site_plan' layer": "la couche 'site_plan' de la scène",
    "the model's site surfaces": "les surfaces extérieures de la maquette",
    "the scene's vegetation on the land, outside the footprint (assumed kept by the "
    "project; no site plan was given)": "la végétation de la scène sur le terrain, "
    "hors emprise (supposée conservée par le projet ; aucun plan de masse fourni)",
    "the model has no storeys": "la maquette n'a pas de niveaux",
    "natural ground": "du terrain naturel",
    "the project's base": "de la base du projet",
    "the storeys' gross floor areas": "les surfaces brutes des niveaux",
    "horizontal sections of the model": "des coupes horizontales de la maquette",
    "roads layer 'largeur'": "largeur de la couche des voies",
    "cadastre (opposite parcels)": "cadastre (parcelles en vis-à-vis)",
    "project land": "terrain d'assiette",
    "neighbours": "voisins",
    "street": "voie",
    "side limit": "limite séparative latérale",
    "left side limit": "limite séparative latérale gauche",
    "right side limit": "limite séparative latérale droite",
    "rear limit": "limite de fond de parcelle",
    "separative limit": "limite séparative",
    "inner limit (enclave)": "limite intérieure (enclave)",
    "north": "nord",
    "north-east": "nord-est",
    "east": "est",
    "south-east": "sud-est",
    "south": "sud",
    "south-west": "sud-ouest",
    "west": "ouest",
    "north-west": "nord-ouest",
    # abbreviations of the impact's facade orientations
    "N": "N", "NE": "NE", "E": "E", "SE": "SE", "S": "S", "SW": "SO", "W": "O", "NW": "NO",
}

_COMPASS = (
    "north-east|north-west|south-east|south-west|north|south|east|west"
    "|NE|NW|SE|SW|N|S|E|W"
)
_PATTERNS = (
    # "street (Rue Cardinet) 2" -> "voie (Rue Cardinet) 2"
    (re.compile(r"^street \((.+)\)( \d+)?$"), lambda m: f"voie ({m[1]}){m[2] or ''}"),
    # "north facade" -> "façade nord"
    (re.compile(rf"^({_COMPASS}) facade$"), lambda m: f"façade {PHRASES[m[1]]}"),
    # "north facade of building X" -> "façade nord du bâtiment X"
    (
        re.compile(rf"^({_COMPASS}) facade of (?:building )?(.+)$"),
        lambda m: f"façade {PHRASES[m[1]]} du bâtiment {m[2]}",
    ),
    # impact receivers: "building X, north facade", "open space of parcel P"
    (
        re.compile(rf"^building (.+), ({_COMPASS}) facade$"),
        lambda m: f"le bâtiment {m[1]} (façade {PHRASES[m[2]]})",
    ),
    (
        re.compile(r"^open space of parcel (.+)$"),
        lambda m: f"l'espace libre de la parcelle {m[1]}",
    ),
    # "left side limit 2" -> "limite séparative latérale gauche 2"
    (re.compile(r"^(.+?)( \d+)$"), lambda m: _known(m[1]) + m[2] if _known(m[1]) else None),
)

#: readable names of the rules (English, with the French term instructors use)
RULE_LABELS = {
    "max_height": "Maximum height (hauteur plafond)",
    "max_eave_height": "Eave height (verticale de façade)",
    "max_altitude": "NGF ceiling (cote maximale)",
    "max_footprint_ratio": "Footprint ratio (emprise au sol)",
    "street_setback": "Street alignment / setback (implantation sur voie)",
    "side_setback": "Side limit (limite séparative latérale)",
    "rear_setback": "Rear limit (fond de parcelle)",
    "envelope": "Street envelope (gabarit-enveloppe)",
    "min_open_space_share": "Open space (espaces libres)",
    "min_pleine_terre_share": "Pleine terre",
    "min_green_share": "Green surfaces (surfaces végétalisées)",
    "min_biotope_coefficient": "Biotope coefficient (CBS)",
    "max_storeys": "Storeys (nombre de niveaux)",
    "max_floor_area_ratio": "Floor area ratio (surface de plancher)",
    "within_land": "Footprint within the land",
    "georeference": "Georeference",
    "zone": "PLU zone",
    "rules": "Rule pack",
    "land": "Land of the application",
    "neighbour_sun_hours": "Sun on neighbours (informative)",
}
#: the same names as a French instructor writes them
RULE_LABELS_FR = {
    "max_height": "Hauteur maximale",
    "max_eave_height": "Hauteur à l'égout (verticale de façade)",
    "max_altitude": "Cote maximale (NGF)",
    "max_footprint_ratio": "Emprise au sol",
    "street_setback": "Implantation par rapport aux voies (alignement)",
    "side_setback": "Implantation par rapport aux limites séparatives latérales (prospect)",
    "rear_setback": "Implantation par rapport au fond de parcelle (prospect)",
    "envelope": "Gabarit-enveloppe sur voie",
    "min_open_space_share": "Espaces libres",
    "min_pleine_terre_share": "Pleine terre",
    "min_green_share": "Surfaces végétalisées",
    "min_biotope_coefficient": "Coefficient de biotope (CBS)",
    "max_storeys": "Nombre de niveaux",
    "max_floor_area_ratio": "Surface de plancher (densité)",
    "within_land": "Emprise dans le terrain d'assiette",
    "georeference": "Géoréférencement",
    "zone": "Zone du PLU",
    "rules": "Règlement",
    "land": "Terrain d'assiette",
    "neighbour_sun_hours": "Ensoleillement des voisins (indicatif)",
}

i18n.add_terms({_P + k: v for k, v in MESSAGES.items()})


def rule_label(rule, lang: str | None = None) -> str:
    """The readable name of a rule in ``lang`` ("Emprise au sol", "Footprint
    ratio (emprise au sol)"); ``"location"``: the location of the project."""
    if rule == "location":
        return i18n.term(_P + "location", lang)
    labels = RULE_LABELS_FR if i18n.resolve(lang) == "fr" else RULE_LABELS
    return labels.get(rule, rule)


def _known(en: str):
    return PHRASES.get(en)


def phrase(value, lang: str | None = None) -> str:
    """A word of a closed set ("left side limit", "north facade", "the site
    plan"…) in ``lang``; other text (a road name, a reader's error) as it is."""
    s = str(value)
    if i18n.resolve(lang) == "en" or not s:
        return s
    if s in PHRASES:
        return PHRASES[s]
    for pattern, fn in _PATTERNS:
        m = pattern.match(s)
        if m:
            out = fn(m)
            if out:
                return out
    return s


def number(v, spec: str = ".2f", lang: str | None = None) -> str:
    """A number as ``lang`` writes it: "12,50" in French (decimal comma, narrow
    no-break space between thousands), "12.50" in English."""
    s = format(v, spec)
    if i18n.resolve(lang) == "fr":
        s = s.replace(",", "\u202f").replace(".", ",")
    return s


class _Formatter(string.Formatter):
    def __init__(self, lang):
        self.lang = lang

    def format_field(self, value, spec):
        if _localised(value):
            return value.text(self.lang)
        if isinstance(value, float | int) and not isinstance(value, bool) and spec:
            return number(value, spec, self.lang)
        if isinstance(value, str) and not spec:
            return phrase(value, self.lang)
        return super().format_field(value, spec)

    def convert_field(self, value, conversion):
        if conversion == "r" and isinstance(value, str):
            return repr(value)  # keep quotes, not translated
        return super().convert_field(value, conversion)


class Message:
    """A sentence of the catalogue and its values, written in either language.

    Parameters
    ----------
    key : str
        Key of :data:`MESSAGES`.
    **values
        Its fields: numbers (French gets a decimal comma), words of
        :func:`phrase`, or other Messages.
    """

    __slots__ = ("key", "values", "tail")

    def __init__(self, key, **values):
        if key not in MESSAGES:
            raise KeyError(key)
        self.key = key
        self.values = values
        self.tail: list = []

    def __add__(self, other):
        out = Message(self.key, **self.values)
        out.tail = [*self.tail, other]
        return out

    def text(self, lang: str | None = None) -> str:
        """The sentence in ``lang`` ("fr", "en"; None: the package default)."""
        code = i18n.resolve(lang)
        template = i18n.term(_P + self.key, code)
        head = _Formatter(code).vformat(template, (), self.values)
        return head + "".join(text(t, code) for t in self.tail)

    def __str__(self):
        return self.text("en")

    def __repr__(self):
        return f"Message({self.key!r}, {self.values!r})"


def msg(key: str, **values) -> Message:
    """Shorthand for :class:`Message`."""
    return Message(key, **values)


def text(value, lang: str | None = None) -> str:
    """A Message (or any value with a ``text(lang)`` method) in ``lang``;
    plain text as it is."""
    if _localised(value):
        return value.text(lang)
    return "" if value is None else str(value)


def _localised(value) -> bool:
    # a Message, or any value that writes itself in a language (dates...)
    return not isinstance(value, str) and callable(getattr(value, "text", None))


def texts(value) -> dict:
    """``{"en": ..., "fr": ...}`` of a Message or plain text."""
    return {code: text(value, code) for code in i18n.LANGUAGES}
