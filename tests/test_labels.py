"""Short labels of the parameters (model/labels.py): one for every parameter, each distinct."""

from __future__ import annotations

from projection.model.labels import SHORT_LABELS, capitalised, label, unlabelled
from projection.model.parameters import PARAMETERS, WORKLOADS


def _every_key() -> list[str]:
    keys = []
    for p in PARAMETERS:
        keys += [f"workloads.{w}.{p.name}" for w in WORKLOADS] if p.per_workload else [p.key]
    return keys


def test_every_parameter_has_a_label_and_no_label_names_a_missing_parameter():
    assert unlabelled() == []
    keys = set(_every_key())
    assert set(SHORT_LABELS) <= keys


def test_labels_are_distinct_words_not_keys():
    labels = [label(k) for k in _every_key()]
    assert len(set(labels)) == len(labels)
    for text in labels:
        assert "_" not in text and "." not in text.split(" (")[0]
        assert 3 <= len(text) <= 60, text


def test_a_workload_key_and_an_unknown_key():
    assert label("workloads.reasoning.tokens_per_request") == \
        "tokens generated per request, reasoning model"
    assert label("demand.no_such_thing") == "demand.no_such_thing"
    assert capitalised("buildout.interconnection_limit").startswith("Grid connections")
