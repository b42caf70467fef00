"""The one catalogue of labels: languages, units, defaults, dates."""

import pandas as pd
import pytest

from cimcity import i18n
from cimcity.errors import CimcityError


@pytest.fixture(autouse=True)
def _reset_language(monkeypatch):
    monkeypatch.delenv("CIMCITY_LANG", raising=False)
    i18n.set_language(None)
    yield
    i18n.set_language(None)


def test_french_is_the_default_and_english_on_request():
    assert i18n.get_language() == "fr"
    assert i18n.label("sun_hours") == "Heures d'ensoleillement (h)"
    assert i18n.label("sun_hours", lang="en") == "Sun hours (h)"
    assert i18n.term("footprint", lang="fr") == "Emprise au sol"
    assert i18n.term("open_soil", lang="fr") == "Pleine terre"
    assert i18n.term("envelope", lang="fr") == "Gabarit"
    assert i18n.term("setback", lang="fr") == "Prospect"


def test_package_default_and_environment(monkeypatch):
    monkeypatch.setenv("CIMCITY_LANG", "en_GB")
    assert i18n.get_language() == "en"
    i18n.set_language("fr")
    assert i18n.resolve() == "fr"
    assert i18n.resolve("EN") == "en"


def test_unknown_language_and_key_are_refused():
    with pytest.raises(CimcityError, match="lang='de'"):
        i18n.resolve("de")
    with pytest.raises(KeyError):
        i18n.term("no_such_key")


def test_every_term_has_both_languages_and_distinct_keys_cannot_clash():
    for key in i18n._TERMS:
        en, fr = i18n._TERMS[key]
        assert en.strip() and fr.strip(), key
    with pytest.raises(CimcityError, match="already"):
        i18n.add_terms({"height": ("Tallness", "Hauteur")})


def test_dates_and_periods_as_people_write_them():
    ts = pd.Timestamp("2026-12-21 13:00", tz="Europe/Paris")
    assert i18n.format_date(ts, "fr") == "21 décembre 2026"
    assert i18n.format_date(ts, "en", time=True) == "21 December 2026, 13:00"
    # French writes the first of the month "1er" and does not repeat the month
    # or the year (Lexique des règles typographiques, Imprimerie nationale).
    assert i18n.format_date("2026-06-01", "fr") == "1er juin 2026"
    assert i18n.format_date("2026-06-01", "en") == "1 June 2026"
    assert i18n.format_period("2026-06-01", "2026-08-31", "fr") == "du 1er juin au 31 août 2026"
    assert i18n.format_period("2026-06-01", "2026-06-29", "fr") == "du 1er au 29 juin 2026"
    assert i18n.format_period("2026-06-02", "2026-06-29", "fr") == "du 2 au 29 juin 2026"
    assert i18n.format_period("2026-06-01", "2026-06-29", "en") == "1–29 June 2026"
    assert i18n.format_period("2026-12-21", "2027-01-01", "fr") == (
        "du 21 décembre 2026 au 1er janvier 2027"
    )
    assert i18n.format_period("2026-12-21", "2027-01-01", "en") == (
        "21 December 2026 – 1 January 2027"
    )
    assert i18n.format_period("2026-06-21 08:00", "2026-06-21 18:00", "fr") == "21 juin 2026"
    assert i18n.format_period("2026-06-01", "2026-08-31", "en") == "1 June – 31 August 2026"
    assert i18n.label("annual_irradiation", "fr") == "Irradiation annuelle (kWh/m²/an)"
