"""Short labels of the parameters, for prose and tables that people read.

A label says in a few plain words what a parameter is; its meaning in full, its unit and its
bounds stay in the parameter table (model/parameters.py), whose keys these labels follow. A
test checks that every parameter has one, so the table and its labels cannot drift apart.
"""

from __future__ import annotations

from .parameters import PARAMETERS, SOURCE_LABELS, SOURCES, WORKLOAD_LABELS, WORKLOADS

SHORT_LABELS: dict[str, str] = {
    # --- start year
    "start.facility_energy_start": "data-centre electricity in the start year",
    "start.data_centres_start": "data centres in the start year",
    "start.load_factor_start": "load factor of data-centre capacity",
    "start.historical_growth": "growth of data-centre electricity before the start year",
    "start.construction_pipeline_start": "capacity under construction in the start year",
    "start.training_share_start": "training share of AI electricity in the start year",
    "start.requests_per_day_start": "AI requests a day in the start year",
    # --- demand
    "demand.adoption_growth": "early growth of AI requests",
    "demand.saturation_multiple": "ceiling of AI requests (multiple of the start year)",
    "demand.rebound_elasticity": "rebound of requests when they get cheaper",
    "demand.mix_adjustment_time": "time for the request mix to change",
    "demand.reasoning_tokens_target": "length of a reasoning response (long run)",
    "demand.prompt_tokens_multiple_target": "growth of prompt length (multiple, long run)",
    "demand.unserved_demand_sensitivity": "how much unserved demand slows AI growth",
    "demand.prompt_flop_utilisation": "chip utilisation reading prompts",
    "demand.other_inference_flop_utilisation": "chip utilisation of other AI inference",
    "demand.software_efficiency_gain": "software efficiency gain",
    "demand.unattributed_growth": "growth of AI inference not attributed to a driver",
    "demand.recommendation_share_start": "ranking and ads share of AI power, start year",
    "demand.recommendation_growth": "growth of recommendation, ranking and ads work",
    "demand.agent_share_start": "enterprise and agent share of AI power, start year",
    "demand.agent_growth": "growth of enterprise and agent work",
    "demand.prompt_cache_hit_share": "share of prompt tokens served from a cache",
    "hardware.max_operating_utilisation": "highest utilisation a fleet sustains",
    "hardware.supply_start": "accelerators deliverable to US centres, first year",
    "hardware.supply_growth": "growth of the accelerator supply",
    "buildout.onsite_generation_share": "share of unconnected build that runs on on-site gas",
    "buildout.relocation_share": "share of unconnected build that moves to other states",
    "carbon.contracted_share_start": "clean-power contracts' share, start year",
    # --- hardware
    "hardware.shipments_start": "AI chips shipped in the year before the start",
    "hardware.shipment_growth_history": "growth of AI chip shipments before the start year",
    "hardware.installed_base_age": "age of the oldest installed AI chips",
    "hardware.rated_power_start": "rated power of a new AI chip",
    "hardware.rated_power_growth": "growth of the rated power of new AI chips",
    "hardware.peak_flop_per_joule_start": "energy efficiency of a new AI chip",
    "hardware.historical_efficiency_gain": "chip efficiency gain before the start year",
    "hardware.frontier_efficiency_gain": "chip efficiency gain of new AI chips",
    "hardware.host_overhead": "server power beyond the AI chip (multiple)",
    "hardware.idle_power_fraction": "power of an idle AI server",
    "hardware.start_utilisation": "utilisation of AI chips in the start year",
    "hardware.accelerator_lifetime": "service life of an AI chip",
    "hardware.planned_utilisation_ratio": "utilisation buyers plan for (relative)",
    "hardware.procurement_time": "time to buy and install AI chips",
    "hardware.training_compute_growth": "growth of AI training compute",
    "hardware.training_flop_utilisation": "chip utilisation in training",
    # --- conventional load
    "conventional.conventional_demand_growth": "growth of conventional (non-AI) computing",
    "conventional.conventional_efficiency_gain": "efficiency gain of conventional servers",
    # --- facility
    "facility.ai_pue_start": "PUE of AI data centres in the start year",
    "facility.ai_pue_target": "PUE of AI data centres (long run)",
    "facility.conventional_pue_start": "PUE of other data centres in the start year",
    "facility.conventional_pue_target": "PUE of other data centres (long run)",
    "facility.pue_adjustment_time": "time for PUE to improve",
    # --- build-out
    "buildout.max_utilisation": "highest load capacity can carry",
    "buildout.construction_time": "time to build a data centre",
    "buildout.start_adjustment_time": "time developers take to respond to demand",
    "buildout.interconnection_limit": "grid connections for new data centres",
    "buildout.facility_lifetime": "service life of a data centre",
    "buildout.demand_smoothing_time": "time over which builders average demand",
    "buildout.new_centre_size_start": "size of a new data centre",
    "buildout.new_centre_size_growth": "growth of the size of new data centres",
    # --- water
    "water.ai_wue": "on-site water use of AI data centres",
    "water.conventional_wue": "on-site water use of other data centres",
    "water.onsite_wue_change": "yearly change of on-site water use",
    # --- carbon
    "carbon.us_grid_intensity_start": "carbon intensity of US electricity in the start year",
    "carbon.clean_power_share_target": "share covered by clean-power contracts (long run)",
    "carbon.clean_power_adjustment_time": "time to sign clean-power contracts",
    "grid.grid_mix_adjustment_time": "time for the grid mix to change",
    # --- context
    "context.us_other_electricity_start": "US electricity outside data centres, start year",
    "context.us_other_electricity_growth": "growth of US electricity outside data centres",
    "context.us_residential_electricity_start": "US household electricity, start year",
    "context.residential_electricity_growth": "growth of US household electricity",
    "context.household_electricity": "electricity of an average US home",
}
"""Labels of the parameters that are not per source or per workload, by scenario key."""

_SOURCE_WORDS: dict[str, str] = {s: SOURCE_LABELS[s].split(" (")[0].lower() for s in SOURCES}
_SOURCE_PATTERNS: dict[str, str] = {
    "share_start": "{source} share of the grid mix in the start year",
    "share_target": "{source} share of the grid mix (long run)",
    "carbon_intensity": "life-cycle carbon of {source} power",
    "emission_rate": "CO2 emitted by {source} power plants",
    "water_intensity": "water consumed by {source} power plants",
}
_WORKLOAD_WORDS: dict[str, str] = {
    "small_text": "small text model", "large_text": "chat (large text model)",
    "reasoning": "reasoning model", "image": "image generation", "video": "video generation",
}
_WORKLOAD_PATTERNS: dict[str, str] = {
    "active_parameters": "active model parameters, {workload}",
    "tokens_per_request": "tokens generated per request, {workload}",
    "prompt_tokens_per_request": "prompt tokens per request, {workload}",
    "flop_utilisation": "chip utilisation, {workload}",
    "request_share_start": "share of requests in the start year, {workload}",
    "request_share_target": "share of requests (long run), {workload}",
}

for _source in SOURCES:
    for _suffix, _pattern in _SOURCE_PATTERNS.items():
        SHORT_LABELS[f"grid.{_source}_{_suffix}"] = _pattern.format(
            source=_SOURCE_WORDS[_source])
assert set(_WORKLOAD_WORDS) == set(WORKLOADS) == set(WORKLOAD_LABELS)


def label(key: str) -> str:
    """A parameter's short label from its scenario key (``workloads.<workload>.<name>`` for
    per-workload parameters); an unknown key is returned as it is."""
    if key in SHORT_LABELS:
        return SHORT_LABELS[key]
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "workloads" and parts[1] in _WORKLOAD_WORDS \
            and parts[2] in _WORKLOAD_PATTERNS:
        return _WORKLOAD_PATTERNS[parts[2]].format(workload=_WORKLOAD_WORDS[parts[1]])
    return key


def capitalised(key: str) -> str:
    text = label(key)
    return text[:1].upper() + text[1:]


def unlabelled() -> list[str]:
    """Keys of the parameter table that have no label (a test keeps this empty)."""
    missing = []
    for p in PARAMETERS:
        keys = ([f"workloads.{w}.{p.name}" for w in WORKLOADS] if p.per_workload else [p.key])
        missing += [k for k in keys if label(k) == k]
    return missing
