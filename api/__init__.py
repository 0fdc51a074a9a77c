"""projection: the electricity, water and carbon footprint of AI in US data centres.

The Python API, for notebooks and scripts::

    import projection

    projection.scenarios()                       # names of the shipped scenarios
    ds = projection.run("baseline", params={"demand.adoption_growth": "40 %/yr"},
                        end_year=2035)           # an xarray.Dataset
    both = projection.compare(["baseline", "high_growth"])
    s = projection.load_scenario("scenarios/my_case.toml")

Scenarios are named as on the command line: a shipped name or a path to a ``.toml`` file.
``params`` overrides scenario values by key (the keys of the scenario files), checked exactly
as the file's values are (units, bounds, did-you-mean). Every error a user can act on is a
:class:`ProjectionError`; ``str()`` is a one-line message.

For ensembles: :func:`parameter_samples` builds samples from a scenario and a table of values,
:func:`simulate` runs them in blocks on any ``concurrent.futures.Executor``. Over a scenario's
declared uncertainty: :func:`uncertainty` (percentiles per year), :func:`sensitivity` (Sobol',
Morris or one-at-a-time indices per output and year) and :func:`sweep` (a grid).

Importing this package is light: the model, xarray and pint load on first use (PEP 562).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from projection.model.errors import ProjectionError

if TYPE_CHECKING:
    import xarray as xr

    from projection.model.scenario import Scenario

__all__ = [
    "ProjectionError",
    "__version__",
    "compare",
    "load_scenario",
    "parameter_samples",
    "run",
    "scenarios",
    "sensitivity",
    "simulate",
    "sweep",
    "uncertainty",
]

_LAZY = {
    "parameter_samples": "projection.model.ensemble",
    "simulate": "projection.model.ensemble",
    "Samples": "projection.model.ensemble",
    "Scenario": "projection.model.scenario",
    "uncertainty": "projection.model.uncertainty",
    "sweep": "projection.model.sweep",
    "sensitivity": "projection.validation.sensitivity",
}
"""Names this package hands out from the model, imported when first asked for."""


def __getattr__(name: str) -> Any:
    if name == "__version__":  # read from the package metadata only when asked for
        from projection.model import __version__

        globals()["__version__"] = __version__
        return __version__
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'projection' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, "__version__"})


def scenarios() -> list[str]:
    """Names of the shipped scenarios (``projection.run`` takes any of them)."""
    from projection.scenario_files import shipped

    return [path.stem for path in shipped()]


def load_scenario(
    scenario: str | Path,
    *,
    params: Mapping[str, Any] | None = None,
    end_year: int | None = None,
    substeps: int | None = None,
) -> Scenario:
    """Read and check a scenario: a shipped name (``"baseline"``) or a ``.toml`` path.

    ``params`` maps scenario keys (``"demand.adoption_growth"``,
    ``"workloads.reasoning.tokens_per_request"``) to values that replace the file's: a
    quantity string (``"40 %/yr"``), with a schedule in the short form of ``--set``
    (``"15 GW/yr; 2028: 0 GW/yr; 2031: 10 GW/yr"``, ``"; ramp"`` to interpolate), or a
    table as in a file (``{"value": "15 GW/yr", "schedule": {2028: "0 GW/yr"}, "ramp":
    False, "source": ...}``). A value keeps the range the file declares (and is held fixed
    in ensembles when it lies outside it) unless it gives its own ``low``/``high``.
    """
    from projection.model.scenario import find_scenario
    from projection.model.scenario import load_scenario as load

    return load(find_scenario(scenario), end_year=end_year, substeps_per_year=substeps,
                overrides=params)


def _loaded(scenario: str | Path | Scenario, params, end_year, substeps) -> Scenario:
    from projection.model.scenario import Scenario

    if isinstance(scenario, Scenario):
        if params or end_year is not None or substeps is not None:
            return load_scenario(scenario.path, params={**_given(scenario), **(params or {})},
                                 end_year=end_year or scenario.end_year,
                                 substeps=substeps or scenario.substeps_per_year)
        return scenario
    return load_scenario(scenario, params=params, end_year=end_year, substeps=substeps)


def _given(scenario: Scenario) -> dict[str, dict[str, Any]]:
    """The overrides a loaded scenario was built with (value, schedule, own range, source),
    to build it again with more."""
    given: dict[str, dict[str, Any]] = {}
    for key in scenario.overrides():
        e = scenario.entries[key]
        item: dict[str, Any] = {"value": e.text, "source": e.source}
        if e.schedule:
            item["schedule"] = {year: text for year, text, _ in e.schedule}
            item["ramp"] = e.ramp
        if e.distribution_text is not None and e.range_file is None:  # its own range
            item.update(e.distribution_text)
        given[key] = item
    return given


def run(
    scenario: str | Path | Scenario,
    *,
    params: Mapping[str, Any] | None = None,
    end_year: int | None = None,
    substeps: int | None = None,
) -> xr.Dataset:
    """Run one scenario and return its results as an ``xarray.Dataset``.

    Dimensions ``year`` (and ``workload`` where a variable has one); every variable carries
    ``units`` and ``long_name``, the attributes carry the provenance (model version, scenario
    hash, resolved parameters with their sources). ``scenario`` is a shipped name, a path or a
    :class:`Scenario`; ``params``, ``end_year`` and ``substeps`` as in :func:`load_scenario`.
    """
    from projection.model.run import run_scenario

    return run_scenario(_loaded(scenario, params, end_year, substeps))


def compare(
    scenarios: Iterable[str | Path],
    *,
    params: Mapping[str, Any] | None = None,
    end_year: int | None = None,
    substeps: int | None = None,
) -> xr.Dataset:
    """Run several scenarios and stack them along a ``scenario`` dimension (the years that all
    of them cover); ``params`` applies to every one of them."""
    from projection.model.run import compare as compare_scenarios
    from projection.model.scenario import ScenarioError, find_scenario

    if isinstance(scenarios, str | Path):  # one name, not its letters
        raise ScenarioError("compare", "", f"got {str(scenarios)[:60]!r}; expected a list of "
                            "scenario names or files, e.g. ['baseline', 'high_growth']")
    try:
        given = list(scenarios)
    except TypeError:
        raise ScenarioError("compare", "", f"got {type(scenarios).__name__}; expected a list "
                            "of scenario names or files") from None
    paths = [find_scenario(s) for s in given]
    return compare_scenarios(paths, end_year=end_year, substeps_per_year=substeps,
                             overrides=params)
