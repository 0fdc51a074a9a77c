"""Demand: AI requests by workload, the model mix, reasoning length and the rebound loop.

Every function is pure and works on floats in SI base units or on pint quantities alike.
"""

from __future__ import annotations

import numpy as np

from .parameters import REASONING, WORKLOADS

REASONING_MASK = np.array([w == "reasoning" for w in WORKLOADS])


def first_order_adjustment(current, target, time_constant):
    """Rate of change of a quantity that approaches ``target`` with ``time_constant``, unit/s."""
    return (target - current) / time_constant


def saturation_requests(requests_per_day_start, saturation_multiple, fleet_intensity,
                        rebound_elasticity):
    """Ceiling of AI requests, request/s: a multiple of the start year's average requests.

    The ceiling rises as inference gets cheaper: cost per request follows the fleet's energy
    per unit of work (``fleet_intensity``, 1 in the start year), raised to minus the rebound
    elasticity.
    """
    rebound = np.exp(-rebound_elasticity * np.log(fleet_intensity))
    return requests_per_day_start * saturation_multiple * rebound


def request_growth(requests, adoption_growth, saturation, unserved_fraction, unserved_sensitivity):
    """Change of AI requests, request/s per s: logistic adoption, slowed by unserved demand."""
    brake = np.maximum(1.0 - unserved_sensitivity * unserved_fraction, 0.0)
    return adoption_growth * requests * (1.0 - requests / saturation) * brake


def request_it_energy(gpu_energy_per_request, overhead_factor, serving_factor, pue_start,
                      reasoning_tokens_multiplier):
    """IT energy of one request on the start-year fleet, J, shape (workloads, samples).

    The published total (GPU energy x overhead factor) includes cooling at the start-year PUE, so
    it is divided by that PUE to leave IT energy; ``serving_factor`` (calibrated) scales the
    benchmark measurement to the real fleet (idle capacity, batch sizes, larger models).
    A reasoning response costs a standard large-model response times its token multiplier.
    """
    per_request = standard_request_energy(gpu_energy_per_request, overhead_factor,
                                          serving_factor, pue_start)
    tokens = np.where(REASONING_MASK[:, None], reasoning_tokens_multiplier, 1.0)
    return per_request * tokens


def standard_request_energy(gpu_energy_per_request, overhead_factor, serving_factor, pue_start):
    """IT energy of one standard-length request on the start-year fleet, J, (workloads, samples)."""
    return gpu_energy_per_request * (overhead_factor * serving_factor / pue_start)


def inference_work(requests, request_share, standard_energy, reasoning_tokens_multiplier):
    """Inference work at start-year fleet efficiency, W.

    Requests times the mix-weighted IT energy per request, where a reasoning request costs
    a standard one times the token multiplier.
    """
    mix_energy = (request_share * standard_energy).sum(axis=0)
    longer_reasoning = (request_share[REASONING] * standard_energy[REASONING]
                        * (reasoning_tokens_multiplier - 1.0))
    return requests * (mix_energy + longer_reasoning)
