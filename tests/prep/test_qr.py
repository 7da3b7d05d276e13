"""Reading acta codes: every form an acopiador's reader or keyboard can produce resolves to
the right catalog acta, anything else is refused with a reason and a Spanish instruction,
and nothing outside the catalog (or a different acta) is ever accepted."""

from __future__ import annotations

import io
import string
from collections.abc import Callable

import PIL.Image
import pytest
import zxingcpp
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from prep.catalog import Acta
from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.qr import ENTIDAD_CAPACITACION
from prep.qr import ActaCodec
from prep.qr import CodeRejected
from prep.qr import CompactFormat
from prep.qr import LabelFormat
from prep.qr import Motivo
from prep.qr import PipeFormat
from prep.qr import label_payload
from prep.qr import label_qr_png
from prep.qr import normalize

pytestmark = pytest.mark.rapido

#: What a US-layout keyboard-wedge reader types for ``|`` (and ``'``) on Spanish (Spain and
#: Latin America) OS layouts, plus plain punctuation.
GARBLED = ("Ç", "ç", "]", "}", "¡", "'", "-", "°")
#: Non-alphanumeric characters a reader or a person may put between fields.
SEPARADORES = (*GARBLED, *"|!\"#$%&/()=?¿*+,.:;<>@[\\^_`{~´¨¬·ºª«»§€ \xa0")
SUFIJOS = ("", "\r", "\n", "\r\n", "\t", " ", "  \r\n")

#: The imperative part of each message: what the operator must do next.
INSTRUCCION: dict[Motivo, str] = {
    Motivo.VACIO: "Vuelva a escanear",
    Motivo.DEMASIADO_LARGO: "Vuelva a escanear",
    Motivo.ILEGIBLE: "escriba la clave",
    Motivo.OTRA_ENTIDAD: "avise al coordinador",
    Motivo.ELECCION_DESCONOCIDA: "Revise el acta",
    Motivo.FUERA_DE_CATALOGO: "regístrela como fuera de catálogo",
    Motivo.DISTRITO_NO_CORRESPONDE: "Avise al coordinador",
    Motivo.TIPO_ACTA_NO_CORRESPONDE: "Avise al coordinador",
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return generate_catalog(2027, 0.02)


@pytest.fixture(scope="module")
def codec(catalog: Catalog) -> ActaCodec:
    return ActaCodec(catalog)


@pytest.fixture(scope="module")
def actas(catalog: Catalog) -> list[Acta]:
    return list(catalog.iter_actas())


@pytest.fixture(scope="module")
def acta(catalog: Catalog) -> Acta:
    """A contigua of a two-digit distrito for the distrito election: every field matters."""
    diputaciones = catalog.elecciones[1]
    return next(a for a in catalog.actas(diputaciones)
                if a.casilla.distrito_id >= 10 and a.casilla.tipo == "C"
                and a.casilla.id_casilla >= 2 and a.casilla.seccion >= 1000)


def pipe(a: Acta, sep: str = "|", *, padded: bool = True, distrito: int | None = None,
         tipo_acta: str | None = None, entidad: int | None = None) -> str:
    """The public simulacro generator's form, written independently of prep.qr."""
    c, e = a.casilla, a.eleccion
    ent = c.entidad_id if entidad is None else entidad
    dist = c.distrito_id if distrito is None else distrito
    ta = a.tipo_acta if tipo_acta is None else tipo_acta  # the form of this casilla's acta
    if padded:
        fields = [f"{ent:02d}", f"{dist:03d}", ta, f"{c.seccion:04d}", f"{c.id_casilla:02d}",
                  c.tipo, f"{c.ext_contigua:02d}", e.codigo]
    else:
        fields = [str(ent), str(dist), ta, str(c.seccion), str(c.id_casilla), c.tipo,
                  str(c.ext_contigua), str(int(e.codigo))]
    return sep.join(fields)


def _rejection(codec: ActaCodec, raw: str) -> CodeRejected:
    with pytest.raises(CodeRejected) as info:
        codec.decode(raw)
    return info.value


# ---------------------------------------------------------------------- accepted forms


ACCEPTED: list[tuple[str, Callable[[Acta], str]]] = [
    ("clave-acta", lambda a: a.clave),
    ("clave-entre-comillas-csv", lambda a: f"'{a.clave}'"),
    ("comillas-como-llaves", lambda a: f"{{{a.clave}{{"),
    ("bloq-mayus", lambda a: a.clave.lower()),
    ("sufijo-cr", lambda a: a.clave + "\r"),
    ("sufijo-lf", lambda a: a.clave + "\n"),
    ("sufijo-crlf", lambda a: a.clave + "\r\n"),
    ("sufijo-tab", lambda a: a.clave + "\t"),
    ("espacios", lambda a: f"   {a.clave}  "),
    ("comillas-minusculas-crlf", lambda a: f"'{a.clave.lower()}'\r\n"),
    ("pipe", lambda a: pipe(a)),
    ("pipe-distrito-2-digitos", lambda a: pipe(a).replace(
        f"|{a.casilla.distrito_id:03d}|", f"|{a.casilla.distrito_id:02d}|")),
    ("pipe-sin-ceros", lambda a: pipe(a, padded=False)),
    ("pipe-tipo-acta-con-cero", lambda a: pipe(a, tipo_acta=f"0{a.tipo_acta}")),
    ("pipe-minusculas-crlf", lambda a: pipe(a).lower() + "\r\n"),
    *((f"pipe-como-{sep!r}", lambda a, sep=sep: pipe(a, sep)) for sep in GARBLED),
    *((f"pipe-sin-ceros-como-{sep!r}", lambda a, sep=sep: pipe(a, sep, padded=False))
      for sep in GARBLED),
    ("etiqueta", lambda a: f"PREP1|{a.clave}"),
    ("etiqueta-crlf", lambda a: f"PREP1|{a.clave}\r\n"),
    ("etiqueta-bloq-mayus", lambda a: f"prep1|{a.clave.lower()}"),
    *((f"etiqueta-como-{sep!r}", lambda a, sep=sep: f"PREP1{sep}{a.clave}")
      for sep in GARBLED),
    ("etiqueta-ç-minusculas", lambda a: f"prep1ç{a.clave.lower()}\n"),
]


@pytest.mark.parametrize("build", [pytest.param(b, id=i) for i, b in ACCEPTED])
def test_accepted_form_decodes_to_the_acta(codec: ActaCodec, acta: Acta,
                                          build: Callable[[Acta], str]) -> None:
    assert codec.decode(build(acta)) is acta


def test_every_election_and_casilla_type_decodes(catalog: Catalog, codec: ActaCodec) -> None:
    for e in catalog.elecciones:
        for tipo in "BCESUAM":
            a = next((x for x in catalog.actas(e) if x.casilla.tipo == tipo), None)
            if a is None:  # the mesa of voto en el extranjero counts Jefatura only
                assert tipo == "M" and e.codigo != "01"
                continue
            for raw in (a.clave, f"'{a.clave}'", pipe(a), pipe(a, "Ç", padded=False),
                        label_payload(a)):
                assert codec.decode(raw) is a, raw


def test_especial_and_urna_qr_carry_their_own_tipo_acta(catalog: Catalog,
                                                        codec: ActaCodec) -> None:
    """Issue 28: an especial's acta (and an urna electrónica's) is another form, with
    another TIPO_ACTA in its QR; the election's ordinary one is refused there."""
    for e in catalog.elecciones:
        for tipo in "SU":
            a = next(x for x in catalog.actas(e) if x.casilla.tipo == tipo)
            assert a.tipo_acta != e.tipo_acta
            assert codec.decode(pipe(a)) is a
            rechazo = _rejection(codec, pipe(a, tipo_acta=e.tipo_acta))
            assert rechazo.motivo is Motivo.TIPO_ACTA_NO_CORRESPONDE
            assert f"usa el tipo {a.tipo_acta} en las casillas de tipo {tipo}" in str(rechazo)
        basica = next(x for x in catalog.actas(e) if x.casilla.tipo == "B")
        assert basica.tipo_acta == e.tipo_acta
        especial = next(x for x in catalog.actas(e) if x.casilla.tipo == "S")
        assert _rejection(codec, pipe(basica, tipo_acta=especial.tipo_acta)).motivo \
            is Motivo.TIPO_ACTA_NO_CORRESPONDE


def test_normalize_undoes_keyboard_damage() -> None:
    tokens, compact = normalize(" prep1Ç090123b0100 02\r\n")
    assert tokens == ["PREP1", "090123B0100", "02"]
    assert compact == "PREP1090123B010002"
    assert normalize("'090123B010002'")[1] == "090123B010002"


def test_formats_are_pluggable(catalog: Catalog, acta: Acta) -> None:
    solo_clave = ActaCodec(catalog, formats=(CompactFormat(),))
    assert solo_clave.decode(acta.clave) is acta
    assert _rejection(solo_clave, pipe(acta)).motivo is Motivo.ILEGIBLE
    solo_pipe = ActaCodec(catalog, formats=(PipeFormat(),))
    assert solo_pipe.decode(pipe(acta, "]")) is acta
    assert _rejection(solo_pipe, acta.clave).motivo is Motivo.ILEGIBLE
    solo_etiqueta = ActaCodec(catalog, formats=(LabelFormat(),))
    assert solo_etiqueta.decode(label_payload(acta)) is acta
    assert _rejection(solo_etiqueta, acta.clave).motivo is Motivo.ILEGIBLE


@pytest.mark.parametrize("sep", ["ß"], ids=["teclado-aleman-guion"])
def test_separator_whose_uppercase_is_ascii_is_still_a_separator(
        codec: ActaCodec, acta: Acta, sep: str) -> None:
    """prep/qr.py promises that *any* single non-ASCII-alphanumeric character between
    fields is a separator; a US-layout reader on a German OS types ``-`` as ``ß``."""
    assert codec.decode(pipe(acta, sep)) is acta
    assert codec.decode(f"PREP1{sep}{acta.clave}") is acta


# -------------------------------------------------------------------------- rejections


def _fuera_de_catalogo(catalog: Catalog, acta: Acta) -> str:
    secciones = {c.seccion for c in catalog.casillas}
    libre = next(s for s in range(1, 10000) if s not in secciones)
    return f"09{libre:04d}B0100{acta.eleccion.codigo}"


#: (id, raw builder, motivo, clave_leida builder or None)
REJECTED: list[tuple[str, Callable[[Catalog, Acta], str], Motivo,
                     Callable[[Catalog, Acta], str] | None]] = [
    ("vacio", lambda c, a: "", Motivo.VACIO, None),
    ("solo-espacios", lambda c, a: "  \t \r\n", Motivo.VACIO, None),
    ("300-caracteres", lambda c, a: "9" * 300, Motivo.DEMASIADO_LARGO, None),
    ("hola", lambda c, a: "hola", Motivo.ILEGIBLE, None),
    ("url", lambda c, a: "https://prep.iecm.mx/actas?clave=1", Motivo.ILEGIBLE, None),
    ("clave-incompleta", lambda c, a: a.clave[:-1], Motivo.ILEGIBLE, None),
    ("clave-con-digito-de-mas", lambda c, a: a.clave + "1", Motivo.ILEGIBLE, None),
    ("pipe-7-campos", lambda c, a: pipe(a).rsplit("|", 1)[0], Motivo.ILEGIBLE, None),
    ("etiqueta-de-otro-sistema", lambda c, a: f"PREP2|{a.clave}", Motivo.ILEGIBLE, None),
    ("otra-entidad", lambda c, a: "15" + a.clave[2:], Motivo.OTRA_ENTIDAD,
     lambda c, a: "15" + a.clave[2:]),
    ("otra-entidad-pipe", lambda c, a: pipe(a, entidad=15), Motivo.OTRA_ENTIDAD,
     lambda c, a: "15" + a.clave[2:]),
    ("eleccion-desconocida", lambda c, a: a.clave[:11] + "09", Motivo.ELECCION_DESCONOCIDA,
     lambda c, a: a.clave[:11] + "09"),
    ("seccion-fuera-de-catalogo", _fuera_de_catalogo, Motivo.FUERA_DE_CATALOGO,
     _fuera_de_catalogo),
    ("casilla-fuera-de-catalogo", lambda c, a: a.clave[:6] + "C9900" + a.clave[11:],
     Motivo.FUERA_DE_CATALOGO, lambda c, a: a.clave[:6] + "C9900" + a.clave[11:]),
    ("fuera-de-catalogo-pipe", lambda c, a: pipe(a).replace(
        f"|{a.casilla.tipo}|", "|M|"), Motivo.FUERA_DE_CATALOGO,
     lambda c, a: a.clave[:6] + "M" + a.clave[7:]),
    ("pipe-otro-distrito", lambda c, a: pipe(a, distrito=a.casilla.distrito_id + 1),
     Motivo.DISTRITO_NO_CORRESPONDE, lambda c, a: a.clave),
    ("pipe-otro-tipo-acta", lambda c, a: pipe(a, tipo_acta="3"),
     Motivo.TIPO_ACTA_NO_CORRESPONDE, lambda c, a: a.clave),
]


@pytest.mark.parametrize(("build", "motivo", "clave"),
                         [pytest.param(b, m, k, id=i) for i, b, m, k in REJECTED])
def test_rejected_code_says_why_and_what_to_do(
        catalog: Catalog, codec: ActaCodec, acta: Acta, build: Callable[[Catalog, Acta], str],
        motivo: Motivo, clave: Callable[[Catalog, Acta], str] | None) -> None:
    error = _rejection(codec, build(catalog, acta))
    assert error.motivo is motivo
    assert error.clave_leida == (None if clave is None else clave(catalog, acta))
    if error.clave_leida is not None:
        assert len(error.clave_leida) == 13
    assert str(error) == error.mensaje
    assert INSTRUCCION[motivo].lower() in error.mensaje.lower(), error.mensaje


def test_rejection_messages_name_what_was_read(catalog: Catalog, codec: ActaCodec,
                                               acta: Acta) -> None:
    assert "15" in _rejection(codec, "15" + acta.clave[2:]).mensaje
    msg = _rejection(codec, acta.clave[:11] + "09").mensaje
    assert all(e.nombre in msg for e in catalog.elecciones)
    fuera = _fuera_de_catalogo(catalog, acta)
    assert fuera[:11] in _rejection(codec, fuera).mensaje
    otro = acta.casilla.distrito_id + 1
    msg = _rejection(codec, pipe(acta, distrito=otro)).mensaje
    assert f"{otro:02d}" in msg and f"{acta.casilla.distrito_id:02d}" in msg
    assert "300" in _rejection(codec, "9" * 300).mensaje


# ----------------------------------------------------------------------------- properties


PROPS = settings(max_examples=100, deadline=None, database=None)


def _random_case(data: st.DataObject, text: str) -> str:
    flips = data.draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(ch.swapcase() if f else ch for ch, f in zip(text, flips, strict=True))


def _padded(data: st.DataObject, value: int, width: int) -> str:
    return str(value).zfill(data.draw(st.integers(len(str(value)), width)))


@PROPS
@given(data=st.data())
def test_property_every_form_of_every_acta_round_trips(codec: ActaCodec, actas: list[Acta],
                                                       data: st.DataObject) -> None:
    a = data.draw(st.sampled_from(actas))
    c, e = a.casilla, a.eleccion
    seps = data.draw(st.lists(st.sampled_from(SEPARADORES), min_size=7, max_size=7))
    suffix = data.draw(st.sampled_from(SUFIJOS))
    fields = [_padded(data, c.entidad_id, 2), _padded(data, c.distrito_id, 3),
              _padded(data, int(a.tipo_acta), 2), _padded(data, c.seccion, 4),
              _padded(data, c.id_casilla, 2), c.tipo, _padded(data, c.ext_contigua, 2),
              _padded(data, int(e.codigo), 2)]
    raw_pipe = fields[0] + "".join(s + f for s, f in zip(seps, fields[1:], strict=True))
    assert codec.decode(_random_case(data, raw_pipe) + suffix) is a

    quote = data.draw(st.sampled_from(("", *SEPARADORES)))
    assert codec.decode(_random_case(data, f"{quote}{a.clave}{quote}") + suffix) is a

    assert codec.decode(_random_case(data, f"PREP1{seps[0]}{a.clave}") + suffix) is a


def _claves_escritas(raw: str) -> set[str]:
    """Every CLAVE_ACTA ``raw`` may legitimately spell (an independent model of the forms):
    the ASCII letters and digits joined (compact), without a PREP1 prefix (label), or the
    eight fields of the pipe form."""
    fields: list[str] = [""]
    for ch in raw.strip():
        if ch.isascii() and ch.isalnum():
            fields[-1] += ch.upper()
        elif not ch.isprintable() and not ch.isspace():
            continue
        else:
            fields.append("")
    compact = "".join(fields)
    claves = {compact, compact.removeprefix("PREP1")}
    if len(fields) == 8 and all(fields):
        ent, _, _, sec, id_cas, tipo, ext, cand = fields
        if all(x.isdigit() for x in (ent, sec, id_cas, ext, cand)):
            claves.add(f"{int(ent):02d}{int(sec):04d}{tipo}{int(id_cas):02d}{int(ext):02d}"
                       f"{int(cand):02d}")
    return claves


@PROPS
@given(raw=st.text(max_size=300))
def test_property_arbitrary_text_never_names_another_acta(catalog: Catalog,
                                                          codec: ActaCodec, raw: str) -> None:
    try:
        found = codec.decode(raw)
    except CodeRejected as error:
        assert isinstance(error.motivo, Motivo)
        assert error.mensaje
        assert error.clave_leida is None or len(error.clave_leida) == 13
        return
    assert catalog.actas_por_clave[found.clave] is found
    assert found.clave in _claves_escritas(raw)


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=string.digits, min_size=n, max_size=n)


@PROPS
@given(data=st.data())
def test_property_compact_codes_resolve_exactly_or_say_why(
        catalog: Catalog, codec: ActaCodec, actas: list[Acta], data: st.DataObject) -> None:
    base = data.draw(st.sampled_from(actas)).clave
    ent = data.draw(st.one_of(st.just(base[:2]), _digits(2)))
    sec = data.draw(st.one_of(st.just(base[2:6]), _digits(4)))
    tipo = data.draw(st.one_of(st.just(base[6]), st.sampled_from(string.ascii_uppercase)))
    id_cas = data.draw(st.one_of(st.just(base[7:9]), _digits(2)))
    ext = data.draw(st.one_of(st.just(base[9:11]), _digits(2)))
    elec = data.draw(st.one_of(st.just(base[11:]), _digits(2)))
    clave = ent + sec + tipo + id_cas + ext + elec
    sep = data.draw(st.sampled_from(SEPARADORES))
    before, after = data.draw(st.sampled_from((("", ""), ("'", "'"), ("PREP1" + sep, ""),
                                               (" ", "\r\n"))))
    raw = _random_case(data, before + clave + after)

    motivos: set[Motivo] = set()
    if ent == f"{ENTIDAD_CAPACITACION:02d}":
        motivos.add(Motivo.CAPACITACION)
    if ent != "09":
        motivos.add(Motivo.OTRA_ENTIDAD)
    if elec not in catalog.eleccion_por_codigo:
        motivos.add(Motivo.ELECCION_DESCONOCIDA)
    if not motivos and clave not in catalog.actas_por_clave:
        motivos.add(Motivo.FUERA_DE_CATALOGO)
    _assert_accepted_iff_valid(codec, raw, motivos, clave,
                               catalog.actas_por_clave.get(clave))


@PROPS
@given(data=st.data())
def test_property_pipe_codes_resolve_exactly_or_say_why(
        catalog: Catalog, codec: ActaCodec, actas: list[Acta], data: st.DataObject) -> None:
    a = data.draw(st.sampled_from(actas))
    c, e = a.casilla, a.eleccion
    ent = data.draw(st.one_of(st.just(c.entidad_id), st.integers(0, 99)))
    dist = data.draw(st.one_of(st.just(c.distrito_id), st.integers(0, 40)))
    tipo_acta = data.draw(st.one_of(st.just(int(a.tipo_acta)), st.integers(0, 12)))
    sec = data.draw(st.one_of(st.just(c.seccion), st.integers(0, 9999)))
    tipo = data.draw(st.one_of(st.just(c.tipo), st.sampled_from(string.ascii_uppercase)))
    id_cas = data.draw(st.one_of(st.just(c.id_casilla), st.integers(0, 99)))
    ext = data.draw(st.one_of(st.just(c.ext_contigua), st.integers(0, 99)))
    cand = data.draw(st.one_of(st.just(int(e.codigo)), st.integers(0, 99)))
    fields = [_padded(data, ent, 2), _padded(data, dist, 3), _padded(data, tipo_acta, 2),
              _padded(data, sec, 4), _padded(data, id_cas, 2), tipo, _padded(data, ext, 2),
              _padded(data, cand, 2)]
    sep = data.draw(st.sampled_from(SEPARADORES))
    raw = _random_case(data, sep.join(fields))
    clave = f"{ent:02d}{sec:04d}{tipo}{id_cas:02d}{ext:02d}{cand:02d}"

    eleccion = catalog.eleccion_por_codigo.get(f"{cand:02d}")
    acta = catalog.actas_por_clave.get(clave)
    tipo_acta_mal = eleccion is not None and tipo_acta != int(
        acta.tipo_acta if acta is not None else eleccion.tipo_acta)
    motivos: set[Motivo] = set()
    if ent == ENTIDAD_CAPACITACION:
        motivos.add(Motivo.CAPACITACION)
    if ent != catalog.entidad_id:
        motivos.add(Motivo.OTRA_ENTIDAD)
    if eleccion is None:
        motivos.add(Motivo.ELECCION_DESCONOCIDA)
    if not motivos:
        if acta is None:
            motivos.add(Motivo.FUERA_DE_CATALOGO)
        elif dist != acta.casilla.distrito_id:
            motivos.add(Motivo.DISTRITO_NO_CORRESPONDE)
        if tipo_acta_mal:
            motivos.add(Motivo.TIPO_ACTA_NO_CORRESPONDE)
    _assert_accepted_iff_valid(codec, raw, motivos, clave, acta)


# ------------------------------------------------------------------------------ label QR


def _read_qr(png: bytes) -> list[str]:
    image = PIL.Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return [r.text for r in zxingcpp.read_barcodes(image)
            if r.format == zxingcpp.BarcodeFormat.QRCode]


def test_label_qr_reads_back_to_the_same_acta(catalog: Catalog, codec: ActaCodec) -> None:
    especial = next(c for c in catalog.casillas if c.tipo == "S")
    muestras = [*(catalog.actas(e)[-1] for e in catalog.elecciones),
                *(a for a in catalog.iter_actas() if a.casilla is especial)]
    for a in muestras:
        payload = label_payload(a)
        assert payload == f"PREP1|{a.clave}"
        assert _read_qr(label_qr_png(a)) == [payload]
        assert codec.decode(payload) is a
        # What a wedge reader on a Spanish layout types for it still resolves.
        assert codec.decode(payload.replace("|", "Ç").lower() + "\r\n") is a


def test_label_qr_scale_changes_size_not_content(acta: Acta) -> None:
    small, big = label_qr_png(acta, scale=3), label_qr_png(acta, scale=8)
    w_small = PIL.Image.open(io.BytesIO(small)).width
    w_big = PIL.Image.open(io.BytesIO(big)).width
    assert w_big > w_small
    assert _read_qr(small) == _read_qr(big) == [label_payload(acta)]


def _assert_accepted_iff_valid(codec: ActaCodec, raw: str, motivos: set[Motivo], clave: str,
                               expected: Acta | None) -> None:
    """``raw`` is rejected for one of ``motivos`` (naming ``clave``), or, when there is
    no reason to reject it, decodes to exactly ``expected``."""
    try:
        found = codec.decode(raw)
    except CodeRejected as error:
        assert error.motivo in motivos, (raw, error.motivo)
        # A practice acta's code is never offered as fuera de catálogo (issue 62).
        assert error.clave_leida == (None if error.motivo is Motivo.CAPACITACION else clave)
        return
    assert not motivos, (raw, found.clave)
    assert found is expected


# ----------------------------------------------------------------- practice actas (62)


def test_a_practice_actas_qr_is_refused_by_a_real_catalog_and_only_accepted_in_training(
        catalog: Catalog) -> None:
    from prep.capacitacion.practica import practice_catalog
    from prep.sintetico.acta_image import acta_qr_text

    practica = practice_catalog(2027)
    acta = next(iter(practica.iter_actas()))
    qr = acta_qr_text(acta)
    assert qr.startswith("CAPACITACION|99|")
    assert ActaCodec(practica).decode(qr) is acta
    # As a keyboard wedge on a Spanish OS types it, lower-cased: still a practice acta.
    for raw in (qr, qr.replace("|", "Ç").lower(), qr.removeprefix("CAPACITACION|"),
                f"'{acta.clave}'"):
        with pytest.raises(CodeRejected) as refused:
            ActaCodec(catalog).decode(raw)
        assert refused.value.motivo is Motivo.CAPACITACION
        assert "CAPACITACIÓN" in refused.value.mensaje and refused.value.clave_leida is None
    # The mark on a real acta's code does not make it a practice one in a real catalog...
    real = next(iter(catalog.iter_actas()))
    with pytest.raises(CodeRejected) as refused:
        ActaCodec(catalog).decode(f"CAPACITACION|{acta_qr_text(real)}")
    assert refused.value.motivo is Motivo.CAPACITACION
    # ...and a training station takes no real acta.
    with pytest.raises(CodeRejected) as refused:
        ActaCodec(practica).decode(acta_qr_text(real))
    assert refused.value.motivo is Motivo.NO_ES_DE_CAPACITACION
    # No practice CLAVE_ACTA is a real one.
    assert not set(practica.actas_por_clave) & set(catalog.actas_por_clave)
