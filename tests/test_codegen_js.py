"""The model as JavaScript (model/codegen_js.py), run by node, against the numpy engine."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from projection.model.run import run_labelled
from projection.model.scenario import find_scenario, load_scenario, shipped_scenarios
from projection.outputs.explorer import model_inputs, model_script

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")
RUNNER = """
const fs = require("fs");
const input = JSON.parse(fs.readFileSync(0, "utf8"));
eval(fs.readFileSync(input.script, "utf8") + "\\nglobalThis.ProjectionModel = ProjectionModel;");
const M = globalThis.ProjectionModel;
const r = M.simulate(M.parameters(input.given), input.years, input.substeps);
process.stdout.write(JSON.stringify({outputs: r.outputs, error: r.calibration_error}));
"""


def run_in_node(scenario, tmp_path, overrides=None) -> dict:
    script = tmp_path / "model.js"
    script.write_text(model_script(scenario), encoding="utf-8")
    given = model_inputs(scenario)
    given.update(overrides or {})
    request = {"script": str(script), "given": given, "substeps": scenario.substeps_per_year,
               "years": scenario.end_year - scenario.start_year + 1}
    done = subprocess.run([NODE, "-e", RUNNER], input=json.dumps(request), capture_output=True,
                          text=True, check=True, timeout=300)
    return json.loads(done.stdout)


def assert_same_outputs(js: dict, ds, rtol: float = 1e-9) -> None:
    """Every national output (the page shows the nation; states stay in the files)."""
    for name, var in ds.data_vars.items():
        if "region" in var.dims:
            continue
        expected = np.asarray(var.values, dtype=float)
        got = np.asarray(js["outputs"][name], dtype=float).reshape(expected.shape)
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=0, err_msg=name)


@pytest.mark.parametrize("path", shipped_scenarios(), ids=lambda p: p.stem)
def test_javascript_engine_agrees_with_numpy_to_1e_9_on_every_shipped_scenario(path, tmp_path):
    scenario = load_scenario(path, end_year=2050)
    js = run_in_node(scenario, tmp_path)
    ds = run_labelled(scenario)  # the numpy engine
    assert js["error"] <= 1e-6
    national = [k for k, v in ds.data_vars.items() if "region" not in v.dims]
    assert set(national) < set(js["outputs"])  # every national output, and the miss
    assert_same_outputs(js, ds)


def test_javascript_engine_follows_an_override_as_the_numpy_engine_does(tmp_path):
    path = find_scenario("baseline")
    scenario = load_scenario(path)
    changed = load_scenario(path, overrides={"buildout.interconnection_limit": "4 GW/yr",
                                             "facility.ai_pue_target": "1.1"})
    js = run_in_node(changed, tmp_path)
    assert_same_outputs(js, run_labelled(changed))
    before = run_in_node(scenario, tmp_path)
    assert js["outputs"]["facility_energy"][-1] != before["outputs"]["facility_energy"][-1]


def test_javascript_engine_follows_a_schedule_as_the_numpy_engine_does(tmp_path):
    """A moratorium on new grid connections from 2028, lifted in 2031 with a ramp back."""
    changed = load_scenario(find_scenario("baseline"), end_year=2035, overrides={
        "buildout.interconnection_limit": "15 GW/yr; 2028: 0 GW/yr; 2031: 10 GW/yr",
        "carbon.clean_power_share_target": "0.2; 2027: 0.3; 2032: 0.6; ramp"})
    js = run_in_node(changed, tmp_path)
    ds = run_labelled(changed)
    assert_same_outputs(js, ds)
    starts = np.asarray(js["outputs"]["construction_starts"])
    assert np.all(starts[4:7] == 0.0) and starts[3] > 0 and starts[7] > 0


def test_javascript_engine_follows_a_state_moratorium_as_the_numpy_engine_does(tmp_path):
    """A state's own value (its own siting unit, a schedule of its own) reaches the page."""
    changed = load_scenario(find_scenario("baseline"), end_year=2035, overrides={
        "regions.VA.buildout.interconnection_limit": "15 GW/yr; 2027: 0 GW/yr"})
    js = run_in_node(changed, tmp_path)
    assert_same_outputs(js, run_labelled(changed))
    unchanged = run_in_node(load_scenario(find_scenario("baseline"), end_year=2035), tmp_path)
    assert js["outputs"]["facility_energy"][-1] < unchanged["outputs"]["facility_energy"][-1]
