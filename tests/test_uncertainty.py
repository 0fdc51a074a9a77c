"""Declared uncertainty: distributions and correlations in scenario files, and the draws."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from projection.model.sampling import (
    Distribution,
    DistributionError,
    correlation_matrix,
    keyed_permutation,
    sample,
    unit_draws,
)
from projection.model.scenario import ScenarioError, load_scenario
from projection.model.units import SECONDS_PER_YEAR

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"


def child(tmp_path: Path, body: str, name: str = "child") -> Path:
    """A scenario that extends the shipped baseline with ``body`` (TOML) added."""
    path = tmp_path / f"{name}.toml"
    path.write_text(f'[scenario]\ntitle = "Test"\ndescription = "A test scenario."\n'
                    f'extends = "{BASELINE}"\n{body}\n')
    return path


# --- distributions ------------------------------------------------------------------------------

def test_lhs_puts_one_draw_in_every_stratum_of_every_column():
    n = 1000
    u = unit_draws("lhs", 7, n, 3)
    for j in range(3):
        assert sorted(np.floor(u[:, j] * n).astype(int)) == list(range(n))


def test_keyed_permutation_is_a_permutation():
    for n in (1, 2, 5, 1000, 70_001):
        assert sorted(keyed_permutation(np.arange(n), n, 3)) == list(range(n))


@pytest.mark.parametrize("method", ["lhs", "sobol", "random"])
def test_any_block_of_draws_equals_the_same_rows_of_one_draw(method):
    whole = unit_draws(method, 11, 3000, 4)
    parts = [unit_draws(method, 11, 3000, 4, a, b) for a, b in ((0, 700), (700, 2999),
                                                                  (2999, 3000))]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    assert not np.array_equal(unit_draws(method, 12, 3000, 4), whole)  # the seed matters


def test_distributions_have_their_declared_moments():
    u = unit_draws("lhs", 0, 20_000, 1)[:, 0]
    tri = Distribution("triangular", 2.0, low=1.0, high=5.0, mode=2.0).ppf(u)
    assert abs(tri.mean() - (1 + 2 + 5) / 3) < 1e-3
    logn = Distribution("lognormal", 10.0, sd=4.0).ppf(u)
    assert abs(np.median(logn) / 10.0 - 1) < 1e-3 and abs(logn.std() / 4.0 - 1) < 0.02
    trunc = Distribution("normal", 0.5, low=0.4, high=0.9, sd=0.2).ppf(u)
    assert trunc.min() >= 0.4 and trunc.max() <= 0.9
    assert abs(trunc.mean() - stats.truncnorm(-0.5, 2.0, 0.5, 0.2).mean()) < 1e-3


def test_rank_correlation_is_reached():
    dists = [Distribution("uniform", 0.5, 0.0, 1.0), Distribution("lognormal", 1.0, sd=0.5)]
    rank = correlation_matrix(["a", "b"], {("a", "b"): 0.6})
    x = sample(dists, "lhs", 3, 5000, rank)
    assert abs(stats.spearmanr(x[:, 0], x[:, 1]).statistic - 0.6) < 0.03


def test_percentiles_of_a_linear_response_match_the_analytic_ones():
    low, high = 2.0, 6.0
    x = sample([Distribution("uniform", 3.0, low, high)], "lhs", 5, 4000)[:, 0]
    q = np.array([5, 25, 50, 75, 95])
    np.testing.assert_allclose(np.percentile(3.0 * x + 1.0, q),
                               3.0 * (low + (high - low) * q / 100) + 1.0, rtol=1e-3)


def test_contradictory_correlations_are_refused():
    pairs = {("a", "b"): 0.9, ("b", "c"): 0.9, ("a", "c"): -0.9}
    with pytest.raises(DistributionError, match="not positive definite"):
        correlation_matrix(["a", "b", "c"], pairs)


# --- declarations in scenario files -----------------------------------------------------------

def test_low_high_alone_is_uniform_and_dist_entries_load_with_units(tmp_path):
    path = child(tmp_path, """
[hardware]
frontier_efficiency_gain = { value = "30 %/yr", dist = "triangular", low = "20 %/yr", \
mode = "0.3 1/yr", high = "50 %/yr", source = "test" }
[demand]
rebound_elasticity = { value = "0.3", dist = "normal", sd = "0.1", low = "0", high = "1", \
source = "test" }
saturation_multiple = { value = "10", dist = "lognormal", sd = "3", low = "1", source = "test" }
[[correlations]]
parameters = ["demand.adoption_growth", "hardware.frontier_efficiency_gain"]
rank = 0.4
source = "test"
""")
    s = load_scenario(path)
    dists = s.distributions()
    assert dists["demand.adoption_growth"].kind == "uniform"  # from the baseline's low/high
    tri = dists["hardware.frontier_efficiency_gain"]
    assert tri.kind == "triangular" and tri.mode == pytest.approx(0.3 / SECONDS_PER_YEAR)
    assert dists["demand.saturation_multiple"].kind == "lognormal"
    assert s.correlations == {("demand.adoption_growth",
                               "hardware.frontier_efficiency_gain"): 0.4}
    assert s.resolved()["demand.rebound_elasticity"]["dist"] == "normal"


@pytest.mark.parametrize("entry, message", [
    ('rebound_elasticity = { value = "0.3", dist = "normal", low = "0", high = "1", '
     'source = "t" }', "needs sd"),
    ('rebound_elasticity = { value = "0.3", dist = "triangular", low = "0", mode = "2", '
     'high = "1", source = "t" }', "mode is outside"),
    ('rebound_elasticity = { value = "0.3", dist = "triangular", source = "t" }',
     "needs low and high"),
    ('rebound_elasticity = { value = "0.3", dist = "normal", sd = "0.1", source = "t" }',
     "give low to truncate"),
    ('rebound_elasticity = { value = "0.3", dist = "gaussian", sd = "0.1", source = "t" }',
     "expected one of"),
    ('rebound_elasticity = { value = "0.3", sd = "0.1", source = "t" }', "without dist"),
    ('rebound_elasticity = { value = "0.3", dist = "normal", sd = "1 TWh", low = "0", '
     'source = "t" }', "dimension"),
    ('adoption_growth = { value = "80 %/yr", low = "90 %/yr", high = "120 %/yr", '
     'source = "t" }', "low <= value <= high"),
])
def test_bad_distributions_are_one_line_errors(tmp_path, entry, message):
    path = child(tmp_path, f"[demand]\n{entry}\n")
    with pytest.raises(ScenarioError, match=message) as info:
        load_scenario(path)
    assert "\n" not in str(info.value) and "demand." in str(info.value)


@pytest.mark.parametrize("body, message", [
    ('parameters = ["demand.adoption_growht", "demand.saturation_multiple"]\nrank = 0.2\n'
     'source = "t"', "did you mean 'demand.adoption_growth'"),
    ('parameters = ["demand.adoption_growth", "start.facility_energy_start"]\nrank = 0.2\n'
     'source = "t"', "has no distribution"),
    ('parameters = ["demand.adoption_growth", "demand.saturation_multiple"]\nrank = 1.5\n'
     'source = "t"', "strictly between -1 and 1"),
    ('parameters = ["demand.adoption_growth", "demand.saturation_multiple"]\nrank = 0.2',
     "needs source"),
])
def test_bad_correlations_are_one_line_errors(tmp_path, body, message):
    with pytest.raises(ScenarioError, match=message):
        load_scenario(child(tmp_path, f"[[correlations]]\n{body}\n"))


def test_a_correlation_table_that_is_not_a_valid_matrix_is_refused(tmp_path):
    a, b, c = ("demand.adoption_growth", "demand.saturation_multiple",
               "hardware.frontier_efficiency_gain")
    body = "".join(f'[[correlations]]\nparameters = ["{x}", "{y}"]\nrank = {r}\nsource = "t"\n'
                   for x, y, r in ((a, b, 0.9), (b, c, 0.9), (a, c, -0.9)))
    with pytest.raises(ScenarioError, match="do not form a valid correlation matrix"):
        load_scenario(child(tmp_path, body))


def test_a_share_cannot_be_uncertain_on_its_own(tmp_path):
    body = ('[workloads.video]\nrequest_share_target = { value = "1 %", low = "0.5 %", '
            'high = "2 %", source = "t" }\n')
    with pytest.raises(ScenarioError, match="share cannot be uncertain"):
        load_scenario(child(tmp_path, body))
