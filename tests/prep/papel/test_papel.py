"""The simulacro with paper (issue 32): the expected results hold every Anexo 13
category and the ties asked for; the printable actas read back (pypdf) as letter pages
that say SIMULACRO, and their QR, rendered at 200 dpi by pdftoppm, decodes (zxing-cpp,
as the station reads it) to the acta's own code; the informe finds a corte made from the
expected results identical and explains a changed number, a pending and a lost acta."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from datetime import UTC
from datetime import timedelta
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from prep.catalog import Catalog
from prep.corte.historial import COTEJO_DIFERENCIAS
from prep.corte.historial import HISTORIAL
from prep.corte.historial import historial_csv
from prep.corte.model import ActaEnCorte
from prep.corte.package import MANIFEST
from prep.corte.package import write_corte
from prep.papel.actas import PdfCatd
from prep.papel.actas import catd_pdf_name
from prep.papel.actas import plan_catd
from prep.papel.actas import write_catd_pdfs
from prep.papel.comite import write_esperados_pdf
from prep.papel.esperados import Esperados
from prep.papel.esperados import preparar
from prep.papel.esperados import write_esperados
from prep.papel.informe import COINCIDE
from prep.papel.informe import CON_DIFERENCIAS
from prep.papel.informe import ERRONEA
from prep.papel.informe import NO_LLEGO
from prep.papel.informe import PENDIENTE
from prep.papel.informe import compare
from prep.papel.informe import compare_publicacion
from prep.papel.informe import list_cortes
from prep.papel.informe import load_esperados
from prep.papel.informe import write_informe
from prep.qr import ActaCodec
from prep.qr import CodeRejected
from prep.qr import Motivo
from prep.rules import DEFAULT_RULES
from prep.rules import CausaSinActa
from prep.sintetico.acta_image import acta_qr_text
from prep.sintetico.acta_image import numero_en_letras
from prep.sintetico.capturas import Caso
from prep.sintetico.plan import corte_de_referencia
from prep.sintetico.plan import truth
from prep.values import Captura
from tests.harness.tools import require_tool

SEED = 11
LETTER = (612, 792)

@pytest.fixture
def needs_pdftoppm() -> str:
    return require_tool("pdftoppm", "poppler-utils")


@pytest.fixture(scope="module")
def esperados(small: Catalog) -> Esperados:
    return preparar(small, SEED, empates=2)


@pytest.fixture(scope="module")
def salida(esperados: Esperados, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("papel")
    write_esperados(esperados, out)
    write_esperados_pdf(esperados, out / "esperados.pdf")
    write_catd_pdfs(esperados, out / "blancas")
    write_catd_pdfs(esperados, out / "rellenas", rellenas=True)
    return out


def _render(pdf: Path, page: int, out: Path) -> Image.Image:
    """One page at 200 dpi, as a scanner at the CATD would see the printed sheet."""
    prefix = out / f"{pdf.stem}-{page}"
    subprocess.run(["pdftoppm", "-r", "200", "-gray", "-png", "-singlefile", "-f", str(page),
                    "-l", str(page), str(pdf), str(prefix)], check=True, timeout=60)
    return Image.open(prefix.with_suffix(".png"))


def _qr(image: Image.Image) -> list[str]:
    return [b.text for b in zxingcpp.read_barcodes(image) if b.valid]


def test_every_category_and_fuera_de_catalogo_are_expected(esperados: Esperados) -> None:
    casos = {a.caso for a in esperados.actas.values()}
    assert casos == {c.value for c in Caso}
    observaciones = {a.observaciones for a in esperados.actas.values()}
    for label in (DEFAULT_RULES.excede, DEFAULT_RULES.ilegible, DEFAULT_RULES.sin_dato,
                  DEFAULT_RULES.todos_ilegibles, DEFAULT_RULES.todos_vacios,
                  *(DEFAULT_RULES.sin_acta[c] for c in (CausaSinActa.PAQUETE_NO_ENTREGADO,
                                                        CausaSinActa.CASILLA_NO_INSTALADA,
                                                        CausaSinActa.PAQUETE_SIN_SOBRE))):
        assert any(label in o for o in observaciones), label
    assert esperados.fuera and {f.eleccion for f in esperados.fuera} >= {"", "01"}


def test_ties_end_exactly_tied_and_keep_every_actas_totals(small: Catalog,
                                                           esperados: Esperados) -> None:
    empatadas = [c for c in esperados.contiendas.values() if c.empate]
    assert len(empatadas) == 2
    assert len({c.eleccion for c in empatadas}) == 2  # in two different elections
    for c in empatadas:
        a, b = c.empate or ("", "")
        assert c.totales[a] == c.totales[b] > 0
        assert [k for k, _ in c.orden()[:2]] == sorted([a, b], key=lambda k: k)
    sim = truth(small, SEED)
    for acta in small.iter_actas():
        antes, ahora = sim.estado[acta.clave].captura, esperados.estado[acta.clave].captura
        if antes is None:
            assert ahora is None
            continue
        assert ahora is not None
        votos = acta.eleccion.campos_voto_set
        assert sum(v for c, v in antes.items() if c in votos and type(v) is int) == \
            sum(v for c, v in ahora.items() if c in votos and type(v) is int)
        assert esperados.actas[acta.clave].caso == sim.casos[acta.clave].value


def test_committee_csvs_and_pdf(esperados: Esperados, salida: Path) -> None:
    data = json.loads((salida / "esperados.json").read_text(encoding="utf-8"))
    assert len(data["actas"]) == len(esperados.actas)
    contiendas = (salida / "contiendas.csv").read_text(encoding="utf-8-sig").splitlines()
    assert sum(1 for linea in contiendas if linea.endswith(",SÍ")) == 4  # 2 ties × 2
    text = "".join(p.extract_text() for p in PdfReader(salida / "esperados.pdf").pages)
    assert "Resultados esperados del simulacro" in text
    for c in esperados.contiendas.values():
        if c.empate:
            assert c.nombre in text


def test_one_letter_pdf_per_catd_with_every_acta(small: Catalog, esperados: Esperados,
                                                 salida: Path) -> None:
    planes = plan_catd(esperados)
    assert {p.distrito for p in planes} == {d.id for d in small.distritos}
    impresas = {p.acta.clave for plan in planes for p in plan.paginas if not p.nota}
    sin_acta = {a.clave for a in esperados.actas.values() if "Sin Acta" in a.observaciones}
    assert impresas == set(esperados.actas) - sin_acta  # every acta with paper, once
    for plan in planes:
        reader = PdfReader(salida / "blancas" / catd_pdf_name(plan.distrito))
        assert len(reader.pages) == plan.primera - 1 + len(plan.paginas)
        for page in reader.pages:
            assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) \
                == LETTER
        control = reader.pages[0].extract_text()
        assert "SIMULACRO" in control and "Hoja de control" in control
        for clave, _ in plan.sin_acta:
            assert clave in control
        for n, pagina in enumerate(plan.paginas, start=plan.primera):
            text = reader.pages[n - 1].extract_text()
            assert "SIMULACRO" in text
            if not pagina.nota:
                assert pagina.acta.clave in text and pagina.acta.eleccion.nombre in text


def test_prefilled_actas_carry_the_expected_numbers_in_words(esperados: Esperados,
                                                             salida: Path) -> None:
    plan = plan_catd(esperados, rellenas=True)[0]
    reader = PdfReader(salida / "rellenas" / catd_pdf_name(plan.distrito))
    pagina = plan.paginas[0]
    assert pagina.valores is not None
    text = reader.pages[plan.primera - 1].extract_text()
    for campo, valor in pagina.valores.items():
        if valor.isdigit():
            assert numero_en_letras(int(valor)) in text, campo
    blank = PdfReader(salida / "blancas" / catd_pdf_name(plan.distrito))
    assert "ciento" not in blank.pages[plan.primera - 1].extract_text()


@pytest.mark.usefixtures("needs_pdftoppm")
def test_the_printed_qr_scans_as_the_actas_code_at_200_dpi(
        small: Catalog, esperados: Esperados, salida: Path, tmp_path: Path) -> None:
    codec = ActaCodec(small)
    plan: PdfCatd = plan_catd(esperados)[0]
    muestras = [plan.paginas[0], plan.paginas[len(plan.paginas) // 2]]
    for pagina in plan.paginas:
        if pagina.nota:
            muestras.append(pagina)  # the first fuera-de-catálogo page
            break
    for carpeta in ("blancas", "rellenas"):
        for pagina in muestras:
            page = plan.primera + plan.paginas.index(pagina)
            image = _render(salida / carpeta / catd_pdf_name(plan.distrito), page,
                            tmp_path)
            assert image.size == (1700, 2200)  # letter at 200 dpi
            (texto,) = _qr(image)
            if pagina.nota:
                assert texto == pagina.qr
                with pytest.raises(CodeRejected) as rejected:
                    codec.decode(texto)
                assert rejected.value.motivo in (Motivo.FUERA_DE_CATALOGO,
                                                 Motivo.ELECCION_DESCONOCIDA)
            else:
                assert texto == acta_qr_text(pagina.acta)
                assert codec.decode(texto).clave == pagina.acta.clave


def _corte(small: Catalog, esperados: Esperados, estado: dict[str, ActaEnCorte],
           publicacion: Path) -> Path:
    when = corte_de_referencia(small).astimezone(UTC)
    return write_corte(publicacion, small, estado, esperados.fuera, when,
                       simulacro=True).path


def test_informe_of_a_corte_made_from_the_expected_results_matches_100(
        small: Catalog, esperados: Esperados, salida: Path, tmp_path: Path) -> None:
    corte = _corte(small, esperados, dict(esperados.estado), tmp_path / "publicacion")
    informe = compare(load_esperados(salida), corte)
    assert informe.veredicto == COINCIDE and informe.ok
    assert informe.coinciden == informe.actas == len(esperados.actas)
    assert informe.porcentaje == 100.0
    empates = [c for c in informe.contiendas if c.ganador_esperado.startswith("EMPATE")]
    assert len(empates) == 2 and all(c.ganador_publicado == c.ganador_esperado
                                     for c in empates)
    json_path, pdf_path = write_informe(informe, tmp_path / "informe")
    assert json.loads(json_path.read_text(encoding="utf-8"))["veredicto"] == COINCIDE
    text = "".join(p.extract_text() for p in PdfReader(pdf_path).pages)
    assert "COINCIDE" in text and "100.00 %" in text


def test_informe_explains_a_changed_number_a_pending_and_a_lost_acta(
        small: Catalog, esperados: Esperados, salida: Path, tmp_path: Path) -> None:
    estado = dict(esperados.estado)
    normales = [k for k, a in esperados.actas.items() if a.caso == Caso.NORMAL.value]
    cambiada = normales[3]
    contienda = esperados.actas[cambiada].contienda
    # The pending and the lost acta count in other contests than the changed one.
    pendiente, perdida = [k for k in normales if esperados.actas[k].contienda != contienda
                          and esperados.actas[k].contabilizada == "1"][:2]
    captura = estado[cambiada].captura
    assert captura is not None
    campo = next(c for c, v in captura.items() if c in ("PAN", "MORENA"))
    valores = dict(captura.items())
    original = valores[campo]
    assert isinstance(original, int)
    valores[campo] = original + 7
    estado[cambiada] = replace(estado[cambiada], captura=Captura.of(valores))
    estado[pendiente] = ActaEnCorte(pendiente, acopio=estado[pendiente].acopio)
    del estado[perdida]
    corte = _corte(small, esperados, estado, tmp_path / "publicacion")
    informe = compare(load_esperados(salida), corte)
    assert informe.veredicto == CON_DIFERENCIAS and not informe.ok
    assert informe.coinciden == informe.actas - 3
    por_clave = {d.clave: d for d in informe.diferencias}
    assert set(por_clave) == {cambiada, pendiente, perdida}
    assert por_clave[pendiente].tipo == PENDIENTE
    assert por_clave[perdida].tipo == NO_LLEGO
    assert por_clave[cambiada].tipo == ERRONEA
    assert (campo, str(original), str(original + 7)) in por_clave[cambiada].campos
    afectadas = [c for c in informe.contiendas if not c.coincide]
    assert esperados.contiendas[contienda].nombre in {c.nombre for c in afectadas}
    (mal,) = [c for c in afectadas if c.nombre == esperados.contiendas[contienda].nombre]
    assert (campo, mal.esperado[campo], mal.esperado[campo] + 7) in mal.diferencias()


def test_informe_reads_times_per_catd_and_corrections_from_historial(
        small: Catalog, esperados: Esperados, salida: Path, tmp_path: Path) -> None:
    corte = _corte(small, esperados, dict(esperados.estado), tmp_path / "publicacion")
    assert compare(load_esperados(salida), corte).tiempos is None  # no HISTORIAL.csv
    a, b = [k for k, e in esperados.actas.items() if e.caso == Caso.NORMAL.value][:2]

    def fila(evento: str, hora: str, catd: str = "", detalle: str = "") -> tuple[str, ...]:
        return (evento, f"07/06/2027 {hora}", catd, "", "", "", "", "", detalle)

    filas = {
        a: [fila("ACOPIO", "20:00:00", "3"), fila("DIGITALIZACION", "20:04:00", "3"),
            fila("CAPTURA", "20:06:00", "3"), fila("VALIDACION", "20:10:00"),
            fila("PUBLICACION", "20:30:00", detalle="20270606_2030")],
        b: [fila("ACOPIO", "21:00:00", "3"), fila("DIGITALIZACION", "21:10:00", "3"),
            fila("VALIDACION", "21:20:00"),
            fila("COTEJO", "21:40:00", "3", COTEJO_DIFERENCIAS),
            fila("CORRECCION", "21:45:00", "3"), fila("VALIDACION", "21:50:00"),
            fila("PUBLICACION", "22:30:00", detalle="20270606_2230")],
    }
    (corte / HISTORIAL).write_bytes(historial_csv(filas, simulacro=True))
    informe = compare(load_esperados(salida), corte)
    assert informe.ok  # the history changes no published value
    assert informe.tiempos is not None
    assert informe.tiempos.corregidas == [b]
    total = informe.tiempos.por_catd["3"]["acopio → publicación"]
    assert (total.n, total.p50, total.maximo) == (2, 30.0, 90.0)
    assert informe.tiempos.por_catd["3"]["acopio → digitalización"].maximo == 10.0
    # The last validation counts: b's correction was validated at 21:50.
    assert informe.tiempos.por_catd["3"]["digitalización → validación"].maximo == 40.0
    _, pdf_path = write_informe(informe, tmp_path / "informe")
    text = "".join(p.extract_text() for p in PdfReader(pdf_path).pages)
    assert "Tiempos por fase y por CATD" in text and b in text


def test_informe_of_a_night_compares_every_corte_and_names_the_corrections(
        small: Catalog, esperados: Esperados, salida: Path, tmp_path: Path) -> None:
    publicacion = tmp_path / "publicacion"
    when = corte_de_referencia(small).astimezone(UTC)
    estado = dict(esperados.estado)
    clave = next(k for k, a in esperados.actas.items() if a.caso == Caso.NORMAL.value)
    captura = estado[clave].captura
    assert captura is not None
    valores = dict(captura.items())
    valores["NULOS"] = int(valores["NULOS"]) + 1
    primero = dict(estado, **{clave: replace(estado[clave], captura=Captura.of(valores))})
    write_corte(publicacion, small, primero, esperados.fuera, when - timedelta(hours=2),
                simulacro=True)
    write_corte(publicacion, small, estado, esperados.fuera, when, simulacro=True)
    informe = compare_publicacion(load_esperados(salida), publicacion)
    assert informe.veredicto == COINCIDE  # the last corte is right
    assert [c.por_tipo[ERRONEA] for c in informe.cortes] == [1, 0]
    assert [c.coinciden for c in informe.cortes] == [informe.actas - 1, informe.actas]
    assert informe.corregidas_entre_cortes == [clave]
    _, pdf_path = write_informe(informe, tmp_path / "informe")
    text = "".join(p.extract_text() for p in PdfReader(pdf_path).pages)
    assert "Por corte" in text and clave in text


def test_the_cortes_of_a_publication_in_order_without_latest(tmp_path: Path) -> None:
    names = ["20270606_2300", "20270606_2300_2", "20270606_2300_10", "20270606_2300_9",
             "20270607_0100", ".20270607_0200.tmp-12"]
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / MANIFEST).write_text("", encoding="utf-8")
    (tmp_path / "latest").symlink_to("20270607_0100")
    assert [p.name for p in list_cortes(tmp_path)] == [
        "20270606_2300", "20270606_2300_2", "20270606_2300_9", "20270606_2300_10",
        "20270607_0100"]
    assert list_cortes(tmp_path / "20270606_2300_9") == [tmp_path / "20270606_2300_9"]
