"""The installed base of accelerators: an ageing chain by vintage, shipments and power drawn.

Each one-year age cohort holds three co-flows: the number of accelerators, their summed rated
power (W) and their summed peak capability (FLOP/s). An accelerator keeps the rated power and
capability of the year it was shipped, so the fleet's averages lag the newest vintage. This is
the stock-and-flow form of the Lawrence Berkeley National Laboratory's method (Shehabi A. et
al., "2024 United States Data Center Energy Usage Report", LBNL-2001637, 2024, section 3:
installed base from shipments, times rated power, times an operating-power fraction).
"""

from __future__ import annotations

import numpy as np

ACCELERATOR_COHORTS = 12
"""One-year age cohorts; the last holds every accelerator eleven years and older (a
structural resolution, not data)."""
COHORT_WIDTH_YEARS = 1.0
"""Width of an age cohort, yr; retirement around the service life is spread over one cohort
width (the chain's resolution)."""


def cohort_ages(year_length):
    """Mean age of each cohort, s, shape (cohorts, 1)."""
    return ((np.arange(ACCELERATOR_COHORTS) + 0.5) * COHORT_WIDTH_YEARS)[:, None] * year_length


def initial_installed_base(shipments_start, shipment_growth_history, installed_base_age,
                           year_length):
    """Accelerators installed on average over the (held) start year by cohort, (cohorts,
    samples).

    Cohort k holds the shipments of the k-th year before the start year's end: the start
    year's own shipments (last year's, grown at the historical rate) count half, as they
    arrive through the year; older cohorts hold last year's shipments reduced by the
    historical growth of shipments, for the ages still in service (the part of each one-year
    cohort younger than ``installed_base_age``).
    """
    ages = cohort_ages(year_length)
    lower = ages - 0.5 * COHORT_WIDTH_YEARS * year_length
    in_service = np.clip((installed_base_age - lower) / (COHORT_WIDTH_YEARS * year_length),
                         0.0, 1.0)
    arrived = np.concatenate([np.full(1, 0.5), np.ones(ACCELERATOR_COHORTS - 1)])[:, None]
    shipped = shipments_start * np.exp(-shipment_growth_history * (ages - year_length))
    return shipped * year_length * in_service * arrived


def vintage_trend(value_start, yearly_change, age):
    """A per-accelerator attribute of the vintage shipped ``age`` before mid-year of the year
    before the start (negative age: later vintages), in the unit of ``value_start``."""
    return value_start * np.exp(-yearly_change * age)


def held_vintage_offset(year_length):
    """How much newer the first accelerators shipped after the held start year are than the
    reference vintage (shipped around mid-year of the year before the start), s: one and a
    half years."""
    return 1.5 * year_length


def retirement_hazard(lifetime, year_length):
    """Share of each cohort retired per second, (cohorts, samples): about zero below the
    service life, one cohort width's worth a year beyond it (a logistic step one cohort wide)."""
    ages = cohort_ages(year_length)
    width = COHORT_WIDTH_YEARS * year_length
    return 1.0 / (1.0 + np.exp(-(ages - lifetime) / width)) / width


def ageing_outflow(stock, year_length):
    """Flow from each cohort into the next, unit/s; the oldest cohort does not age on."""
    rate = np.concatenate([np.ones(ACCELERATOR_COHORTS - 1), np.zeros(1)])[:, None]
    return stock * (rate / (COHORT_WIDTH_YEARS * year_length))


def ageing_chain(stock, ageing, retirements, inflow):
    """Rate of change of every cohort: shipments into the first, ageing from one cohort into
    the next, retirements out of each."""
    incoming = np.concatenate([inflow[None, ...], ageing[:-1]], axis=0)
    return incoming - ageing - retirements


def fleet_utilisation(work_demanded, capability, max_operating_utilisation):
    """Busy fraction of the fleet: peak FLOP/s demanded over peak FLOP/s installed, at most
    the highest busy share a fleet sustains over a year (``max_operating_utilisation``): a
    fleet never draws full system power all year."""
    return np.minimum(work_demanded / capability, max_operating_utilisation)


def deferred_work(work_demanded, capability, max_operating_utilisation):
    """Peak FLOP/s demanded beyond what the installed fleet serves at its highest operating
    utilisation: work that waits (deferred) until hardware arrives."""
    excess = work_demanded - capability * max_operating_utilisation
    return np.maximum(excess, 0.0 * excess)


def chip_supply(supply_start, supply_growth, time):
    """Most accelerators that can be made and delivered to US data centres, accelerator/s:
    the first projected year's deliverable supply, growing with advanced-packaging capacity."""
    return supply_start * np.exp(supply_growth * time)


def accelerator_it_power(rated_power, utilisation, idle_power_fraction, host_overhead):
    """IT power of the accelerator servers, W: installed rated power x (idle fraction +
    (1 - idle fraction) x utilisation) x host overhead. Idle hardware draws power."""
    load = idle_power_fraction + (1.0 - idle_power_fraction) * utilisation
    return rated_power * load * host_overhead


def power_to_serve(peak_work, power_per_capability, idle_power_fraction, target_utilisation,
                   host_overhead):
    """IT power, W, of the accelerators that would serve ``peak_work`` (peak FLOP/s) at the
    planned utilisation: rated power per unit of peak capability x (idle fraction +
    (1 - idle fraction) x target utilisation) / target utilisation x host overhead. Busy or
    idle, hardware bought to serve work draws power."""
    load = idle_power_fraction + (1.0 - idle_power_fraction) * target_utilisation
    return peak_work * power_per_capability * load / target_utilisation * host_overhead


def desired_capability(work_demanded, work_trend, procurement_time, target_utilisation):
    """Peak capability buyers want, FLOP/s: the work expected when an order arrives, at the
    planned utilisation."""
    return work_demanded * np.exp(work_trend * procurement_time) / target_utilisation


def wanted_shipments(desired, capability, capability_retiring, procurement_time,
                     capability_per_accelerator):
    """Accelerators ordered, accelerator/s: replace retiring capability and close the gap."""
    wanted = capability_retiring + (desired - capability) / procurement_time
    return np.maximum(wanted, 0.0 * wanted) / capability_per_accelerator


def room_for_shipments(capacity_room, procurement_time, retiring_provision,
                       provision_per_accelerator):
    """Most accelerators that built capacity can take, accelerator/s: the free capacity
    filled over the procurement time, plus the space retirements free."""
    room = np.maximum(capacity_room, 0.0 * capacity_room) / procurement_time + retiring_provision
    return room / provision_per_accelerator
