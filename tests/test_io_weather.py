"""Weather readers: EPW files, DataFrames, clear sky, periods."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cimcity.errors import FileFormatError, InputError
from cimcity.io import weather

EPW = "weather/FRA_Paris.Orly.071490_IWEC.epw"
PARIS = (48.8867, 2.3156, 35.0)


@pytest.fixture(scope="module")
def orly(shared_data):
    return weather.read_weather(shared_data / EPW, *PARIS)


def test_epw_reads_a_typical_year(orly):
    w = orly
    assert len(w.data) == 8760
    # EPW rows are moved to the middle of their hour
    assert w.times[0] == pd.Timestamp("2023-01-01 00:30", tz="Etc/GMT-1")
    assert w.interval == 1.0
    assert not w.upper_bound
    t = w.totals()
    # Reference: annual GHI of the file (SOURCES.md: about 1,068 kWh/m²); the sum
    # of its GHI column must be reproduced to the watt-hour.
    assert t["ghi_input"] == pytest.approx(1068.138, abs=1e-3)
    # closure GHI = DHI + DNI cos Z within 1 % of the file's GHI over the year
    assert abs(w.summary()["closure_gap"]) < 0.01


def test_epw_period_and_errors(shared_data, tmp_path):
    w = weather.read_weather(shared_data / EPW, *PARIS, ("2023-06-01", "2023-07-01"))
    assert len(w.data) == 30 * 24
    with pytest.raises(InputError, match="not an .epw"):
        weather.read_weather(tmp_path / "x.csv", *PARIS)
    bad = tmp_path / "bad.epw"
    bad.write_text("not an epw\n")
    with pytest.raises(FileFormatError):
        weather.read_weather(bad, *PARIS)
    with pytest.raises(FileNotFoundError):
        weather.read_weather(tmp_path / "missing.epw", *PARIS)


def test_dataframe_weather_checks_and_completion():
    cs = weather.clear_sky(*PARIS[:2], ("2023-06-21", "2023-06-22"), altitude=PARIS[2])
    df = cs.data[["ghi", "dni", "dhi"]]
    w = weather.read_weather(df, *PARIS)
    np.testing.assert_allclose(w.data["ghi"], cs.data["ghi"], rtol=1e-12)
    # DNI left out: pvlib.irradiance.complete_irradiance gives it back from the
    # closure (exact up to rounding where the sun is up)
    w2 = weather.read_weather(df.drop(columns="dni"), *PARIS)
    up = w2.data["apparent_elevation"] > 1
    np.testing.assert_allclose(
        w2.data["dni"][up], cs.data["dni"][up], rtol=1e-9, atol=1e-6
    )
    with pytest.raises(InputError, match="timezone-aware"):
        weather.read_weather(df.tz_localize(None), *PARIS)
    with pytest.raises(InputError, match="at least two"):
        weather.read_weather(df[["ghi"]], *PARIS)
    with pytest.raises(InputError, match="negative"):
        weather.read_weather(df.assign(dhi=-5.0), *PARIS)
    with pytest.raises(InputError, match="must be None"):
        weather.read_weather(42, *PARIS)


def test_clear_sky_is_an_upper_bound(orly):
    cs = weather.read_weather(None, *PARIS)
    assert cs.upper_bound and "clear sky" in cs.source
    assert len(cs.data) == 8760
    # a cloudless sky gives more GHI than the measured typical year (Orly)
    assert cs.totals()["ghi"] > 1.3 * orly.totals()["ghi"]
    # pvlib Ineichen keeps the closure exactly
    assert cs.summary()["closure_gap"] == pytest.approx(0.0, abs=1e-9)


def test_periods_by_when_and_former_start_end(orly):
    # when= is a (start, end) pair, a date (the whole day), a pandas Period, or
    # a pair with an open end; start=/end= still work with a FutureWarning
    june = orly.select(("2023-06-01", "2023-07-01"))
    assert len(june.data) == 30 * 24
    with pytest.warns(FutureWarning, match="when="):
        old = orly.select(start="2023-06-01", end="2023-07-01")
    pd.testing.assert_frame_equal(old.data, june.data)
    assert len(orly.select("2023-06-21").data) == 24
    assert len(orly.select(pd.Period("2023-06", "M")).data) == 30 * 24
    assert len(orly.select(("2023-12-01", None)).data) == 31 * 24
    with pytest.raises(InputError, match="both when= and start="):
        orly.select("2023-06-21", start="2023-06-01")
    with pytest.raises(InputError, match="before it starts"):
        orly.select(("2023-07-01", "2023-06-01"))
    with pytest.warns(FutureWarning):
        cs = weather.clear_sky(48.85, 2.35, start="2023-06-21", end="2023-06-22")
    assert len(cs.data) == 24


def test_gappy_or_repeated_index_is_refused_naming_the_gap():
    # 48 hourly rows with hours 10–19 of 21 June removed: before, accepted, and
    # every total silently left those 10 h out (a gap is not zero irradiance)
    idx = pd.date_range("2024-06-21", periods=48, freq="1h", tz="Europe/Paris")
    df = pd.DataFrame({"ghi": 300.0, "dhi": 100.0}, index=idx)
    gappy = df.drop(df.index[10:20])
    with pytest.raises(
        InputError,
        match=r"gap: no rows from 2024-06-21 10:00:00\+02:00 to 2024-06-21 "
        r"19:00:00\+02:00 \(10 missing steps of 1 h\)",
    ):
        weather.read_weather(gappy, *PARIS)
    # two gaps: the first is named, the count given
    with pytest.raises(InputError, match="2 gaps in all"):
        weather.read_weather(df.drop(df.index[[5, 30]]), *PARIS)
    # a repeated instant
    with pytest.raises(InputError, match="repeats the instant 2024-06-21 05:00"):
        weather.read_weather(pd.concat([df, df.iloc[[5]]]), *PARIS)
    # the same series without the gap is read, 48 steps of 1 h
    assert weather.read_weather(df, *PARIS).summary()["hours"] == 48.0
    # a regular half-hourly series is not a gappy hourly one
    half = pd.DataFrame(
        {"ghi": 300.0, "dhi": 100.0},
        index=pd.date_range("2024-06-21", periods=48, freq="30min", tz="Europe/Paris"),
    )
    assert weather.read_weather(half, *PARIS).interval == 0.5


def test_epw_without_data_rows_names_the_file(tmp_path):
    # an EPW cut after its first line: before, InputError "when is empty"
    p = tmp_path / "w.epw"
    p.write_text("LOCATION,Paris,,FRA,,071560,48.7,2.4,1.0,89\n1,2,3\n")
    with pytest.raises(FileFormatError, match=r"w\.epw has no EPW data rows \(2 lines"):
        weather.read_weather(p, *PARIS)
