"""Hostile input, tested on the shared reading and writing layers in-process, as families of
generated cases: junk bytes, deep nesting, control characters, odd paths and special files,
juxtaposed numbers, values that are not finite, outputs that would replace an input, and
interrupts while files are written.

The rule every case keeps: one error line naming the file, key or option, of the project's
own error type (never a traceback), and nothing of the user's changed. The command line is
tested end to end, with fewer cases, in test_hostile_cli.py.
"""

from __future__ import annotations

import math
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from projection.model.errors import InputError, is_control
from projection.model.parameters import PARAMETERS, SECTIONS, WORKLOAD_PARAMETERS
from projection.model.run import RunError, run_scenario
from projection.model.safe_io import (
    MAX_INPUT_BYTES,
    MAX_TOML_DEPTH,
    load_toml,
    path_name_problem,
    printable,
    read_bytes,
    toml_depth,
)
from projection.model.scenario import ScenarioError, load_scenario
from projection.model.units import UnitError, parse_quantity
from projection.outputs.files import (
    OutputError,
    check_output_file,
    check_output_folder,
    write_all,
    write_file,
)

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
HEADER = (f'[scenario]\ntitle = "T"\ndescription = "D."\n'
          f'extends = "{BASELINE.as_posix()}"\n')
FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def assert_one_line(exc: BaseException, *named: str) -> str:
    """The message is one printable line that names each of ``named``."""
    message = str(exc)
    assert "\n" not in message and "\r" not in message
    assert not any(is_control(c) for c in message), message
    message.encode("utf-8")  # printable on any UTF-8 terminal: no lone surrogates
    for name in named:
        assert name in message, (name, message)
    return message


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones included) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hostile")


_counter = iter(range(10**9))


def fresh(work: Path, suffix: str = ".toml") -> Path:
    return work / f"case{next(_counter)}{suffix}"


# --- junk bytes and junk text ------------------------------------------------------------------

@FAST
@given(st.binary(max_size=3000))
def test_junk_bytes_are_one_line_naming_the_file(work, junk):
    path = fresh(work)
    path.write_bytes(junk)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert_one_line(info.value, str(path))


@FAST
@given(st.text(max_size=400), st.sampled_from(["", "[scenario]\n", HEADER, HEADER + "[start]\n"]))
def test_junk_text_after_a_valid_start_is_one_line(work, junk, start):
    path = fresh(work)
    path.write_text(start + junk, encoding="utf-8", errors="surrogatepass")
    try:
        load_scenario(path)
    except ScenarioError as exc:
        assert_one_line(exc, str(path))
    except UnicodeEncodeError:  # pragma: no cover - the file could not even be written
        pass


@FAST
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=12),
       st.sampled_from(["title", "description", "name", "extends", "start_year", "end_year"]))
def test_any_value_of_a_setting_is_used_or_refused_naming_the_key(work, value, key):
    value = None if value is None else value
    assume(value is not None)
    data = {"scenario": {"title": "T", "description": "D.", "extends": BASELINE.as_posix()}}
    data["scenario"][key] = value
    path = fresh(work)
    try:
        path.write_text(tomli_w.dumps(data), encoding="utf-8")
    except (TypeError, ValueError):  # not representable in TOML (None in a list, ...)
        return
    try:
        load_scenario(path)
    except ScenarioError as exc:
        assert_one_line(exc, str(path), f"scenario.{key}")


@FAST
@given(st.recursive(st.integers() | st.text(max_size=10) | st.floats(allow_nan=False),
                    lambda inner: st.lists(inner, min_size=1, max_size=3)
                    | st.dictionaries(st.sampled_from(["value", "source", "low", "x"]), inner,
                                      min_size=1, max_size=3), max_leaves=10),
       st.sampled_from([p for p in PARAMETERS if not p.per_workload]))
def test_any_entry_shape_is_used_or_refused_naming_the_key(work, raw, p):
    data = {"scenario": {"title": "T", "description": "D.", "extends": BASELINE.as_posix()},
            p.section: {p.name: raw}}
    path = fresh(work)
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    try:
        load_scenario(path)
    except ScenarioError as exc:
        assert_one_line(exc, str(path), f"{p.section}.{p.name}")


# --- nesting depth -----------------------------------------------------------------------------

@FAST
@given(st.integers(MAX_TOML_DEPTH + 1, 5000), st.lists(st.sampled_from("[{"), min_size=1),
       st.sampled_from(["x = ", "[scenario]\ntitle = ", "[start]\nfacility_energy_start = "]))
def test_deep_nesting_is_refused_before_parsing(work, depth, kinds, prefix):
    opening = "".join(kinds[i % len(kinds)] if kinds[i % len(kinds)] == "[" else "{a = "
                      for i in range(depth))
    path = fresh(work)
    path.write_text(prefix + opening + "1" + "]" * depth, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert_one_line(info.value, str(path), "deep")


def _inline(value) -> str:
    """``value`` as one inline TOML value (arrays and inline tables, never table headers)."""
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_inline(v)}" for k, v in value.items()) + "}"
    return tomli_w.dumps({"x": value})[4:].strip()


def _depth(value) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


TRICKY_STRINGS = st.text(alphabet=st.sampled_from("[]{}\"'\\#\nab=,"), max_size=12)


@FAST
@given(st.recursive(st.integers() | TRICKY_STRINGS,
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.sampled_from("abc"), inner, max_size=3),
                    max_leaves=25))
def test_depth_scan_equals_the_nesting_the_parser_recurses_into(value):
    import tomllib

    text = f"k = {_inline(value)}\n"
    assert tomllib.loads(text) == {"k": value}
    assert toml_depth(text) == _depth(value)


@FAST
@given(st.text(alphabet=st.sampled_from("[]{}\"'\\#\nab=,"), max_size=60))
def test_brackets_inside_strings_do_not_count(text):
    assert toml_depth(tomli_w.dumps({"k": text})) == 0
    assert toml_depth(tomli_w.dumps({"k": text}, multiline_strings=True)) == 0


def test_nesting_within_the_limit_is_parsed(work):
    path = fresh(work)
    path.write_text("x = " + "[" * MAX_TOML_DEPTH + "1" + "]" * MAX_TOML_DEPTH, encoding="utf-8")
    data, _ = load_toml(path)
    assert isinstance(data["x"], list)


# --- control characters: terminal injection from a data file -----------------------------------

CONTROL_TEXT = st.text(
    alphabet=st.sampled_from(["a", "b", " ", "\x1b", "[", "2", "J", "\x07", "\r", "\x00", "\x9b",
                              "\u202e", "\u2066", "\x7f", "\b", "é", "\t"]),
    min_size=1, max_size=40,
)


@FAST
@given(CONTROL_TEXT, CONTROL_TEXT, CONTROL_TEXT)
def test_titles_descriptions_and_sources_reach_no_terminal_with_control_characters(
    work, title, description, source
):
    data = {"scenario": {"title": title, "description": description,
                         "extends": BASELINE.as_posix()},
            "facility": {"ai_pue_target": {"value": "1.1", "source": source}}}
    path = fresh(work)
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    try:
        s = load_scenario(path)
    except ScenarioError as exc:  # empty once cleaned, a title on two lines, no source
        assert_one_line(exc, str(path))
        return
    for text in (s.title, s.description, s.entries["facility.ai_pue_target"].source):
        assert text and not any(is_control(c) for c in text), text
    assert "\x1b" not in s.title and s.title == s.title.strip()


@FAST
@given(CONTROL_TEXT)
def test_keys_with_control_characters_are_shown_escaped(work, key):
    path = fresh(work)
    path.write_text(HEADER + tomli_w.dumps({"demand": {key: {"value": "1", "source": "x"}}}),
                    encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = assert_one_line(info.value, str(path))
    # each control character as Python writes its escape (\x1b, \r, \u202e), the rest as is
    escaped = "".join(c.encode("unicode_escape").decode("ascii") if is_control(c) else c
                      for c in key)
    assert f"demand.{escaped}" in message, (escaped, message)


@given(st.text(max_size=50))
def test_printable_removes_every_control_character(text):
    clean = printable(text)
    assert not any(is_control(c) for c in clean)
    assert all(c in text or c == " " for c in clean)


# --- odd paths and special files ---------------------------------------------------------------

ODD_NAMES = st.one_of(
    st.integers(256, 600).map(lambda n: "a" * n + ".toml"),                 # too long a name
    st.integers(256, 300).map(lambda n: "d" * n + "/x.toml"),               # too long a folder
    st.binary(min_size=1, max_size=6).filter(lambda b: b"/" not in b and b"\0" not in b)
      .map(lambda b: os.fsdecode(b"\xff" + b) + ".toml"),                   # not UTF-8
    st.sampled_from(["\x1b[2J.toml", "a\nb.toml", "tab\there.toml", "\u202eexe.toml", ""]),
)


@FAST
@given(ODD_NAMES, st.sampled_from(["scenario", "extends", "output-folder", "output-file"]))
def test_odd_path_names_are_one_line(work, name, role):
    assert path_name_problem(name) is not None
    if role == "scenario":
        with pytest.raises(ScenarioError) as info:
            load_scenario(work / name if name else "")
    elif role == "extends":
        path = fresh(work)
        path.write_text('[scenario]\ntitle = "T"\ndescription = "D."\n'
                        + tomli_w.dumps({"x": name}).replace("x = ", "extends = "),
                        encoding="utf-8", errors="surrogateescape")
        with pytest.raises(ScenarioError) as info:
            load_scenario(path)
        # a name that is not UTF-8 makes the file itself not UTF-8 text
        assert "scenario.extends" in str(info.value) or "not UTF-8" in str(info.value)
    elif role == "output-folder":
        with pytest.raises(OutputError) as info:
            check_output_folder(str(work / name) if name else "")
    else:
        with pytest.raises(OutputError) as info:
            check_output_file(str(work / name) if name else "")
    assert_one_line(info.value)


@FAST
@given(ODD_NAMES)
def test_every_output_option_refuses_odd_names_as_a_usage_error(name):
    import typer

    from projection.outputs.files import parse_output

    with pytest.raises(typer.BadParameter) as info:
        parse_output(name)
    assert_one_line(info.value.format_message())


def _special(work: Path, kind: str) -> Path:
    path = fresh(work, "")
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "loop":
        path.symlink_to(path.name)
    elif kind == "loop2":
        other = fresh(work, "")
        path.symlink_to(other.name)
        other.symlink_to(path.name)
    elif kind == "dangling":
        path.symlink_to("no_such_target")
    elif kind == "link_to_fifo":
        target = fresh(work, "")
        os.mkfifo(target)
        path.symlink_to(target.name)
    elif kind == "socket":
        import socket

        short = Path("/tmp") / f"rb{os.getpid()}_{next(_counter)}.sock"
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(short))
        sock.close()
        return short
    else:
        return Path(kind)  # a device: /dev/zero, /dev/null, /dev/urandom
    return path


SPECIAL = ["fifo", "folder", "loop", "loop2", "dangling", "link_to_fifo", "socket",
           "/dev/zero", "/dev/null", "/dev/urandom"]


@pytest.mark.parametrize("kind", SPECIAL)
@pytest.mark.parametrize("role", ["scenario", "extends"])
def test_special_files_are_refused_without_reading(work, kind, role):
    special = _special(work, kind)
    if role == "scenario":
        target = special
    else:
        target = fresh(work)
        target.write_text(f'[scenario]\ntitle = "T"\ndescription = "D."\n'
                          f'extends = "{special}"\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(target)  # a FIFO would block forever, /dev/zero would eat the memory
    assert_one_line(info.value, str(target) if role == "scenario" else "")


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(work):
    path = fresh(work)
    with open(path, "wb") as fh:
        fh.truncate(MAX_INPUT_BYTES + 1)  # sparse: nothing is allocated
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert_one_line(info.value, str(path), "larger than")


@given(st.binary(max_size=300), st.integers(0, 200))
def test_read_bytes_reads_a_regular_file_up_to_its_limit(junk, limit):
    import tempfile

    with tempfile.NamedTemporaryFile() as fh:
        fh.write(junk)
        fh.flush()
        if len(junk) <= limit:
            assert read_bytes(fh.name, limit=limit) == junk
        else:
            with pytest.raises(InputError, match="larger than"):
                read_bytes(fh.name, limit=limit)


def test_a_byte_order_mark_is_skipped(work):
    path = fresh(work)
    path.write_bytes(b"\xef\xbb\xbf" + BASELINE.read_bytes())
    with_bom, plain = load_scenario(path), load_scenario(BASELINE)
    assert list(with_bom.entries) == list(plain.entries)
    assert {k: e.text for k, e in with_bom.entries.items()} == \
        {k: e.text for k, e in plain.entries.items()}
    assert {k: e.base_value for k, e in with_bom.entries.items()} == \
        {k: e.base_value for k, e in plain.entries.items()}
    assert with_bom.title == plain.title


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "latin-1"])
def test_other_encodings_are_named(work, encoding):
    path = fresh(work)
    path.write_bytes(('[scenario]\ntitle = "Ünïcode"\n').encode(encoding))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert_one_line(info.value, str(path), "UTF-8")


def test_an_unreadable_file_is_named():
    """Run as a user other than root (root reads any file, and CI runs as root): in this
    process's user when it is not root, else in a subprocess as nobody (setpriv or su). A
    readable file beside it is read by the same user, so the message is about the file."""
    folder = Path(tempfile.mkdtemp())  # under the system's temporary folder: nobody can reach it
    try:
        folder.chmod(0o755)
        messages = {}
        for name, mode in (("unreadable.toml", 0), ("readable.toml", 0o644)):
            path = folder / name
            path.write_text(HEADER, encoding="utf-8")
            path.chmod(mode)
            messages[name] = _load_as_another_user(path, folder)
        path = folder / "unreadable.toml"
        message = messages["unreadable.toml"]
        assert "\n" not in message and str(path) in message and "permission" in message, message
        assert "permission" not in messages["readable.toml"], messages["readable.toml"]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _load_as_another_user(path: Path, home: Path) -> str:
    code = ("import sys\n"
            "from projection.model.scenario import ScenarioError, load_scenario\n"
            "try:\n    load_scenario(sys.argv[1])\nexcept ScenarioError as e:\n"
            "    print(e)\nelse:\n    print('read')\n")
    if os.geteuid() != 0:
        command = [sys.executable, "-c", code, str(path)]
    elif shutil.which("setpriv"):
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                   sys.executable, "-c", code, str(path)]
    else:
        command = ["su", "nobody", "-s", "/bin/sh", "-c",
                   " ".join(shlex.quote(a) for a in (sys.executable, "-c", code, str(path)))]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HOME": str(home)})
    assert done.returncode == 0 and done.stdout.strip(), done.stderr[-800:]
    return done.stdout.strip()


# --- messages for keys in the wrong place and empty extends ------------------------------------

@pytest.mark.parametrize("p", [p for p in PARAMETERS if not p.per_workload], ids=lambda p: p.key)
def test_a_key_in_the_wrong_section_names_its_section(work, p):
    wrong = next(s for s in SECTIONS if s not in (p.section, "workloads"))
    path = fresh(work)
    path.write_text(HEADER + f'[{wrong}]\n{p.name} = {{ value = "1", source = "x" }}\n',
                    encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert_one_line(info.value, str(path), f"{wrong}.{p.name}",
                    f"{p.name} belongs in [{p.section}]")


@pytest.mark.parametrize("p", WORKLOAD_PARAMETERS, ids=lambda p: p.name)
def test_a_workload_key_outside_a_workload_names_the_workload_tables(work, p):
    path = fresh(work)
    path.write_text(HEADER + f'[demand]\n{p.name} = {{ value = "1", source = "x" }}\n',
                    encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert_one_line(info.value, str(path), f"{p.name} belongs in a [workloads.NAME] table")


@FAST
@given(st.sampled_from(["", " ", "\t", "  \n "]))
def test_empty_extends_names_the_file_and_key(work, blank):
    path = fresh(work)
    path.write_text('[scenario]\ntitle = "T"\ndescription = "D."\n'
                    + tomli_w.dumps({"extends": blank}), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert_one_line(info.value, str(path), "scenario.extends", "empty")


@pytest.mark.parametrize("value", ["5", "1.5", "true", "[1]", "{ a = 1 }", "2024-01-01"])
@pytest.mark.parametrize("key", ["title", "description"])
def test_a_title_that_is_not_text_says_expected_a_string(work, key, value):
    other = "description" if key == "title" else "title"
    path = fresh(work)
    path.write_text(f'[scenario]\n{key} = {value}\n{other} = "X"\n'
                    f'extends = "{BASELINE.as_posix()}"\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = assert_one_line(info.value, str(path), f"scenario.{key}", "expected a string")
    assert "missing" not in message


# --- quantities: exactly one number and one unit -----------------------------------------------

UNITS = sorted({p.unit for p in PARAMETERS if p.unit != "dimensionless"} | {"%", "%/yr"})
NUMBERS = st.floats(min_value=1e-6, max_value=1e9, allow_nan=False).map(lambda x: f"{x:g}")


@settings(max_examples=200, deadline=None)
@given(NUMBERS, NUMBERS, st.sampled_from(UNITS),
       st.sampled_from(["{a} {b} {u}", "{a} {u} {b}", "{a} {u}*{b}", "{a} {u} * {b}",
                        "{a}*{b} {u}", "{a} {u}/{b}", "{a} ({b}) {u}", "{a} {u}{b}",
                        "{a}  {b}{u}", "{a} {b}e3 {u}", "{a} {u} {b} {u}"]))
def test_juxtaposed_numbers_are_refused(a, b, unit, pattern):
    text = pattern.format(a=a, b=b, u=unit)
    if pattern == "{a} {u}{b}" and unit[-1].isalpha():
        assume(False)  # "GW/yr2" reads as an exponent (yr^2): a unit, not a second number
    with pytest.raises(UnitError) as info:
        parse_quantity(text)
    assert "\n" not in str(info.value)


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False), st.sampled_from(UNITS),
       st.sampled_from(["{a} {u}", "{a}{u}", "  {a}   {u}  "]))
def test_one_number_and_one_unit_keep_the_number_exactly(a, unit, pattern):
    assume(not (pattern == "{a}{u}" and unit[0].isdigit()))  # "0.0" + "1/yr" is "0.01/yr"
    text = pattern.format(a=repr(a), u=unit)
    quantity = parse_quantity(text)
    assert quantity.magnitude == a  # never multiplied by anything hidden in the unit


@given(st.text(max_size=300))
def test_any_text_is_a_quantity_or_a_unit_error(text):
    try:
        q = parse_quantity(text)
    except UnitError as exc:
        assert "\n" not in str(exc)
    else:
        assert isinstance(q.magnitude, float)


@FAST
@given(NUMBERS, NUMBERS)
def test_a_scenario_with_juxtaposed_numbers_names_the_key(work, a, b):
    path = fresh(work)
    path.write_text(HEADER + f'[context]\nhousehold_electricity = '
                    f'{{ value = "{a} {b} kWh/yr", source = "x" }}\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert_one_line(info.value, str(path), "context.household_electricity", "one number")


# --- every output finite before anything is written ---------------------------------------------

@pytest.mark.parametrize("value", ["1e-300 kWh/yr", "1e-310 kWh/yr"])
def test_a_tiny_valid_value_that_makes_a_derived_output_infinite_is_refused(work, value):
    path = fresh(work)
    path.write_text(HEADER + f'[context]\nhousehold_electricity = '
                    f'{{ value = "{value}", source = "x" }}\n', encoding="utf-8")
    scenario = load_scenario(path)  # a valid, positive value
    with _no_warnings(), pytest.raises(RunError) as info:
        run_scenario(scenario)
    assert_one_line(info.value, str(path), "ai_households_equivalent", "not a finite number")


class _no_warnings:
    """Fail if a RuntimeWarning (a second line on stderr) escapes."""

    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("error", RuntimeWarning)

    def __exit__(self, *exc):
        return self._catch.__exit__(*exc)


@pytest.fixture(scope="module")
def baseline_result():
    return run_scenario(load_scenario(BASELINE))


@FAST
@given(st.data(), st.sampled_from([math.nan, math.inf, -math.inf]))
def test_a_dataset_that_is_not_finite_anywhere_is_never_written(work, baseline_result, data,
                                                               bad):
    ds = baseline_result.copy(deep=True)
    name = data.draw(st.sampled_from(sorted(str(v) for v in ds.data_vars)))
    values = ds[name].values
    index = tuple(data.draw(st.integers(0, n - 1)) for n in values.shape)
    values[index] = bad
    year = int(ds["year"].values[index[ds[name].dims.index("year")]])
    folder = fresh(work, "")
    with pytest.raises(OutputError) as info:
        write_all(folder, {"a.csv": lambda p: p.write_text("x")}, datasets=[ds])
    assert_one_line(info.value, name, str(year), "nothing was written")
    assert not folder.exists()


# --- outputs that would replace an input --------------------------------------------------------

def _spellings(path: Path) -> list[Path]:
    """Other names for the same file: ./, a/../, an absolute and a relative form, a link."""
    link = path.parent / f"link_{next(_counter)}.toml"
    link.symlink_to(path.name)
    return [path, path.parent / "." / path.name,
            path.parent / ".." / path.parent.name / path.name,
            Path(os.path.relpath(path)), link]


@pytest.mark.parametrize("how", range(5))
@pytest.mark.parametrize("which", ["scenario", "extended"])
def test_an_output_that_is_an_input_is_refused_whatever_the_spelling(work, how, which):
    parent = fresh(work)
    parent.write_bytes(BASELINE.read_bytes())
    child_path = fresh(work)
    child_path.write_text(f'[scenario]\ntitle = "T"\ndescription = "D."\n'
                          f'extends = "{parent.name}"\n', encoding="utf-8")
    scenario = load_scenario(child_path)
    target = _spellings(child_path if which == "scenario" else parent)[how]
    before = snapshot(work)
    for force in (False, True):
        with pytest.raises(OutputError) as info:
            write_file(target, lambda p: p.write_text("replaced"), force=force,
                       inputs=scenario.files)
        assert_one_line(info.value, str(target))
    assert snapshot(work) == before


def test_an_output_folder_that_is_a_file_or_an_input_is_refused(work):
    scenario = fresh(work)
    scenario.write_text("x", encoding="utf-8")
    for target in (scenario, work / "." / scenario.name):
        with pytest.raises(OutputError) as info:
            write_all(target, {"a.csv": lambda p: p.write_text("y")}, inputs=[scenario])
        assert_one_line(info.value, str(target))
    folder = fresh(work, "")
    folder.mkdir()
    (folder / "a.csv").symlink_to(scenario)  # a result name that points at an input
    with pytest.raises(OutputError) as info:
        write_all(folder, {"a.csv": lambda p: p.write_text("y")}, inputs=[scenario])
    assert_one_line(info.value, "is an input")
    assert scenario.read_text() == "x"


def test_an_output_file_that_is_a_folder_says_so(work):
    folder = fresh(work, "")
    folder.mkdir()
    for force in (False, True):
        with pytest.raises(OutputError) as info:
            write_file(folder, lambda p: p.write_text("x"), force=force)
        assert_one_line(info.value, str(folder), "is a folder")


# --- interrupts while files are written ---------------------------------------------------------

class Stop(BaseException):
    """Stands for Ctrl-C: a BaseException that no ``except Exception`` catches."""


@FAST
@given(st.integers(0, 2), st.sampled_from(["before", "after"]),
       st.sampled_from([KeyboardInterrupt, Stop]))
def test_an_interrupt_while_writing_leaves_the_old_results_and_no_part_file(work, at, when,
                                                                            kind):
    folder = fresh(work, "")
    folder.mkdir()
    (folder / "b.csv").write_text("earlier results")
    before = snapshot(folder)

    def writer(i):
        def write(path: Path) -> None:
            if i == at and when == "before":
                raise kind
            path.write_text(f"new {i}")
            if i == at:
                raise kind
        return write

    with pytest.raises(kind):
        write_all(folder, {f"{n}.csv": writer(i) for i, n in enumerate("abc")})
    assert snapshot(folder) == before


@pytest.mark.parametrize("kind", [KeyboardInterrupt, Stop])
def test_an_interrupt_just_after_the_temporary_file_is_created_leaves_none(work, monkeypatch,
                                                                        kind):
    folder = fresh(work, "")
    folder.mkdir()
    real_open = os.open

    def open_then_interrupt(path, flags, mode=0o777, **kw):
        fd = real_open(path, flags, mode, **kw)
        if flags & os.O_CREAT:
            os.close(fd)
            raise kind  # the file exists; we are stopped before we can note it anywhere
        return fd

    monkeypatch.setattr(os, "open", open_then_interrupt)
    with pytest.raises(kind):
        write_file(folder / "x.toml", lambda p: p.write_text("x"))
    with pytest.raises(kind):
        write_all(folder, {"a.csv": lambda p: p.write_text("x")})
    monkeypatch.undo()
    assert list(folder.iterdir()) == []


def test_an_interrupt_during_the_moves_is_delivered_after_them(work, monkeypatch):
    """SIGINT arrives while write_all moves its finished files into place (after the first
    move): it is held until every file is in place, then handled."""
    folder = fresh(work, "")
    received: list[list[str]] = []
    previous = signal.signal(
        signal.SIGINT, lambda s, f: received.append(sorted(p.name for p in folder.iterdir()
                                                           if not p.name.startswith("."))))
    real_replace = os.replace
    moves = []

    def replace_then_interrupt(src, dst, *args, **kwargs):
        real_replace(src, dst, *args, **kwargs)
        moves.append(Path(dst).name)
        if len(moves) == 1:
            os.kill(os.getpid(), signal.SIGINT)
            assert received == []  # held back while moves remain

    def write(path: Path) -> None:
        path.write_text("new")

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    try:
        write_all(folder, {"a.csv": write, "b.csv": write})
    finally:
        signal.signal(signal.SIGINT, previous)
    assert len(moves) == 2  # the signal came between the two moves
    assert received == [["a.csv", "b.csv"]]  # handled once, after both were in place
    assert sorted(p.name for p in folder.iterdir()) == ["a.csv", "b.csv"]


def test_written_files_have_the_permissions_of_the_umask(work):
    folder = fresh(work, "")
    old = os.umask(0o027)
    try:
        write_all(folder, {"a.csv": lambda p: p.write_text("x")})
    finally:
        os.umask(old)
    assert stat.S_IMODE((folder / "a.csv").stat().st_mode) == 0o640


def test_nothing_is_left_when_a_writer_fails(work):
    folder = fresh(work, "")
    folder.mkdir()

    def broken(path: Path) -> None:
        path.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError) as info:
        write_all(folder, {"a.csv": lambda p: p.write_text("x"), "b.csv": broken})
    assert_one_line(info.value, str(folder), "No space left")
    assert list(folder.iterdir()) == []


def test_the_finite_check_sees_derived_outputs(baseline_result):
    from projection.model.run import first_nonfinite

    ds = baseline_result.copy(deep=True)
    assert first_nonfinite(ds) is None
    ds["share_of_us_electricity"].values[2] = np.inf
    assert first_nonfinite(ds) == ("share_of_us_electricity", int(ds["year"].values[2]))


# --- reference data: the same reader for the validation files -----------------------------------

def _loaders():
    from projection.validation.checks import load_checks
    from projection.validation.references import load_references, load_series

    return {"references": load_references, "series": load_series, "checks": load_checks}


@pytest.mark.parametrize("kind", ["fifo", "folder", "loop", "/dev/zero"])
@pytest.mark.parametrize("loader", ["references", "series", "checks"])
def test_reference_data_that_is_not_a_regular_file_is_refused(work, kind, loader):
    from projection.validation.references import ReferenceDataError

    special = _special(work, kind)
    with pytest.raises(ReferenceDataError) as info:
        _loaders()[loader](special)
    assert_one_line(info.value, str(special))


@FAST
@given(st.binary(max_size=2000), st.sampled_from(["references", "series", "checks"]))
def test_junk_reference_data_is_one_line_naming_the_file(work, junk, loader):
    from projection.validation.references import ReferenceDataError

    path = fresh(work, ".toml" if loader == "checks" else ".csv")
    path.write_bytes(junk)
    with pytest.raises(ReferenceDataError) as info:
        _loaders()[loader](path)
    assert_one_line(info.value, str(path))


@FAST
@given(st.data(), st.one_of(st.integers(), st.text(max_size=12), st.booleans(), st.floats(),
                            st.lists(st.integers(), max_size=2),
                            st.dictionaries(st.sampled_from("ab"), st.integers(), max_size=2)))
def test_a_check_registry_with_any_field_changed_is_used_or_refused_naming_the_check(
    work, data, value
):
    import tomllib

    from projection.validation.checks import default_checks_path, load_checks
    from projection.validation.references import ReferenceDataError

    registry = tomllib.loads(default_checks_path().read_text(encoding="utf-8"))
    check = data.draw(st.sampled_from(registry["check"]))
    field = data.draw(st.sampled_from(sorted(check)))
    check[field] = value
    path = fresh(work)
    path.write_text(tomli_w.dumps(registry), encoding="utf-8")
    try:
        load_checks(path)
    except ReferenceDataError as exc:
        assert_one_line(exc, str(path))


def test_a_check_year_outside_the_projection_is_named(work):
    import tomllib

    from projection.validation.checks import default_checks_path, run_checks
    from projection.validation.references import ReferenceDataError

    registry = tomllib.loads(default_checks_path().read_text(encoding="utf-8"))
    check = next(c for c in registry["check"] if c["kind"] == "output")
    check["year"] = 2049
    path = fresh(work)
    path.write_text(tomli_w.dumps(registry), encoding="utf-8")
    with pytest.raises(ReferenceDataError) as info:
        run_checks(path)
    assert_one_line(info.value, str(path), f"{check['id']}.year", "2049")
