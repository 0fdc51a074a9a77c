"""The table of model parameters: name, section, unit, bounds and meaning.

One table drives scenario validation, the resolved-parameter record in every output file,
the sampling of uncertain inputs and the methodology document's parameter list, so they
cannot drift apart. Values live in the scenario files, never here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

WORKLOADS: tuple[str, ...] = ("small_text", "large_text", "reasoning", "image", "video")
"""Workload classes; the order is the order of the ``workload`` axis in every result."""

WORKLOAD_LABELS: dict[str, str] = {
    "small_text": "Small text model (Llama 3.1 8B class)",
    "large_text": "Large text model (Llama 3.1 405B class)",
    "reasoning": "Reasoning model (large model, long responses)",
    "image": "Image generation (Stable Diffusion 3 Medium class, 1024x1024)",
    "video": "Video generation (CogVideoX class, 5 s at 16 frames/s)",
}

REASONING = WORKLOADS.index("reasoning")

Kind = Literal["positive", "nonnegative", "fraction", "at_least_one", "growth"]
"""How a value is bounded.

- positive: > 0; nonnegative: >= 0; fraction: between 0 and 1; at_least_one: >= 1;
- growth: a compound annual rate (e.g. "30 %/yr" or "-2 %/yr") above -100 %/yr; the loader
  turns it into the continuous rate ln(1 + r) per year that the equations use.
"""


@dataclass(frozen=True)
class Parameter:
    name: str
    section: str
    unit: str
    kind: Kind
    description: str
    per_workload: bool = False

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"


def _p(section: str, name: str, unit: str, kind: Kind, description: str) -> Parameter:
    return Parameter(name, section, unit, kind, description)


PARAMETERS: tuple[Parameter, ...] = (
    # --- the calibrated state in the start year ------------------------------------------
    _p("start", "facility_energy_start", "TWh/yr", "positive",
       "US data-centre electricity in the start year (facility level, all loads)."),
    _p("start", "ai_energy_start", "TWh/yr", "positive",
       "The part of start-year data-centre electricity used by AI accelerator servers "
       "(facility level)."),
    _p("start", "data_centres_start", "data_centre", "positive",
       "Number of US data centres operating on 1 January of the start year."),
    _p("start", "load_factor_start", "dimensionless", "fraction",
       "Average power drawn over the start year divided by operating capacity; also the load "
       "factor that developers plan new capacity for."),
    _p("start", "historical_growth", "1/yr", "growth",
       "Growth of data-centre electricity in the years before the start year; sets the initial "
       "construction pipeline, the demand trend and the age profile of the accelerator fleet."),
    _p("start", "training_share_start", "dimensionless", "fraction",
       "Share of start-year AI electricity used for training (the rest is inference)."),
    _p("start", "requests_per_day_start", "request/day", "positive",
       "Generative-AI requests served per day from US data centres, start-year average."),
    _p("start", "pue_start", "dimensionless", "at_least_one",
       "Power usage effectiveness in the start year: facility energy / IT energy."),
    # --- per-request energy and mix, one table per workload ------------------------------
    Parameter("gpu_energy_per_request", "workloads", "J", "positive",
              "Measured accelerator (GPU) energy of one request on start-year hardware.", True),
    Parameter("request_share_start", "workloads", "dimensionless", "fraction",
              "Share of start-year requests in this workload; shares sum to one.", True),
    Parameter("request_share_target", "workloads", "dimensionless", "fraction",
              "Share of requests this workload drifts toward; shares sum to one.", True),
    # --- demand ---------------------------------------------------------------------------
    _p("demand", "overhead_factor", "dimensionless", "at_least_one",
       "Total energy of a request divided by its GPU energy at start-year PUE (CPUs, memory, "
       "cooling and other overhead)."),
    _p("demand", "adoption_growth", "1/yr", "growth",
       "Early, unsaturated growth rate of AI requests (logistic adoption)."),
    _p("demand", "saturation_multiple", "dimensionless", "at_least_one",
       "Saturation level of AI requests as a multiple of start-year requests, before rebound."),
    _p("demand", "rebound_elasticity", "dimensionless", "nonnegative",
       "Elasticity of the saturation level to the cost (energy) of a request: a fleet that "
       "uses half the energy per request raises the ceiling by 2^elasticity."),
    _p("demand", "mix_adjustment_time", "yr", "positive",
       "Time constant with which workload shares and reasoning length approach their targets."),
    _p("demand", "reasoning_tokens_multiplier_start", "dimensionless", "positive",
       "Tokens of a reasoning response relative to a standard large-model response, start year."),
    _p("demand", "reasoning_tokens_multiplier_target", "dimensionless", "positive",
       "Reasoning response length relative to a standard response that the mix drifts toward."),
    _p("demand", "unserved_demand_sensitivity", "dimensionless", "nonnegative",
       "How strongly the unserved fraction of demand slows adoption (1: growth stops when "
       "all demand is unserved)."),
    # --- hardware -------------------------------------------------------------------------
    _p("hardware", "frontier_efficiency_gain", "1/yr", "growth",
       "Yearly gain in work per joule of newly installed accelerators."),
    _p("hardware", "accelerator_lifetime", "yr", "positive",
       "Service life of an accelerator before retirement."),
    _p("hardware", "procurement_time", "yr", "positive",
       "Time to close a gap between needed and installed accelerator capacity."),
    _p("hardware", "training_compute_growth", "1/yr", "growth",
       "Yearly growth of aggregate AI training compute."),
    # --- conventional (non-AI) load -------------------------------------------------------
    _p("conventional", "conventional_demand_growth", "1/yr", "growth",
       "Yearly growth of conventional (non-AI) server, storage and network work."),
    _p("conventional", "conventional_efficiency_gain", "1/yr", "growth",
       "Yearly gain in work per joule of conventional IT equipment."),
    # --- facility -------------------------------------------------------------------------
    _p("facility", "pue_target", "dimensionless", "at_least_one",
       "PUE that the fleet approaches."),
    _p("facility", "pue_adjustment_time", "yr", "positive",
       "Time constant of the PUE trend."),
    # --- build-out ------------------------------------------------------------------------
    _p("buildout", "max_utilisation", "dimensionless", "fraction",
       "Highest average load that operating capacity can deliver; demand above it is unserved."),
    _p("buildout", "construction_time", "yr", "positive",
       "Average time from construction start to operation."),
    _p("buildout", "start_adjustment_time", "yr", "positive",
       "Time over which developers close the gap between desired and existing capacity."),
    _p("buildout", "interconnection_limit", "GW/yr", "positive",
       "Most new data-centre capacity the grid can take on in a year (caps starts)."),
    _p("buildout", "facility_lifetime", "yr", "positive",
       "Average service life of a data centre before retirement."),
    _p("buildout", "demand_smoothing_time", "yr", "positive",
       "Time over which developers average demand to see its trend."),
    _p("buildout", "centre_size_growth", "1/yr", "growth",
       "Yearly growth of the average capacity of a data centre."),
    # --- water ----------------------------------------------------------------------------
    _p("water", "onsite_wue_start", "L/kWh", "nonnegative",
       "On-site water consumption per unit of IT energy (site WUE), start year."),
    _p("water", "onsite_wue_change", "1/yr", "growth",
       "Yearly change of site WUE."),
    _p("water", "power_water_intensity_start", "L/kWh", "nonnegative",
       "Water consumed by power generation per unit of electricity supplied to data centres."),
    _p("water", "power_water_intensity_change", "1/yr", "growth",
       "Yearly change of the power sector's water intensity."),
    # --- carbon ---------------------------------------------------------------------------
    _p("carbon", "us_grid_intensity_start", "g/kWh", "positive",
       "Average carbon intensity of US electricity (CO2e), start year."),
    _p("carbon", "dc_grid_intensity_start", "g/kWh", "nonnegative",
       "Carbon intensity of the electricity US data centres use (CO2e), start year."),
    _p("carbon", "grid_intensity_change", "1/yr", "growth",
       "Yearly change of grid carbon intensity (negative: decarbonisation)."),
    _p("carbon", "clean_power_share_target", "dimensionless", "fraction",
       "Share of data-centre electricity that additional clean-power contracts reach."),
    _p("carbon", "clean_power_adjustment_time", "yr", "positive",
       "Time constant of the build-up of additional clean-power contracts."),
    # --- context for shares and equivalents -----------------------------------------------
    _p("context", "us_electricity_start", "TWh/yr", "positive",
       "Total US electricity consumption, start year."),
    _p("context", "us_electricity_growth", "1/yr", "growth",
       "Yearly growth of total US electricity consumption."),
    _p("context", "us_residential_electricity_start", "TWh/yr", "positive",
       "US residential (household) electricity sales, start year."),
    _p("context", "residential_electricity_growth", "1/yr", "growth",
       "Yearly growth of US residential electricity sales."),
    _p("context", "household_electricity", "kWh/yr", "positive",
       "Electricity of an average US household in a year."),
)

BY_NAME: dict[str, Parameter] = {p.name: p for p in PARAMETERS}
BY_KEY: dict[str, Parameter] = {p.key: p for p in PARAMETERS if not p.per_workload}
SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(p.section for p in PARAMETERS))
WORKLOAD_PARAMETERS: tuple[Parameter, ...] = tuple(p for p in PARAMETERS if p.per_workload)
SHARE_PARAMETERS: tuple[str, ...] = ("request_share_start", "request_share_target")
