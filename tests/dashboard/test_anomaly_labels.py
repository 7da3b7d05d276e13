"""Every anomaly type the central can raise has a Spanish name on the dashboard and in
the reports (issue 35: ``codigo_no_es_acta`` and ``imagen_tipo_distinto`` showed as
«Codigo no es acta»). The types are found in the source, where anomalies are raised, as
the audit events are (tests/central/audit/test_audit.py): a new one without a name fails."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from central.controlroom.anomaly_text import ANOMALY_LABELS
from central.controlroom.anomaly_text import anomaly_label
from central.pipeline.authorize import REASONS

REPO = Path(__file__).resolve().parents[2]
CENTRAL = REPO / "central"

#: Where an anomaly's type is not written at the call but forwarded from one that is
#: (those calls are found too), with the types it forwards that no call names.
FORWARDED = {
    ("central/audit/anomalies.py", "type_"): (),  # add_anomaly itself
    ("central/audit/anomalies.py", "refused.code"): (),  # Refused(…, anomaly=True) and helpers
    ("central/audit/anomalies.py", "anomaly_type"): (),
    ("central/stations/auth.py", "code"): (),  # inside _refused(status, CODE, …)
    # inside _unsigned(…, status, CODE, …): the first anomaly of a window's codes
    ("central/pipeline/ingest.py", "code"): (),
    ("central/pipeline/apply.py", "note.type"): (),  # _note(TYPE, …) in the fold
    ("central/pipeline/state.py", "type_"): (),  # inside _note itself
    ("central/pipeline/authorize.py", "str(v.reason)"): REASONS,  # a quarantine's reason
}


def _constants(tree: ast.Module) -> dict[str, str]:
    """The module's ``NAME = "text"`` (top level and class bodies, e.g. enums)."""
    found = {}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            found[node.targets[0].id] = node.value.value
    return found


def _imports(tree: ast.Module) -> dict[str, tuple[str, str]]:
    """``from central.x import NAME [as ALIAS]``: alias → (module path, name)."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and \
                node.module.startswith("central"):
            path = REPO / (node.module.replace(".", "/") + ".py")
            for alias in node.names:
                found[alias.asname or alias.name] = (str(path), alias.name)
    return found


_PARSED: dict[str, ast.Module] = {}


def _tree(path: str) -> ast.Module:
    if path not in _PARSED:
        _PARSED[path] = ast.parse(Path(path).read_text(), path)
    return _PARSED[path]


def _resolve(path: str, name: str) -> str | None:
    tree = _tree(path)
    if name in (constants := _constants(tree)):
        return constants[name]
    imported = _imports(tree).get(name)
    if imported is not None and Path(imported[0]).exists():
        return _resolve(*imported)
    return None


def _type_argument(call: ast.Call) -> ast.expr | None:
    """The expression giving the anomaly type at ``call``, if the call raises one."""
    name = call.func.attr if isinstance(call.func, ast.Attribute) else \
        getattr(call.func, "id", "")
    keywords = {k.arg: k.value for k in call.keywords}
    raises = keywords.get("anomaly")
    if name == "add_anomaly" and len(call.args) >= 2:
        return call.args[1]
    if name in ("_note", "Note") and isinstance(call.func, ast.Name) and call.args:
        return call.args[0]
    if name == "Anomaly":
        return keywords.get("type")
    if name == "Refused" and isinstance(raises, ast.Constant) and raises.value is True:
        return call.args[1]
    if name == "_refused" and len(call.args) >= 2:  # central/stations/auth.py: always an anomaly
        return call.args[1]
    if name == "_unsigned" and len(call.args) >= 4:  # central/pipeline/ingest.py: always one
        return call.args[3]
    if name == "refused" and isinstance(call.func, ast.Attribute) and \
            not (isinstance(raises, ast.Constant) and raises.value is False):
        return call.args[1]  # central/pipeline/ingest.py: an anomaly unless anomaly=False
    return None


def raised_types() -> Iterator[tuple[str, str]]:
    """(type, where) for every anomaly the central's code can raise."""
    for path in sorted(CENTRAL.rglob("*.py")):
        tree = _tree(str(path))
        relative = str(path.relative_to(REPO))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or (value := _type_argument(node)) is None:
                continue
            where = f"{relative}:{node.lineno}"
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                yield value.value, where
            elif isinstance(value, ast.Name) and (
                    resolved := _resolve(str(path), value.id)) is not None:
                yield resolved, where
            elif (relative, ast.unparse(value)) in FORWARDED:
                for forwarded in FORWARDED[relative, ast.unparse(value)]:
                    yield forwarded, where
            else:
                raise AssertionError(f"{where}: anomaly type {ast.unparse(value)!r} is not "
                                     "a string or a constant: name it, or list it in "
                                     "FORWARDED")


def test_every_anomaly_type_the_central_raises_has_a_spanish_name() -> None:
    raised: dict[str, list[str]] = {}
    for type_, where in raised_types():
        raised.setdefault(type_, []).append(where)
    # The search finds what it must (the anomalies of each source).
    assert {"clock_skew", "conflicting_batch", "unknown_station", "bad_signature",
            "not_an_image", "acopio_duplicado", "captura_sin_lease", "unaudited_build",
            "casilla_rechazada", "solicitud_repetida", "casilla_sin_acta_con_datos",
            "codigo_no_es_acta", "imagen_tipo_distinto"} <= set(raised)
    unnamed = {t: w for t, w in raised.items() if t not in ANOMALY_LABELS}
    assert not unnamed, f"anomalies without a Spanish name: {unnamed}"
    for type_ in raised:
        assert len(type_) <= 32, type_  # anomalies.type is String(32)
        label = anomaly_label(type_)
        assert label[:1].isupper() or label[:1] in "«2", label


def test_no_name_for_an_anomaly_nobody_raises() -> None:
    """A label for a type no code raises is a rename left half done."""
    raised = {t for t, _ in raised_types()}
    assert set(ANOMALY_LABELS) - raised == set()


def test_the_two_new_types_read_as_spanish() -> None:
    assert anomaly_label("codigo_no_es_acta") != "Codigo no es acta"
    assert anomaly_label("imagen_tipo_distinto") != "Imagen tipo distinto"
