"""Ensembles: samples built from a scenario and a table, blocks spread over executors."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from projection.model.ensemble import (
    SampleError,
    parameter_samples,
    simulate,
)
from projection.model.errors import ProjectionError
from projection.model.integrate import simulate_block
from projection.model.results import OUTPUT_BY_NAME
from projection.model.scenario import load_scenario
from projection.model.units import SECONDS_PER_YEAR

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture(scope="module")
def baseline():
    return load_scenario(SCENARIOS / "baseline.toml")


def growth_table(n: int, seed: int = 5) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"demand.adoption_growth": rng.uniform(0.2, 0.6, n),
            "hardware.frontier_efficiency_gain": rng.uniform(0.2, 0.5, n)}


def test_samples_without_a_table_are_the_scenario_itself(baseline):
    samples = parameter_samples(baseline, size=3)
    assert samples.size == 3 and samples.valid.all() and samples.varied == ()
    for name, value in baseline.parameter_arrays().items():
        np.testing.assert_array_equal(samples[name], np.repeat(value, 3, axis=-1))


def test_table_values_in_parameter_units_strings_and_base_units_agree(baseline):
    """0.4 (1/yr), "40 %/yr" and 0.4 / s-per-year in base units are the same growth rate."""
    key = "demand.adoption_growth"
    a = parameter_samples(baseline, {key: [0.4, 0.1]})
    b = parameter_samples(baseline, {key: ["40 %/yr", "10 %/yr"]})
    c = parameter_samples(baseline, {key: np.array([0.4, 0.1]) / SECONDS_PER_YEAR}, units="base")
    np.testing.assert_allclose(a["adoption_growth"], np.log1p([0.4, 0.1]) / SECONDS_PER_YEAR)
    np.testing.assert_allclose(b["adoption_growth"], a["adoption_growth"])
    np.testing.assert_allclose(c["adoption_growth"], a["adoption_growth"])
    assert a.varied == (key,)


def test_per_workload_keys_change_one_row(baseline):
    key = "workloads.reasoning.tokens_per_request"
    samples = parameter_samples(baseline, {key: [100.0, 200.0]})
    energy = samples["tokens_per_request"]
    assert energy.shape == (5, 2)
    np.testing.assert_allclose(energy[2], [100.0, 200.0])
    np.testing.assert_allclose(energy[0], baseline.entries[
        "workloads.small_text.tokens_per_request"].base_value)


@pytest.mark.parametrize("table, message", [
    ({"demand.adoption_grwth": [0.3]}, "unknown key (did you mean 'demand.adoption_growth'?)"),
    ({"demand.adoption_growth": [0.3, -1.5]}, "sample 1: value -1.5 1/yr must be above -100 %/yr"),
    ({"demand.adoption_growth": ["30 TWh"]}, "sample 0: value '30 TWh' has the wrong "
     "dimension: an energy; expected a yearly rate"),
    ({"start.load_factor_start": [0.6, 0.9]},
     "sample 1: value 0.9 dimensionless must be less than buildout"),
    ({"workloads.image.request_share_start": [0.5]}, "shares must sum to 1"),
    ({"grid.coal_share_target": [0.06, 0.5]}, "grid.*_share_target: sample 1"),
    ({"demand.adoption_growth": [0.3, 0.4], "hardware.frontier_efficiency_gain": [0.3]},
     "columns of different lengths"),
])
def test_bad_tables_are_one_line_errors_naming_the_key(baseline, table, message):
    with pytest.raises(SampleError) as caught:
        parameter_samples(baseline, table)
    assert message in str(caught.value)
    assert isinstance(caught.value, ProjectionError)
    assert "\n" not in str(caught.value)


def test_masked_samples_get_the_scenario_value_and_are_marked(baseline):
    samples = parameter_samples(baseline, {"demand.adoption_growth": [0.3, -2.0, np.nan]},
                                invalid="mask")
    assert samples.valid.tolist() == [True, False, False]
    scenario_value = baseline.parameter_arrays()["adoption_growth"][0]
    np.testing.assert_allclose(samples["adoption_growth"][1:], scenario_value)


def test_blocked_equals_unblocked_on_a_process_pool(baseline):
    """Any split and any executor: every sample's result is its own."""
    samples = parameter_samples(baseline, growth_table(23))
    whole = simulate_block(dict(samples), 2024, 2027, 3)
    spawn = multiprocessing.get_context("spawn")  # forking after XLA started could deadlock
    with ProcessPoolExecutor(2, mp_context=spawn) as pool:
        split = simulate(samples, 2024, 2027, 3, executor=pool, block_samples=5)
    for group in ("flows", "stocks", "auxiliaries", "parameters"):
        for k, v in getattr(whole, group).items():
            np.testing.assert_allclose(getattr(split, group)[k], v, rtol=1e-9, err_msg=k)
    np.testing.assert_allclose(split.calibration_error, whole.calibration_error, atol=1e-12)


def test_keep_holds_only_the_named_outputs_with_the_full_numbers(baseline):
    samples = parameter_samples(baseline, growth_table(12))
    full = simulate(samples, 2024, 2030, 3)
    with ThreadPoolExecutor(2) as pool:
        kept = simulate(samples, 2024, 2030, 3, keep=["facility_energy", "request_share"],
                        executor=pool, block_samples=5)
    assert set(kept.outputs) == {"facility_energy", "request_share"}
    assert not kept.flows and not kept.stocks and not kept.auxiliaries
    for name in kept.outputs:
        np.testing.assert_allclose(OUTPUT_BY_NAME[name].values(kept),
                                   OUTPUT_BY_NAME[name].values(full), rtol=1e-12)
    assert kept.outputs["request_share"].shape == (7, 5, 12)


def test_keep_refuses_unknown_outputs_with_a_suggestion(baseline):
    with pytest.raises(ProjectionError, match="did you mean 'facility_energy'"):
        simulate(parameter_samples(baseline), 2024, 2026, 3, keep=["facility_enrgy"])


def _run_in_worker(n: int) -> float:
    scenario = load_scenario(SCENARIOS / "baseline.toml")
    samples = parameter_samples(scenario, growth_table(n))
    raw = simulate(samples, 2024, 2026, 3, block_samples=max(n // 3, 1))
    return float(raw.flows["facility_energy"][-1].sum())


def test_simulate_runs_inside_a_daemonic_pool_worker():
    """multiprocessing.Pool workers are daemonic and may not start processes of their own."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        inside = pool.apply(_run_in_worker, (30,))
    assert inside == pytest.approx(_run_in_worker(30), rel=1e-12)


def test_simulate_runs_inside_a_dask_worker_and_on_a_dask_executor(baseline):
    distributed = pytest.importorskip("distributed")
    with distributed.Client(n_workers=1, threads_per_worker=1, processes=True,
                            dashboard_address=None) as client:
        inside = client.submit(_run_in_worker, 30).result()
        samples = parameter_samples(baseline, growth_table(30))
        on_dask = simulate(samples, 2024, 2026, 3, executor=client.get_executor(),
                           block_samples=10)
    assert inside == pytest.approx(_run_in_worker(30), rel=1e-12)
    local = simulate(samples, 2024, 2026, 3)
    np.testing.assert_allclose(on_dask.flows["facility_energy"], local.flows["facility_energy"],
                               rtol=1e-12)
