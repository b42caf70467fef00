"""Progress reporting, one meaning of ``progress=`` across cimcity.

``progress=None`` (the default everywhere) shows a tqdm bar only for long work
*and* when standard error is a terminal (or in Jupyter); ``True`` always shows
one (still one line, not hundreds, when not on a terminal: tqdm's ``mininterval``
is raised); ``False`` never does.
"""

from __future__ import annotations

import sys


def wants_progress(progress, work: float = 0.0, threshold: float = 0.0) -> bool:
    """Whether to show progress for ``work`` units when ``progress`` is given.

    Parameters
    ----------
    progress : bool or None
        The user's choice; None decides from ``work >= threshold`` and the
        terminal.
    """
    if progress is None:
        return work >= threshold and _interactive()
    return bool(progress)


def _interactive() -> bool:
    try:
        if sys.stderr is not None and sys.stderr.isatty():
            return True
    except (AttributeError, ValueError):
        pass
    return "ipykernel" in sys.modules


def bar(total=None, *, desc: str = "", unit: str = "it", progress=None,
        work: float = 0.0, threshold: float = 0.0):
    """A tqdm bar, or a do-nothing stand-in when progress is off.

    The returned object supports ``update(n)``, ``set_postfix_str(s)``,
    ``close()`` and the context-manager protocol.
    """
    if not wants_progress(progress, work, threshold):
        return _Null()
    from tqdm.auto import tqdm

    quiet_stream = not _interactive()
    return tqdm(
        total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True,
        mininterval=30.0 if quiet_stream else 0.1,
    )


class _Null:
    def update(self, n=1):
        pass

    def set_postfix_str(self, s="", refresh=True):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
