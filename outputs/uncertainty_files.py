"""Files and charts of the uncertainty, sensitivity and sweep commands.

Tables are plain long-form CSV files that ``pandas.read_csv(path)`` reads without options
(the IAMC table as pyam reads it); the provenance of each is in a ``.meta.json`` sidecar
beside it, as for ``projection run``. Charts are drawn with matplotlib.
"""

from __future__ import annotations

import csv
import json
import os
import pickle
import signal
from collections.abc import Callable
from pathlib import Path

import numpy as np

from projection.model.results import OUTPUT_BY_NAME
from projection.outputs.tables import number_text as _fmt

IAMC_REGION = "United States"


def write_netcdf(ds, path: Path) -> None:
    """The percentiles, indices or grid as a NetCDF classic file (small tables: written
    directly, without importing HDF5 or Dask through xarray's writer)."""
    from projection.outputs.netcdf import write_labelled

    write_labelled(ds, path)


def write_long_csv(ds, path: Path, extra_dims: tuple[str, ...]) -> None:
    """One row per variable and combination of ``extra_dims`` (and workload or state), one
    column a year."""
    years = [int(y) for y in ds["year"].values]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["variable", *extra_dims, "workload", "region", "unit", *years])
        for name, var in ds.data_vars.items():
            if "year" not in var.dims:
                continue
            stacked = var.transpose(*[d for d in var.dims if d != "year"], "year")
            index_dims = [d for d in stacked.dims if d != "year"]
            for index in np.ndindex(*[stacked.sizes[d] for d in index_dims]):
                labels = {d: stacked[d].values[i] for d, i in zip(index_dims, index, strict=True)}
                row = [name, *(_label(labels.get(d, "")) for d in extra_dims),
                       _label(labels.get("workload", "")), _label(labels.get("region", "")),
                       var.attrs.get("units", "")]
                writer.writerow(row + [_fmt(float(v)) for v in stacked.values[index]])


def _label(value) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):g}"
    return str(value)


def iamc_percentile_rows(ds) -> list[list[str]]:
    """IAMC rows: the scenario's run as the plain variable, and ``<variable>|5.0th
    Percentile`` rows for each percentile."""
    model = f"projection {ds.attrs.get('model_version', '')}".strip()
    scenario = str(ds.attrs.get("scenario", "scenario"))
    rows = []
    for name in ds.attrs.get("outputs", "").split(","):
        out = OUTPUT_BY_NAME.get(name)
        if out is None or out.iamc is None or {"workload", "region"} & set(ds[name].dims):
            continue  # by workload or by state: no national row
        unit = out.iamc_unit or out.unit
        rows.append([model, scenario, IAMC_REGION, out.iamc, unit,
                     *(_fmt(float(v)) for v in ds[f"{name}_run"].values)])
        for q in ds["percentile"].values:
            rows.append([model, scenario, IAMC_REGION, f"{out.iamc}|{q:.1f}th Percentile", unit,
                         *(_fmt(float(v)) for v in ds[name].sel(percentile=q).values)])
    return rows


def write_iamc(ds, path: Path) -> None:
    years = [int(y) for y in ds["year"].values]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["model", "scenario", "region", "variable", "unit", *years])
        writer.writerows(iamc_percentile_rows(ds))


def write_meta(record: dict, path: Path) -> None:
    """A sidecar: ``record`` (the provenance of the file it describes) as JSON."""
    path.write_text(json.dumps(record, indent=1, default=str) + "\n", encoding="utf-8")


# --- charts -----------------------------------------------------------------------------------

def charts_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


MARGINS = {"left": 0.1, "right": 0.97, "bottom": 0.12, "top": 0.92}
WIDE_LEFT = 0.43
"""Room for parameter labels on the left of bar and tornado charts (fraction of the width)."""


PNG_DPI = 110
PNG_COMPRESSION = 1
"""zlib level of the PNG files: 1 writes them several times faster than the default 6, for
files about a third larger (charts of flat colour compress well either way)."""

_figure = None
"""The one figure a process draws its charts on, cleared between charts."""


class Chart:
    """A chart to draw: ``chart(path)`` writes it as PNG, :meth:`png` returns the bytes.

    With ``reuse``, the chart draws on the axes the previous chart of the same kind left (its
    lines, bands, legend and labels removed): the ticks and fonts of the axes are made once
    per process rather than once per chart."""

    def __init__(self, draw: Callable[[object], None], left: float = MARGINS["left"],
                 reuse: bool = False) -> None:
        self.draw = draw
        self.left = left
        self.reuse = reuse

    def png(self) -> bytes:
        """Draw on this process's figure (no pyplot state: safe to call from anywhere)."""
        import io

        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        global _figure, _reusable
        if _figure is None:
            _figure = Figure(figsize=(7, 4.2))
            FigureCanvasAgg(_figure)
        fig = _figure
        if self.reuse and _reusable == self.left and len(fig.axes) == 1:
            _emptied(fig.axes[0])
        else:
            fig.clear()
            fig.subplots_adjust(**{**MARGINS, "left": self.left})
        _reusable = None
        try:
            self.draw(fig)
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=PNG_DPI,
                        pil_kwargs={"compress_level": PNG_COMPRESSION})
            if self.reuse:
                _reusable = self.left
        finally:
            if _reusable is None:
                fig.clear()
        return buffer.getvalue()

    def __call__(self, path: Path) -> None:
        Path(path).write_bytes(self.png())


_reusable: float | None = None
"""The left margin of the axes the last reusable chart left on the figure, or None."""


def _emptied(ax) -> None:
    """``ax`` without its data, legend, title and y label, its limits to be found again."""
    for artist in [*ax.lines, *ax.collections]:
        artist.remove()
    if ax.legend_ is not None:
        ax.legend_.remove()
    ax.set_title("")
    ax.set_ylabel("")
    ax.relim()
    ax.set_autoscale_on(True)


def _axes(fig):
    """The figure's one axes when a reusable chart left it, else new axes."""
    return fig.axes[0] if fig.axes else fig.add_subplot()


def _saver(draw: Callable[[object], None], left: float = MARGINS["left"]) -> Chart:
    return Chart(draw, left)


def _can_fork() -> bool:
    """A second process may draw half the charts: more than one core, fork available, and
    this process single-threaded and not itself a pool's worker (forking a threaded process
    can deadlock)."""
    import multiprocessing
    import threading

    return (hasattr(os, "fork") and (os.cpu_count() or 1) > 1
            and threading.active_count() == 1
            and not multiprocessing.current_process().daemon
            and "fork" in multiprocessing.get_all_start_methods())


def _draw_in_child(charts: list[tuple[str, Chart]]) -> tuple[int, int]:
    """Fork a process that draws ``charts`` and sends back their PNG bytes through a pipe;
    returns its pid and the pipe's reading end."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: draw, send, leave without running the parent's clean-up
        code = 1
        try:
            os.close(read)
            drawn = {name: chart.png() for name, chart in charts}
            with os.fdopen(write, "wb") as fh:
                pickle.dump(drawn, fh)
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    return pid, read


def render(writers: dict[str, Callable[[Path], None]]) -> dict[str, Callable[[Path], None]]:
    """``writers`` with every :class:`Chart` among them drawn now, two processes at a time
    where that is safe (:func:`_can_fork`); the result writes the bytes as they were drawn."""
    charts = [(name, w) for name, w in writers.items() if isinstance(w, Chart)]
    theirs = charts[1::2] if len(charts) > 1 and _can_fork() else []
    ours = [c for c in charts if c not in theirs]
    drawn: dict[str, bytes] = {}
    pid = read = None
    try:
        if theirs:
            pid, read = _draw_in_child(theirs)
        drawn.update((name, chart.png()) for name, chart in ours)
        if pid is not None and read is not None:
            with os.fdopen(read, "rb") as fh:
                read = None
                data = fh.read()
            _, status = os.waitpid(pid, 0)
            pid = None
            if os.waitstatus_to_exitcode(status) == 0:
                drawn.update(pickle.loads(data))
            else:  # the child failed: draw its charts here (an error shows where it is)
                drawn.update((name, chart.png()) for name, chart in theirs)
    finally:
        if read is not None:
            os.close(read)
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)

    def writer(data: bytes) -> Callable[[Path], None]:
        return lambda path: Path(path).write_bytes(data)

    return {name: writer(drawn[name]) if name in drawn else w for name, w in writers.items()}


def fan_chart(ds, name: str) -> Callable[[Path], None]:
    """Percentile bands of one output over the years, with the scenario's run drawn on them."""

    from projection.outputs.terminal import output_label

    label, unit, factor = output_label(name, ds[name].attrs.get("units", ""))

    def draw(fig) -> None:
        ax = _axes(fig)
        years = ds["year"].values
        var = ds[name] * factor  # in the unit the terminal's table shows
        q = list(var["percentile"].values)
        pairs = [(q[i], q[-1 - i]) for i in range(len(q) // 2)]
        for i, (lo, hi) in enumerate(pairs):
            ax.fill_between(years, var.sel(percentile=lo), var.sel(percentile=hi),
                            color="tab:blue", alpha=0.2 + 0.2 * i, linewidth=0,
                            label=f"{lo:g}th-{hi:g}th percentile")
        if 50.0 in q:
            ax.plot(years, var.sel(percentile=50.0), color="tab:blue", label="median")
        ax.plot(years, ds[f"{name}_run"] * factor, color="black", linestyle="--",
                label=f"scenario run ({ds.attrs.get('scenario', '')})")
        ax.set_title(label, fontsize=10)
        ax.set_ylabel(unit)
        ax.legend(fontsize=8, loc="upper left")

    return Chart(draw, reuse=True)


INDEX_NAMES = {"ST": "total Sobol' index", "S1": "first-order Sobol' index",
               "S2": "second-order Sobol' index", "mu_star": "Morris mu*",
               "sigma": "Morris sigma"}


def _output_title(output: str, year: int, unit: str = "") -> str:
    """An output as a reader names it: its long name, the year and the unit."""
    spec = OUTPUT_BY_NAME.get(output)
    name = spec.long_name if spec is not None else output
    unit = unit or (spec.unit if spec is not None else "")
    shown = "" if unit in ("", "dimensionless", "1") else f", {unit}"
    return f"{name} in {year}{shown}"


def _own_value(ds, key: str) -> float | None:
    """The scenario's own value of a swept key, in the unit of the sweep's coordinate (a
    growth rate in %/yr), from the resolved parameters the Dataset carries; None if unknown."""
    from projection.model.scenario import parameter_for_key
    from projection.model.units import parse_quantity

    try:
        text = json.loads(ds.attrs["resolved_parameters"])[key]["value"]
        p = parameter_for_key(key)
        q = parse_quantity(text)
        if p.kind == "growth":
            return float(q.to("1/yr").magnitude) * 100.0
        return float(q.to(p.unit).magnitude)
    except Exception:  # noqa: BLE001 - a chart without the mark rather than no chart
        return None


def _three(x: float) -> str:
    from projection.validation.references import fmt

    return fmt(float(x), 3)


def _labels(keys) -> list[str]:
    from projection.model.labels import capitalised

    return [capitalised(str(k)) for k in keys]


def bar_chart(ds, output: str, year: int, key: str) -> Callable[[Path], None]:
    """Indices of every parameter for one output and year, largest first."""

    def draw(fig) -> None:
        ax = fig.add_subplot()
        values = ds[key].sel(output=output, year=year)
        order = np.argsort(np.abs(values.values))
        names = _labels(ds["parameter"].values[order])
        ax.barh(names, values.values[order], color="tab:blue",
                label=INDEX_NAMES.get(key, key),
                xerr=(ds[f"{key}_conf"].sel(output=output, year=year).values[order]
                      if f"{key}_conf" in ds else None))
        if "S1" in ds and key == "ST":
            ax.barh(names, ds["S1"].sel(output=output, year=year).values[order],
                    color="tab:orange", height=0.4, label=INDEX_NAMES["S1"])
        ax.legend(fontsize=8, loc="lower right")
        ax.set_title(f"{INDEX_NAMES.get(key, key)}: {_output_title(output, year)}",
                     fontsize=10)
        ax.tick_params(axis="y", labelsize=7)

    return _saver(draw, WIDE_LEFT)


def tornado_chart(ds, output: str, year: int) -> Callable[[Path], None]:
    """Output with each parameter at the low and high ends of its range, around the run,
    the scenario's own value marked and written."""

    def draw(fig) -> None:
        ax = fig.add_subplot()
        run = float(ds["run"].sel(output=output, year=year))
        low = ds["low"].sel(output=output, year=year).values - run
        high = ds["high"].sel(output=output, year=year).values - run
        order = np.argsort(np.abs(high - low))
        names = _labels(ds["parameter"].values[order])
        ax.barh(names, low[order], left=run, color="tab:blue", label="input at the low end")
        ax.barh(names, high[order], left=run, color="tab:red", label="input at the high end")
        unit = str(ds["output_units"].sel(output=output).values)
        ax.axvline(run, color="black", linewidth=1.2,
                   label=f"the scenario's own run: {_three(run)} {unit}")
        ax.set_title(_output_title(output, year, unit), fontsize=9)
        ax.set_xlabel(unit)
        ax.tick_params(axis="y", labelsize=7)
        ax.legend(fontsize=8, loc="lower right")

    return _saver(draw, WIDE_LEFT)


def sweep_chart(ds, output: str, year: int) -> Callable[[Path], None]:
    """A line over one swept parameter, or a heat map over two; the scenario's own value of
    each swept parameter marked."""

    def draw(fig) -> None:
        ax = fig.add_subplot()
        var = ds[output].sel(year=year)
        keys = [d for d in var.dims if d not in ("workload", "region")]
        unit = var.attrs.get("units", "")
        names = [f"{label} ({ds[k].attrs.get('units', '')})"
                 for label, k in zip(_labels(keys), keys, strict=True)]
        own = [_own_value(ds, k) for k in keys]
        if len(keys) == 1:
            ax.plot(ds[keys[0]].values, var.values, marker="o")
            ax.set_xlabel(names[0])
            if own[0] is not None:
                ax.axvline(own[0], color="black", linestyle="--", linewidth=1.0)
                ax.annotate(f"the scenario's value: {_three(own[0])} "
                            f"{ds[keys[0]].attrs.get('units', '')}", (own[0], 1.0),
                            xycoords=("data", "axes fraction"), xytext=(3, -3),
                            textcoords="offset points", ha="left", va="top", fontsize=8)
        else:
            mesh = ax.pcolormesh(ds[keys[1]].values, ds[keys[0]].values, var.values,
                                 shading="nearest")
            fig.colorbar(mesh, ax=ax, label=unit)
            fig.subplots_adjust(right=0.9)
            ax.set_xlabel(names[1])
            ax.set_ylabel(names[0])
            if own[0] is not None and own[1] is not None:
                ax.plot([own[1]], [own[0]], marker="X", markersize=10, color="white",
                        markeredgecolor="black", linestyle="none",
                        label="the scenario's own values")
                ax.legend(fontsize=8, loc="upper left")
        ax.set_title(_output_title(output, year, unit), fontsize=10)

    return _saver(draw)
