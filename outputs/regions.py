"""States and grid regions in the tables a reader sees: choosing one (``--region``), its
figures summed from the states it holds, and its table.

The model lays every regional output out by state (the ``region`` dimension, the 50 states
and DC, in the order of ``projection.model.regions.STATES``); a grid region is the sum of its
member states (``MEMBERS``). Additive outputs (electricity, capacity, centres, peak demand,
emissions, water) are summed; the share of the region's electricity is recomputed from the
sums (data-centre electricity over all electricity consumed in the member states), never
averaged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from projection.model.errors import ProjectionError, shown
from projection.model.labelled import Labelled, Variable, labelled

if TYPE_CHECKING:
    import xarray as xr

REGION = "region"
"""The dimension of the states."""
SHARE = "state_electricity_share"
ELECTRICITY = "state_electricity"


@dataclass(frozen=True)
class Regional:
    """A regional output as the tables and files show it: its national counterpart (whose
    IAMC variable it takes) and whether states add up to it."""

    name: str
    label: str
    unit: str  # as the table words it
    national: str | None
    additive: bool = True


REGIONAL: tuple[Regional, ...] = (
    Regional(ELECTRICITY, "Data-centre electricity", "TWh", "facility_energy"),
    Regional(SHARE, "  share of electricity used there", "%", "share_of_us_electricity",
             additive=False),
    Regional("state_capacity", "Operating capacity (1 Jan)", "GW", "operating_capacity"),
    Regional("state_data_centres", "Data centres (1 Jan, US average size)", "number",
             "data_centres"),
    Regional("state_peak_demand", "Peak at the planning load factor", "GW", None),
    Regional("state_emissions", "Carbon, location-based", "Mt CO2", "emissions"),
    Regional("state_emissions_market_based", "Carbon, market-based", "Mt CO2",
             "emissions_market_based"),
    Regional("state_onsite_water", "Water consumed on site", "billion L", "onsite_water"),
    Regional("state_indirect_water", "  at power plants", "billion L", "indirect_water"),
)
"""The regional outputs (``model/results.py``, dim ``region``) in the order of a region's
table. ``national`` names the national output the states sum to (the share: the national
share), so a regional row reuses its IAMC variable."""
REGIONAL_BY_NAME = {r.name: r for r in REGIONAL}


class RegionError(ProjectionError):
    """A ``--region`` code that is neither a state nor a grid region; ``str()`` is one line."""


def geography() -> Any:
    """``projection.model.regions``: states, grid regions, names, tiles and water stress."""
    try:
        from projection.model import regions
    except ImportError:  # a model without states
        raise RegionError("--region: this version of the model has no states or grid "
                          "regions") from None
    return regions


def has_regions(ds: Labelled | xr.Dataset) -> bool:
    """Whether ``ds`` holds the model's regional outputs (a ``region`` dimension)."""
    return REGION in ds.dims and ELECTRICITY in ds


@dataclass(frozen=True)
class Selection:
    """A state, or a grid region and its member states."""

    code: str
    name: str
    kind: str  # "state" or "grid region"
    states: tuple[str, ...]
    grid_region: str  # the state's grid region, or the region itself

    @property
    def title(self) -> str:
        if self.kind == "state":
            return f"{self.name} ({self.code}), grid region {self.grid_region}"
        count = "one state" if len(self.states) == 1 else f"{len(self.states)} states"
        return f"{self.name} ({self.code}), grid region of {count}: {', '.join(self.states)}"

    @property
    def where(self) -> str:
        """How the share row names the place: the state's or the region's electricity."""
        return "state" if self.kind == "state" else "region"


def close_matches(text: str, limit: int = 4) -> list[str]:
    """Codes of states and grid regions close to ``text`` (by code or by name)."""
    import difflib

    geo = geography()
    names = {**{c: c for c in (*geo.STATES, *geo.GRID_REGIONS)},
             **{n.upper(): c for c, n in geo.STATE_NAMES.items()},
             **{n.upper(): c for c, n in geo.GRID_REGION_NAMES.items()}}
    found = difflib.get_close_matches(text.upper(), list(names), n=limit * 3, cutoff=0.5)
    codes = list(dict.fromkeys(names[f] for f in found))
    if len(codes) < limit and len(text) <= 2:  # a mistyped code: states sharing a letter
        codes += [c for c in geo.STATES if c not in codes and c[:1] == text.upper()[:1]]
    return codes[:limit]


def select_region(text: str, option: str = "--region") -> Selection:
    """The state or grid region named by ``text``: a USPS code (``VA``, ``dc``), a grid-region
    code (``PJM``), or a full name (``Virginia``), case-insensitive; else :class:`RegionError`
    naming the option and a few close matches."""
    geo = geography()
    wanted = " ".join(str(text).split()).upper()
    by_name = {n.upper(): c for c, n in geo.STATE_NAMES.items()}
    region_by_name = {n.upper(): c for c, n in geo.GRID_REGION_NAMES.items()}
    code = wanted if wanted in geo.STATES else by_name.get(wanted)
    if code is not None:
        return Selection(code, geo.STATE_NAMES[code], "state", (code,), geo.REGION_OF[code])
    code = next((c for c in geo.GRID_REGIONS if c.upper() == wanted),
                region_by_name.get(wanted))
    if code is not None:
        states = tuple(s for s in geo.STATES if s in geo.MEMBERS[code])
        return Selection(code, geo.GRID_REGION_NAMES.get(code, code), "grid region", states,
                         code)
    near = close_matches(wanted) if 0 < len(wanted) <= 40 else []
    hint = f" (did you mean {', '.join(near)}?)" if near else ""
    examples = ", ".join(geo.GRID_REGIONS[:3])
    given = str(text) if len(str(text)) <= 40 else str(text)[:39] + "\u2026"
    raise RegionError(f"{option}: {shown(given)!r} is not a state or grid region{hint}; "
                      f"expected a state's USPS code such as VA or DC, or a grid region such "
                      f"as {examples}")


# --- a region's figures ------------------------------------------------------------------------

def _indices(ds: Labelled, states: Sequence[str]) -> list[int]:
    codes = [str(c) for c in ds[REGION].values]
    return [codes.index(s) for s in states]


def summed(ds: Labelled | xr.Dataset, name: str, states: Sequence[str]) -> Variable:
    """Output ``name`` summed over ``states``, the ``region`` dimension dropped."""
    ds = labelled(ds)
    var = ds[name]
    axis = var.dims.index(REGION)
    values = np.take(var.values, _indices(ds, states), axis=axis).sum(axis=axis)
    return Variable(var.dims[:axis] + var.dims[axis + 1:], values, dict(var.attrs))


def consumption(ds: Labelled | xr.Dataset) -> Variable:
    """The electricity consumed in each state (TWh, data centres included), laid out as the
    share: its data-centre electricity plus its part of US electricity outside data centres,
    as the model shares that out (``regions.parameter_arrays``: by the states' retail sales
    outside data centres). Without ``us_other_electricity`` in ``ds``, each state's
    consumption is its data-centre electricity over its share (unknown where both are 0)."""
    ds = labelled(ds)
    own = ds[SHARE]
    electricity = ds[ELECTRICITY]
    dc = np.transpose(electricity.values, [electricity.dims.index(d) for d in own.dims])
    axis = own.dims.index(REGION)
    if "us_other_electricity" in ds:
        other = ds["us_other_electricity"]
        rest = [d for d in own.dims if d != REGION]
        national = np.expand_dims(np.transpose(other.values, [other.dims.index(d) for d in rest]),
                                  axis)
        part = geography().parameter_arrays({}, 0.0)["state_other_load_share"][:, 0]
        order = [str(c) for c in ds[REGION].values]
        states = list(geography().STATES)
        part = part[[states.index(c) for c in order]]
        shape = [1] * own.values.ndim
        shape[axis] = len(part)
        values = dc + national * part.reshape(shape)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(own.values > 0, dc / (own.values / 100.0), np.nan)
    return Variable(own.dims, values, {"units": electricity.attrs.get("units", "TWh")})


def share(ds: Labelled | xr.Dataset, states: Sequence[str]) -> Variable:
    """The data-centre share of the electricity consumed in ``states``, in percent: one
    state's own, or the sum of their data-centre electricity over the sum of their
    consumption (:func:`consumption`), never an average of their shares."""
    ds = labelled(ds)
    own = ds[SHARE]
    axis = own.dims.index(REGION)
    index = _indices(ds, states)
    if len(states) == 1:
        return Variable(own.dims[:axis] + own.dims[axis + 1:],
                        np.take(own.values, index[0], axis=axis), dict(own.attrs))
    electricity = ds[ELECTRICITY]
    dc = np.transpose(electricity.values, [electricity.dims.index(d) for d in own.dims])
    dc_sum = np.take(dc, index, axis=axis).sum(axis=axis)
    total_sum = np.take(consumption(ds).values, index, axis=axis).sum(axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = 100.0 * dc_sum / total_sum
    return Variable(own.dims[:axis] + own.dims[axis + 1:], values, dict(own.attrs))


def region_view(ds: Labelled | xr.Dataset, selection: Selection) -> Labelled:
    """The selection's figures as labelled arrays without the ``region`` dimension, under the
    regional outputs' names: what the national tables read, for one state or grid region."""
    ds = labelled(ds)
    data = {}
    for r in REGIONAL:
        if r.name not in ds:
            continue
        data[r.name] = (share(ds, selection.states) if r.name == SHARE
                        else summed(ds, r.name, selection.states))
    coords = {k: v for k, v in ds.coords.items() if REGION not in v.dims}
    return Labelled(coords, data, ds.attrs)


def water_stress(selection: Selection) -> str | None:
    """A line on the water stress of the selection's states (WRI Aqueduct), or None where no
    source gives it."""
    geo = geography()
    given = [(s, *geo.WATER_STRESS.get(s, (None, None))) for s in selection.states]
    known = [(s, score, label) for s, score, label in given if label]
    if not known:  # say so: silence would read as "not stressed"
        return ("Water stress (WRI Aqueduct): not available for "
                + ("this state" if selection.kind == "state" else "these states")
                + " (no state figure found; docs/regions-data.md)")
    if selection.kind == "state":
        _, score, label = known[0]
        number = f" ({score:.1f} on its scale of 0 to 5)" if score is not None else ""
        return f"Water stress (WRI Aqueduct): {label}{number}"
    return "Water stress (WRI Aqueduct): " + ", ".join(f"{s} {label}" for s, _, label in known)


def stress_records(selection: Selection) -> dict[str, dict[str, Any]]:
    """The WRI Aqueduct score and label of each of the selection's states that has one."""
    geo = geography()
    found = {}
    for s in selection.states:
        score, label = geo.WATER_STRESS.get(s, (None, None))
        if label:
            found[s] = {"score": score, "label": label}
    return found


# --- a region's table ----------------------------------------------------------------------------

def region_headlines(selection: Selection) -> tuple[Any, ...]:
    """The rows of a state's or grid region's table, as the national table's
    (``terminal.Headline``), reading :func:`region_view`'s variables."""
    from projection.outputs.terminal import Headline, _var

    rows = []
    for r in REGIONAL:
        label = (f"  share of the {selection.where}'s electricity" if r.name == SHARE
                 else r.label)
        rows.append(Headline(label, r.unit, _var(r.name), relative=r.name != SHARE))
    return tuple(rows)


def available_headlines(view: Labelled, selection: Selection) -> tuple[Any, ...]:
    return tuple(h for h, r in zip(region_headlines(selection), REGIONAL, strict=True)
                 if r.name in view)


def region_table(ds: Labelled | xr.Dataset, selection: Selection,
                 years: Sequence[int] | None = None) -> str:
    """One scenario, one state or grid region: a row per figure, a column per year, and the
    water stress of its states under it."""
    from projection.outputs.terminal import headline_table

    view = region_view(ds, selection)
    table = headline_table(view, years, available_headlines(view, selection))
    stress = water_stress(selection)
    return table + (f"\n{stress}" if stress else "")


def region_comparison(ds: Labelled | xr.Dataset, selection: Selection, year: int) -> str:
    """Several scenarios (a ``scenario`` dimension), one state or grid region, one year."""
    from projection.outputs.terminal import comparison_table

    view = region_view(ds, selection)
    return comparison_table(view, year, available_headlines(view, selection))


def region_values(ds: Labelled | xr.Dataset, selection: Selection, years: Sequence[int],
                  scenario: str | None = None) -> dict[str, Any]:
    """The selection and its figures as records, for ``--json``."""
    from projection.outputs.terminal import headline_values

    view = region_view(ds, selection)
    return {"code": selection.code, "name": selection.name, "kind": selection.kind,
            "grid_region": selection.grid_region, "states": list(selection.states),
            "water_stress": stress_records(selection),
            "headlines": headline_values(view, years, scenario,
                                         available_headlines(view, selection))}
