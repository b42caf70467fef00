"""Shared fixtures, and the strict mode of CI.

Strict mode (``CIMCITY_STRICT=1``, set by ``.ci/run``): a green run means every
check ran. A skipped test (``pytest.skip``, ``skipif``, ``importorskip`` at
test or module level) is reported as a failure with its reason, and a missing
``../shared/data`` stops the session before collection. Without the variable,
local runs keep their skips (a missing optional package or the real data folder
skips with a reason).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(
    os.environ.get("CIMCITY_SHARED_DATA", ROOT.parent / "shared" / "data")
)

#: environment variable that turns every skip into a failure (CI)
STRICT_ENV = "CIMCITY_STRICT"


def strict() -> bool:
    """True when skips are failures (``CIMCITY_STRICT`` set to 1/true/yes)."""
    return os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _skip_reason(longrepr) -> str:
    # a skip's longrepr is (path, lineno, "Skipped: reason")
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        path, line, msg = longrepr
        return f"{msg} ({path}:{line})"
    return str(longrepr)


def _as_failure(report, what: str) -> None:
    reason = _skip_reason(report.longrepr)
    report.outcome = "failed"
    report.longrepr = (
        f"{what} skipped under {STRICT_ENV}=1 (CI: a skip is a failure): {reason}\n"
        "Install what it needs (the 'all' and 'test' extras, chromium, "
        "../shared/data) or unset the variable for a local run."
    )


def pytest_configure(config):
    if strict() and not SHARED_DATA.is_dir():
        raise pytest.UsageError(
            f"{STRICT_ENV}=1 but the real test data folder {SHARED_DATA} is missing: "
            "put ../shared/data next to the checkout or set CIMCITY_SHARED_DATA"
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    # xfail keeps its meaning (report.wasxfail); every other skip fails
    if strict() and report.skipped and not hasattr(report, "wasxfail"):
        _as_failure(report, f"test {item.nodeid}")
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    report = yield
    # a module-level importorskip skips the whole module at collection
    if strict() and report.skipped:
        _as_failure(report, f"module {collector.nodeid}")
    return report


def _skipped_reports(config) -> list:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    return list(reporter.stats.get("skipped", [])) if reporter is not None else []


def pytest_sessionfinish(session, exitstatus):
    if not strict():
        return
    # belt and braces: a skip that came another route (a plugin) still fails
    # the session, and so does a session that collected nothing
    if (
        _skipped_reports(session.config)
        or exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED
    ):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = _skipped_reports(config) if strict() else []
    if skipped:
        terminalreporter.write_sep(
            "=", f"{len(skipped)} skipped under {STRICT_ENV}=1", red=True
        )
        for rep in skipped:
            terminalreporter.write_line(
                f"SKIPPED {rep.nodeid}: {_skip_reason(rep.longrepr)}"
            )


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Real third-party files (../shared/data); tests skip when absent
    (fail under ``CIMCITY_STRICT=1``)."""
    if not SHARED_DATA.is_dir():
        msg = f"real test data not found at {SHARED_DATA} (set CIMCITY_SHARED_DATA)"
        if strict():
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return SHARED_DATA


@pytest.fixture(scope="session")
def paris():
    """The bundled sample district (session-wide; do not mutate: copy() it)."""
    import cimcity as cc

    return cc.datasets.load("paris")


@pytest.fixture()
def tmp_out(tmp_path) -> Path:
    return tmp_path
