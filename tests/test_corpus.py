"""The malformed-input corpus (issue 17, item 10).

Every public reader, Scene method, analysis and CLI command is fed damaged,
mislabelled, misplaced or out-of-range input built in a temporary folder from
the bundled sample (``data/samples/paris/``) or small synthetic inputs. Each
case expects either a :class:`~cimcity.errors.CimcityError` subclass whose
message names the bad value (a regex on the value), or a correct result
(checked against the file itself, geometry or physics; the reason is written
next to the case). Any other exception type fails the case, and so does a
modified input (deep copies compared before/after) or a file written beside
the inputs. The cases live in ``tests/corpus/`` by area.
"""

from __future__ import annotations

import re
import warnings

import pytest

from cimcity.errors import CimcityError
from corpus import (  # noqa: F401  (register cases)
    CASES,
    Call,
    Cli,
    analyses,
    assert_same,
    cli,
    folder_listing,
    readers,
    scene,
    snapshot,
)


def _run_call(spec, call: Call):
    before = snapshot((call.args, call.kwargs))
    if spec.raises is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(CimcityError) as info:
                call.func(*call.args, **call.kwargs)
        err = info.value
        assert isinstance(err, spec.raises), (
            f"expected {spec.raises.__name__}, got {type(err).__name__}: {err}"
        )
        assert re.search(spec.match, str(err)), (
            f"message does not name the bad value /{spec.match}/: {err}"
        )
    else:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = call.func(*call.args, **call.kwargs)
        spec.check(result, caught)
    assert_same(before, snapshot((call.args, call.kwargs)))


def _run_cli(spec, run: Cli, capsys):
    from cimcity.cli import main

    try:
        code = main([str(a) for a in run.argv])
    except SystemExit as exc:  # argparse refuses a choice or a type
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    assert code == spec.code, f"exit {code}, expected {spec.code}; stderr: {err}"
    if spec.match:
        assert re.search(spec.match, err + out), f"/{spec.match}/ not in: {err}{out}"


@pytest.mark.parametrize("spec", CASES)
def test_corpus_case(spec, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = spec.build(tmp_path)
    inputs = tmp_path / "in"
    listing = folder_listing(inputs)
    if isinstance(run, Cli):
        _run_cli(spec, run, capsys)
    else:
        _run_call(spec, run)
    # reading never writes beside the input (e.g. a GDAL .gfs next to a GML)
    assert folder_listing(inputs) == listing


def test_corpus_size():
    """At least 200 cases (issue 17, item 10)."""
    assert len(CASES) >= 200, len(CASES)
