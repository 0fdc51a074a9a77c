"""Demand for AI work: requests by workload, work per request, the mix, and the rebound loop.

Work is counted in floating-point operations (FLOP). One token of a transformer's forward
pass costs about 2 FLOP per active parameter (Kaplan J. et al., "Scaling Laws for Neural
Language Models", arXiv:2001.08361, 2020, section 2.1; the rule Epoch AI's "How much energy
does ChatGPT use?" (2025) applies to a chat response). Every function is pure and works on
floats in SI base units or on pint quantities alike.
"""

from __future__ import annotations

import numpy as np

from .parameters import REASONING, WORKLOADS

REASONING_MASK = np.array([w == "reasoning" for w in WORKLOADS])
TEXT_WORKLOADS = ("small_text", "large_text", "reasoning")
TEXT_MASK = np.array([1.0 if w in TEXT_WORKLOADS else 0.0 for w in WORKLOADS])
"""1 for the workloads whose tokens are text (prompt and response), 0 for image and video,
whose tokens are latent patches x denoising steps."""
FLOP_PER_PARAMETER_TOKEN = 2.0
"""FLOP of one forward pass per active parameter and token (Kaplan et al. 2020, section 2.1:
a multiply and an add per parameter)."""


def first_order_adjustment(current, target, time_constant):
    """Rate of change of a quantity that approaches ``target`` with ``time_constant``, unit/s."""
    return (target - current) / time_constant


def tokens_by_workload(tokens_per_request, reasoning_tokens):
    """Tokens per request, (workloads, samples): the reasoning row follows its state."""
    return np.where(REASONING_MASK[:, None], reasoning_tokens, tokens_per_request)


def prompt_tokens(prompt_tokens_per_request, prompt_multiple):
    """Prompt tokens per request, (workloads, samples): the start year's prompt tokens times
    their multiple since the start year (longer contexts; 1 in the start year)."""
    return prompt_tokens_per_request * prompt_multiple


def software_efficiency(software_efficiency_gain, time):
    """Work needed for the same service relative to the start year (1 on 1 January)."""
    return np.exp(-software_efficiency_gain * time)


def work_per_request(active_parameters, tokens, software):
    """FLOP of one request, (workloads, samples): 2 x active parameters x tokens, reduced by
    software and algorithmic efficiency since the start year."""
    return FLOP_PER_PARAMETER_TOKEN * active_parameters * tokens * software


def text_tokens(served_requests, request_tokens):
    """Text tokens processed, token/s: served requests of the text workloads x their prompt
    and response tokens, ``request_tokens`` (what providers count when they publish token
    volumes)."""
    return (TEXT_MASK[:, None] * served_requests * request_tokens).sum(axis=0)


def generative_work(requests, request_share, flop_per_request):
    """Generative inference work, FLOP/s: requests x the mix-weighted FLOP per request."""
    return requests * (request_share * flop_per_request).sum(axis=0)


def unserved_brake(unserved_fraction, unserved_sensitivity):
    """Factor on the growth of demanded work, 1 while all of it is served: it falls with the
    unserved fraction of AI work and stops growth (0) when the fraction reaches
    1 / ``unserved_sensitivity``."""
    return np.maximum(1.0 - unserved_sensitivity * unserved_fraction, 0.0)


def braked_growth(growth_rate, brake):
    """Growth rate of a work driver, 1/s: its scenario rate times the brake. Unserved work
    slows growth; it never slows a decline (a negative rate is kept)."""
    return np.minimum(growth_rate, growth_rate * brake)


def training_work_change(training_work, training_compute_growth, brake):
    """Change of the training work demanded, FLOP/s per s: it grows with aggregate training
    compute, slowed as work goes unserved (developers plan runs on compute they can get)."""
    return training_work * braked_growth(training_compute_growth, brake)


def other_inference_work_change(other_work, other_inference_growth, software_efficiency_gain,
                                brake):
    """Change of the work demanded by an inference driver beyond generative requests
    (recommendation and ads, enterprise and agent workloads, the unattributed rest), FLOP/s
    per s: its growth, slowed as work is deferred, less the work that software efficiency
    saves (as for a request, ``software_efficiency``). Conventional IT power follows the same
    law with its own growth and efficiency gain (W per s)."""
    return other_work * (braked_growth(other_inference_growth, brake) - software_efficiency_gain)


def saturation_requests(requests_per_day_start, saturation_multiple, relative_cost,
                        rebound_elasticity):
    """Ceiling of AI requests, request/s: a multiple of the start year's average requests.

    The ceiling rises as a request gets cheaper: ``relative_cost`` is the energy of a
    request relative to the start (1 on 1 January), raised to minus the rebound elasticity.
    """
    rebound = np.exp(-rebound_elasticity * np.log(relative_cost))
    return requests_per_day_start * saturation_multiple * rebound


def request_growth(requests, adoption_growth, saturation, brake):
    """Change of AI requests, request/s per s: logistic adoption, slowed by unserved work
    (``unserved_brake``)."""
    return adoption_growth * requests * (1.0 - requests / saturation) * brake


def reasoning_row(values):
    """The reasoning workload's row of a (workloads, samples) array."""
    return values[REASONING]


def ai_work(requests, request_share, reasoning_tokens, prompt_multiple, p, time,
            software_gain=None):
    """Generative work demanded: peak FLOP per request by workload (the response at the
    workload's FLOP utilisation plus the prompt at the prompt FLOP utilisation), generative
    work and generative peak work (FLOP/s), and the tokens of a request by workload (prompt
    and response). Prompts are the start year's prompt tokens times
    ``prompt_multiple`` (1 in the start year); the cached share of a prompt is not computed
    again (``prompt_cache_hit_share``). Training, recommendation, agent and unattributed
    work are stocks of their own. ``software_gain`` is the software trend's rate applied in
    closed form (``schedules.trend_rate`` where it is scheduled; the parameter's own by
    default)."""
    gain = p["software_efficiency_gain"] if software_gain is None else software_gain
    software = software_efficiency(gain, time)
    tokens = tokens_by_workload(p["tokens_per_request"], reasoning_tokens)
    prompts = prompt_tokens(p["prompt_tokens_per_request"], prompt_multiple)
    output = work_per_request(p["active_parameters"], tokens, software)
    prompt = work_per_request(p["active_parameters"], prompts, software) * (
        1.0 - p["prompt_cache_hit_share"])
    per_request = output + prompt
    per_request_peak = output / p["flop_utilisation"] + prompt / p["prompt_flop_utilisation"]
    generative = generative_work(requests, request_share, per_request)
    generative_peak = generative_work(requests, request_share, per_request_peak)
    return per_request_peak, generative, generative_peak, tokens + prompts


def peak_work(generative_peak, other, training, p):
    """Peak FLOP/s that the work keeps busy: delivered work over model FLOP utilisation
    (``other`` is the work of recommendation, agents and the unattributed rest together)."""
    return (generative_peak + other / p["other_inference_flop_utilisation"]
            + training / p["training_flop_utilisation"])
