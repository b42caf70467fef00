"""Steps of ``cimcity demo``: one module per topic with
``run(scene, out: pathlib.Path, echo) -> dict`` (``echo(str)`` prints a line);
each step writes its files under ``out`` and returns a short summary."""

#: order in which the demo runs its steps; a step whose module is absent is skipped
STEPS = ("scene", "solar", "shadow", "flood", "vegetation", "permit")
