"""Result files that other tools read without options: pandas, pyam, Excel, CF checkers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("outputs") / "high"
    subprocess.run([sys.executable, "-m", "projection.outputs.cli", "run", "high_growth",
                    "-q", "-o", str(out)], check=True, capture_output=True, text=True)
    return out


def test_pandas_reads_both_tables_without_options(results):
    long = pd.read_csv(results / "projection.csv")
    assert list(long.columns[:5]) == ["scenario", "variable", "workload", "unit",
                                      "quantity_type"]
    assert list(long.columns[5:]) == [str(y) for y in range(2024, 2031)]
    iamc = pd.read_csv(results / "projection_iamc.csv")
    assert list(iamc.columns[:5]) == ["model", "scenario", "region", "variable", "unit"]
    assert iamc["2028"].dtype.kind == "f"


def test_pyam_reads_the_csv_and_the_workbook_with_its_provenance(results):
    pyam = pytest.importorskip("pyam")
    from_csv = pyam.IamDataFrame(results / "projection_iamc.csv")
    from_excel = pyam.IamDataFrame(results / "projection_iamc.xlsx")
    assert from_csv.scenario == ["high_growth"]
    variable = "Final Energy|Electricity|Data Centers"
    a = from_csv.filter(variable=variable).timeseries()
    b = from_excel.filter(variable=variable).timeseries()
    np.testing.assert_allclose(a.values, b.values, rtol=1e-12)
    sidecar = json.loads((results / "projection_iamc.meta.json").read_text())
    meta = from_excel.meta.reset_index().iloc[0]
    assert meta["scenario_sha256"] == sidecar["scenario_sha256"]
    assert meta["model_version"] == sidecar["model_version"]
    assert "run high_growth" in meta["command"]


def test_sidecars_name_their_file_and_carry_the_provenance(results):
    for table in ("projection.csv", "projection_iamc.csv"):
        meta = json.loads((results / table.replace(".csv", ".meta.json")).read_text())
        assert meta["describes"] == table
        assert meta["scenario"] == "high_growth" and len(meta["scenario_sha256"]) == 64
        assert len(meta["inputs_sha256"]) == 64
        assert meta["resolved_parameters"]["demand.adoption_growth"]["value"]
        assert meta["calibration_si_units"]["target_utilisation"]


def test_netcdf_counts_and_shares_are_dimensionless_with_long_names(results):
    with xr.open_dataset(results / "projection.nc") as ds:
        assert ds.attrs["Conventions"].startswith("CF-")
        assert ds["data_centres"].attrs["units"] == "1"
        assert ds["data_centres"].attrs["counted"] == "data centres"
        assert ds["request_share"].attrs["units"] == "percent"
        assert ds["pue"].attrs["units"] == "1"
        for var in ds.data_vars.values():
            assert var.attrs["long_name"]


def cf_check(path: Path, tmp_path: Path) -> tuple[bool, dict]:
    """compliance-checker's CF-1.8 suite on ``path``, called with keyword arguments (passed
    positionally, the report path and format land in skip_checks and include_checks and no
    check runs): (passed, the JSON report)."""
    runner = pytest.importorskip("compliance_checker.runner")
    runner.CheckSuite.load_all_available_checkers()
    report = tmp_path / f"{path.stem}-cf.json"
    passed, _ = runner.ComplianceChecker.run_checker(
        ds_loc=str(path), checker_names=["cf:1.8"], verbose=0, criteria="normal",
        output_filename=str(report), output_format="json")
    return passed, json.loads(report.read_text())["cf:1.8"]


def cf_errors(data: dict) -> list[str]:
    """Every message of every failed CF check of a compliance-checker JSON report."""
    failed = [*data.get("high_priorities", []), *data.get("medium_priorities", [])]
    return [f"{c['name']}: {m}" for c in failed if c["value"][0] < c["value"][1]
            for m in c["msgs"]]


def test_netcdf_passes_the_cf_1_8_checker_with_no_errors(results, tmp_path):
    passed, data = cf_check(results / "projection.nc", tmp_path)
    assert passed and not cf_errors(data), cf_errors(data)
    assert data["scored_points"] == data["possible_points"] > 100  # the checks did run


def test_the_cf_check_fails_a_unit_udunits_does_not_know(results, tmp_path):
    """The check above has teeth: one variable in "blorps" fails it, and so does the
    catalogue's "Wh", which UDUNITS reads only as "W h"."""
    from projection.model.labelled import labelled
    from projection.outputs.netcdf import write_labelled

    with xr.open_dataset(results / "projection.nc") as nc:
        good = labelled(nc.load())
    for bad_unit in ("blorps", "Wh", "L/kWh"):
        bad = good.copy()
        bad.data_vars["energy_per_request"].attrs["units"] = bad_unit
        path = tmp_path / f"bad-{bad_unit.replace('/', '_')}.nc"
        write_labelled(bad, path)
        passed, data = cf_check(path, tmp_path)
        assert not passed, bad_unit
        assert any("energy_per_request" in m for m in cf_errors(data)), cf_errors(data)


def test_every_catalogue_unit_has_a_udunits_spelling_of_the_same_quantity():
    """Every output of the catalogue (present and future) as CF writes it: a unit UDUNITS
    reads, of the same dimension and size as the model's unit, and a count written as 1 says
    what it counts. A writer that wrote g/kWh as "g/(W h)" (1000 times too large) fails."""
    cf_units = pytest.importorskip("cf_units")
    from projection.model.results import OUTPUTS
    from projection.model.units import ureg
    from projection.outputs.netcdf import cf_unit

    for out in OUTPUTS:
        spelling, counted = cf_unit(out.unit)
        unit = cf_units.Unit(spelling)  # raises for a unit UDUNITS does not know
        assert not unit.is_unknown(), (out.name, spelling)
        model = ureg.Quantity(1.0, out.unit).to_base_units()
        si = " ".join(f"{u}^{p:g}" for u, p in model.units._units.items()) or "1"
        si = si.replace("meter", "m").replace("second", "s").replace("kilogram", "kg")
        assert np.isclose(unit.convert(1.0, cf_units.Unit(si)), model.magnitude,
                          rtol=1e-12), (out.name, out.unit, spelling)
        if (spelling in ("1", "day-1", "J-1") and out.unit not in ("dimensionless",)
                and not out.flags):  # a flag variable says what it means by flag_meanings
            assert counted, (out.name, out.unit)


def test_the_netcdf_writer_converts_units_by_the_catalogue(results, monkeypatch, tmp_path):
    """A planted bug: the writer spelling g/kWh as "g/(W h)" is caught by the test above and
    by the file's own values read back through cf_units."""
    cf_units = pytest.importorskip("cf_units")
    from projection.outputs import netcdf

    with xr.open_dataset(results / "projection.nc") as nc:
        value = float(nc["grid_intensity"].isel(year=0))
        unit = nc["grid_intensity"].attrs["units"]
    as_kg_per_j = cf_units.Unit(unit).convert(value, cf_units.Unit("kg J-1"))
    assert as_kg_per_j == pytest.approx(value * 1e-3 / 3.6e6, rel=1e-12)  # g/kWh in kg/J
    monkeypatch.setitem(netcdf.CF_UNITS, "g/kWh", "g/(W h)")
    with pytest.raises(AssertionError):
        test_every_catalogue_unit_has_a_udunits_spelling_of_the_same_quantity()


def test_netcdf_holds_what_the_python_api_returns(results):
    import projection

    ds = projection.run("high_growth")
    with xr.open_dataset(results / "projection.nc") as nc:
        assert list(nc.data_vars) == list(ds.data_vars)
        assert [str(w) for w in nc["workload"].values] == [str(w) for w in ds["workload"].values]
        assert list(nc["year"].values) == list(ds["year"].values)
        for name, var in ds.data_vars.items():
            assert nc[name].dims == var.dims, name
            np.testing.assert_array_equal(nc[name].values, var.values, err_msg=name)
            assert nc[name].attrs["long_name"] == var.attrs["long_name"]
        for key, value in ds.attrs.items():
            if key != "command":
                assert nc.attrs[key] == value, key
        assert nc["workload"].attrs["labels"] == ds["workload"].attrs["labels"]


def test_netcdf_is_read_by_netcdf4_and_scipy_as_well(results):
    netCDF4 = pytest.importorskip("netCDF4")
    with netCDF4.Dataset(results / "projection.nc") as nc:
        assert list(nc["workload"][:])[0] == "small_text"
        assert nc["facility_energy"].units == "TW h"
        assert nc.Conventions == "CF-1.8"
    from scipy.io import netcdf_file

    with netcdf_file(results / "projection.nc", "r", mmap=False) as nc:
        assert nc.variables["year"][:].tolist() == list(range(2024, 2031))


def test_netcdf_writer_and_reader_round_trip_and_refuse_what_they_cannot_handle(tmp_path):
    from projection.model.netcdf3 import Array, write_netcdf3

    path = tmp_path / "x.nc"
    write_netcdf3(path, {
        "place": Array(("place",), np.array(["Zürich", "", "São Paulo"]), {"long_name": "Ort"}),
        "count": Array(("place",), np.array([1, 2, 3], dtype="int64"), {}),
        "value": Array(("place", "k"), np.arange(6.0).reshape(3, 2).astype("float32"),
                       {"units": "1", "flags": np.array([1, 2], dtype="int16"), "empty": ""}),
        "small": Array(("k",), np.array([1, -1], dtype="int8"), {"big": 2**31 - 1}),
    }, {"title": "naïve – UTF-8", "number": 2.5, "flag": True, "samples": 10**10})
    with xr.open_dataset(path) as ds:
        assert [str(s) for s in ds["place"].values] == ["Zürich", "", "São Paulo"]
        assert ds["count"].values.tolist() == [1, 2, 3]
        assert ds["value"].dtype == np.float32 and ds["value"].values[2, 1] == 5.0
        assert ds["value"].attrs["flags"].tolist() == [1, 2] and ds["value"].attrs["empty"] == ""
        assert ds["small"].values.tolist() == [1, -1]
        assert ds.attrs["title"] == "naïve – UTF-8" and ds.attrs["number"] == 2.5
        assert ds.attrs["samples"] == 10**10
    from projection.model.netcdf3 import NetCDFError, read_header, read_variable

    variables, attrs = read_header(path)
    assert attrs["title"] == "naïve – UTF-8" and attrs["samples"] == 10**10
    assert variables["value"].dims == ("place", "k") and variables["value"].attrs["units"] == "1"
    value = np.arange(6.0).reshape(3, 2).astype("float32")
    assert read_variable(path, "value").dtype == np.float32
    np.testing.assert_array_equal(read_variable(path, "value"), value)
    for rows in (slice(1, 3), slice(2, None), slice(0, 0), slice(None, None, 2), slice(-1, 0, -1)):
        np.testing.assert_array_equal(read_variable(path, "value", rows=rows), value[rows])
    assert read_variable(path, "small").tolist() == [1, -1]
    data = path.read_bytes()
    for damaged, why in ((data[:-4], "truncated"), (data[:40], "truncated"),
                         (b"\x89HDF\r\n\x1a\n" + data[8:], "not a NetCDF classic file"),
                         (b"", "not a NetCDF classic file")):
        path.write_bytes(damaged)
        with pytest.raises(NetCDFError, match=why):
            read_variable(path, "value")
    path.write_bytes(data)
    with pytest.raises(NetCDFError, match="no variable 'other'"):
        read_variable(path, "other")
    with pytest.raises(ValueError, match="32 bits"):
        write_netcdf3(path, {"n": Array(("n",), np.array([2**40]), {})}, {})
    with pytest.raises(ValueError, match="sizes"):
        write_netcdf3(path, {"a": Array(("n",), np.zeros(2), {}),
                             "b": Array(("n",), np.zeros(3), {})}, {})


def test_the_gallon_of_the_terminal_tables_is_pint_s(results):
    from projection.model.units import conversion_factor
    from projection.outputs.terminal import LITRES_PER_US_GALLON

    assert LITRES_PER_US_GALLON == pytest.approx(conversion_factor("gallon", "L"), rel=1e-12)


def test_run_prints_and_writes_without_xarray_pandas_hdf5_or_dask(tmp_path):
    code = ("import sys; from projection.outputs.cli import main; "
            f"sys.argv = ['projection', 'run', 'high_growth', '-q', '-o', {str(tmp_path)!r}]\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "print(sorted(m for m in ('xarray', 'pandas', 'h5py', 'h5netcdf', 'dask', "
            "'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert (tmp_path / "projection.nc").is_file()


def test_a_flow_clipped_at_zero_is_written_as_zero_never_minus_zero(tmp_path):
    # a flow clipped at zero from below keeps the sign of the clipped value in numpy (-0.0),
    # which a reader of a table would take for a negative figure; the model's runs no longer
    # reliably produce one, so it is planted in a national and a state output of a real run
    from projection.model.run import run_labelled
    from projection.model.scenario import find_scenario, load_scenario
    from projection.outputs.region_files import write_regions_csv
    from projection.outputs.tables import write_csv, write_iamc

    ds = run_labelled(load_scenario(find_scenario("low_growth")))
    for name in ("construction_starts", "emissions_new_load", "state_emissions"):
        values = ds[name].values
        values[values == 0] = -0.0
        values.flat[0] = -0.0
        assert np.any(np.signbit(values) & (values == 0)), name
    write_csv(ds, tmp_path / "projection.csv")
    write_iamc(ds, tmp_path / "projection_iamc.csv")
    write_regions_csv(ds, tmp_path / "projection_regions.csv")
    for name in ("projection.csv", "projection_iamc.csv", "projection_regions.csv"):
        cells = [c for line in (tmp_path / name).read_text().splitlines()[1:]
                 for c in line.split(",")]
        assert "-0" not in cells and "0" in cells, name
