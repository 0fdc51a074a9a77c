"""The command line end to end, as a user runs it: outputs, provenance, errors."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
HIGH = SCENARIOS / "high_growth.toml"


def projection(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "projection.outputs.cli", *args],
        capture_output=True, text=True, cwd=cwd, timeout=120,
    )


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def high_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path_factory.mktemp("run") / "high"
    return projection("run", str(HIGH), "-o", str(out)), out


def test_run_prints_headline_table_and_writes_the_result_files(high_run):
    result, out = high_run
    assert result.returncode == 0, result.stderr
    for label in ("US data-centre electricity", "of which AI", "Share of US electricity",
                  "AI vs US household electricity", "Operating capacity", "Data centres",
                  "AI requests per day", "billion L", "billion gal", "Mt CO2",
                  "Carbon of new load, marginal"):
        assert label in result.stdout
    header = next(line for line in result.stdout.splitlines() if "unit" in line)
    assert header.split()[-4:] == ["2024", "2026", "2028", "2030"]
    assert sorted(p.name for p in out.iterdir()) == [
        "projection.csv", "projection.meta.json", "projection.nc", "projection_iamc.csv",
        "projection_iamc.meta.json", "projection_iamc.xlsx", "projection_regions.csv",
        "projection_regions.meta.json"]


def test_netcdf_is_labelled_and_carries_provenance(high_run):
    _, out = high_run
    with xr.open_dataset(out / "projection.nc") as ds:
        assert list(ds["year"].values) == list(range(2024, 2031))
        for name, var in ds.data_vars.items():
            assert var.attrs.get("units"), name
            assert var.attrs.get("long_name"), name
            kind = var.attrs.get("quantity_type", "").split(":")[0]
            assert kind in {"flow", "stock", "flow ratio"}
        assert ds.attrs["model"] == "projection" and ds.attrs["model_version"]
        assert len(ds.attrs["scenario_sha256"]) == 64
        assert "run" in ds.attrs["command"] and "high_growth.toml" in ds.attrs["command"]
        resolved = json.loads(ds.attrs["resolved_parameters"])
        assert resolved["demand.adoption_growth"]["source"]
        assert ds["facility_energy"].attrs["units"] == "TW h"  # TWh, as udunits spells it
        assert float(ds["facility_energy"].sel(year=2024)) == pytest.approx(200.0, rel=1e-6)
        assert ds["energy_per_request"].dims == ("year", "workload")


def test_csv_files_carry_provenance_and_the_same_numbers(high_run):
    _, out = high_run
    for name in ("projection.csv", "projection_iamc.csv"):
        sidecar = json.loads((out / name.replace(".csv", ".meta.json")).read_text())
        assert sidecar["describes"] == name
        assert len(sidecar["scenario_sha256"]) == 64, name
        assert sidecar["model_version"], name
        assert sidecar["resolved_parameters"]["demand.adoption_growth"]["source"]
    rows = read_rows(out / "projection.csv")
    with xr.open_dataset(out / "projection.nc") as ds:
        row = next(r for r in rows if r["variable"] == "ai_facility_energy")
        assert float(row["2028"]) == pytest.approx(float(ds.ai_facility_energy.sel(year=2028)),
                                                   rel=1e-5)


def test_iamc_table_parents_equal_the_sum_of_children(high_run):
    _, out = high_run
    rows = read_rows(out / "projection_iamc.csv")
    assert list(rows[0])[:5] == ["model", "scenario", "region", "variable", "unit"]
    table = {r["variable"]: np.array([float(r[str(y)]) for y in range(2024, 2031)])
             for r in rows if r["region"] == "United States"}
    dc = "Final Energy|Electricity|Data Centers"
    families = {
        dc: [f"{dc}|AI", f"{dc}|Conventional"],
        f"{dc}|AI": [f"{dc}|AI|Inference", f"{dc}|AI|Training"],
        "Water Consumption|Data Centers": ["Water Consumption|Data Centers|Direct",
                                           "Water Consumption|Data Centers|Indirect"],
    }
    for parent, children in families.items():
        np.testing.assert_allclose(sum(table[c] for c in children), table[parent], rtol=1e-5)
    from projection.model.regions import GRID_REGIONS, IAMC_NAMES, STATES

    places = {IAMC_NAMES[c] for c in (*STATES, *GRID_REGIONS)}
    assert {r["region"] for r in rows} == {"United States", *places}
    assert rows[0]["model"].startswith("projection ")
    assert "Capacity|Data Centers" in table and "Emissions|CO2|Data Centers" in table
    # the other carbon bases are trees of their own, not children of the location-based total
    for basis in ("Emissions|CO2 (Market-based)|Data Centers",
                  "Emissions|Kyoto Gases (Life-cycle)|Data Centers",
                  "Emissions|CO2 (Marginal, New Load)|Data Centers"):
        assert basis in table
    assert not [v for v in table if v.startswith("Emissions|CO2|Data Centers|")]


def test_same_inputs_same_outputs(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert projection("run", str(HIGH), "-o", str(a), "-q").returncode == 0
    assert projection("run", str(HIGH), "-o", str(b), "-q").returncode == 0
    lines_a = (a / "projection.csv").read_text().splitlines()
    lines_b = (b / "projection.csv").read_text().splitlines()
    strip = [line for line in lines_a if not line.startswith("# command")]
    assert strip == [line for line in lines_b if not line.startswith("# command")]
    with xr.open_dataset(a / "projection.nc") as da, \
            xr.open_dataset(b / "projection.nc") as db:
        xr.testing.assert_identical(da.drop_attrs(deep=False), db.drop_attrs(deep=False))


def test_default_output_folder_and_shipped_name(tmp_path):
    result = projection("run", "low_growth", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "results" / "low_growth" / "projection.nc").exists()


def test_end_year_option_extends_the_projection(tmp_path):
    result = projection("run", str(HIGH), "--end-year", "2035", "-o", str(tmp_path / "o"))
    assert result.returncode == 0, result.stderr
    assert "2035" in result.stdout.splitlines()[1]


def test_compare_prints_scenarios_side_by_side_and_writes_one_dataset(tmp_path):
    out = tmp_path / "cmp"
    result = projection("compare", str(SCENARIOS / "low_growth.toml"),
                        str(SCENARIOS / "baseline.toml"), str(HIGH), "-o", str(out))
    assert result.returncode == 0, result.stderr
    header = result.stdout.splitlines()[0].split()
    assert header[0] == "2028"
    assert header[2:4] == ["low_growth", "baseline"]  # the first is the reference
    assert header.index("high_growth") > header.index("baseline")
    with xr.open_dataset(out / "projection.nc") as ds:
        assert list(ds["scenario"].values) == ["low_growth", "baseline", "high_growth"]
        totals = ds.facility_energy.sel(year=2028).values
        assert totals[0] < totals[1] < totals[2]
    iamc = read_rows(out / "projection_iamc.csv")
    assert {r["scenario"] for r in iamc} == {"low_growth", "baseline", "high_growth"}


def test_scenarios_lists_every_shipped_file():
    result = projection("scenarios")
    assert result.returncode == 0
    for name in ("baseline", "high_growth", "low_growth", "efficiency_push", "constrained_grid"):
        assert name in result.stdout


def _commands() -> dict[str, list]:
    """Every command of the console script with its options (click's view of the typer app)."""
    import typer

    from projection.outputs.cli import app

    group = typer.main.get_command(app)
    return {name: [p for p in command.params if p.param_type_name == "option"]
            for name, command in group.commands.items()}


COMMANDS = _commands()


def test_help_lists_every_command():
    result = projection("--help")
    assert result.returncode == 0 and "Usage" in result.stdout
    for name in COMMANDS:
        assert name in result.stdout, name


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_explains_every_option(command):
    """Every option of every command is listed in its --help with a sentence saying what it
    does (the help text is the option's own, so an option added without one fails)."""
    import os

    result = subprocess.run([sys.executable, "-m", "projection.outputs.cli", command, "--help"],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "COLUMNS": "200", "TERM": "dumb"})
    assert result.returncode == 0 and "Usage" in result.stdout
    text = " ".join(result.stdout.split())
    assert COMMANDS[command], command
    for option in COMMANDS[command]:
        if option.hidden:
            continue
        longest = max(option.opts, key=len)
        assert longest in result.stdout, (command, longest)
        assert option.help and len(option.help.split()) >= 2, (command, longest)
        first_words = " ".join(option.help.split()[:3])
        assert first_words in text, (command, longest, first_words)


BASE_LINK = f'extends = "{(SCENARIOS / "baseline.toml").as_posix()}"\n'


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (None, "no such file"),
        ("[scenario\n", "not valid TOML"),
        ('[scenario]\ntitle="T"\ndescription="D"\n' + BASE_LINK
         + '[demand]\nadoption_grwth = { value = "1 %/yr", source = "x" }\n', "did you mean"),
        ('[scenario]\ntitle="T"\ndescription="D"\n' + BASE_LINK
         + '[start]\nfacility_energy_start = { value = "200 kg", source = "x" }\n', "dimension"),
        ('[scenario]\ntitle="T"\ndescription="D"\n' + BASE_LINK
         + '[start]\ndata_centres_start = { value = "-3 data_centre", source = "x" }\n',
         "greater than zero"),
        ('[scenario]\ntitle="T"\ndescription="D"\n' + BASE_LINK
         + '[workloads.video]\nrequest_share_target = { value = "50 %", source = "x" }\n',
         "sum to"),
        ('[scenario]\ntitle="T"\ndescription="D"\nend_year = 2010\n' + BASE_LINK, "end_year"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_leaves_existing_results_alone(tmp_path, text, words):
    scenario = tmp_path / "bad.toml"
    if text is not None:
        scenario.write_text(text, encoding="utf-8")
    out = tmp_path / "results"
    out.mkdir()
    keep = out / "projection.csv"
    keep.write_text("a user's earlier results\n")
    result = projection("run", str(scenario), "-o", str(out))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert str(scenario) in lines[0] and words in lines[0]
    assert "Traceback" not in result.stderr
    assert keep.read_text() == "a user's earlier results\n"
    assert sorted(p.name for p in out.iterdir()) == ["projection.csv"]


def test_bad_input_creates_no_output_folder(tmp_path):
    result = projection("run", str(tmp_path / "missing.toml"), "-o", str(tmp_path / "new"))
    assert result.returncode == 2
    assert not (tmp_path / "new").exists()


def test_output_path_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "a_file"
    target.write_text("x")
    result = projection("run", str(HIGH), "-o", str(target))
    assert result.returncode == 2
    assert "not a folder" in result.stderr and "Traceback" not in result.stderr
    assert target.read_text() == "x"


def test_compare_refuses_an_unknown_year(tmp_path):
    result = projection("compare", str(HIGH), str(SCENARIOS / "baseline.toml"), "--year", "2050",
                        "-o", str(tmp_path / "c"))
    assert result.returncode == 2 and "--year" in result.stderr
    assert not (tmp_path / "c").exists()


def _child(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "child.toml"
    path.write_text('[scenario]\ntitle = "T"\ndescription = "D."\n' + BASE_LINK + body)
    return path


def test_a_run_whose_numbers_blow_up_is_refused_not_written(tmp_path):
    # growth so fast that the exponentials overflow within the projection (an exogenous
    # series: the drivers of demand are braked as their work waits, so they stay finite)
    scenario = _child(tmp_path, '[context]\nus_other_electricity_growth = '
                                '{ value = "1e60 %/yr", source = "x" }\n')
    result = projection("run", str(scenario), "-o", str(tmp_path / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_usage_errors_are_one_line_with_exit_2():
    for args in (["run", str(HIGH), "--end-year", "abc"], ["runn", "x"], ["run"]):
        result = projection(*args)
        assert result.returncode == 2, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)


def test_help_states_the_defaults():
    text = projection("run", "--help").stdout
    assert "(default:" in text and "results/<scenario name>/)" in text


def test_a_folder_where_a_result_file_goes_is_refused(tmp_path):
    (tmp_path / "projection.nc").mkdir()
    result = projection("run", str(HIGH), "-o", str(tmp_path))
    assert result.returncode == 2 and "not a file" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["projection.nc"]


def test_compare_refuses_different_start_years(tmp_path):
    backcast = ROOT / "validation" / "data" / "backcast_2014.toml"
    result = projection("compare", str(HIGH), str(backcast), "-o", str(tmp_path / "c"))
    assert result.returncode == 2 and "start" in result.stderr
    assert not (tmp_path / "c").exists()


def test_compare_says_when_it_cuts_to_the_earliest_end_year(tmp_path):
    short = _child(tmp_path, "")
    short.write_text(short.read_text().replace('description = "D."\n',
                                               'description = "D."\nend_year = 2027\n'))
    result = projection("compare", str(HIGH), str(short), "-o", str(tmp_path / "c"))
    assert result.returncode == 0, result.stderr
    assert "2027" in result.stderr and "different years" in result.stderr


# --- habits: JSON, years, differences, diffs, names, folders, replacing, quiet ---------------

def test_run_json_gives_the_headlines_for_the_years_asked(tmp_path):
    result = projection("run", "high_growth", "--json", "--year", "2028,2030", "--year", "2025",
                        "-o", str(tmp_path / "o"))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["scenario"] == "high_growth" and data["years"] == [2025, 2028, 2030]
    energy = next(h for h in data["headlines"] if h["label"] == "US data-centre electricity")
    assert energy["unit"] == "TWh" and set(energy["values"]) == {"2025", "2028", "2030"}
    with xr.open_dataset(tmp_path / "o" / "projection.nc") as ds:
        assert energy["values"]["2028"] == pytest.approx(float(ds.facility_energy.sel(year=2028)))
    assert sorted(Path(p).name for p in data["files"])[0] == "projection.csv"


def test_headline_years_keep_2028_and_the_end_year(tmp_path):
    result = projection("run", "baseline", "--end-year", "2040", "-o", str(tmp_path / "o"))
    assert result.returncode == 0, result.stderr
    header = next(line for line in result.stdout.splitlines() if "unit" in line).split()
    assert header[1:] == ["2024", "2026", "2028", "2030", "2040"]


@pytest.mark.parametrize("years, words", [("2028,abc", "'abc' is not a year"),
                                          ("2060", "outside the projected years")])
def test_a_bad_year_is_one_line_and_writes_nothing(tmp_path, years, words):
    result = projection("run", "baseline", "--year", years, "-o", str(tmp_path / "o"))
    assert result.returncode == 2 and words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_compare_prints_each_scenario_against_the_first(tmp_path):
    result = projection("compare", "baseline", "high_growth", "--year", "2028,2030",
                        "-o", str(tmp_path / "c"))
    assert result.returncode == 0, result.stderr
    tables = [t for t in result.stdout.split("\n\n") if t.strip().startswith("20")]
    assert [t.split()[0] for t in tables] == ["2028", "2030"]
    header, _, first_row = tables[0].splitlines()[:3]
    assert header.split()[2:] == ["baseline", "high_growth", "vs", "baseline", "%"]
    cells = first_row.split()  # US data-centre electricity TWh base high diff pct %
    base, high, diff, pct = (float(c.replace(",", "")) for c in cells[4:8])
    assert diff == pytest.approx(high - base, abs=1.0)
    # the cells are rounded to three figures, so the percentage recomputed from them is too
    assert pct == pytest.approx((high - base) / base * 100, rel=0.01)


def test_scenarios_diff_lists_differing_parameters_with_sources():
    result = projection("scenarios", "--diff", "baseline", "high_growth")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "high_growth" in lines[0] and "baseline" in lines[0] and "differ" in lines[0]
    assert "demand.adoption_growth" in lines
    at = lines.index("demand.adoption_growth")
    assert lines[at + 1].split()[0] == "baseline:" and "source:" in lines[at + 1]
    assert lines[at + 2].split()[0] == "high_growth:" and "high_growth.toml" in lines[at + 2]
    same = projection("scenarios", "--diff", "baseline", "baseline")
    assert "0 parameters differ" in same.stdout


def test_a_misspelt_scenario_name_gets_a_suggestion(tmp_path):
    result = projection("run", "basline", "-o", str(tmp_path / "o"))
    assert result.returncode == 2
    assert "did you mean 'baseline'?" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_default_folders_are_named_after_what_was_run(tmp_path):
    assert projection("compare", "baseline", "low_growth", "-q", cwd=tmp_path).returncode == 0
    assert (tmp_path / "results" / "compare-baseline-low_growth" / "projection.nc").exists()
    assert projection("run", "low_growth", "--end-year", "2035", "-q",
                      cwd=tmp_path).returncode == 0
    assert (tmp_path / "results" / "low_growth-2035" / "projection.nc").exists()


def test_results_of_other_inputs_are_replaced_only_with_force(tmp_path):
    out = tmp_path / "o"
    assert projection("run", "low_growth", "-q", "-o", str(out)).returncode == 0
    before = (out / "projection.csv").read_bytes()
    again = projection("run", "low_growth", "-q", "-o", str(out))  # same inputs: replaced
    assert again.returncode == 0, again.stderr
    other = projection("run", "high_growth", "-o", str(out))
    assert other.returncode == 2 and "other inputs" in other.stderr and "--force" in other.stderr
    assert (out / "projection.csv").read_bytes() == before
    forced = projection("run", "high_growth", "-q", "--force", "-o", str(out))
    assert forced.returncode == 0
    assert json.loads((out / "projection.meta.json").read_text())["scenario"] == "high_growth"


def test_quiet_and_off_a_terminal_print_nothing_but_errors(tmp_path):
    quiet = projection("run", "low_growth", "-q", "-o", str(tmp_path / "q"))
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""
    loud = projection("run", "low_growth", "-o", str(tmp_path / "l"))
    assert loud.returncode == 0 and "Wrote" in loud.stdout
    assert loud.stderr == ""  # no progress bar when stderr is not a terminal


@pytest.mark.parametrize("kind", [int, bool])
def test_option_values_are_read_as_typer_reads_them_without_pydantic(kind):
    # the command line converts option values itself (start-up time); it must accept and
    # refuse exactly what typer's pydantic conversion does, with the same message
    from pydantic import TypeAdapter, ValidationError

    from projection.outputs.coercion import _boolean, _integer

    ours, theirs = {int: _integer, bool: _boolean}[kind], TypeAdapter(kind)
    for text in ["2040", " 2040 ", "1_000", "+5", "-3", "2.0", "2.5", "abc", "", "1e3", "0x10",
                 "２０４０", "1__0", "_1", "1_", "2.", ".5", "inf", "nan", "-0", "007", "true",
                 "No", "on", "2", "1.0", "yes ", "T"]:
        try:
            expected = ("value", theirs.validate_python(text))
        except ValidationError as exc:
            expected = ("error", exc.errors()[0]["msg"])
        try:
            got = ("value", ours(text))
        except ValueError as exc:
            got = ("error", str(exc))
        assert got == expected, text


def test_the_command_line_converts_its_options_without_pydantic(tmp_path):
    code = ("import sys; from projection.outputs.cli import main; "
            "sys.argv = ['projection', 'run', 'low_growth', '--end-year', '2031', '--year', "
            f"'2028,2031', '-q', '-o', {str(tmp_path)!r}]\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "print('pydantic' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_an_infeasible_start_is_a_one_line_error_with_exit_2_and_no_files(tmp_path):
    scenario = tmp_path / "too_many.toml"
    scenario.write_text(
        '[scenario]\ntitle = "Too many accelerators"\ndescription = "x"\n'
        f'extends = "{SCENARIOS / "baseline.toml"}"\n[hardware]\n'
        'shipments_start = { value = "2e7 accelerator/yr", low = "1e7 accelerator/yr", '
        'high = "3e7 accelerator/yr", source = "test" }\n')  # its own range: outside the kept one
    result = projection("run", str(scenario), "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "infeasible start state" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
