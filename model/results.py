"""Label the integrator's plain arrays as an ``xarray.Dataset`` with units and provenance.

The catalogue below is the single list of result variables: name, where it comes from, unit,
long name and IAMC variable. Writers, the terminal table and the documentation read it.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from . import __version__
from .dynamics import CALIBRATION_UNITS
from .integrate import RawResult
from .parameters import WORKLOAD_LABELS, WORKLOADS
from .units import SECONDS_PER_YEAR, conversion_factor

FLOW = "flow: total over the calendar year"
STOCK = "stock: value on 1 January"
DERIVED = "flow ratio: computed from calendar-year totals"

@dataclass(frozen=True)
class Output:
    name: str
    kind: str  # FLOW, STOCK or DERIVED
    unit: str  # unit written to the file
    long_name: str
    compute: Callable[[RawResult], np.ndarray]
    base_unit: str  # SI unit of what ``compute`` returns (x s for flows)
    iamc: str | None = None
    iamc_unit: str | None = None

    def model_values(self, raw: RawResult) -> np.ndarray:
        """Values in ``unit``, laid out as the model lays them out: (year, [workload,] sample)."""
        if self.name in raw.outputs:  # kept by ``simulate(..., keep=...)``
            return raw.outputs[self.name]
        return self.compute(raw) * conversion_factor(self.base_unit, self.unit)

    def values(self, raw: RawResult) -> np.ndarray:
        """Values in ``unit``, laid out (year, sample[, workload])."""
        values = self.model_values(raw)
        return np.moveaxis(values, 1, -1) if values.ndim == 3 else values


def _flow(name: str) -> Callable[[RawResult], np.ndarray]:
    return lambda raw: raw.flows[name]


def _stock(name: str) -> Callable[[RawResult], np.ndarray]:
    return lambda raw: raw.stocks[name]


def _aux(name: str) -> Callable[[RawResult], np.ndarray]:
    return lambda raw: raw.auxiliaries[name]


def _ratio(numerator: str, denominator: str) -> Callable[[RawResult], np.ndarray]:
    return lambda raw: raw.flows[numerator] / raw.flows[denominator]


def _per_household(raw: RawResult) -> np.ndarray:
    household_year = raw.parameters["household_electricity"][None, :] * SECONDS_PER_YEAR
    return raw.flows["ai_facility_energy"] / household_year


E = "TWh"
ENERGY = "J"
POWER_CAPACITY = "GW"
DC = "Final Energy|Electricity|Data Centers"

OUTPUTS: tuple[Output, ...] = (
    Output("facility_energy", FLOW, E, "US data-centre electricity delivered (facility level)",
           _flow("facility_energy"), ENERGY, DC, "TWh/yr"),
    Output("ai_facility_energy", FLOW, E, "Electricity of AI servers (facility level)",
           _flow("ai_facility_energy"), ENERGY, f"{DC}|AI", "TWh/yr"),
    Output("ai_inference_energy", FLOW, E, "Electricity of AI inference (facility level)",
           _flow("ai_inference_energy"), ENERGY, f"{DC}|AI|Inference", "TWh/yr"),
    Output("ai_training_energy", FLOW, E, "Electricity of AI training (facility level)",
           _flow("ai_training_energy"), ENERGY, f"{DC}|AI|Training", "TWh/yr"),
    Output("conventional_facility_energy", FLOW, E,
           "Electricity of conventional servers, storage and network (facility level)",
           _flow("conventional_facility_energy"), ENERGY, f"{DC}|Conventional", "TWh/yr"),
    Output("it_energy", FLOW, E, "IT equipment electricity delivered", _flow("it_energy"), ENERGY),
    Output("ai_it_energy", FLOW, E, "AI server electricity (IT level)", _flow("ai_it_energy"),
           ENERGY),
    Output("facility_energy_demand", FLOW, E, "Electricity data centres would use if capacity "
           "allowed", _flow("facility_energy_demand"), ENERGY),
    Output("unserved_energy", FLOW, E, "Demand that operating capacity could not serve",
           _flow("unserved_energy"), ENERGY),
    Output("share_of_us_electricity", DERIVED, "percent",
           "Data-centre share of US electricity consumption",
           _ratio("facility_energy", "us_electricity"), "dimensionless"),
    Output("ai_share_of_us_electricity", DERIVED, "percent",
           "AI share of US electricity consumption",
           _ratio("ai_facility_energy", "us_electricity"), "dimensionless"),
    Output("ai_share_of_household_electricity", DERIVED, "percent",
           "AI electricity as a share of US household (residential) electricity",
           _ratio("ai_facility_energy", "us_residential_electricity"), "dimensionless"),
    Output("ai_households_equivalent", DERIVED, "household",
           "Number of average US households whose yearly electricity equals AI's",
           _per_household, "household"),
    Output("operating_capacity", STOCK, POWER_CAPACITY, "Operating data-centre capacity",
           _stock("operating_capacity"), "W", "Capacity|Data Centers", "GW"),
    Output("construction_pipeline", STOCK, POWER_CAPACITY, "Data-centre capacity under "
           "construction", _stock("construction_pipeline"), "W"),
    Output("construction_starts", FLOW, POWER_CAPACITY, "Data-centre capacity started in the "
           "year", _flow("construction_starts"), "W"),
    Output("construction_completions", FLOW, POWER_CAPACITY, "Data-centre capacity entering "
           "operation in the year", _flow("construction_completions"), "W"),
    Output("capacity_retirements", FLOW, POWER_CAPACITY, "Data-centre capacity retired in the "
           "year", _flow("capacity_retirements"), "W"),
    Output("data_centres", STOCK, "data_centre", "Number of operating US data centres",
           _aux("data_centres"), "dimensionless"),
    Output("ai_requests_per_day", FLOW, "request/day",
           "AI requests served per day by workload (yearly average)",
           lambda raw: raw.flows["served_requests"] / SECONDS_PER_YEAR, "request/s"),
    Output("ai_requests_per_day_total", FLOW, "request/day",
           "AI requests served per day (yearly average)",
           lambda raw: raw.flows["served_requests"].sum(axis=1) / SECONDS_PER_YEAR,
           "request/s"),
    Output("request_share", STOCK, "percent", "Share of AI requests by workload",
           _stock("request_share"), "dimensionless"),
    Output("reasoning_tokens_multiplier", STOCK, "dimensionless",
           "Length of a reasoning response relative to a standard response",
           _stock("reasoning_tokens_multiplier"), "dimensionless"),
    Output("energy_per_request", STOCK, "J",
           "Facility energy attributed to one request on the installed fleet: the measured "
           "energy times the calibrated serving factor (idle capacity, batch sizes, larger "
           "models and AI work not counted as requests)",
           _aux("energy_per_request"), "J"),
    Output("measured_energy_per_request", STOCK, "J",
           "Facility energy of one request at the measured (benchmark) efficiency, improved "
           "with the fleet and PUE", _aux("measured_energy_per_request"), "J"),
    Output("fleet_efficiency_index", STOCK, "dimensionless",
           "Work per joule of the installed accelerator fleet (start-year fleet = 1)",
           lambda raw: 1.0 / raw.auxiliaries["fleet_intensity"], "dimensionless"),
    Output("frontier_efficiency_index", STOCK, "dimensionless",
           "Work per joule of newly installed accelerators (start-year fleet = 1)",
           lambda raw: 1.0 / raw.auxiliaries["frontier_intensity"], "dimensionless"),
    Output("pue", STOCK, "dimensionless", "Power usage effectiveness", _stock("pue"),
           "dimensionless"),
    Output("onsite_water", FLOW, "GL", "On-site water consumption (billion litres)",
           _flow("onsite_water"), "m^3", "Water Consumption|Data Centers|Direct",
           "million m3/yr"),
    Output("indirect_water", FLOW, "GL",
           "Water consumed generating data-centre electricity (billion litres)",
           _flow("indirect_water"), "m^3", "Water Consumption|Data Centers|Indirect",
           "million m3/yr"),
    Output("water_consumption", FLOW, "GL", "Direct plus indirect water consumption "
           "(billion litres)", lambda raw: raw.flows["onsite_water"] + raw.flows["indirect_water"],
           "m^3", "Water Consumption|Data Centers", "million m3/yr"),
    Output("emissions", FLOW, "Mt", "CO2-equivalent emissions of data-centre electricity "
           "(megatonnes)", _flow("emissions"), "kg", "Emissions|Kyoto Gases|Data Centers",
           "Mt CO2-equiv/yr"),
    Output("grid_intensity", STOCK, "g/kWh", "Carbon intensity of data-centre electricity "
           "(CO2e)", _aux("grid_intensity"), "kg/J"),
    Output("clean_power_share", STOCK, "percent", "Share of data-centre electricity from "
           "additional clean-power contracts", _stock("clean_power_share"), "dimensionless"),
    Output("us_electricity", FLOW, E, "US electricity consumption", _flow("us_electricity"),
           ENERGY),
    Output("us_residential_electricity", FLOW, E, "US residential electricity sales",
           _flow("us_residential_electricity"), ENERGY),
)
OUTPUT_BY_NAME = {o.name: o for o in OUTPUTS}


def command_line() -> str:
    return " ".join(shlex.quote(a) for a in ["projection", *sys.argv[1:]])


def available_outputs(raw: RawResult) -> tuple[Output, ...]:
    """The catalogue outputs ``raw`` holds: all of them, or those a run kept (``keep=``)."""
    if raw.flows:
        return OUTPUTS
    return tuple(o for o in OUTPUTS if o.name in raw.outputs)


def to_dataset(raw: RawResult, provenance: Mapping[str, str | int] | None = None):
    """The result as an ``xarray.Dataset``: dims (year, sample[, workload]), ``units`` and
    ``long_name`` on each variable (every output, or those the run kept)."""
    import xarray as xr

    n_samples = raw.calibration_error.shape[0]
    coords = {
        "year": ("year", raw.years, {"long_name": "Calendar year"}),
        "sample": ("sample", np.arange(n_samples), {"long_name": "Ensemble member"}),
        "workload": ("workload", list(WORKLOADS), {"long_name": "AI workload class"}),
    }
    data_vars = {}
    for out in available_outputs(raw):
        values = out.values(raw)
        dims = ("year", "sample", "workload")[: values.ndim]
        data_vars[out.name] = (
            dims,
            values,
            {"units": out.unit, "long_name": out.long_name, "quantity_type": out.kind},
        )
    ds = xr.Dataset(data_vars, coords=coords)
    ds["workload"].attrs["labels"] = json.dumps(WORKLOAD_LABELS)
    calibration = {  # SI base units; one sample's values (the run's, for a scenario run)
        k: np.asarray(raw.parameters[k])[..., 0].tolist() for k in CALIBRATION_UNITS
    }
    ds.attrs.update(
        {
            "title": "projection: electricity, water and carbon of AI in US data centres",
            "model": "projection",
            "model_version": __version__,
            "command": command_line(),
            "calibration_si_units": json.dumps(calibration),
            "calibration_error_max": float(np.max(raw.calibration_error)),
            "conventions": "stocks on 1 January; flows are calendar-year totals",
        }
    )
    if provenance:
        ds.attrs.update(dict(provenance))
    return ds

