"""The commands as a new user meets them: in an interactive terminal (progress bars drawn),
with CSV files that pandas reads as they are, and iterating on a scenario file into its own
results folder."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
BACKCAST = ROOT / "validation" / "data" / "backcast_2014.toml"
SCRIPT = shutil.which("script")

COMMANDS: dict[str, tuple[list[str], list[str], str | None]] = {
    # name: (arguments, files the command writes, label of its progress bar)
    "run": (["run", "high_growth"],
            ["results/high_growth/projection.csv", "results/high_growth/projection.nc"], None),
    "compare": (["compare", "baseline", "high_growth"],
                ["results/compare-baseline-high_growth/projection.csv"], None),
    "uncertainty": (["uncertainty", "high_growth", "--samples", "400", "--seed", "3"],
                    ["results/high_growth/uncertainty/uncertainty.csv",
                     "results/high_growth/uncertainty/uncertainty_iamc.csv",
                     "results/high_growth/uncertainty/fan_facility_energy.png"], "members"),
    "sensitivity-sobol": (["sensitivity", "baseline", "--method", "sobol", "--samples", "8"],
                          ["results/baseline/sensitivity-sobol/sensitivity.csv",
                           "results/baseline/sensitivity-sobol/bars_facility_energy.png"],
                          "runs"),
    "sensitivity-morris": (["sensitivity", "baseline", "--method", "morris", "--samples", "3"],
                           ["results/baseline/sensitivity-morris/sensitivity.csv"], "runs"),
    "sensitivity-oat": (["sensitivity", "baseline", "--method", "oat"],
                        ["results/baseline/sensitivity-oat/sensitivity.csv",
                         "results/baseline/sensitivity-oat/tornado_facility_energy.png"], "runs"),
    "sweep": (["sweep", "baseline", "--param", "demand.adoption_growth=40%/yr:120%/yr:3",
               "--param", "facility.ai_pue_target=1.1:1.3:2"],
              ["results/baseline/sweep-demand.adoption_growth-facility.ai_pue_target/sweep.csv",
               "results/baseline/sweep-demand.adoption_growth-facility.ai_pue_target/"
               "sweep_facility_energy.png"], None),
    "brief": (["brief", "baseline", "high_growth", "--uncertainty", "20"],
              ["brief.html", "brief.md"], None),
    "calibrate": (["calibrate", str(BACKCAST), "--fit", "demand.adoption_growth", "-o",
                   "calibrated.toml"], ["calibrated.toml"], None),
}


def in_terminal(args: list[str], cwd: Path, timeout: float = 900
                ) -> tuple[int, str]:
    """The console script run under a pseudo-terminal, as an interactive shell runs it:
    exit code and everything it printed (stdout and stderr, as the terminal shows them)."""
    line = shlex.join([sys.executable, "-m", "projection.outputs.console", *args])
    done = subprocess.run([SCRIPT, "-qec", line, "/dev/null"], cwd=cwd, capture_output=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    return done.returncode, done.stdout.decode("utf-8", "replace") + done.stderr.decode(
        "utf-8", "replace")


def in_pipe(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "projection.outputs.console", *args],
                          capture_output=True, cwd=cwd, timeout=timeout, text=True)


@pytest.fixture(scope="module")
def terminal_runs(tmp_path_factory) -> dict[str, tuple[int, str, Path]]:
    """Every command of COMMANDS run once under a pseudo-terminal, in one user folder."""
    if SCRIPT is None:
        pytest.skip("needs script(1) (util-linux) for a pseudo-terminal")
    folder = tmp_path_factory.mktemp("user")
    runs = {}
    for name, (args, _, _) in COMMANDS.items():
        code, output = in_terminal(args, folder)
        runs[name] = (code, output, folder)
    return runs


@pytest.mark.parametrize("name", list(COMMANDS))
def test_command_runs_under_a_terminal_and_writes_its_files(terminal_runs, name):
    code, output, folder = terminal_runs[name]
    assert code == 0, output
    assert "Traceback" not in output and "Error" not in output, output
    for path in COMMANDS[name][1]:
        assert (folder / path).is_file(), (path, output)
    label = COMMANDS[name][2]
    if label is not None:  # the bar was drawn (the crash came with its first drawing)
        assert label in output, output


def test_every_csv_any_command_writes_reads_in_pandas_with_its_provenance_beside(terminal_runs):
    folder = next(iter(terminal_runs.values()))[2]
    found = sorted(p for p in folder.rglob("*.csv") if "ensemble" not in p.parts)
    kinds = {p.name for p in found}
    assert {"projection.csv", "projection_iamc.csv", "uncertainty.csv", "uncertainty_iamc.csv",
            "sensitivity.csv", "sweep.csv"} <= kinds
    for path in found:
        table = pd.read_csv(path)
        assert len(table) > 0 and not any(str(c).startswith("#") for c in table.columns), path
        assert not table.iloc[:, 0].astype(str).str.startswith("#").any(), path
        sidecar = path.with_suffix(".meta.json")
        record = json.loads(sidecar.read_text(encoding="utf-8"))
        assert record["describes"] == path.name, sidecar
        assert record["model_version"], sidecar
        assert record["command"].startswith("projection "), sidecar
        hashes = str(record["scenario_sha256"]).split(",")
        assert all(len(h) == 64 for h in hashes), sidecar


# --- the uncertainty table and its files -------------------------------------------------------

def test_uncertainty_table_uses_the_run_tables_labels_and_units(terminal_runs):
    code, output, _ = terminal_runs["uncertainty"]
    assert code == 0
    output = output.split("Wrote ")[0]  # the table, not the names of the files written
    for label in ("US data-centre electricity", "AI vs US household electricity",
                  "AI requests per day", "billion L", "Mt CO2"):
        assert label in output, label
    for raw in ("ai_share_of_household_electricity", " GL ", "request/day", "facility_energy "):
        assert raw not in output, raw


def test_uncertainty_percentiles_hold_only_members_that_meet_the_start_year_targets(
        terminal_runs):
    """A member that misses its start-year calibration targets is one `projection run` refuses:
    the percentiles leave it out, the files and the table count it apart from the usable."""
    import xarray as xr

    from projection.model.integrate import CALIBRATION_TOLERANCE

    code, output, folder = terminal_runs["uncertainty"]
    results = folder / "results" / "high_growth" / "uncertainty"
    parts = [xr.open_dataset(p) for p in sorted((results / "ensemble").glob("block_*.nc"))]
    usable = np.concatenate([p["usable"].values for p in parts]).astype(bool)
    miss = np.concatenate([p["calibration_error"].values for p in parts])
    energy = np.concatenate([p["facility_energy"].values for p in parts], axis=-1)
    for p in parts:
        p.close()
    missing = np.isfinite(miss) & (miss > CALIBRATION_TOLERANCE)
    assert missing.sum() > 0, "the test needs members that miss (high_growth has some)"
    assert not (usable & missing).any()
    meta = json.loads((results / "uncertainty.meta.json").read_text(encoding="utf-8"))
    assert meta["usable_samples"] == int(usable.sum())
    assert meta["samples_missing_start_targets"] == int(missing.sum())
    assert (meta["usable_samples"] + meta["samples_missing_start_targets"]
            + meta["samples_infeasible_start"]) <= meta["samples"] == 400
    with xr.open_dataset(results / "uncertainty.nc") as ds:
        p50 = ds["facility_energy"].sel(percentile=50.0).values
    np.testing.assert_allclose(p50, np.percentile(energy[:, usable], 50, axis=-1), rtol=1e-12)
    assert f"the percentiles are of the {int(usable.sum()):,} usable" in output
    assert f"{int(missing.sum()):,} whose start year misses its calibration targets" in output


# --- iterating: a rerun replaces its own results -----------------------------------------------

def _edited(path: Path, growth: str) -> None:
    path.write_text('[scenario]\ntitle = "Mine"\ndescription = "Mine."\nextends = "base.toml"\n'
                    f'[demand]\nadoption_growth = {{ value = "{growth}", low = "30 %/yr", '
                    'high = "90 %/yr", source = "assumption: a test"}\n', encoding="utf-8")


@pytest.fixture
def user(tmp_path) -> Path:
    (tmp_path / "base.toml").write_bytes(BASELINE.read_bytes())
    _edited(tmp_path / "mine.toml", "50 %/yr")
    return tmp_path


def test_rerun_of_an_edited_scenario_replaces_its_run_results(user):
    assert in_pipe("run", "mine.toml", cwd=user).returncode == 0
    first = json.loads((user / "results/mine/projection.meta.json").read_text())
    _edited(user / "mine.toml", "70 %/yr")
    again = in_pipe("run", "mine.toml", "--end-year", "2032", "-o", "results/mine", cwd=user)
    assert again.returncode == 0, again.stderr
    second = json.loads((user / "results/mine/projection.meta.json").read_text())
    assert second["scenario_sha256"] != first["scenario_sha256"]
    assert second["end_year"] == 2032


def test_another_scenarios_results_and_a_users_files_stay_protected(user):
    assert in_pipe("run", "mine.toml", cwd=user).returncode == 0
    (user / "other.toml").write_bytes((user / "mine.toml").read_bytes())
    before = (user / "results/mine/projection.csv").read_bytes()
    refused = in_pipe("run", "other.toml", "-o", "results/mine", cwd=user)
    assert refused.returncode == 2
    assert "made from other inputs" in refused.stderr and "--force" in refused.stderr
    assert (user / "results/mine/projection.csv").read_bytes() == before
    (user / "mine_notes").mkdir()
    (user / "mine_notes" / "projection.csv").write_text("my own table\n")
    refused = in_pipe("run", "mine.toml", "-o", "mine_notes", cwd=user)
    assert refused.returncode == 2 and "did not write" in refused.stderr
    assert (user / "mine_notes" / "projection.csv").read_text() == "my own table\n"
    forced = in_pipe("run", "other.toml", "-o", "results/mine", "--force", cwd=user)
    assert forced.returncode == 0, forced.stderr


def test_second_sweep_on_the_same_key_replaces_the_first_and_its_stale_charts(user):
    key = "demand.adoption_growth"
    first = in_pipe("sweep", "mine.toml", "--param", f"{key}=30%/yr:90%/yr:3", "--output",
                    "facility_energy", "--output", "emissions", "--backend", "numpy", cwd=user)
    assert first.returncode == 0, first.stderr
    folder = user / "results" / "mine" / f"sweep-{key}"
    (folder / "my_notes.txt").write_text("mine\n")
    assert (folder / "sweep_emissions.png").is_file()
    second = in_pipe("sweep", "mine.toml", "--param", f"{key}=40%/yr:80%/yr:5", "--output",
                     "facility_energy", "--backend", "numpy", cwd=user)
    assert second.returncode == 0, second.stderr
    assert not (folder / "sweep_emissions.png").exists()
    assert (folder / "sweep_facility_energy.png").is_file()
    assert (folder / "my_notes.txt").read_text() == "mine\n"
    assert len(pd.read_csv(folder / "sweep.csv").columns) > 0
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_rerun_of_an_edited_scenario_replaces_its_ensemble_and_other_scenarios_are_refused(user):
    args = ["--backend", "numpy", "--output", "facility_energy"]
    first = in_pipe("uncertainty", "mine.toml", "--samples", "60", *args, "--output",
                    "emissions", cwd=user)
    assert first.returncode == 0, first.stderr
    folder = user / "results" / "mine" / "uncertainty"
    _edited(user / "mine.toml", "60 %/yr")
    second = in_pipe("uncertainty", "mine.toml", "--samples", "80", "--seed", "2", *args,
                     cwd=user)
    assert second.returncode == 0, second.stderr
    assert not (folder / "fan_emissions.png").exists()
    manifest = json.loads((folder / "ensemble" / "manifest.json").read_text())
    assert manifest["samples"] == 80 and manifest["seed"] == 2
    (user / "other.toml").write_bytes((user / "mine.toml").read_bytes())
    refused = in_pipe("uncertainty", "other.toml", "--samples", "60", *args, "-o", str(folder),
                      cwd=user)
    assert refused.returncode == 2 and "made from other inputs" in refused.stderr
    assert json.loads((folder / "ensemble" / "manifest.json").read_text())["samples"] == 80


def test_replacing_results_is_all_or_nothing_and_removes_stale_files_only_on_success(tmp_path):
    from projection.outputs.files import OutputError, write_all

    folder = tmp_path / "results"
    write_all(folder, {"a.csv": lambda p: p.write_text("old a"),
                       "chart_x.png": lambda p: p.write_text("old chart")})

    def broken(path: Path) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError):
        write_all(folder, {"a.csv": lambda p: p.write_text("new a"), "b.csv": broken},
                  stale=["chart_x.png"])
    assert (folder / "a.csv").read_text() == "old a"
    assert (folder / "chart_x.png").read_text() == "old chart"
    assert sorted(p.name for p in folder.iterdir()) == ["a.csv", "chart_x.png"]
    write_all(folder, {"a.csv": lambda p: p.write_text("new a")},
              stale=["chart_x.png", "../outside.txt", ".hidden"])
    assert sorted(p.name for p in folder.iterdir()) == ["a.csv"]


# --- units in words ---------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "value", "expected"), [
    ("demand.adoption_growth", "40 kg",
     "has the wrong dimension: a mass; expected a yearly rate such as '40 %/yr'"),
    ("start.facility_energy_start", "200 TWh", "has the wrong dimension: an energy; expected a "
     "power (an energy per unit of time) such as '200 TWh/yr'"),
    ("demand.mix_adjustment_time", "2 m",
     "has the wrong dimension: a length; expected a time such as '2 yr'"),
    ("facility.ai_pue_target", "1.2 kW", "has the wrong dimension: a power (an energy per unit "
     "of time); expected a plain number (a count, a share or a multiple) such as '1.2'"),
    ("start.requests_per_day_start", "3 L", "has the wrong dimension: a volume; expected a rate "
     "per unit of time such as '3 request/day'"),
    ("demand.adoption_growth", "3 kg*m",
     "has the wrong dimension: [mass] * [length]; expected a yearly rate such as '3 %/yr'"),
])
def test_unit_error_names_both_dimensions_in_words_with_an_example(key, value, expected):
    import projection

    with pytest.raises(projection.ProjectionError) as error:
        projection.load_scenario("baseline", params={key: value})
    message = str(error.value)
    assert expected in message, message
    assert f"value '{value}'" in message and key in message
    assert "1 / [time]" not in message


def test_unit_error_in_a_scenario_file_is_one_line_in_words(tmp_path):
    (tmp_path / "base.toml").write_bytes(BASELINE.read_bytes())
    _edited(tmp_path / "bad.toml", "40 kg")
    done = in_pipe("run", "bad.toml", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: bad.toml: demand.adoption_growth: value '40 kg' has the wrong dimension: a mass; "
        "expected a yearly "
        "rate such as '40 %/yr'"]


# --- the continuous-integration script ------------------------------------------------------

def test_ci_runs_the_readme_test_command_and_the_plain_install_of_every_documented_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    block = readme.split("Run the tests", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    assert block.strip() in ci
    assert ".ci/plain-install" in ci
    plain = (ROOT / ".ci" / "plain-install").read_text(encoding="utf-8")
    assert 'pip" install -q -e .\n' in plain
    documented = set(re.findall(r"^\| `projection ([a-z]+)", readme, re.MULTILINE))
    assert len(documented) >= 9
    for command in documented:
        assert re.search(rf"^check 0 {command}\b", plain, re.MULTILINE), command
    for method in ("sobol", "morris", "oat"):
        assert f"sensitivity baseline --method {method}" in plain


def test_uncertainty_table_gives_an_output_by_workload_a_block_per_workload():
    from projection.model.uncertainty import uncertainty
    from projection.outputs.terminal import percentile_table

    ds = uncertainty("baseline", 12, seed=1, outputs=["ai_requests_per_day", "facility_energy"],
                     backend="numpy")
    table = percentile_table(ds)
    for workload in ds["workload"].values:
        line = next(x for x in table.splitlines() if f"by workload (yearly average): {workload}"
                    in x)
        assert "billion a day" in line and "run" in line and len(line.split()) > 10, line
    assert "US data-centre electricity" in table and "request/day" not in table
