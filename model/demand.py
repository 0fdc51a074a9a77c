"""Demand: AI requests by workload, the model mix, reasoning length and the rebound loop.

Every function is pure and works on floats in SI base units or on pint quantities alike.
"""

from __future__ import annotations

import numpy as np

from .parameters import WORKLOADS

REASONING_MASK = np.array([w == "reasoning" for w in WORKLOADS])


def first_order_adjustment(current, target, time_constant):
    """Rate of change of a quantity that approaches ``target`` with ``time_constant``, unit/s."""
    return (target - current) / time_constant


def saturation_requests(requests_start, saturation_multiple, fleet_intensity, rebound_elasticity):
    """Ceiling of AI requests, request/s.

    The ceiling rises as inference gets cheaper: cost per request follows the fleet's energy
    per unit of work (``fleet_intensity``, 1 in the start year), raised to minus the rebound elasticity.
    """
    rebound = np.exp(-rebound_elasticity * np.log(fleet_intensity))
    return requests_start * saturation_multiple * rebound


def request_growth(requests, adoption_growth, saturation, unserved_fraction, unserved_sensitivity):
    """Change of AI requests, request/s per s: logistic adoption, slowed by unserved demand."""
    brake = np.maximum(1.0 - unserved_sensitivity * unserved_fraction, 0.0)
    return adoption_growth * requests * (1.0 - requests / saturation) * brake


def request_it_energy(gpu_energy_per_request, overhead_factor, serving_factor, pue_start,
                      reasoning_tokens_multiplier):
    """IT energy of one request on the start-year fleet, J, shape (samples, workloads).

    The published total (GPU energy x overhead factor) includes cooling at the start-year PUE, so
    it is divided by that PUE to leave IT energy; ``serving_factor`` (calibrated) scales the
    benchmark measurement to the real fleet (idle capacity, batch sizes, larger models).
    A reasoning response costs a standard large-model response times its token multiplier.
    """
    per_request = gpu_energy_per_request * (overhead_factor * serving_factor / pue_start)[..., None]
    tokens = np.where(REASONING_MASK, reasoning_tokens_multiplier[..., None], 1.0)
    return per_request * tokens


def inference_work(requests, request_share, request_energy):
    """Inference work at start-year fleet efficiency, W: requests x mix-weighted IT energy per request."""
    return requests * (request_share * request_energy).sum(axis=-1)
