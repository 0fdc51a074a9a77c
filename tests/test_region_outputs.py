"""States and grid regions in the tables, files and map: choosing a region, summing it,
writing it, drawing it (the baseline's run, states included, read in-process)."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

sys.path.insert(0, str(Path(__file__).parent))

from projection.model import regions  # noqa: E402
from projection.model.labelled import Labelled  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def geo():
    return regions


@pytest.fixture(scope="module")
def national() -> Labelled:
    from projection.model.run import run_labelled
    from projection.model.scenario import find_scenario, load_scenario

    return run_labelled(load_scenario(find_scenario("baseline")))


@pytest.fixture(scope="module")
def ds(national) -> Labelled:
    from projection.outputs.regions import has_regions

    assert has_regions(national)
    return national


def largest_grid_region(geo) -> str:
    return max(geo.GRID_REGIONS, key=lambda g: len(geo.MEMBERS[g]))


# --- choosing a state or grid region ------------------------------------------------------------

def test_a_state_is_chosen_by_its_code_in_any_case_or_by_its_name(geo):
    from projection.outputs.regions import select_region

    for text in ("VA", "va", " Va ", "Virginia", "virginia"):
        chosen = select_region(text)
        assert (chosen.code, chosen.kind, chosen.states) == ("VA", "state", ("VA",))
        assert chosen.grid_region == geo.REGION_OF["VA"]
    assert select_region("dc").code == "DC"


def test_a_grid_region_is_chosen_by_its_code_and_holds_its_member_states(geo):
    from projection.outputs.regions import select_region

    code = largest_grid_region(geo)
    chosen = select_region(code.lower())
    assert chosen.kind == "grid region" and chosen.code == code
    assert set(chosen.states) == set(geo.MEMBERS[code]) and len(chosen.states) > 1


@pytest.mark.parametrize("text", ["VX", "Virgina", "PJMM", "", "\x1b[31mVA", "V" * 5000])
def test_an_unknown_region_is_one_line_naming_the_option_with_close_matches(geo, text):
    from projection.outputs.regions import RegionError, select_region

    with pytest.raises(RegionError) as caught:
        select_region(text)
    message = str(caught.value)
    assert message.startswith("--region: ") and "\n" not in message and "\x1b" not in message
    assert "not a state or grid region" in message and len(message) < 300
    if text in ("VX", "Virgina"):
        assert "did you mean" in message and "VA" in message.split("did you mean")[1]


# --- a region's figures -------------------------------------------------------------------------

def test_each_state_s_consumption_reproduces_its_share(ds):
    """The consumption a grid region's share is summed from is the model's: data-centre
    electricity over it is each state's own share (where the state has data centres)."""
    from projection.outputs.regions import consumption

    total = consumption(ds).values
    electricity = ds["state_electricity"].values
    assert np.all(total > 0)
    has = electricity > 0
    np.testing.assert_allclose(100 * electricity[has] / total[has],
                               ds["state_electricity_share"].values[has], rtol=1e-9)
    np.testing.assert_allclose(total.sum(axis=1), ds["us_electricity"].values, rtol=1e-9)


def test_a_grid_region_sums_its_states_and_recomputes_its_share_from_the_sums(geo, ds):
    from projection.outputs.regions import consumption, region_view, select_region

    chosen = select_region(largest_grid_region(geo))
    view = region_view(ds, chosen)
    index = [list(geo.STATES).index(s) for s in chosen.states]
    for name in ("state_electricity", "state_capacity", "state_emissions", "state_peak_demand",
                 "state_indirect_water"):
        np.testing.assert_allclose(view[name].values, ds[name].values[:, index].sum(axis=1),
                                   rtol=1e-12)
    electricity = ds["state_electricity"].values[:, index]
    expected = 100 * electricity.sum(axis=1) / consumption(ds).values[:, index].sum(axis=1)
    assert np.all(np.isfinite(expected))
    np.testing.assert_allclose(view["state_electricity_share"].values, expected, rtol=1e-12)
    averaged = ds["state_electricity_share"].values[:, index].mean(axis=1)
    assert not np.allclose(view["state_electricity_share"].values, averaged, rtol=1e-3)


def test_a_state_keeps_its_own_share_and_an_unknowable_region_share_prints_a_dash(geo, ds):
    from projection.outputs.regions import region_table, region_view, select_region

    va = region_view(ds, select_region("VA"))
    i = list(geo.STATES).index("VA")
    np.testing.assert_array_equal(va["state_electricity_share"].values,
                                  ds["state_electricity_share"].values[:, i])
    # without US electricity outside data centres, a state with no data centres (a share of
    # zero) leaves its consumption, and so its grid region's share, unknown
    code = largest_grid_region(geo)
    j = list(geo.STATES).index(geo.MEMBERS[code][0])
    data = {k: v for k, v in ds.data_vars.items() if k != "us_other_electricity"}
    for name in ("state_electricity", "state_electricity_share"):
        values = ds[name].values.copy()
        values[:, j] = 0.0
        data[name] = type(ds[name])(ds[name].dims, values, ds[name].attrs)
    line = next(r for r in region_table(Labelled(ds.coords, data, ds.attrs),
                                        select_region(code)).splitlines()
                if "share of the region's electricity" in r)
    assert line.split()[-1] == "-" and "nan" not in line
    full = next(r for r in region_table(ds, select_region(code)).splitlines()
                if "share of the region's electricity" in r)
    assert full.split()[-1] != "-"


def test_the_region_table_has_every_figure_with_its_unit_for_the_headline_years(geo, ds):
    from projection.outputs.regions import region_table, select_region
    from projection.outputs.terminal import fmt

    table = region_table(ds, select_region("VA"), [2024, 2030])
    lines = table.splitlines()
    assert lines[0].split() == ["unit", "2024", "2030"]
    for label, unit in (("Data-centre electricity", "TWh"), ("share of the state's electricity",
                        "%"), ("Operating capacity (1 Jan)", "GW"),
                        ("Peak at the planning load factor", "GW"),
                        ("Carbon, location-based", "Mt CO2"), ("Carbon, market-based", "Mt CO2"),
                        ("Water consumed on site", "billion L"), ("at power plants",
                                                                   "billion L")):
        row = next(r for r in lines if label in r)
        assert f"  {unit}  " in row, row
    i = list(geo.STATES).index("VA")
    row = next(r for r in lines if r.startswith("Data-centre electricity"))
    assert row.split()[-1] == fmt(float(ds["state_electricity"].values[-1, i]))
    if geo.WATER_STRESS["VA"][1]:
        assert lines[-1].startswith("Water stress (WRI Aqueduct): ")


# --- files --------------------------------------------------------------------------------------

def test_the_regions_csv_reads_in_pandas_and_its_states_sum_to_the_nation(geo, ds, tmp_path):
    from projection.outputs.region_files import write_regions_csv

    path = tmp_path / "projection_regions.csv"
    write_regions_csv(ds, path)
    table = pd.read_csv(path, keep_default_na=False)
    assert list(table.columns) == ["scenario", "year", "region", "grid_region", "variable",
                                   "unit", "value"]
    assert set(table["region"]) == set(geo.STATES)
    assert (table["grid_region"] == table["region"].map(geo.REGION_OF)).all()
    sums = table.groupby(["variable", "year"])["value"].sum()
    for regional, national in (("state_electricity", "facility_energy"),
                               ("state_capacity", "operating_capacity"),
                               ("state_emissions", "emissions"),
                               ("state_onsite_water", "onsite_water")):
        for k, year in enumerate(ds["year"].values):
            # six significant digits a value in the file
            assert sums[(regional, int(year))] == pytest.approx(
                float(ds[national].values[k]), rel=1e-5), (regional, year)


def test_the_national_csv_holds_no_state_rows(ds, tmp_path):
    from projection.outputs.tables import write_csv

    write_csv(ds, tmp_path / "projection.csv")
    table = pd.read_csv(tmp_path / "projection.csv")
    assert not table["variable"].str.startswith("state_").any()
    assert "facility_energy" in set(table["variable"])


def test_iamc_rows_name_each_state_and_grid_region_and_sum_to_the_national_rows(geo, ds,
                                                                                 tmp_path):
    from projection.outputs.tables import write_iamc

    path = tmp_path / "projection_iamc.csv"
    write_iamc(ds, path)
    table = pd.read_csv(path)
    assert set(table["region"]) == {"United States", *(geo.IAMC_NAMES[s] for s in geo.STATES),
                                    *(geo.IAMC_NAMES[g] for g in geo.GRID_REGIONS)}
    national = table[table["region"] == "United States"].set_index("variable")
    states = table[table["region"].isin([geo.IAMC_NAMES[s] for s in geo.STATES])]
    for variable in ("Final Energy|Electricity|Data Centers", "Capacity|Data Centers",
                     "Emissions|CO2|Data Centers", "Emissions|CO2 (Market-based)|Data Centers",
                     "Water Consumption|Data Centers|Direct", "Water Consumption|Data Centers"):
        rows = states[states["variable"] == variable]
        assert len(rows) == len(geo.STATES), variable
        assert rows["unit"].iloc[0] == national.loc[variable, "unit"]
        np.testing.assert_allclose(rows["2030"].sum(), national.loc[variable, "2030"],
                                   rtol=1e-4, err_msg=variable)
    code = largest_grid_region(geo)
    region = table[table["region"] == geo.IAMC_NAMES[code]].set_index("variable")
    members = table[table["region"].isin([geo.IAMC_NAMES[s] for s in geo.MEMBERS[code]])]
    energy = "Final Energy|Electricity|Data Centers"
    np.testing.assert_allclose(region.loc[energy, "2028"],
                               members[members["variable"] == energy]["2028"].sum(), rtol=1e-4)
    water = region.loc["Water Consumption|Data Centers", "2030"]
    parts = sum(region.loc[f"Water Consumption|Data Centers|{p}", "2030"]
                for p in ("Direct", "Indirect"))
    assert water == pytest.approx(parts, rel=1e-4)


def test_pyam_reads_the_state_rows(geo, ds, tmp_path):
    pyam = pytest.importorskip("pyam")
    from projection.outputs.tables import write_iamc

    write_iamc(ds, tmp_path / "iamc.csv")
    frame = pyam.IamDataFrame(tmp_path / "iamc.csv")
    assert geo.IAMC_NAMES["VA"] in frame.region and "United States" in frame.region


def test_netcdf_has_the_region_dimension_with_grid_regions_and_passes_cf(geo, ds, tmp_path):
    from test_outputs import cf_check, cf_errors

    from projection.outputs.netcdf import write_netcdf

    path = tmp_path / "projection.nc"
    write_netcdf(ds, path)
    with xr.open_dataset(path) as nc:
        assert nc["state_electricity"].dims == ("year", "region")
        assert [str(s) for s in nc["region"].values] == list(geo.STATES)
        assert "grid_region" in nc.coords
        assert [str(g) for g in nc["grid_region"].values] == [geo.REGION_OF[s]
                                                              for s in geo.STATES]
        np.testing.assert_allclose(nc["state_electricity"].sum("region").values,
                                   nc["facility_energy"].values, rtol=1e-9)
        va = nc["state_electricity"].sel(region="VA")
        assert va.dims == ("year",)
    passed, data = cf_check(path, tmp_path)
    assert passed and not cf_errors(data), cf_errors(data)


# --- the map ------------------------------------------------------------------------------------

def draw_map(geo, shares: dict[str, float]) -> str:
    from projection.outputs.tile_map import tile_map

    return tile_map(shares, geo.TILES, names=geo.STATE_NAMES, title="Share, 2028",
                    legend=("Share of the state's", "electricity, 2028"),
                    desc="A map of states.")


def text_boxes(root) -> list[tuple[str, float, float, float, float]]:
    """Each text element's box, its width over-estimated at 0.62 of the font size a
    character (DejaVu Sans is narrower: the page tests measure the drawn text)."""
    from projection.outputs.tile_map import CHAR_WIDTH

    boxes = []
    for t in root.iter(f"{SVG}text"):
        size = float(t.get("font-size"))
        width = len(t.text) * size * CHAR_WIDTH
        x, y = float(t.get("x")), float(t.get("y"))
        left = x - width / 2 if t.get("text-anchor") == "middle" else x
        boxes.append((t.text, left, y - size * 0.8, left + width, y + size * 0.2))
    return boxes


def test_the_map_has_a_labelled_tile_per_state_a_title_a_legend_and_no_overlap(geo):
    from projection.outputs.tile_map import classes

    rng = np.random.default_rng(0)
    shares = {s: float(v) for s, v in zip(geo.STATES, rng.uniform(0, 40, len(geo.STATES)),
                                          strict=True)}
    root = ET.fromstring(draw_map(geo, shares))
    assert root.find(f"{SVG}title").text == "Share, 2028" and root.find(f"{SVG}desc").text
    tiles = [g for g in root.iter(f"{SVG}g") if g.get("class") == "tile"]
    assert sorted(g.get("data-region") for g in tiles) == sorted(geo.STATES)
    for g in tiles:
        code, value = [t.text for t in g.iter(f"{SVG}text")]
        assert code == g.get("data-region") and value.endswith(" %")
        rect = g.find(f"{SVG}rect")
        for t in g.iter(f"{SVG}text"):  # inside its square
            x = float(t.get("x"))
            assert float(rect.get("x")) < x < float(rect.get("x")) + float(rect.get("width"))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    for word in classes():
        assert word in texts
    boxes = text_boxes(root)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            overlap = min(a[3], b[3]) - max(a[1], b[1]), min(a[4], b[4]) - max(a[2], b[2])
            assert not (overlap[0] > 0 and overlap[1] > 0), (a, b)
    width = float(root.get("width"))
    assert all(0 <= box[1] and box[3] <= width for box in boxes)


def test_every_tile_colour_sets_its_text_at_a_contrast_of_4_5_to_1(geo):
    from projection.outputs.tile_map import COLOURS, SHARE_BREAKS, contrast

    values = [0.5, *(b + 0.5 for b in SHARE_BREAKS), float("nan")]
    shares = {s: values[i % len(values)] for i, s in enumerate(geo.STATES)}
    root = ET.fromstring(draw_map(geo, shares))
    fills = set()
    for g in root.iter(f"{SVG}g"):
        if g.get("class") != "tile":
            continue
        fill = g.find(f"{SVG}rect").get("fill")
        fills.add(fill)
        for t in g.iter(f"{SVG}text"):
            assert contrast(t.get("fill"), fill) >= 4.5, (fill, t.get("fill"))
    assert set(COLOURS) <= fills
    assert "not known" in [t.text for t in root.iter(f"{SVG}text")]


def test_the_contrast_ratio_is_wcag_s():
    from projection.outputs.tile_map import contrast

    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # WCAG's example


def test_the_map_classes_put_each_share_in_its_class():
    from projection.outputs.tile_map import class_of, classes

    assert classes()[0] == "under 2 %" and classes()[-1] == "30 % or more"
    assert [class_of(v) for v in (0.0, 1.99, 2.0, 7.0, 19.9, 25.0, 30.0, 80.0)] == [
        0, 0, 1, 2, 3, 4, 5, 5]
    assert class_of(float("nan")) is None
