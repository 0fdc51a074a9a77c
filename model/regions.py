"""The states and grid regions: where data-centre load sits, where it is built, what it draws.

The model's ``region`` axis is the 50 states and the District of Columbia, in the order of
``model/data/states.csv``. Each state belongs to one grid region (an ISO/RTO, or a region of
utilities outside them), where connections are decided (``model/data/grid_regions.csv``).
Every figure in both files is described, with its unit and source, in
``model/data/regions.toml``; ``docs/regions-data.md`` says how they were assembled.

What the equations take from the files enters the model as parameter arrays
(:func:`parameter_arrays`), never as constants of the compiled engines; only the membership
of states in grid regions is structure (the engines' cache key hashes the files).
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from .errors import InputError
from .parameters import SOURCES

DATA = Path(__file__).resolve().parent / "data"
STATES_FILE = DATA / "states.csv"
GRID_REGIONS_FILE = DATA / "grid_regions.csv"
GENERATION_FILE = DATA / "sources" / "eia_net_generation_2023.csv"
ISOLATED = frozenset({"NONCONUS"})
"""Grid regions that are a group of separate systems rather than one interconnected grid
(Alaska and Hawaii): their states draw the mix of their own generation."""
METADATA_FILE = DATA / "regions.toml"
SHARE_TOLERANCE = 0.5
"""How far (percentage points) the generation shares of a state may sum from 100 before the
file is refused (the published shares are rounded)."""


class RegionDataError(InputError):
    """A regional data file that cannot be used."""


@dataclass(frozen=True)
class RegionData:
    """The two files, read and checked."""

    states: tuple[str, ...]
    state_names: dict[str, str]
    grid_regions: tuple[str, ...]
    grid_region_names: dict[str, str]
    region_of: dict[str, str]
    iamc_names: dict[str, str]
    dc_share_2023: np.ndarray  # fraction of the state's electricity, (states,)
    retail_sales_2023: np.ndarray  # TWh, (states,)
    mix: np.ndarray  # in-state generation shares, (states, sources), rows sum to one
    supply_mix: np.ndarray  # the mix of the grid region each state draws from, (states, sources)
    generation_2023: np.ndarray  # in-state net generation, TWh, (states,)
    pipeline_share: np.ndarray  # fraction, (states,), sums to one
    connection_limit: np.ndarray  # GW/yr, (grid regions,)
    water_stress: dict[str, tuple[float | None, str | None]]
    epri_2030: dict[str, tuple[float | None, float | None]]  # percent, low and high
    tiles: dict[str, tuple[int, int]]
    sha256: str

    @property
    def region_index(self) -> tuple[int, ...]:
        """Index in ``grid_regions`` of each state's grid region."""
        return tuple(self.grid_regions.index(self.region_of[s]) for s in self.states)


def _number(path: Path, where: str, text: str, *, optional: bool = False) -> float | None:
    text = (text or "").strip()
    if not text:
        if optional:
            return None
        raise RegionDataError(path, where, "is empty; expected a number")
    try:
        value = float(text)
    except ValueError:
        raise RegionDataError(path, where, f"{text[:40]!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise RegionDataError(path, where, f"{text[:40]!r} must be a finite number >= 0")
    return value


def _rows(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise RegionDataError(path, missing[0], "column missing")
            return list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RegionDataError(path, "file", f"cannot be read ({exc})") from None


STATE_COLUMNS = ("code", "name", "grid_region", "dc_share_2023", "retail_sales_2023",
                 *SOURCES, "water_stress", "water_stress_label", "pipeline_share",
                 "epri_2030_low", "epri_2030_high", "tile_row", "tile_col")
GRID_COLUMNS = ("code", "name", "connection_limit")


def supply_mixes(mix: np.ndarray, generation: np.ndarray, region_index: tuple[int, ...],
                 isolated: tuple[bool, ...]) -> np.ndarray:
    """The generation mix each state draws: its grid region's, the generation-weighted mix of
    the region's states (the GHG Protocol's location-based basis is the grid where the power
    is consumed, not the state's own plants); a state of an isolated region keeps its own."""
    index = np.array(region_index)
    out = mix.copy()
    for g in set(region_index):
        members = index == g
        if isolated[int(np.flatnonzero(members)[0])] or not generation[members].sum() > 0:
            continue
        out[members] = (generation[members, None] * mix[members]).sum(axis=0) / (
            generation[members].sum())
    return out


def _generation(path: Path, states: tuple[str, ...]) -> np.ndarray:
    """In-state net generation 2023 (utility scale), TWh, from the EIA source file."""
    rows = {r["code"].strip(): r for r in _rows(path, ("code", "all_fuels_utility"))}
    missing = [s for s in states if s not in rows]
    if missing:
        raise RegionDataError(path, missing[0], "state missing")
    return np.array([_number(path, f"{s}.all_fuels_utility", rows[s]["all_fuels_utility"])
                     for s in states]) / 1e3


def read(states_file: Path = STATES_FILE, grid_file: Path = GRID_REGIONS_FILE,
         generation_file: Path = GENERATION_FILE) -> RegionData:
    """Read and check the files (a one-line :class:`RegionDataError` for what is wrong)."""
    grid_rows = _rows(grid_file, GRID_COLUMNS)
    grid_regions = tuple(r["code"].strip() for r in grid_rows)
    if len(set(grid_regions)) != len(grid_regions) or not grid_regions:
        raise RegionDataError(grid_file, "code", "codes must be unique and present")
    limits = np.array([_number(grid_file, f"{r['code']}.connection_limit",
                               r["connection_limit"]) for r in grid_rows])
    if not limits.sum() > 0:
        raise RegionDataError(grid_file, "connection_limit", "every limit is zero")
    rows = _rows(states_file, STATE_COLUMNS)
    states = tuple(r["code"].strip() for r in rows)
    if len(set(states)) != len(states) or not states:
        raise RegionDataError(states_file, "code", "codes must be unique and present")
    for r in rows:
        if r["grid_region"].strip() not in grid_regions:
            raise RegionDataError(states_file, f"{r['code']}.grid_region",
                                  f"{r['grid_region'][:20]!r} is not in {grid_file.name}")

    def column(name: str) -> np.ndarray:
        return np.array([_number(states_file, f"{r['code']}.{name}", r[name]) for r in rows])

    mix = np.stack([column(source) for source in SOURCES], axis=1)
    for code, total in zip(states, mix.sum(axis=1), strict=True):
        if abs(total - 100.0) > SHARE_TOLERANCE:
            raise RegionDataError(states_file, f"{code}.{'+'.join(SOURCES)}",
                                  f"generation shares sum to {total:.2f} %, expected 100 %")
    pipeline = column("pipeline_share")
    if not pipeline.sum() > 0:
        raise RegionDataError(states_file, "pipeline_share", "every share is zero")
    dc_share = column("dc_share_2023") / 100.0
    if np.any(dc_share >= 1.0):
        raise RegionDataError(states_file, "dc_share_2023", "a share is 100 % or more")
    iamc = {r["code"].strip(): (r.get("iamc_region") or "").strip() for r in grid_rows}
    iamc.update({r["code"].strip(): (r.get("iamc_region") or "").strip() for r in rows})
    names = {r["code"].strip(): r["name"].strip() for r in rows}
    grid_names = {r["code"].strip(): r["name"].strip() for r in grid_rows}
    for code, name in {**names, **grid_names}.items():
        if not iamc.get(code):
            iamc[code] = f"United States|{name}"
    region_of = {r["code"].strip(): r["grid_region"].strip() for r in rows}
    index = tuple(grid_regions.index(region_of[s]) for s in states)
    generation = _generation(generation_file, states)
    mix = mix / mix.sum(axis=1, keepdims=True)
    supply = supply_mixes(mix, generation, index,
                          tuple(region_of[s] in ISOLATED for s in states))
    digest = hashlib.sha256(states_file.read_bytes() + grid_file.read_bytes()
                            + generation_file.read_bytes()).hexdigest()
    return RegionData(
        states=states, state_names=names, grid_regions=grid_regions,
        grid_region_names=grid_names,
        region_of=region_of,
        iamc_names=iamc, dc_share_2023=dc_share, retail_sales_2023=column("retail_sales_2023"),
        mix=mix, supply_mix=supply, generation_2023=generation,
        pipeline_share=pipeline / pipeline.sum(),
        connection_limit=limits,
        water_stress={r["code"].strip(): (
            _number(states_file, f"{r['code']}.water_stress", r["water_stress"], optional=True),
            r["water_stress_label"].strip() or None) for r in rows},
        epri_2030={r["code"].strip(): (
            _number(states_file, f"{r['code']}.epri_2030_low", r["epri_2030_low"], optional=True),
            _number(states_file, f"{r['code']}.epri_2030_high", r["epri_2030_high"],
                    optional=True)) for r in rows},
        tiles={r["code"].strip(): (int(_number(states_file, f"{r['code']}.tile_row",
                                               r["tile_row"]) or 0),
                                   int(_number(states_file, f"{r['code']}.tile_col",
                                               r["tile_col"]) or 0)) for r in rows},
        sha256=digest,
    )


@cache
def data() -> RegionData:
    """The shipped files, read once."""
    return read()


def __getattr__(name: str):
    """``STATES``, ``GRID_REGIONS`` and the other tables, from the shipped files on first use."""
    d = data()
    tables = {
        "STATES": d.states, "STATE_NAMES": d.state_names, "GRID_REGIONS": d.grid_regions,
        "GRID_REGION_NAMES": d.grid_region_names, "REGION_OF": d.region_of,
        "MEMBERS": {g: tuple(s for s in d.states if d.region_of[s] == g)
                    for g in d.grid_regions},
        "IAMC_NAMES": d.iamc_names, "TILES": d.tiles, "WATER_STRESS": d.water_stress,
    }
    if name in tables:
        return tables[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


REGIONAL_KEYS: frozenset[str] = frozenset({"buildout.interconnection_limit"})
"""The scenario keys that a ``[regions.CODE]`` table may set for one state or grid region:
the levers whose meaning is regional (a state's or grid region's connections; zero is a
moratorium). The other parameters act on the national fleet."""

LIMIT_NAMES = {"state": "unit_interconnection_limit", "grid": "region_interconnection_limit"}


def level(code: str) -> str | None:
    """"state" or "grid" for a known code, else None."""
    d = data()
    if code in d.states:
        return "state"
    if code in d.grid_regions:
        return "grid"
    return None


@dataclass(frozen=True)
class Units:
    """The siting units of a run: one per grid region (its states that have no value of their
    own), then one per state that has its own value, in the order of ``STATES``.

    New construction inside a unit is shared by its states in proportion to their pipeline
    shares, and every state of a unit draws the same mix, so the engines integrate units
    (eleven for a run without state policy) and ``results`` recovers each state exactly:
    its stocks from the unit's by the linearity of construction and retirement
    (``dynamics`` integrates the unit responses), its flows by its share of the unit's
    capacity on 1 January of the year."""

    codes: tuple[str, ...]
    region_index: tuple[int, ...]  # unit -> grid region
    state_unit: tuple[int, ...]  # state -> unit


def units(split: frozenset[str] | set[str] = frozenset()) -> Units:
    """The siting units when the states in ``split`` have values of their own."""
    d = data()
    own = [s for s in d.states if s in split]
    codes = (*d.grid_regions, *own)
    region_index = (*range(len(d.grid_regions)),
                    *(d.grid_regions.index(d.region_of[s]) for s in own))
    state_unit = tuple(codes.index(s) if s in split else d.grid_regions.index(d.region_of[s])
                       for s in d.states)
    return Units(codes, region_index, state_unit)


def _by_unit(values: np.ndarray, u: Units) -> np.ndarray:
    out = np.zeros(len(u.codes))
    np.add.at(out, np.array(u.state_unit), values)
    return out


def parameter_arrays(given: Mapping[str, float], national_limit: float) -> dict[str, np.ndarray]:
    """The regional inputs of a one-sample run, SI base units: per siting unit ``unit_*``
    (units, 1), per grid region ``region_*`` (grid regions, 1), per state ``state_*``
    (states, 1; what ``results`` splits the units by).

    ``given`` maps a state or grid-region code to the interconnection limit its scenario table
    sets (W/s); where none is set, a grid region's limit is the national limit times its share
    of the regions' published limits, and a state's the limit of its grid region.
    """
    d = data()
    u = units({code for code in given if code in d.states})
    shares = d.connection_limit / d.connection_limit.sum()
    region_value = np.array([given.get(g, national_limit * s)
                             for g, s in zip(d.grid_regions, shares, strict=True)])
    unit_value = np.array([given.get(code, region_value[g])
                           for code, g in zip(u.codes, u.region_index, strict=True)])
    other = d.retail_sales_2023 * (1.0 - d.dc_share_2023)
    load = d.retail_sales_2023 * d.dc_share_2023
    start = load / load.sum()
    # a unit draws its grid region's mix; an isolated region's unit, its states' mixes
    # weighted by their start-year load (their plain mean where they have none)
    weight = _by_unit(start, u)[list(u.state_unit)]
    count = _by_unit(np.ones(len(d.states)), u)[list(u.state_unit)]
    per_state = np.where(weight[:, None] > 0, start[:, None] / np.where(weight > 0, weight, 1.0)
                         [:, None], 1.0 / count[:, None]) * d.supply_mix
    unit_mix = np.stack([_by_unit(per_state[:, k], u) for k in range(len(SOURCES))], axis=1)
    column = {
        "unit_start_share": _by_unit(start, u),
        "unit_siting_share": _by_unit(d.pipeline_share, u),
        "unit_limit_given": np.array([1.0 if c in given and c in d.states else 0.0
                                      for c in u.codes]),
        "unit_interconnection_limit": unit_value,
        "region_limit_share": shares,
        "region_limit_given": np.array([1.0 if g in given else 0.0 for g in d.grid_regions]),
        "region_interconnection_limit": region_value,
        "state_start_share": start,
        "state_siting_share": d.pipeline_share,
        "state_other_load_share": other / other.sum(),
        "state_unit": np.array(u.state_unit, dtype=float),
    }
    arrays = {k: v[:, None].astype(float) for k, v in column.items()}
    split = len(u.codes) - len(d.grid_regions)
    if split:
        membership = np.zeros((split, len(d.grid_regions), 1))
        membership[np.arange(split), list(u.region_index[len(d.grid_regions):]), 0] = 1.0
        arrays["unit_region"] = membership
    for k, source in enumerate(SOURCES):
        arrays[f"unit_{source}_share"] = unit_mix[:, k][:, None].copy()
    return arrays
