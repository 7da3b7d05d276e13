"""The coordinator's commands check a CATD against the loaded catalog, and an enrollment
code needs no ``--role`` that ``--catd``/``--ccv`` already decide (issue 35)."""

from __future__ import annotations

from tests.central.station import central_cli
from tests.central.station import query
from tests.harness.central import CentralNode
from tests.harness.work import load_catalog


def test_a_catd_the_catalog_does_not_have_is_refused(central_node: CentralNode) -> None:
    catalog = load_catalog(central_node)  # 33 distritos
    assert max(d.id for d in catalog.distritos) == 33
    done = central_cli(central_node, "operator", "add", "--name", "Ana", "--role",
                       "capturista", "--catd", "99", "--password-stdin")
    assert done.returncode == 2
    assert "el CATD 99 no existe: el catálogo tiene los distritos 1 a 33" in done.stderr
    done = central_cli(central_node, "enroll-code", "--catd", "7", "99")
    assert done.returncode == 2 and "el CATD 99 no existe" in done.stderr, done.stderr
    assert query(central_node.dsn, "SELECT count(*) FROM operators") == [(0,)]
    assert query(central_node.dsn, "SELECT count(*) FROM enrollment_codes") == [(0,)]


def test_an_enrollment_code_takes_its_role_from_the_site(central_node: CentralNode) -> None:
    for site, role in ((("--catd", "7"), "catd"), (("--ccv",), "ccv")):
        done = central_cli(central_node, "enroll-code", *site)
        assert done.returncode == 0, done.stderr
        assert f"rol {role}" in done.stderr
    assert query(central_node.dsn, "SELECT role, sitio FROM enrollment_codes ORDER BY "
                 "created_at") == [("catd", "07"), ("ccv", "CCV")]
