"""The difusores as witnesses of the public log of cortes (issue 67; docs/difusores.md,
«El difusor como testigo»): what a difusor's signed report
(``POST /v1/difusores/reporte``, :mod:`central.difusores`) says of the log.

- ``"cofirma": {"tamano": n, "raiz": <base64>, "linea": "— <id> <base64>"}``: its
  cosignature (C2SP cosignature/v1) of the checkpoint of ``n`` cortes. Checked against
  the log (``registro_cortes``: the root of size ``n``, the log's origin) and the key the
  difusor registered: a valid one is kept once in ``cofirmas`` (the next corte
  publishes it in ``transparencia/cofirmas/<n>``). A cosignature of a head the log never
  had (another root for that size, or a size the log has not reached) means the
  difusor was served another history, or lies: the report is refused (409
  ``registro_bifurcado``), audited, and the coordinators get an anomaly.
- ``"bifurcacion": {"aceptado": {"tamano", "raiz"}, "recibido": "<signed note>"}``: the
  difusor refused a checkpoint that does not extend the one it accepted (a fork), and
  sends the checkpoint it was served as evidence. The report is accepted (the difusor
  did its job); the fork is audited and raised as an anomaly, saying whether the
  central's own key signed the checkpoint the log never had.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from central.audit import audit
from central.audit.anomalies import add_anomaly
from central.catalog.catalog_store import current
from central.db.estaciones import Difusor
from central.db.simulacro import is_simulacro
from central.db.transparencia import Cofirma
from central.db.transparencia import RegistroCorte
from central.node.errors import ApiError
from central.node.errors import Refused
from prep.catalog import Catalog
from prep.crypto import VerifyKey
from prep.transparencia import nota
from prep.transparencia.nota import Checkpoint
from prep.transparencia.nota import NotaError

MAX_LINEA = 400  # cofirmas.linea's bound: "— " + a 32-character id + 104 of base64
MAX_NOTA_RECIBIDA = 2048
ANOMALIA = "registro_bifurcado"
#: The log's origin of a catalog and a drill's flag (central.publication.transparencia's
#: ``origen``, handed down by the HTTP layer: publication sits above this module's users).
OrigenDe = Callable[[Catalog, bool], str]
_MALFORMADA = "La cofirma del reporte del difusor está incompleta o mal formada."


@dataclass(frozen=True)
class CofirmaReportada:
    """A cosignature as the report carries it."""

    tamano: int
    raiz: bytes
    linea: str


@dataclass(frozen=True)
class BifurcacionReportada:
    """A fork as the report carries it: the head the difusor accepted and the signed
    checkpoint it refused."""

    tamano: int
    raiz: bytes
    recibido: str


def leer_cofirma(data: Any) -> CofirmaReportada | None:
    """The report's ``cofirma`` (None: absent); anything malformed → 400."""
    if data is None:
        return None
    malformada = ApiError(400, "malformed", _MALFORMADA)
    if not isinstance(data, dict):
        raise malformada
    tamano, raiz, linea = data.get("tamano"), data.get("raiz"), data.get("linea")
    if not (isinstance(tamano, int) and not isinstance(tamano, bool) and 1 <= tamano < 2**31
            and isinstance(linea, str) and 0 < len(linea) <= MAX_LINEA):
        raise malformada
    return CofirmaReportada(tamano, _raiz(raiz, malformada), linea.rstrip("\n") + "\n")


def leer_bifurcacion(data: Any) -> BifurcacionReportada | None:
    """The report's ``bifurcacion`` (None: absent); anything malformed → 400."""
    if data is None:
        return None
    malformada = ApiError(400, "malformed", "La bifurcación que reporta el difusor está "
                                            "incompleta o mal formada.")
    aceptado = data.get("aceptado") if isinstance(data, dict) else None
    recibido = data.get("recibido") if isinstance(data, dict) else None
    if not isinstance(aceptado, dict) or not isinstance(recibido, str) \
            or len(recibido) > MAX_NOTA_RECIBIDA:
        raise malformada
    tamano = aceptado.get("tamano")
    if not (isinstance(tamano, int) and not isinstance(tamano, bool) and 1 <= tamano < 2**31):
        raise malformada
    return BifurcacionReportada(tamano, _raiz(aceptado.get("raiz"), malformada), recibido)


def _raiz(texto: Any, malformada: ApiError) -> bytes:
    try:
        raiz = base64.b64decode(str(texto), validate=True) if isinstance(texto, str) else b""
    except (binascii.Error, ValueError):
        raise malformada from None
    if len(raiz) != 32:
        raise malformada
    return raiz


def origen(session: Session, origen_de: OrigenDe) -> str:
    """The log's origin as the cortes sign it (the current catalog's entidad and date,
    ``-simulacro`` for a drill's central)."""
    cargado = current(session)
    if cargado is None:
        raise ApiError(409, "sin_registro", "El nodo central aún no publica cortes.")
    return origen_de(cargado[1], is_simulacro(session))


def registrar_cofirma(session: Session, difusor: Difusor, cofirma: CofirmaReportada,
                      auditar: Callable[[str], int | None], origen_: str) -> int:
    """Keep ``difusor``'s valid cosignature (once); the size it cosigned. Raises
    :class:`~central.errors.Refused` for a head the log never had (audited, with its
    anomaly, as ``auditar(clave)`` allows: once a minute per difusor)."""
    assert difusor.public_key is not None
    llave = VerifyKey.from_raw(bytes(difusor.public_key))
    reportado = Checkpoint(origen_, cofirma.tamano, cofirma.raiz)
    try:
        firmas = nota.leer(reportado.texto().encode() + b"\n" + cofirma.linea.encode()).firmas
    except NotaError:
        raise ApiError(400, "malformed", _MALFORMADA) from None
    if len(firmas) != 1:
        raise ApiError(400, "malformed", _MALFORMADA)
    raiz = session.scalar(select(RegistroCorte.raiz)
                          .where(RegistroCorte.indice == cofirma.tamano - 1))
    firma_valida = nota.cofirma_valida(reportado, firmas[0], difusor.id, llave)
    if raiz is not None and bytes(raiz) == cofirma.raiz:
        if firma_valida is None:
            raise ApiError(409, "cofirma_invalida", f"La cofirma del checkpoint de "
                           f"{cofirma.tamano} cortes no es una firma válida de la llave "
                           "registrada de este difusor.")
        session.execute(insert(Cofirma).values(
            difusor=difusor.id, tamano=cofirma.tamano, linea=cofirma.linea,
            hora_cofirma=firma_valida).on_conflict_do_nothing())
        return cofirma.tamano
    tamano_log = int(session.scalar(select(func.count()).select_from(RegistroCorte)) or 0)
    mensaje = (f"El difusor cofirmó un checkpoint de {cofirma.tamano} cortes que el "
               "registro del nodo central nunca tuvo"
               + (" (su raíz es otra): se le sirvió otra historia de cortes, o su llave "
                  "firma lo que no vio" if raiz is not None
                  else f" (el registro tiene {tamano_log} cortes)") + ". No se guarda.")
    omitidos = auditar(f"{difusor.id}\0cofirma")
    if omitidos is None:
        raise ApiError(409, ANOMALIA, mensaje)
    raise Refused(
        409, ANOMALIA, mensaje,
        event="difusor_cofirma_rechazada", actor=difusor.id,
        detail={"difusor": difusor.id, "tamano": cofirma.tamano,
                "raiz_cofirmada": base64.b64encode(cofirma.raiz).decode(),
                "raiz_registro": base64.b64encode(bytes(raiz)).decode()
                if raiz is not None else None,
                "tamano_registro": tamano_log, "firma_valida": firma_valida is not None,
                "origen": origen_, "no_auditados": omitidos},
        anomaly=True, unsigned=False)


def registrar_bifurcacion(session: Session, difusor: Difusor,
                          bifurcacion: BifurcacionReportada, central_key: VerifyKey,
                          auditar: Callable[[str], int | None], origen_: str) -> None:
    """Audit a fork a difusor refused, and raise the coordinators' anomaly (in
    ``session``'s transaction: the report itself is accepted), once a minute per
    difusor as ``auditar`` allows (it reports it again every few minutes)."""
    omitidos = auditar(f"{difusor.id}\0bifurcacion")
    if omitidos is None:
        return
    firmado = False
    recibido: Checkpoint | None = None
    try:
        leida = nota.leer(bifurcacion.recibido.encode())
        recibido = nota.checkpoint(leida)
        firmado = nota.firmada_por(leida, recibido.origen, central_key)
    except NotaError:
        pass
    en_registro = None
    if recibido is not None and recibido.origen == origen_:
        raiz = session.scalar(select(RegistroCorte.raiz)
                              .where(RegistroCorte.indice == recibido.tamano - 1))
        en_registro = raiz is not None and bytes(raiz) == recibido.raiz
    detail = {
        "difusor": difusor.id, "tamano": bifurcacion.tamano,
        "raiz_aceptada": base64.b64encode(bifurcacion.raiz).decode(),
        "tamano_recibido": recibido.tamano if recibido is not None else None,
        "raiz_recibida": base64.b64encode(recibido.raiz).decode()
        if recibido is not None else None,
        "firmado_por_el_nodo_central": firmado, "recibido_en_registro": en_registro,
        "origen": origen_, "no_auditados": omitidos}
    audit.emit(session, "difusor_bifurcacion", actor=difusor.id, detail=detail)
    add_anomaly(session, ANOMALIA, None, detail)
