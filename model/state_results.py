"""The outputs by state: each state's part of its siting unit (``regions.units``), exactly.

A unit's new construction is shared by its states in proportion to their pipeline shares,
and construction and retirement are linear, so a state's stocks are its pipeline share of
its unit's plus what its own start-year capacity and pipeline leave beyond that share (the
unit responses ``free_*`` that ``dynamics`` integrates); its flows follow with the national
flows per watt of capacity that ``supply`` integrates (``split_*``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .integrate import RawResult
from .units import SECONDS_PER_YEAR


def _state_terms(raw: RawResult):
    """Per state: its unit, its pipeline share within the unit (f), and what its start-year
    capacity and pipeline differ by from that share of the unit's (c, q), (state, sample)."""
    p = raw.parameters
    unit = np.asarray(p["state_unit"])[:, 0].astype(int)
    capacity0 = p["operating_capacity_start"] * p["state_start_share"]
    pipeline0 = p["construction_pipeline_start"] * p["state_siting_share"]
    units = raw.stocks["unit_capacity"].shape[1]

    def by_unit(v: np.ndarray) -> np.ndarray:
        return np.stack([v[unit == u].sum(axis=0) for u in range(units)])[unit]

    siting = by_unit(p["state_siting_share"])
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(siting > 0, p["state_siting_share"] / siting, 0.0)
    return (unit, share, capacity0 - share * by_unit(capacity0),
            pipeline0 - share * by_unit(pipeline0))


def state_capacity(raw: RawResult) -> np.ndarray:
    """Operating capacity of each state on 1 January, W, (year, state, sample): its pipeline
    share of its siting unit's (``regions.units``), corrected by what its own start-year
    capacity and pipeline leave beyond that share (``free_*``: construction and retirement
    are linear, so this is exact)."""
    unit, share, c, q = _state_terms(raw)
    s = raw.stocks
    return (share * s["unit_capacity"][:, unit] + s["free_capacity"][:, None, :] * c
            + s["free_capacity_from_pipeline"][:, None, :] * q)


def _state_flow(name: str, per_watt: Callable[[RawResult, str], np.ndarray]
                ) -> Callable[[RawResult], np.ndarray]:
    """A unit flow shared among the unit's states exactly: the pipeline share of the unit's,
    plus each state's own start-year capacity and pipeline beyond that share times the flow
    per watt of capacity they carried (``per_watt(raw, "capacity" or "pipeline")``, (year,
    unit or 1, sample), integrated by the model)."""
    def compute(raw: RawResult) -> np.ndarray:
        unit, share, c, q = _state_terms(raw)
        return (share * raw.flows[name][:, unit] + c * per_watt(raw, "capacity")[:, unit]
                + q * per_watt(raw, "pipeline")[:, unit])
    return compute


def _national(*names: str) -> Callable[[RawResult, str], np.ndarray]:
    return lambda raw, x: sum(raw.flows[f"split_{n}_{x}"] for n in names)[:, None, :] * \
        np.ones((1, raw.stocks["unit_capacity"].shape[1], 1))


def _by_rate(grid: str, rate: str, behind_meter: str) -> Callable[[RawResult, str], np.ndarray]:
    return lambda raw, x: (raw.flows[f"split_{grid}_{x}"][:, None, :]
                           * raw.parameters[rate][None, :, :]
                           + raw.flows[f"split_{behind_meter}_{x}"][:, None, :])


STATE_FLOWS = {
    "energy": _state_flow("unit_energy", _national("energy")),
    "onsite_water": _state_flow("unit_onsite_water", _national("onsite_water")),
    "emissions": _state_flow("unit_emissions", _by_rate("grid", "unit_emission_rate",
                                                        "behind_meter_emissions")),
    "emissions_market_based": _state_flow(
        "unit_emissions_market_based",
        _by_rate("market", "unit_emission_rate", "behind_meter_emissions")),
    "indirect_water": _state_flow("unit_indirect_water", _by_rate(
        "water", "unit_water_intensity", "behind_meter_water")),
}


def state_share(raw: RawResult) -> np.ndarray:
    """Data centres' share of each state's electricity: their electricity over it plus the
    state's share of US electricity outside data centres."""
    energy = STATE_FLOWS["energy"](raw)
    other = (raw.flows["us_other_electricity"][:, None, :]
             * raw.parameters["state_other_load_share"])
    return energy / (energy + other)


def state_peak(raw: RawResult) -> np.ndarray:
    """Peak data-centre demand of each state, W: its average power over the year divided by
    the load factor that capacity is planned for."""
    return (STATE_FLOWS["energy"](raw) / SECONDS_PER_YEAR
            / raw.parameters["load_factor_start"])


def state_centres(raw: RawResult) -> np.ndarray:
    capacity = state_capacity(raw)
    return raw.stocks["data_centres"][:, None, :] * capacity / capacity.sum(axis=1,
                                                                             keepdims=True)
