"""Every anomaly type the central raises is declared once, with its Spanish name, in
central/audit/anomaly_types.toml (beside the audit events), and the dashboard and reports
show that name. The types are found in the source where anomalies are raised, by the
search the dashboard's labels test uses."""

from __future__ import annotations

import pytest

from central.audit.anomalies import declared_anomaly_types
from central.controlroom.anomaly_text import ANOMALY_LABELS
from central.controlroom.anomaly_text import anomaly_label
from tests.dashboard.test_anomaly_labels import REPO
from tests.dashboard.test_anomaly_labels import raised_types

pytestmark = pytest.mark.rapido


def test_every_raised_anomaly_type_is_declared_and_every_declared_one_raised() -> None:
    raised: dict[str, set[str]] = {}
    for type_, where in raised_types():
        raised.setdefault(type_, set()).add(where.split(":")[0])
    declared = declared_anomaly_types()

    undeclared = {t: sorted(w) for t, w in raised.items() if t not in declared}
    assert not undeclared, f"anomalies raised but not declared: {undeclared}"
    assert set(declared) - set(raised) == set(), "declared but never raised"
    for type_, spec in declared.items():
        assert len(type_) <= 32, type_  # anomalies.type is String(32)
        assert spec.label[:1].isupper() or spec.label[:1] in "«2", spec.label
        emitters = set(spec.emitter.split(", "))
        assert emitters == raised[type_], (type_, spec.emitter)  # who raises it, truly
        assert all((REPO / path).is_file() for path in emitters), spec.emitter


def test_the_coordinators_read_the_declared_names() -> None:
    declared = declared_anomaly_types()
    assert ANOMALY_LABELS == {t: spec.label for t, spec in declared.items()}
    assert anomaly_label("codigo_no_es_acta") == declared["codigo_no_es_acta"].label
