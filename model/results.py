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

from . import __version__, regions
from .dynamics import CALIBRATION_UNITS
from .integrate import RawResult
from .labelled import Labelled, Variable
from .parameters import CHAT, SOURCE_LABELS, SOURCES, WORKLOAD_LABELS, WORKLOADS
from .state_results import STATE_FLOWS, state_capacity, state_centres, state_peak, state_share
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
    flags: tuple[str, ...] = ()
    """For a variable of integer codes: what each code 0, 1, ... means (CF ``flag_values``
    and ``flag_meanings``)."""
    dim: str = "workload"
    """The dimension of a three-dimensional output beside year and sample: ``workload``, or
    ``region`` (the states, ``projection.model.regions``)."""

    def model_values(self, raw: RawResult) -> np.ndarray:
        """Values in ``unit``, laid out as the model lays them out: (year, [workload or
        region,] sample)."""
        if self.name in raw.outputs:  # kept by ``simulate(..., keep=...)``
            return raw.outputs[self.name]
        return self.compute(raw) * conversion_factor(self.base_unit, self.unit)

    def values(self, raw: RawResult) -> np.ndarray:
        """Values in ``unit``, laid out (year, sample[, workload or region])."""
        values = self.model_values(raw)
        return np.moveaxis(values, 1, -1) if values.ndim == 3 else values


def _flow(name: str) -> Callable[[RawResult], np.ndarray]:
    return lambda raw: raw.flows[name]


def _stock(name: str) -> Callable[[RawResult], np.ndarray]:
    return lambda raw: raw.stocks[name]


def _mix_share(index: int) -> Callable[[RawResult], np.ndarray]:
    return lambda raw: raw.stocks["grid_mix"][:, index]


def _aux(name: str) -> Callable[[RawResult], np.ndarray]:
    return lambda raw: raw.auxiliaries[name]


def _ratio(numerator: str, denominator: str) -> Callable[[RawResult], np.ndarray]:
    return lambda raw: raw.flows[numerator] / raw.flows[denominator]


BINDING_CONSTRAINTS: tuple[str, ...] = (
    "demand", "chip_supply", "grid_connections", "built_capacity", "procurement_lead_time")
"""What sets delivered electricity in a year, by code: demand (all of it served), or what
defers the rest: the accelerators that can be made and delivered, the grid connections that
capped construction starts within the construction time before, capacity built (shipments
held back by room, the grid not capping starts), or only the lead time of orders."""
DEFERRED_SHARE_BINDS = 1e-3
"""Deferred energy, as a share of demand, below which demand is taken to set the year (the
rounding of the integrated flows is far below it)."""


def binding_constraint(raw: RawResult) -> np.ndarray:
    """Code of ``BINDING_CONSTRAINTS`` per year and sample, from the year's flows: demand when
    almost nothing is deferred; else the larger shortfall of shipments (against chip supply
    or against the room built capacity leaves), room split into grid connections (starts held
    back by the interconnection limit within the construction time up to the year) and built
    capacity; procurement lead time when neither held shipments back."""
    f = raw.flows
    deferred = f["deferred_energy"] > DEFERRED_SHARE_BINDS * f["facility_energy_demand"]
    chip, room = f["chip_shortfall"], f["room_shortfall"]
    # elementwise only (no loop over samples), so the graph tracer follows it too
    lag = np.ceil(raw.parameters["construction_time"] / SECONDS_PER_YEAR - 1e-9)
    held = f["grid_shortfall"] > 0.0
    rows = []
    for year in range(held.shape[0]):
        row = held[year]
        for back in range(1, year + 1):
            row = row | (held[year - back] & (lag >= back))
        rows.append(row)
    grid = np.stack(rows)
    code = np.where(room > 0.0, np.where(grid, 2.0, 3.0), 4.0)
    code = np.where((chip > 0.0) & (chip >= room), 1.0, code)
    return np.where(deferred, code, 0.0)


def _per_request(raw: RawResult, workload: int | None = None) -> np.ndarray:
    """Facility energy per served request, by workload (or of ``workload``): the year's
    generative energy over its served requests; in a year when a workload serves no request
    (a request share of zero) that ratio is 0/0, and the energy one request would take on the
    installed fleet on 1 January (its FLOP over the fleet's FLOP per joule, with the idle
    share, host overhead and cooling: ``dynamics`` auxiliary ``energy_per_request``) stands
    in: the physics is defined without the requests."""
    pick = slice(None) if workload is None else workload
    energy = raw.flows["generative_energy"][:, pick]
    served = raw.flows["served_requests"][:, pick]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = energy / served
    return np.where(served > 0, ratio, raw.auxiliaries["energy_per_request"][:, pick])


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
    Output("generative_inference_energy", FLOW, E,
           "Electricity of generative-AI inference (requests; facility level)",
           _flow("generative_inference_energy"), ENERGY, f"{DC}|AI|Inference|Generative",
           "TWh/yr"),
    Output("other_inference_energy", FLOW, E, "Electricity of AI inference beyond generative "
           "requests (recommendation and ads, enterprise and agents, unattributed; facility "
           "level)", _flow("other_inference_energy"), ENERGY, f"{DC}|AI|Inference|Other",
           "TWh/yr"),
    Output("recommendation_energy", FLOW, E, "Electricity of recommendation, ranking and ads "
           "models (facility level)", _flow("recommendation_energy"), ENERGY,
           f"{DC}|AI|Inference|Other|Recommendation", "TWh/yr"),
    Output("agent_energy", FLOW, E, "Electricity of enterprise machine learning and agent "
           "workloads outside the generative requests (facility level)", _flow("agent_energy"),
           ENERGY, f"{DC}|AI|Inference|Other|Enterprise and Agents", "TWh/yr"),
    Output("unattributed_energy", FLOW, E, "Electricity of unattributed AI work: what the start "
           "year's busy fleet holds beyond the named drivers (facility level)",
           _flow("unattributed_energy"), ENERGY, f"{DC}|AI|Inference|Other|Unattributed",
           "TWh/yr"),
    Output("ai_training_energy", FLOW, E, "Electricity of AI training (facility level)",
           _flow("ai_training_energy"), ENERGY, f"{DC}|AI|Training", "TWh/yr"),
    Output("ai_idle_energy", FLOW, E, "Part of AI electricity drawn by idle accelerator "
           "capacity (facility level; already inside the AI total)", _flow("ai_idle_energy"),
           ENERGY),
    Output("conventional_facility_energy", FLOW, E,
           "Electricity of conventional servers, storage and network (facility level)",
           _flow("conventional_facility_energy"), ENERGY, f"{DC}|Conventional", "TWh/yr"),
    Output("it_energy", FLOW, E, "IT equipment electricity delivered", _flow("it_energy"), ENERGY),
    Output("ai_it_energy", FLOW, E, "AI server electricity (IT level)", _flow("ai_it_energy"),
           ENERGY),
    Output("facility_energy_demand", FLOW, E, "Electricity data centres would draw with no "
           "supply limit (demand: delivered plus deferred)", _flow("facility_energy_demand"),
           ENERGY),
    Output("deferred_load", DERIVED, POWER_CAPACITY, "Load that waits for accelerators or "
           "capacity, yearly average (not part of the electricity delivered)",
           lambda raw: raw.flows["deferred_energy"] / SECONDS_PER_YEAR, "W"),
    Output("binding_constraint", DERIVED, "1", "What sets delivered electricity in the year",
           binding_constraint, "dimensionless", flags=BINDING_CONSTRAINTS),
    Output("behind_the_meter_energy", FLOW, E, "Electricity generated on site with natural gas "
           "(behind the meter; part of the electricity delivered)",
           _flow("behind_the_meter_energy"), ENERGY),
    Output("behind_the_meter_emissions", FLOW, "Mt", "CO2-equivalent emissions of the on-site "
           "gas generation (part of both emissions totals; megatonnes)",
           _flow("behind_the_meter_emissions"), "kg"),
    Output("behind_the_meter_water", FLOW, "GL", "Water consumed by the on-site gas generation "
           "(part of the indirect water; billion litres)", _flow("behind_the_meter_water"),
           "m^3"),
    Output("share_of_us_electricity", DERIVED, "percent",
           "Data-centre share of US electricity consumption",
           _ratio("facility_energy", "us_electricity"), "dimensionless"),
    Output("ai_share_of_us_electricity", DERIVED, "percent",
           "AI share of US electricity consumption",
           _ratio("ai_facility_energy", "us_electricity"), "dimensionless"),
    Output("ai_inference_share", DERIVED, "percent",
           "Share of inference (generative and other) in AI electricity; busy electricity is "
           "shared in proportion to peak work, so also the share of AI compute",
           _ratio("ai_inference_energy", "ai_facility_energy"), "dimensionless"),
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
           _stock("data_centres"), "dimensionless"),
    Output("accelerators_installed", STOCK, "accelerator",
           "AI accelerators installed in US data centres",
           lambda raw: raw.stocks["accelerators"].sum(axis=1), "dimensionless"),
    Output("accelerator_rated_power", STOCK, POWER_CAPACITY,
           "Rated power of the installed AI accelerators (before host overhead and PUE)",
           lambda raw: raw.stocks["accelerator_power"].sum(axis=1), "W"),
    Output("accelerator_shipments", FLOW, "accelerator",
           "AI accelerators shipped into US data centres in the year",
           _flow("accelerator_shipments"), "dimensionless"),
    Output("accelerator_utilisation", STOCK, "percent",
           "Busy share of the installed accelerators' peak capability",
           _aux("utilisation"), "dimensionless"),
    Output("generative_work", FLOW, "FLOP", "Generative-AI inference work served",
           _flow("generative_work"), "dimensionless"),
    Output("other_inference_work", FLOW, "FLOP", "AI inference work beyond generative requests "
           "served", _flow("other_inference_work"), "dimensionless"),
    Output("training_work", FLOW, "FLOP", "AI training work served", _flow("training_work"),
           "dimensionless"),
    Output("ai_requests_per_day", FLOW, "request/day",
           "AI requests served per day by workload (yearly average)",
           lambda raw: raw.flows["served_requests"] / SECONDS_PER_YEAR, "request/s"),
    Output("ai_requests_per_day_total", FLOW, "request/day",
           "AI requests served per day (yearly average)",
           lambda raw: raw.flows["served_requests"].sum(axis=1) / SECONDS_PER_YEAR,
           "request/s"),
    Output("text_tokens_per_day", FLOW, "token/day",
           "Text tokens processed per day, prompts and responses (reasoning included; yearly "
           "average)", lambda raw: raw.flows["text_tokens"] / SECONDS_PER_YEAR, "1/s"),
    Output("request_share", STOCK, "percent", "Share of AI requests by workload",
           _stock("request_share"), "dimensionless"),
    Output("reasoning_tokens", STOCK, "token", "Tokens of a reasoning response",
           _stock("reasoning_tokens"), "dimensionless"),
    Output("prompt_tokens_multiple", STOCK, "dimensionless",
           "Prompt tokens per text request relative to the start year",
           _stock("prompt_tokens_multiple"), "dimensionless"),
    Output("energy_per_request", DERIVED, "Wh",
           "Facility electricity of one request of the workload on the installed fleet over the "
           "year (idle share, host overhead and cooling included)",
           _per_request, "J"),
    Output("chat_energy_per_request", DERIVED, "Wh",
           "Facility electricity of the year's average chat request (large text model, its "
           "prompt lengthening) on the installed fleet",
           lambda raw: _per_request(raw, CHAT), "J"),
    Output("reference_request_energy", STOCK, "Wh",
           "Facility electricity of a fixed reference request (the start year's chat request: "
           "its prompt and response tokens on the large text model) on the installed fleet",
           _aux("reference_request_energy"), "J"),
    Output("fleet_flop_per_joule", STOCK, "FLOP/J",
           "Peak FLOP per joule at rated power of the installed accelerators",
           _aux("fleet_flop_per_joule"), "1/J"),
    Output("frontier_flop_per_joule", STOCK, "FLOP/J",
           "Peak FLOP per joule at rated power of newly shipped accelerators",
           _aux("frontier_flop_per_joule"), "1/J"),
    Output("pue", DERIVED, "dimensionless", "Power usage effectiveness of the whole fleet "
           "(facility over IT electricity)", _ratio("facility_energy", "it_energy"),
           "dimensionless"),
    Output("ai_pue", STOCK, "dimensionless", "Power usage effectiveness of AI facilities",
           _stock("ai_pue"), "dimensionless"),
    Output("conventional_pue", STOCK, "dimensionless",
           "Power usage effectiveness of legacy facilities", _stock("conventional_pue"),
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
    Output("emissions", FLOW, "Mt", "CO2 emissions of data-centre electricity, location-based "
           "(GHG Protocol Scope 2): operational (combustion) emission rates of the grid mix where "
           "centres draw power (megatonnes)", _flow("emissions"), "kg",
           "Emissions|CO2|Data Centers", "Mt CO2/yr"),
    Output("emissions_market_based", FLOW, "Mt", "CO2 emissions of data-centre electricity, "
           "market-based (GHG Protocol Scope 2): the location-based emissions of the electricity "
           "not matched by clean-power contracts, existing and additional (megatonnes)",
           _flow("emissions_market_based"), "kg", "Emissions|CO2 (Market-based)|Data Centers",
           "Mt CO2/yr"),
    Output("emissions_lifecycle", FLOW, "Mt", "Life-cycle CO2-equivalent emissions of "
           "data-centre electricity: IPCC AR5 life-cycle medians per source on the same grid mix "
           "(fuel supply, construction and decommissioning included; not a Scope 2 basis; "
           "megatonnes)", _flow("emissions_lifecycle"), "kg",
           "Emissions|Kyoto Gases (Life-cycle)|Data Centers", "Mt CO2-equiv/yr"),
    Output("emissions_new_load", FLOW, "Mt", "CO2 emissions of the data-centre load added since "
           "the start year at the short-run marginal emission rate (the operational rate of the "
           "coal and gas units that follow load; megatonnes)", _flow("emissions_new_load"), "kg",
           "Emissions|CO2 (Marginal, New Load)|Data Centers", "Mt CO2/yr"),
    Output("new_load_energy", FLOW, E, "Data-centre electricity added since the start year "
           "(delivered above the start year's rate)", _flow("new_load"), ENERGY),
    Output("grid_intensity", STOCK, "g/kWh", "Location-based carbon intensity of data-centre "
           "electricity: operational (combustion) CO2 emission rates of the grid mix (GHG Protocol "
           "Scope 2)", _aux("grid_intensity"), "kg/J"),
    Output("market_grid_intensity", STOCK, "g/kWh", "Market-based carbon intensity of "
           "data-centre electricity (CO2; the location-based intensity of the electricity not "
           "matched by clean-power contracts)", _aux("market_grid_intensity"), "kg/J"),
    Output("lifecycle_grid_intensity", STOCK, "g/kWh", "Life-cycle carbon intensity of "
           "data-centre electricity (CO2e; IPCC AR5 life-cycle medians per source on the grid mix)",
           _aux("lifecycle_grid_intensity"), "kg/J"),
    Output("marginal_grid_intensity", STOCK, "g/kWh", "Marginal emission rate of load added to "
           "the grid, short-run (CO2; the operational rate of the coal and gas units that follow "
           "load)",
           _aux("marginal_grid_intensity"), "kg/J"),
    Output("contracted_share", STOCK, "percent", "Share of data-centre electricity matched by "
           "clean-power contracts, existing and additional (market-based accounting)",
           _aux("contracted_share"), "dimensionless"),
    Output("clean_power_share", STOCK, "percent", "Share of the data-centre electricity left "
           "uncovered by the start year's contracts that additional clean-power contracts cover",
           _stock("clean_power_share"), "dimensionless"),
    Output("indirect_water_intensity", STOCK, "L/kWh", "Water consumed by power generation per "
           "unit of data-centre electricity (generation mix where centres are)",
           _aux("power_water_intensity"), "m^3/J"),
    Output("grid_fossil_share", STOCK, "percent", "Share of coal and natural gas in the "
           "generation mix of the grid where data centres draw power",
           lambda raw: raw.stocks["grid_mix"][:, SOURCES.index("coal")]
           + raw.stocks["grid_mix"][:, SOURCES.index("natural_gas")], "dimensionless"),
    *(Output(f"grid_share_{source}", STOCK, "percent",
             f"Share of {SOURCE_LABELS[source].lower()} in the generation mix of the grid where "
             "data centres draw power", _mix_share(i), "dimensionless")
      for i, source in enumerate(SOURCES)),
    Output("state_electricity", FLOW, E, "Data-centre electricity delivered in the state "
           "(facility level)", STATE_FLOWS["energy"], ENERGY, dim="region"),
    Output("state_electricity_share", DERIVED, "percent", "Data-centre share of the state's "
           "electricity consumption", state_share, "dimensionless", dim="region"),
    Output("state_capacity", STOCK, POWER_CAPACITY, "Operating data-centre capacity in the "
           "state", state_capacity, "W", dim="region"),
    Output("state_data_centres", STOCK, "data_centre", "Number of operating data centres in "
           "the state (the fleet's average size)",
           state_centres, "dimensionless", dim="region"),
    Output("state_peak_demand", DERIVED, POWER_CAPACITY, "Peak data-centre demand the state's "
           "centres are planned for (not a coincident system peak): "
           "average power over the planning load factor", state_peak, "W", dim="region"),
    Output("state_emissions", FLOW, "Mt", "CO2 emissions of the state's data-centre "
           "electricity, location-based (the state's generation mix)",
           STATE_FLOWS["emissions"], "kg", dim="region"),
    Output("state_emissions_market_based", FLOW, "Mt", "CO2 emissions of the state's "
           "data-centre electricity, market-based", STATE_FLOWS["emissions_market_based"],
           "kg", dim="region"),
    Output("state_onsite_water", FLOW, "GL", "On-site water consumption of the state's data "
           "centres (billion litres)", STATE_FLOWS["onsite_water"], "m^3", dim="region"),
    Output("state_indirect_water", FLOW, "GL", "Water consumed generating the state's "
           "data-centre electricity (billion litres)", STATE_FLOWS["indirect_water"], "m^3",
           dim="region"),
    Output("us_electricity", FLOW, E, "US electricity consumption (outside data centres plus "
           "data centres)", _flow("us_electricity"), ENERGY),
    Output("us_other_electricity", FLOW, E, "US electricity consumption outside data centres",
           _flow("us_other_electricity"), ENERGY),
    Output("us_residential_electricity", FLOW, E, "US residential electricity sales",
           _flow("us_residential_electricity"), ENERGY),
)
OUTPUT_BY_NAME = {o.name: o for o in OUTPUTS}


def third_coords(dims) -> dict[str, tuple]:
    """xarray coordinates of the third dimensions in ``dims`` (``workload``, ``region``)."""
    d = regions.data()
    known = {
        "workload": ("workload", list(WORKLOADS), {"long_name": "AI workload class"}),
        "region": ("region", list(d.states), {"long_name": "US state (USPS code)"}),
    }
    return {name: known[name] for name in dims if name in known}


def command_line() -> str:
    return " ".join(shlex.quote(a) for a in ["projection", *sys.argv[1:]])


def available_outputs(raw: RawResult) -> tuple[Output, ...]:
    """The catalogue outputs ``raw`` holds: all of them, or those a run kept (``keep=``)."""
    if raw.flows:
        return OUTPUTS
    return tuple(o for o in OUTPUTS if o.name in raw.outputs)


def to_labelled(raw: RawResult, provenance: Mapping[str, str | int] | None = None) -> Labelled:
    """The result as plain labelled arrays (:class:`~projection.model.labelled.Labelled`): dims
    (year, sample[, workload]), ``units`` and ``long_name`` on each variable (every output, or
    those the run kept). :func:`to_dataset` is the same as an ``xarray.Dataset``."""
    n_samples = raw.calibration_error.shape[0]
    coords = {
        "year": Variable(("year",), np.asarray(raw.years), {"long_name": "Calendar year"}),
        "sample": Variable(("sample",), np.arange(n_samples), {"long_name": "Ensemble member"}),
        "workload": Variable(("workload",), np.array(list(WORKLOADS)),
                             {"long_name": "AI workload class",
                              "labels": json.dumps(WORKLOAD_LABELS)}),
        "region": Variable(("region",), np.array(list(regions.data().states)),
                           {"long_name": "US state (USPS code)",
                            "labels": json.dumps(regions.data().state_names)}),
        "grid_region": Variable(("region",), np.array([regions.data().region_of[s]
                                                       for s in regions.data().states]),
                                {"long_name": "Grid region where the state's load connects",
                                 "labels": json.dumps(regions.data().grid_region_names)}),
    }
    data_vars = {}
    for out in available_outputs(raw):
        values = out.values(raw)
        dims = ("year", "sample", out.dim)[: values.ndim]
        attrs = {"units": out.unit, "long_name": out.long_name, "quantity_type": out.kind}
        if out.flags:
            attrs["flag_values"] = np.arange(len(out.flags), dtype=float)
            attrs["flag_meanings"] = " ".join(out.flags)
        data_vars[out.name] = Variable(dims, values, attrs)
    calibration = {  # SI base units; one sample's values (the run's, for a scenario run)
        k: np.asarray(raw.parameters[k])[..., 0].tolist() for k in CALIBRATION_UNITS
    }
    attrs: dict[str, str | int | float] = {
        "title": "projection: electricity, water and carbon of AI in US data centres",
        "model": "projection",
        "model_version": __version__,
        "command": command_line(),
        "calibration_si_units": json.dumps(calibration),
        "calibration_error_max": float(np.max(raw.calibration_error)),
        "conventions": "stocks on 1 January; flows are calendar-year totals",
    }
    if provenance:
        attrs.update(dict(provenance))
    return Labelled(coords, data_vars, attrs)


def to_dataset(raw: RawResult, provenance: Mapping[str, str | int] | None = None):
    """The result as an ``xarray.Dataset``: dims (year, sample[, workload]), ``units`` and
    ``long_name`` on each variable (every output, or those the run kept)."""
    return to_labelled(raw, provenance).to_dataset()
