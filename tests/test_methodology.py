"""docs/methodology.md stays in step with the code: every parameter and output is documented in
the hand-written text, and the generated tables match what the code and the runs give now."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from projection.model.parameters import PARAMETERS
from projection.model.results import OUTPUTS
from projection.validation import methodology

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "methodology.md"


@pytest.fixture(scope="module")
def document() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def hand_written(document) -> str:
    return methodology.without_generated(document)


def mentioned(name: str, text: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", text) is not None or \
        re.search(rf"\.{re.escape(name)}(?!\w)", text) is not None


@pytest.mark.parametrize("name", [p.name for p in PARAMETERS])
def test_every_parameter_is_in_the_equations(hand_written, name):
    assert mentioned(name, hand_written), f"docs/methodology.md does not explain {name}"


@pytest.mark.parametrize("name", [o.name for o in OUTPUTS])
def test_every_output_is_in_the_equations(hand_written, name):
    assert mentioned(name, hand_written), f"docs/methodology.md does not explain {name}"


def test_every_model_module_is_mirrored(hand_written):
    for module in ("demand", "hardware", "buildout", "impacts", "dynamics", "integrate"):
        assert f"model/{module}.py" in hand_written


def test_ends_with_limitations_and_the_comparison(document):
    headings = re.findall(r"^## (.+)$", document, flags=re.MULTILINE)
    assert headings[-2:] == ["Assumptions and limitations", "Comparison with published projections"]


def test_generated_tables_are_current(document):
    assert methodology.render(document) == document, (
        f"stale generated tables; run {methodology.GENERATOR}")


def test_comparison_covers_lbnl_ranges_the_2025_update_and_iea(document):
    names, rows = methodology.comparison_rows()
    assert names == ["low_growth", "baseline", "high_growth"]
    ids = {row["reference"].id for row in rows}
    assert {"lbnl_total_2028_range", "lbnl_ai_servers_2028_range", "lbnl2025_total_2030_ref",
            "iea_us_increase_2024_2030"} <= ids
    years = {row["item"]["year"] for row in rows}
    assert years == {2028, 2030}
    for row in rows:
        assert len(row["item"]["reason"].split()) >= 15, row["reference"].id
        assert f"`{row['reference'].id}`" in document
