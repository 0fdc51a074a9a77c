"""Hostile use of the ensemble commands' machinery and of the Python API, in-process: numbers
out of range or of another type, requests too large for the machine, ``--resume`` on blocks
that are not what they claim, hostile text in the briefing's Markdown, errors that name a
temporary file, a workload with no requests. Each class is tried on several inputs; the
command line end to end is in test_hostile_commands.py.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import projection
from projection.model.errors import ProjectionError
from projection.model.scenario import load_scenario
from projection.model.uncertainty import EnsembleError, design, run_ensemble

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
NUMPY = {"backend": "numpy"}


def one_line(exc: BaseException, *named: str) -> str:
    text = str(exc)
    assert "\n" not in text and text, text
    for name in named:
        assert name in text, (name, text)
    return text


@pytest.fixture(scope="module")
def baseline():
    return load_scenario(BASELINE)


# --- numbers: every whole-number argument takes numpy integers and integral floats ---------------

WHOLE = [7, np.int8(7), np.int16(7), np.int32(7), np.int64(7), np.uint8(7), np.uint64(7), 7.0,
         np.float32(7.0), np.float64(7.0)]
NOT_WHOLE = [7.5, np.float64(7.5), float("nan"), float("inf"), "7", True, np.bool_(True), None,
             [7], 1 + 0j]


@pytest.mark.parametrize("value", WHOLE, ids=repr)
def test_whole_numbers_of_every_numeric_type_are_accepted(value):
    from projection.model.errors import whole_number

    assert whole_number(value) == 7 and type(whole_number(value)) is int


@pytest.mark.parametrize("value", NOT_WHOLE, ids=repr)
def test_values_that_are_not_whole_numbers_are_refused(value):
    from projection.model.errors import whole_number

    assert whole_number(value) is None


@pytest.mark.parametrize("end_year", [np.int64(2030), np.int32(2030), 2030.0, np.float64(2030)],
                         ids=repr)
def test_the_api_takes_a_numpy_or_integral_end_year(end_year):
    ds = projection.run("baseline", end_year=end_year)
    assert int(ds["year"][-1]) == 2030


@pytest.mark.parametrize("samples,seed", [(np.int64(12), np.int32(3)), (12.0, 3.0),
                                          (np.uint16(12), np.uint64(3))], ids=repr)
def test_ensemble_sizes_and_seeds_may_be_numpy_integers(baseline, samples, seed):
    d = design(baseline, samples, seed, "lhs")
    assert (d.samples, d.seed) == (12, 3) and type(d.samples) is int


@pytest.mark.parametrize("option,call", [
    ("--samples", lambda s: design(s, 0)),
    ("--samples", lambda s: design(s, -3)),
    ("--samples", lambda s: design(s, 2.5)),
    ("--samples", lambda s: design(s, 10**30)),
    ("--samples", lambda s: design(s, "100")),
    ("--seed", lambda s: design(s, 10, -1)),
    ("--seed", lambda s: design(s, 10, 2**32)),
    ("--seed", lambda s: design(s, 10, 2**64)),
    ("--seed", lambda s: design(s, 10, 10**40)),
    ("--seed", lambda s: design(s, 10, 1.5)),
], ids=lambda x: x if isinstance(x, str) else "")
def test_sizes_and_seeds_out_of_range_are_one_line_naming_the_option(baseline, option, call):
    with pytest.raises(EnsembleError) as caught:
        call(baseline)
    one_line(caught.value, option, "expected a whole number")


# --- the Python API: every error a ProjectionError ------------------------------------------------

API_MISUSE = {
    "end year 10**30": lambda: projection.run("baseline", end_year=10**30),
    "end year infinite": lambda: projection.run("baseline", end_year=float("inf")),
    "substeps 2**70": lambda: projection.run("baseline", substeps=2**70),
    "params a list": lambda: projection.run("baseline", params=["demand.adoption_growth"]),
    "params a string": lambda: projection.run("baseline", params="demand.adoption_growth=1"),
    "params a number key": lambda: projection.run("baseline", params={3: "1"}),
    "params of load_scenario a tuple": lambda: projection.load_scenario("baseline",
                                                                        params=(("a", 1),)),
    "compare nothing": lambda: projection.compare([]),
    "compare a string": lambda: projection.compare("baseline"),
    "compare a number": lambda: projection.compare(5),
    "uncertainty backend unknown": lambda: projection.uncertainty("baseline", samples=10,
                                                                  backend="gpu"),
    "uncertainty backend not text": lambda: projection.uncertainty("baseline", samples=10,
                                                                   backend=3),
    "sensitivity backend unknown": lambda: projection.sensitivity("baseline", "oat",
                                                                  backend="cuda"),
    "sweep backend unknown": lambda: projection.sweep(
        "baseline", ["demand.adoption_growth=40%/yr:120%/yr:3"], backend="tpu"),
    "simulate backend unknown": lambda: projection.simulate({}, 2024, 2030, 3, backend="gpu"),
    "percentile 150": lambda: projection.uncertainty("baseline", samples=10, percentiles=[5, 150],
                                                     **NUMPY),
    "percentile -1": lambda: projection.uncertainty("baseline", samples=10, percentiles=[-1],
                                                    **NUMPY),
    "percentile NaN": lambda: projection.uncertainty("baseline", samples=10,
                                                     percentiles=[float("nan")], **NUMPY),
    "percentiles empty": lambda: projection.uncertainty("baseline", samples=10, percentiles=[],
                                                        **NUMPY),
    "percentiles text": lambda: projection.uncertainty("baseline", samples=10,
                                                       percentiles="5,95", **NUMPY),
    "percentile twice": lambda: projection.uncertainty("baseline", samples=10,
                                                       percentiles=[50, 50.0], **NUMPY),
    "samples 10**30": lambda: projection.uncertainty("baseline", samples=10**30, **NUMPY),
    "seed 2**64": lambda: projection.uncertainty("baseline", samples=10, seed=2**64, **NUMPY),
    "sobol N 2**40": lambda: projection.sensitivity("baseline", "sobol", 2**40, **NUMPY),
    "morris 10**12": lambda: projection.sensitivity("baseline", "morris", 10**12, **NUMPY),
    "sensitivity seed 2**64": lambda: projection.sensitivity("baseline", "oat", seed=2**64,
                                                             **NUMPY),
    "sweep N 10**11": lambda: projection.sweep(
        "baseline", ["demand.adoption_growth=40%/yr:120%/yr:100000000000"], **NUMPY),
    "sweep axis a number": lambda: projection.sweep("baseline", [5], **NUMPY),
    "output twice": lambda: projection.uncertainty(
        "baseline", samples=10, outputs=["facility_energy", "facility_energy"], **NUMPY),
    "output not text": lambda: projection.uncertainty("baseline", samples=10, outputs=[3],
                                                      **NUMPY),
}


@pytest.mark.parametrize("name", list(API_MISUSE))
def test_api_misuse_is_a_projection_error_of_one_line(name):
    with pytest.raises(ProjectionError) as caught:
        API_MISUSE[name]()
    one_line(caught.value)


def test_an_output_named_as_a_string_is_one_output_not_its_letters():
    ds = projection.uncertainty("baseline", samples=8, outputs="facility_energy", **NUMPY)
    assert ds.attrs["outputs"] == "facility_energy"


def test_a_sweep_given_one_string_sweeps_that_key():
    ds = projection.sweep("baseline", "demand.adoption_growth=40%/yr:120%/yr:3", **NUMPY)
    assert ds.sizes["demand.adoption_growth"] == 3


# --- sizes: estimated before any work, refused with the figures -----------------------------------

@pytest.mark.parametrize("available", [10 * 2**20, 200 * 2**20])
@pytest.mark.parametrize("call", [
    lambda s, folder: projection.uncertainty(s, samples=2_000_000, **NUMPY),
    lambda s, folder: projection.uncertainty(s, samples=20_000_000, folder=folder, **NUMPY),
    lambda s, folder: projection.sensitivity(s, "sobol", 2**16, **NUMPY),
    lambda s, folder: projection.sensitivity(s, "morris", 100_000, **NUMPY),
    lambda s, folder: projection.sweep(s, ["demand.adoption_growth=40%/yr:120%/yr:3000000"],
                                       **NUMPY),
], ids=["in memory", "streamed", "sobol", "morris", "sweep"])
def test_a_request_larger_than_the_memory_is_refused_before_any_run(
        monkeypatch, tmp_path, baseline, available, call):
    from projection.model import budget

    monkeypatch.setattr(budget, "available_memory", lambda: available)
    ran = []
    monkeypatch.setattr("projection.model.uncertainty.simulate",
                        lambda *a, **k: ran.append(1))
    with pytest.raises(ProjectionError) as caught:
        call(baseline, tmp_path / "out")
    text = one_line(caught.value, "of memory", budget.size_text(available))
    assert "needs about" in text and not ran
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("free", [0, 2**20, 2**30])
def test_block_files_larger_than_the_free_disk_are_refused_before_any_run(
        monkeypatch, tmp_path, baseline, free):
    from projection.model import budget

    monkeypatch.setattr(budget, "free_disk", lambda folder: free)
    with pytest.raises(ProjectionError) as caught:
        projection.uncertainty(baseline, samples=5_000_000, folder=tmp_path / "ens", **NUMPY)
    one_line(caught.value, "of disk", "--samples", "5,000,000")
    assert not (tmp_path / "ens").exists()


@pytest.mark.parametrize("samples", [10, 1000, 100_000])
def test_requests_that_fit_pass_the_estimate(baseline, tmp_path, samples):
    from projection.model.uncertainty import check_fits

    check_fits(design(baseline, samples), ("facility_energy",), tmp_path / "ensemble")


def test_the_disk_estimate_matches_the_block_files_written(baseline, tmp_path):
    outputs = ("facility_energy", "ai_requests_per_day", "emissions")
    d = design(baseline, 4000, 1)
    run_ensemble(d, outputs, tmp_path, backend="numpy", block_samples=2000)
    written = sum(p.stat().st_size for p in tmp_path.glob("block_*.nc"))
    from projection.model import budget
    from projection.model.uncertainty import values_per_year

    estimate = budget.ensemble_needs(4000, len(baseline.years), values_per_year(outputs),
                                     len(d.keys), True, 2000)[1]
    assert estimate == pytest.approx(written, rel=0.05)


# --- --resume: every kept block checked against what defines it -----------------------------------

BLOCK = 10
MEMBERS = 30


def ensemble_run(scenario, folder: Path, seed: int = 1, method: str = "lhs", resume=False):
    d = design(scenario, MEMBERS, seed, method)
    return run_ensemble(d, ("facility_energy",), folder, resume=resume, backend="numpy",
                        block_samples=BLOCK)


@pytest.fixture(scope="module")
def finished(tmp_path_factory, baseline):
    """A finished streamed ensemble of three blocks, and one of another seed."""
    base = tmp_path_factory.mktemp("resume")
    ensemble_run(baseline, base / "seed1", seed=1)
    ensemble_run(baseline, base / "seed2", seed=2)
    ensemble_run(baseline, base / "sobol", seed=1, method="sobol")
    return base


def blocks_of(folder: Path) -> list[Path]:
    return sorted(folder.glob("block_*.nc"))


def tamper_rename(folder, others):
    first, second = blocks_of(folder)[:2]
    second.unlink()
    shutil.copy(first, second)


def tamper_other_seed(folder, others):
    shutil.copy(blocks_of(others / "seed2")[1], blocks_of(folder)[1])


def tamper_other_method(folder, others):
    shutil.copy(blocks_of(others / "sobol")[1], blocks_of(folder)[1])


def tamper_fifo(folder, others):
    target = blocks_of(folder)[1]
    target.unlink()
    os.mkfifo(target)


def tamper_folder(folder, others):
    target = blocks_of(folder)[1]
    target.unlink()
    target.mkdir()


def tamper_truncated(folder, others):
    target = blocks_of(folder)[1]
    target.write_bytes(target.read_bytes()[:200])


def tamper_junk(folder, others):
    blocks_of(folder)[1].write_bytes(b"CDF\x02" + os.urandom(300))


def tamper_no_identity(folder, others):
    """A block as written before blocks recorded their design."""
    from projection.model.netcdf3 import Array, read_header, read_variable, write_netcdf3

    target = blocks_of(folder)[1]
    variables, _ = read_header(target)
    arrays = {name: Array(v.dims, read_variable(target, name, variables), v.attrs)
              for name, v in variables.items()}
    write_netcdf3(target, arrays, {})


def tamper_dangling_link(folder, others):
    target = blocks_of(folder)[1]
    target.unlink()
    target.symlink_to(folder / "nowhere.nc")


TAMPERING = [tamper_rename, tamper_other_seed, tamper_other_method, tamper_fifo, tamper_folder,
             tamper_truncated, tamper_junk, tamper_no_identity, tamper_dangling_link]


@pytest.mark.parametrize("tamper", TAMPERING, ids=lambda f: f.__name__.removeprefix("tamper_"))
def test_resume_refuses_a_block_that_is_not_the_one_it_claims(finished, tmp_path, baseline,
                                                               tamper):
    folder = tmp_path / "ensemble"
    shutil.copytree(finished / "seed1", folder, symlinks=True)
    tamper(folder, finished)
    before = {p.name: (p.lstat().st_mtime_ns, p.lstat().st_size) for p in folder.iterdir()}
    with pytest.raises(EnsembleError) as caught:
        ensemble_run(baseline, folder, seed=1, resume=True)
    one_line(caught.value, blocks_of(folder)[1].name)
    after = {p.name: (p.lstat().st_mtime_ns, p.lstat().st_size) for p in folder.iterdir()}
    assert after == before  # nothing run, nothing replaced


@pytest.mark.parametrize("kind", ["fifo", "folder", "dangling link"])
def test_resume_never_blocks_on_a_manifest_that_is_not_a_file(finished, tmp_path, baseline,
                                                               kind):
    folder = tmp_path / "ensemble"
    shutil.copytree(finished / "seed1", folder)
    manifest = folder / "manifest.json"
    manifest.unlink()
    {"fifo": os.mkfifo, "folder": os.mkdir,
     "dangling link": lambda p: os.symlink(folder / "gone.json", p)}[kind](manifest)
    with pytest.raises(EnsembleError) as caught:
        ensemble_run(baseline, folder, seed=1, resume=True)
    one_line(caught.value, "manifest.json")


def test_resume_with_genuine_blocks_gives_the_uninterrupted_result(finished, tmp_path, baseline):
    folder = tmp_path / "ensemble"
    shutil.copytree(finished / "seed1", folder)
    blocks_of(folder)[-1].unlink()  # the run was interrupted before its last block
    resumed = ensemble_run(baseline, folder, seed=1, resume=True)
    fresh = ensemble_run(baseline, tmp_path / "fresh", seed=1)
    assert np.array_equal(resumed.output("facility_energy"), fresh.output("facility_energy"),
                          equal_nan=True)


def test_every_block_records_its_members_seed_and_design(finished):
    from projection.model.netcdf3 import read_header

    manifest = json.loads((finished / "seed1" / "manifest.json").read_text())
    for i, path in enumerate(blocks_of(finished / "seed1")):
        attrs = read_header(path)[1]
        assert (attrs["first_member"], attrs["stop_member"]) == (str(i * BLOCK),
                                                                 str((i + 1) * BLOCK))
        assert attrs["seed"] == str(manifest["seed"]) and attrs["sample_method"] == "lhs"
        assert len(attrs["design_sha256"]) == 64


# --- hygiene: errors name the real file; the Markdown carries no markup of its own ---------------

@pytest.mark.parametrize("failure", ["projection", "os"])
def test_a_failed_write_names_the_file_meant_not_its_temporary_name(tmp_path, failure):
    from projection.model.errors import RunError
    from projection.outputs.files import OutputError, write_all, write_file

    def bad(path: Path) -> None:
        if failure == "os":
            raise OSError(28, "No space left on device", str(path))
        raise RunError(f"{path}: cannot hold these numbers")

    for write in (lambda: write_all(tmp_path / "out", {"a.csv": lambda p: p.write_text("x"),
                                                       "b.nc": bad}),
                  lambda: write_file(tmp_path / "c.nc", bad)):
        with pytest.raises(OutputError) as caught:
            write()
        text = one_line(caught.value)
        assert ".part" not in text and ("b.nc" in text or "c.nc" in text), text
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".part")]


HOSTILE_TEXT = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click me](javascript:alert(1))",
    "[x](JaVaScRiPt :alert(1))",
    "<javascript:alert(1)>",
    "![pixel](http://tracker.example/p.png)",
    "[ref]: javascript:alert(1)",
    "# Not a heading",
    "1. not a list",
    "- not a bullet",
    "> not a quotation",
    "a *b* _c_ `d` ~~e~~ | f &amp; <!-- g -->",
    "&#106;avascript&#58;alert(1)",
    "line one\n# line two\n<b>x</b>",
    "data:text/html;base64,PHNjcmlwdD4=",
]


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_markdown_text_renders_as_exactly_that_text(text):
    from markdown_it import MarkdownIt

    from projection.outputs.brief import md_text

    rendered = MarkdownIt("commonmark").enable("table").enable("strikethrough").render(
        md_text(text))
    inner = rendered.strip()
    assert inner.startswith("<p>") and inner.endswith("</p>"), rendered  # one paragraph
    inner = inner[3:-4]
    for markup in ("<a ", "<img", "<script", "<em>", "<strong>", "<code>", "<s>", "<h",
                   "<li", "<blockquote", "<!--", "<b>"):
        assert markup not in inner, (markup, rendered)
    import html

    assert html.unescape(inner) == " ".join(text.split())


# --- a workload with no requests: its energy per request is still defined ------------------------

WORKLOAD_SHARES = {"small_text": 50.0, "large_text": 40.0, "reasoning": 3.0, "image": 6.99,
                   "video": 0.01}


@pytest.mark.parametrize("workload", ["video", "reasoning", "image"])
@pytest.mark.parametrize("also_target", [False, True], ids=["start only", "start and target"])
def test_a_zero_request_share_runs_with_a_finite_energy_per_request(workload, also_target):
    shares = dict(WORKLOAD_SHARES)
    moved = shares[workload]
    shares[workload] = 0.0
    shares["small_text"] += moved
    params = {f"workloads.{w}.request_share_start": f"{v:.6g} %" for w, v in shares.items()}
    if also_target:
        scenario = load_scenario(BASELINE)
        targets = {w: scenario.entries[f"workloads.{w}.request_share_target"].base_value * 100
                   for w in WORKLOAD_SHARES}
        targets["small_text"] += targets[workload]
        targets[workload] = 0.0
        params.update({f"workloads.{w}.request_share_target": f"{v:.6g} %"
                       for w, v in targets.items()})
    ds = projection.run("baseline", params=params)
    per_request = ds["energy_per_request"].sel(workload=workload).values
    assert np.isfinite(per_request).all() and (per_request > 0).all()
    served = ds["ai_requests_per_day"].sel(workload=workload).values
    assert served[0] == 0  # no request at the start: the value comes from the physics
    others = ds["energy_per_request"].sel(workload="large_text").values
    assert np.isfinite(others).all()
