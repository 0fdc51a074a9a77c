"""The table of model parameters: name, section, unit, bounds and meaning.

One table drives scenario validation, the resolved-parameter record in every output file,
the sampling of uncertain inputs and the methodology document's parameter list, so they
cannot drift apart. Values live in the scenario files, never here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

WORKLOADS: tuple[str, ...] = ("small_text", "large_text", "reasoning", "image", "video")
"""Workload classes; the order is the order of the ``workload`` axis in every result."""

WORKLOAD_LABELS: dict[str, str] = {
    "small_text": "Small text model (Llama 3.1 8B class, 8 billion active parameters)",
    "large_text": "Chat: large text model (GPT-4o class, about 100 billion active parameters)",
    "reasoning": "Reasoning model (chat-class model, long hidden chain of thought)",
    "image": "Image generation (Stable Diffusion 3 Medium class, 1024x1024)",
    "video": "Video generation (CogVideoX-5B class, 6 s at 8 frames/s)",
}

SOURCES: tuple[str, ...] = ("coal", "natural_gas", "nuclear", "hydro", "wind", "solar", "other")
"""Generation sources of the electricity data centres draw; the order is the order of the
``source`` axis of the generation-mix arrays. ``other`` is biomass, geothermal, petroleum and
other gases."""

SOURCE_LABELS: dict[str, str] = {
    "coal": "Coal",
    "natural_gas": "Natural gas",
    "nuclear": "Nuclear",
    "hydro": "Hydropower (conventional)",
    "wind": "Wind",
    "solar": "Solar",
    "other": "Other (biomass, geothermal, petroleum, other gases)",
}

MARGINAL_SOURCES: tuple[str, ...] = ("coal", "natural_gas")
"""The sources at the short-run margin: the fossil units whose output follows load, so that
they serve load added to the grid. The others (nuclear, hydropower, wind, solar, biomass and
geothermal) are low-cost or must-run generation that added load does not call on (EPA's AVERT
models only fossil units as the margin; UNFCCC CDM Methodological Tool 07's simple operating
margin excludes low-cost and must-run sources)."""

REASONING = WORKLOADS.index("reasoning")
CHAT = WORKLOADS.index("large_text")
"""The workload the headline calls "a chat request"."""

Kind = Literal["positive", "nonnegative", "fraction", "at_least_one", "growth"]
"""How a value is bounded.

- positive: > 0; nonnegative: >= 0; fraction: between 0 and 1; at_least_one: >= 1;
- growth: a compound annual rate (e.g. "30 %/yr" or "-2 %/yr") above -100 %/yr; the loader
  turns it into the continuous rate ln(1 + r) per year that the equations use.
"""

Role = Literal["lever", "assumption"]
"""What a parameter stands for.

- lever: what a government, utility or data-centre operator decides (grid connection limits
  and moratoria, PUE and WUE standards, clean-power procurement);
- assumption: what the world does (adoption, chip and software efficiency, model sizes, the
  grid's generation mix, the calibrated start state, the context series).
"""


@dataclass(frozen=True)
class Parameter:
    name: str
    section: str
    unit: str
    kind: Kind
    description: str
    per_workload: bool = False
    role: Role | None = None
    """Lever or assumption: set for every parameter from ``LEVERS`` below the table."""

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"


def _p(section: str, name: str, unit: str, kind: Kind, description: str) -> Parameter:
    return Parameter(name, section, unit, kind, description)


PARAMETERS: tuple[Parameter, ...] = (
    # --- the calibrated state in the start year ------------------------------------------
    _p("start", "facility_energy_start", "TWh/yr", "positive",
       "US data-centre electricity in the start year (facility level, all loads)."),
    _p("start", "data_centres_start", "data_centre", "positive",
       "Number of US data centres operating on 1 January of the start year."),
    _p("start", "load_factor_start", "dimensionless", "fraction",
       "Average power drawn over the start year divided by operating capacity; also the load "
       "factor that developers plan new capacity for."),
    _p("start", "historical_growth", "1/yr", "growth",
       "Growth of data-centre electricity in the years before the start year; sets the "
       "demand trend that developers see on 1 January."),
    _p("start", "construction_pipeline_start", "GW", "nonnegative",
       "Data-centre capacity under construction on 1 January of the start year (a published "
       "start stock, the same in every scenario)."),
    _p("start", "training_share_start", "dimensionless", "fraction",
       "Share of start-year AI electricity used for training (more than what generative "
       "requests leave is an infeasible start); the rest after generative requests is other "
       "AI inference."),
    _p("start", "requests_per_day_start", "request/day", "positive",
       "Generative-AI requests served per day from US data centres, start-year average."),
    # --- work per request and mix, one table per workload --------------------------------
    Parameter("active_parameters", "workloads", "dimensionless", "positive",
              "Model parameters active for each token (each latent token and denoising step "
              "for image and video); one forward pass costs 2 FLOP per active parameter.", True),
    Parameter("tokens_per_request", "workloads", "token", "positive",
              "Tokens generated per request (text: response tokens; image and video: latent "
              "tokens x denoising steps x guidance passes); for reasoning, the start-year "
              "value.", True),
    Parameter("prompt_tokens_per_request", "workloads", "token", "nonnegative",
              "Input tokens processed per request before the response (prompt, system prompt, "
              "conversation history, retrieved text); 2 FLOP per active parameter each, run "
              "at the prompt FLOP utilisation.", True),
    Parameter("flop_utilisation", "workloads", "dimensionless", "fraction",
              "Model FLOP utilisation when generating this workload's output: FLOP delivered "
              "per second by a busy accelerator over its peak FLOP/s.", True),
    Parameter("request_share_start", "workloads", "dimensionless", "fraction",
              "Share of start-year requests in this workload; shares sum to one.", True),
    Parameter("request_share_target", "workloads", "dimensionless", "fraction",
              "Share of requests this workload drifts toward; shares sum to one.", True),
    # --- demand ---------------------------------------------------------------------------
    _p("demand", "adoption_growth", "1/yr", "growth",
       "Early, unsaturated growth rate of AI requests (logistic adoption)."),
    _p("demand", "saturation_multiple", "dimensionless", "at_least_one",
       "Saturation level of AI requests as a multiple of start-year requests, before rebound."),
    _p("demand", "rebound_elasticity", "dimensionless", "nonnegative",
       "Elasticity of the saturation level to the energy of a request: a request that "
       "costs half the energy raises the ceiling by 2^elasticity."),
    _p("demand", "mix_adjustment_time", "yr", "positive",
       "Time constant with which workload shares, reasoning length and prompt length approach "
       "their targets."),
    _p("demand", "reasoning_tokens_target", "token", "positive",
       "Tokens of a reasoning response that reasoning length drifts toward."),
    _p("demand", "prompt_tokens_multiple_target", "dimensionless", "positive",
       "Multiple of the start year's prompt tokens per request that the prompts of text "
       "requests drift toward (retrieved text, conversation memory, files, coding tools and "
       "agents carry longer contexts)."),
    _p("demand", "unserved_demand_sensitivity", "dimensionless", "nonnegative",
       "How strongly the unserved fraction of AI work slows the growth of the work asked "
       "of the fleet: adoption of requests, training and other AI inference (1: growth stops "
       "when all demand is unserved)."),
    _p("demand", "prompt_flop_utilisation", "dimensionless", "fraction",
       "Model FLOP utilisation of prompt processing (prefill): all input tokens of a request "
       "run in parallel, so it is compute-bound."),
    _p("demand", "other_inference_flop_utilisation", "dimensionless", "fraction",
       "Model FLOP utilisation of other AI inference: FLOP delivered per second by a busy "
       "accelerator over its peak FLOP/s."),
    _p("demand", "software_efficiency_gain", "1/yr", "growth",
       "Yearly gain in what a FLOP of inference serves (distillation, quantisation, "
       "sparsity, batching), separate from hardware: the FLOP a request or service needs "
       "divides by (1 + gain) each year."),
    _p("demand", "unattributed_growth", "1/yr", "growth",
       "Yearly growth of the unattributed AI work (what the start year's busy fleet holds "
       "beyond the named drivers), before software efficiency."),
    _p("demand", "recommendation_share_start", "dimensionless", "fraction",
       "Share of start-year AI electricity used by recommendation, ranking and ads models."),
    _p("demand", "recommendation_growth", "1/yr", "growth",
       "Yearly growth of the work of recommendation, ranking and ads models, before software "
       "efficiency."),
    _p("demand", "agent_share_start", "dimensionless", "fraction",
       "Share of start-year AI electricity used by enterprise machine learning and agent "
       "workloads outside the generative requests counted by workload."),
    _p("demand", "agent_growth", "1/yr", "growth",
       "Yearly growth of the work of enterprise and agent workloads, before software "
       "efficiency."),
    _p("demand", "prompt_cache_hit_share", "dimensionless", "fraction",
       "Share of prompt tokens whose attention keys and values are reused from a cache, so "
       "that their prefill is not computed again."),
    # --- hardware: the installed base of accelerators ---------------------------------------
    _p("hardware", "shipments_start", "accelerator/yr", "positive",
       "Accelerators shipped into US data centres in the year before the start year."),
    _p("hardware", "shipment_growth_history", "1/yr", "growth",
       "Yearly growth of accelerator shipments in the years before the start year; sets the "
       "age profile of the start-year installed base."),
    _p("hardware", "installed_base_age", "yr", "positive",
       "Age of the oldest accelerators still installed on 1 January of the start year."),
    _p("hardware", "rated_power_start", "W", "positive",
       "Rated power (TDP) per accelerator shipped in the year before the start year."),
    _p("hardware", "rated_power_growth", "1/yr", "growth",
       "Yearly growth of the rated power of newly shipped accelerators."),
    _p("hardware", "peak_flop_per_joule_start", "FLOP/J", "positive",
       "Peak dense 16-bit FLOP per joule at rated power of accelerators shipped in the year "
       "before the start year."),
    _p("hardware", "historical_efficiency_gain", "1/yr", "growth",
       "Yearly gain in peak FLOP per joule of the accelerators shipped before the start year; "
       "sets the efficiency profile of the start-year installed base."),
    _p("hardware", "frontier_efficiency_gain", "1/yr", "growth",
       "Yearly gain in peak FLOP per joule of newly shipped accelerators."),
    _p("hardware", "host_overhead", "dimensionless", "at_least_one",
       "Server power per accelerator (CPUs, memory, network, fans) over the accelerator's "
       "rated power, at the same load."),
    _p("hardware", "idle_power_fraction", "dimensionless", "fraction",
       "Power an idle accelerator server draws as a fraction of its full-load power."),
    _p("hardware", "start_utilisation", "dimensionless", "fraction",
       "Busy share of the installed accelerators' peak capability in the start year (peak "
       "work demanded over peak capability installed). An input: the calibration sets other "
       "AI inference work from it, and the start-year AI electricity follows from it."),
    _p("hardware", "accelerator_lifetime", "yr", "positive",
       "Service life of an accelerator before retirement."),
    _p("hardware", "planned_utilisation_ratio", "dimensionless", "positive",
       "Utilisation that buyers plan new fleets for, relative to the start-year utilisation "
       "(below 1: more accelerators for the same work, as in LBNL 2024's low-utilisation "
       "variations)."),
    _p("hardware", "procurement_time", "yr", "positive",
       "Time to close a gap between needed and installed accelerator capability."),
    _p("hardware", "training_compute_growth", "1/yr", "growth",
       "Yearly growth of aggregate AI training compute (FLOP)."),
    _p("hardware", "max_operating_utilisation", "dimensionless", "fraction",
       "Highest busy share of peak capability that an accelerator fleet sustains over a "
       "year; work beyond it waits (deferred) until hardware arrives."),
    _p("hardware", "supply_start", "accelerator/yr", "positive",
       "Most accelerators that can be made and delivered to US data centres in the first "
       "projected year."),
    _p("hardware", "supply_growth", "1/yr", "growth",
       "Yearly growth of the accelerators that can be made and delivered (advanced-packaging "
       "capacity)."),
    _p("hardware", "training_flop_utilisation", "dimensionless", "fraction",
       "Model FLOP utilisation of training: FLOP delivered by a busy accelerator over its "
       "peak FLOP/s."),
    # --- conventional (non-AI) load -------------------------------------------------------
    _p("conventional", "conventional_demand_growth", "1/yr", "growth",
       "Yearly growth of conventional (non-AI) server, storage and network work."),
    _p("conventional", "conventional_efficiency_gain", "1/yr", "growth",
       "Yearly gain in work per joule of conventional IT equipment."),
    # --- facility -------------------------------------------------------------------------
    _p("facility", "ai_pue_start", "dimensionless", "at_least_one",
       "PUE of the facilities that house AI accelerator servers, start year."),
    _p("facility", "ai_pue_target", "dimensionless", "at_least_one",
       "PUE that AI facilities approach as AI-specialised halls replace retrofits."),
    _p("facility", "conventional_pue_start", "dimensionless", "at_least_one",
       "PUE of legacy facilities that house conventional IT, start year."),
    _p("facility", "conventional_pue_target", "dimensionless", "at_least_one",
       "PUE that legacy facilities approach."),
    _p("facility", "pue_adjustment_time", "yr", "positive",
       "Time constant of the PUE trends."),
    # --- build-out ------------------------------------------------------------------------
    _p("buildout", "max_utilisation", "dimensionless", "fraction",
       "Highest average load that operating capacity can carry; new load beyond it is "
       "unserved."),
    _p("buildout", "construction_time", "yr", "positive",
       "Average time from construction start to operation."),
    _p("buildout", "start_adjustment_time", "yr", "positive",
       "Time over which developers close the gap between desired and existing capacity."),
    _p("buildout", "interconnection_limit", "GW/yr", "nonnegative",
       "Most new data-centre capacity the grid can take on in a year (caps starts; zero: no "
       "new connections, a moratorium)."),
    _p("buildout", "onsite_generation_share", "dimensionless", "fraction",
       "Share of the construction starts beyond the interconnection limit that developers "
       "build with their own on-site gas generation (behind the meter) instead of waiting."),
    _p("buildout", "relocation_share", "dimensionless", "fraction",
       "Share of the construction a state or grid region cannot connect that developers "
       "move to states with room left; the rest is built on site (onsite_generation_share) "
       "or not in the US."),
    _p("buildout", "facility_lifetime", "yr", "positive",
       "Average service life of a data centre before retirement."),
    _p("buildout", "demand_smoothing_time", "yr", "positive",
       "Time over which developers and accelerator buyers average demand to see its trend."),
    _p("buildout", "new_centre_size_start", "MW", "positive",
       "Average capacity of a data centre completed in the start year."),
    _p("buildout", "new_centre_size_growth", "1/yr", "growth",
       "Yearly growth of the average capacity of newly completed data centres."),
    # --- water ----------------------------------------------------------------------------
    _p("water", "ai_wue", "L/kWh", "nonnegative",
       "On-site water consumption per unit of IT energy (site WUE) of AI facilities, start "
       "year."),
    _p("water", "conventional_wue", "L/kWh", "nonnegative",
       "Site WUE of legacy facilities, start year."),
    _p("water", "onsite_wue_change", "1/yr", "growth",
       "Yearly change of site WUE in both kinds of facility."),
    # --- carbon ---------------------------------------------------------------------------
    _p("carbon", "us_grid_intensity_start", "g/kWh", "positive",
       "Average carbon intensity of US electricity (CO2e), start year."),
    _p("carbon", "clean_power_share_target", "dimensionless", "fraction",
       "Share of the data-centre electricity that existing contracts leave uncovered which "
       "additional clean-power contracts reach (market-based accounting)."),
    _p("carbon", "clean_power_adjustment_time", "yr", "positive",
       "Time constant of the build-up of additional clean-power contracts."),
    _p("carbon", "contracted_share_start", "dimensionless", "fraction",
       "Share of start-year data-centre electricity matched by the clean-power contracts in "
       "place (market-based accounting); the contracted electricity then stays at its "
       "start-year amount."),
    # --- the generation mix of the grid where data centres draw power --------------------------
    *(_p("grid", f"{source}_share_start", "dimensionless", "fraction",
         f"Share of {SOURCE_LABELS[source].lower()} in the generation mix of the grid where "
         "data centres draw power, start year; the shares sum to one.") for source in SOURCES),
    *(_p("grid", f"{source}_share_target", "dimensionless", "fraction",
         f"Share of {SOURCE_LABELS[source].lower()} that the data-centre grid mix drifts "
         "toward; the shares sum to one.") for source in SOURCES),
    _p("grid", "grid_mix_adjustment_time", "yr", "positive",
       "Time constant with which the generation shares approach their targets (plants are "
       "built and retired over years)."),
    *(_p("grid", f"{source}_carbon_intensity", "g/kWh", "nonnegative",
         f"Life-cycle CO2e emissions per unit of electricity generated from "
         f"{SOURCE_LABELS[source].lower()}; the life-cycle output only.") for source in SOURCES),
    *(_p("grid", f"{source}_water_intensity", "L/kWh", "nonnegative",
         f"Water consumed (operation, including cooling and, for hydropower, reservoir "
         f"evaporation) per unit of electricity generated from "
         f"{SOURCE_LABELS[source].lower()}.") for source in SOURCES),
    *(_p("grid", f"{source}_emission_rate", "g/kWh", "nonnegative",
         f"Operational (combustion) CO2 emissions per unit of electricity generated from "
         f"{SOURCE_LABELS[source].lower()}: the location-based and marginal bases.")
      for source in SOURCES),
    # --- context for shares and equivalents -----------------------------------------------
    _p("context", "us_other_electricity_start", "TWh/yr", "positive",
       "US electricity consumption outside data centres, start year."),
    _p("context", "us_other_electricity_growth", "1/yr", "growth",
       "Yearly growth of US electricity consumption outside data centres."),
    _p("context", "us_residential_electricity_start", "TWh/yr", "positive",
       "US residential (household) electricity sales, start year."),
    _p("context", "residential_electricity_growth", "1/yr", "growth",
       "Yearly growth of US residential electricity sales."),
    _p("context", "household_electricity", "kWh/yr", "positive",
       "Electricity of an average US household in a year."),
)

LEVERS: frozenset[str] = frozenset({
    "buildout.interconnection_limit",      # grid connections: limits and moratoria
    "buildout.onsite_generation_share",    # operators building their own generation
    "facility.ai_pue_target",              # PUE standards
    "facility.conventional_pue_target",
    "facility.pue_adjustment_time",        # how fast a PUE standard applies
    "water.onsite_wue_change",             # WUE standards
    "carbon.clean_power_share_target",     # clean-power procurement
    "carbon.clean_power_adjustment_time",
})
"""The parameters that are policy levers (``Role``); every other parameter is an assumption."""
PARAMETERS = tuple(replace(p, role="lever" if p.key in LEVERS else "assumption")
                   for p in PARAMETERS)
ROLES: tuple[Role, ...] = ("lever", "assumption")

BY_NAME: dict[str, Parameter] = {p.name: p for p in PARAMETERS}
BY_KEY: dict[str, Parameter] = {p.key: p for p in PARAMETERS if not p.per_workload}
SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(p.section for p in PARAMETERS))
WORKLOAD_PARAMETERS: tuple[Parameter, ...] = tuple(p for p in PARAMETERS if p.per_workload)
SHARE_PARAMETERS: tuple[str, ...] = ("request_share_start", "request_share_target")
MIX_SHARES: dict[str, tuple[str, ...]] = {
    f"grid.*_share_{when}": tuple(f"grid.{source}_share_{when}" for source in SOURCES)
    for when in ("start", "target")
}
"""The generation shares: label used in messages -> the keys that must sum to one."""
MIX_SHARE_KEYS: frozenset[str] = frozenset(k for keys in MIX_SHARES.values() for k in keys)
MIX_ARRAYS: dict[str, str] = {
    "grid_share_start": "share_start", "grid_share_target": "share_target",
    "source_carbon_intensity": "carbon_intensity", "source_water_intensity": "water_intensity",
    "source_emission_rate": "emission_rate",
}
"""Arrays (sources, samples) that ``dynamics.with_derived`` stacks from the per-source
parameters ``{source}_{suffix}``."""

START_YEAR_INPUTS: frozenset[str] = frozenset({
    # the calibrated start state
    *(p.name for p in PARAMETERS if p.section == "start"),
    # the per-request physics that splits the start fleet's busy capability
    "active_parameters", "tokens_per_request", "prompt_tokens_per_request", "flop_utilisation",
    "request_share_start", "prompt_flop_utilisation", "other_inference_flop_utilisation",
    "training_flop_utilisation",
    # the split of the start year's other AI inference among its named drivers, and the cached
    # share of prompts that the start year's requests do not compute again
    "recommendation_share_start", "agent_share_start", "prompt_cache_hit_share",
    # the installed base from published shipments, and what it draws
    "shipments_start", "shipment_growth_history", "installed_base_age", "rated_power_start",
    "rated_power_growth", "peak_flop_per_joule_start", "historical_efficiency_gain",
    "host_overhead", "idle_power_fraction", "start_utilisation",
    # start-year capacity: the loader requires it above the start load factor
    "max_utilisation",
    # facilities, water and the generation mix as they are in the start year
    "ai_pue_start", "conventional_pue_start", "ai_wue", "conventional_wue",
    *(f"{s}_share_start" for s in SOURCES), *(f"{s}_carbon_intensity" for s in SOURCES),
    *(f"{s}_water_intensity" for s in SOURCES),
    *(f"{s}_emission_rate" for s in SOURCES), "contracted_share_start",
    # the start year's context
    "us_other_electricity_start", "us_residential_electricity_start", "household_electricity",
})
"""The parameters the held start year is built from (docs/methodology.md, section 7). Every
other parameter acts from 1 January of the year after the start, so it cannot change any
start-year output; ``tests/test_start_year.py`` holds the declaration both ways."""
