"""One poll of the origins, and the loop of ``prep difusor run``.

Origins are tried in the order configured (the institute's site, then its contingency
site): the first that serves a valid signed index is followed, and a new corte is
downloaded from it, verified with ``prep verify-corte``'s code, and only then served.
Any failure of an origin (it is down, slow past the poll's deadline, serves something
refused, a signed index older than twice the institute's corte period, or anything
unexpected) moves on to the next origin. Whatever fails, the corte already served stays
online; the failure is logged and kept for ``prep difusor status``.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from difusor import metricas
from difusor import registro as inscripcion
from difusor import testigo as testigos
from difusor.cliente import Origen
from difusor.cliente import ssl_context
from difusor.config import Config
from difusor.descarga import descargar
from difusor.errores import CorteInvalido
from difusor.errores import Desactualizado
from difusor.errores import DifusorError
from difusor.errores import Rechazo
from difusor.espejo_registro import reflejar
from difusor.estado import Estado
from difusor.estado import ahora
from difusor.estado import cargar
from difusor.estado import guardar
from difusor.indice import Indice
from difusor.indice import leer_indice
from difusor.indice import orden
from difusor.raiz import Raiz
from difusor.reporte import informar
from prep.corte.verify import verify_corte
from prep.logsetup import fields
from prep.rules import DEFAULT_RULES
from prep.rules import RuleSet

log = logging.getLogger("difusor")
LOCK = "difusor.lock"


@dataclass(frozen=True)
class Consulta:
    """The outcome of one poll."""

    ok: bool
    corte: str | None  # served after the poll
    nuevo: bool  # a new corte was published by this poll
    mensaje: str


def consultar(config: Config, datos: Path) -> Consulta:
    """Poll the origins once (one poll at a time per data directory)."""
    datos.mkdir(parents=True, exist_ok=True)
    with (datos / LOCK).open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DifusorError(f"otro «prep difusor run» usa {datos}") from None
        estado = cargar(datos)
        testigo = _Testigo(datos)
        resultado = _consultar(config, estado, testigo)
        informar(datos, estado, Raiz(config.raiz), testigo.estado)
        guardar(datos, estado)
        return resultado


class Detenido(KeyboardInterrupt):
    """Ctrl+C (SIGINT) or SIGTERM: ``run`` ends where it is; what is served stays."""

    def __init__(self, senal: str) -> None:
        super().__init__(senal)
        self.senal = senal


def correr(config: Config, datos: Path, una_vez: bool) -> int:
    """``prep difusor run``: poll every ``config.intervalo`` seconds (or once), until
    SIGINT or SIGTERM (then 0, and one line in the log)."""
    try:
        with _al_detener():
            while True:
                resultado = consultar(config, datos)
                if una_vez:
                    print(resultado.mensaje)
                    return 0 if resultado.ok else 1
                time.sleep(config.intervalo)
    except Detenido as stop:
        log.info("difusor detenido por %s; se sigue sirviendo %s", stop.senal,
                 Raiz(config.raiz).actual() or "(ningún corte aún)")
        return 0


@contextlib.contextmanager
def _al_detener() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Detenido` in the main thread, wherever the poll
    is: a read of the index or the report to the central (a blocked read is cut by the
    signal), the wait between polls, a download (``descargar`` aborts its threads'
    reads), a verification. Installed here, not left to Python's default: a process
    started where SIGINT is ignored (a script's ``prep difusor run &``, a test suite
    launched so) inherits that, and its Ctrl+C would never arrive; and SIGTERM, a
    service manager's stop, would kill it with no cleanup and no word in the log."""
    def stop(signum: int, frame: FrameType | None) -> None:
        raise Detenido(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            if handler is not None:  # None: not set from Python, nothing to put back
                signal.signal(sig, handler)


class _Testigo:
    """The witness's state for one poll (:mod:`difusor.testigo`) and who cosigns: the
    registered difusor's id and key (None: not registered; it still checks)."""

    def __init__(self, datos: Path) -> None:
        self.datos = datos
        self.estado = testigos.cargar(datos)
        try:
            inscrito = inscripcion.cargar(datos)
        except DifusorError:
            inscrito = None  # reported by informar(); the log is still checked
        self.cofirmante = (inscrito.difusor, inscripcion.llave(datos)) \
            if inscrito is not None else None

    def comprobar(self, origen: Origen, indice: Indice, servido: str | None
                  ) -> testigos.Comprobado | None:
        assert indice.ultimo is not None
        try:
            return testigos.comprobar(origen, indice.llave, indice.ultimo.nombre,
                                      indice.ultimo.manifiesto_sha256, self.estado,
                                      servido or "(ningún corte aún)")
        except testigos.Bifurcacion as fork:
            log.error("%s", fork)  # names both heads
            testigos.anotar_bifurcacion(self.estado, origen.url, fork)
            testigos.guardar(self.datos, self.estado)
            metricas.bifurcacion(True)
            raise

    def aceptar(self, origen: Origen, raiz: Raiz,
                comprobado: testigos.Comprobado | None) -> None:
        """The corte is served: ``comprobado`` becomes the base and is cosigned."""
        if comprobado is None:
            return
        if self.estado.bifurcacion is not None \
                and self.estado.bifurcacion.get("url") == origen.url:
            self.estado.bifurcacion = None  # that origin serves the history seen again
            metricas.bifurcacion(False)
        testigos.aceptar(self.estado, comprobado, self.cofirmante)
        testigos.guardar(self.datos, self.estado)
        metricas.cofirmado(comprobado.checkpoint.tamano)
        reflejar(origen, raiz.path, comprobado)


def _consultar(config: Config, estado: Estado, testigo: _Testigo) -> Consulta:
    estado.ultimo_intento = ahora()
    raiz = Raiz(config.raiz)
    raiz.preparar()
    context = ssl_context(config.ca)
    rules = RuleSet.from_toml(config.reglas) if config.reglas else DEFAULT_RULES
    fallas: list[str] = []
    for url in config.origenes:
        origen = Origen(url, context, config.limites.segundos, config.limites.expansion)
        try:
            with origen.plazo(config.limites.plazo, "la consulta"):
                resultado = _desde(origen, config, raiz, estado, rules, testigo)
        except DifusorError as exc:
            metricas.rejected(exc)
            if isinstance(exc, CorteInvalido):
                estado.rechazados[exc.nombre] = exc.manifiesto_sha256
            if isinstance(exc, Rechazo):
                estado.rechazos += 1
            log.error("%s: %s", url, exc)
            estado.anotar_error(url, str(exc))
            fallas.append(f"{url}: {exc}")
            continue
        except OSError as exc:  # this machine's disk, not the origin: no use trying another
            metricas.rejected(exc)
            log.error("error local al descargar o publicar desde %s: %s", url, exc)
            estado.anotar_error(url, f"error local: {exc}")
            fallas.append(f"error local al descargar o publicar: {exc}")
            break
        except Exception as exc:  # a fault of ours must not stop the failover
            metricas.rejected(exc)
            log.exception("error inesperado con %s", url)
            mensaje = f"error inesperado: {type(exc).__name__}: {str(exc)[:200]}"
            estado.anotar_error(url, mensaje)
            fallas.append(f"{url}: {mensaje}")
            continue
        finally:
            origen.close_all()
        estado.ultimo_exito = estado.ultimo_intento
        estado.error = None
        metricas.polled(True)
        metricas.al_dia(True)
        return resultado
    metricas.polled(False)
    metricas.al_dia(False)
    servido = raiz.actual()
    estado.error = " | ".join(fallas)
    mensaje = (f"ningún origen dio un corte válido; se sigue sirviendo "
               f"{servido or '(ningún corte aún)'}. {estado.error}")
    return Consulta(False, servido, False, mensaje)


def _desde(origen: Origen, config: Config, raiz: Raiz, estado: Estado,
           rules: RuleSet, testigo: _Testigo) -> Consulta:
    with origen.plazo(config.limites.plazo_indice, f"leer {origen.url}indice.json"):
        indice = leer_indice(origen, config.huella, config.limites.indice)
    estado.indice_generado = indice.generado
    metricas.indice(indice)
    ultimo = indice.ultimo
    servido = raiz.actual()
    metricas.standing(indice, servido)
    sirviendo = servido or "(ningún corte aún)"
    tenido = max((n for n in (servido, estado.corte) if n), key=orden, default=None)
    if ultimo is None:
        return Consulta(True, servido, False, f"{origen.url} aún no publica cortes")
    if tenido is not None and orden(ultimo.nombre) < orden(tenido):
        raise Rechazo(f"el índice anuncia como último el corte {ultimo.nombre}, anterior "
                      f"al {tenido} que ya se sirvió: se rechaza la reversión y se sigue "
                      f"sirviendo {sirviendo}")
    _vigente(indice, config, raiz, servido, origen.url)
    if estado.rechazados.get(ultimo.nombre) == ultimo.manifiesto_sha256 \
            and ultimo.nombre != servido:
        raise Rechazo(f"el corte {ultimo.nombre} ya falló la verificación y no se vuelve a "
                      f"descargar; se sigue sirviendo {sirviendo}")
    # The log first (a few small files): a corte of a forked history is not downloaded.
    comprobado = testigo.comprobar(origen, indice, servido)
    if ultimo.nombre == servido:
        testigo.aceptar(origen, raiz, comprobado)
        return Consulta(True, servido, False, f"al día: se sirve {servido} ({origen.url})")
    log.info("descargando el corte %s de %s", ultimo.nombre, origen.url,
             extra=fields(corte=ultimo.nombre))
    hecho = descargar(origen, ultimo, indice.llave, raiz, config.limites)
    verificacion = verify_corte(raiz.staging(ultimo.nombre), huella=config.huella,
                                rules=rules)
    if not verificacion.ok:
        raiz.descartar(ultimo.nombre)
        raise CorteInvalido(ultimo.nombre, ultimo.manifiesto_sha256,
                            f"el corte {ultimo.nombre} no pasó la verificación (prep "
                            f"verify-corte), no se publica y se sigue sirviendo {sirviendo}: "
                            + "; ".join(verificacion.problemas[:5]))
    raiz.publicar(ultimo.nombre)
    testigo.aceptar(origen, raiz, comprobado)
    metricas.published(hecho.bytes_descargados)
    metricas.standing(indice, ultimo.nombre)
    podados = raiz.podar(config.conservar)
    estado.corte, estado.origen, estado.publicado_en = ultimo.nombre, origen.url, ahora()
    estado.anotar_descarga(ultimo.nombre, {
        "origen": origen.url, "archivos": hecho.archivos, "descargados": hecho.descargados,
        "bytes_descargados": hecho.bytes_descargados, "bytes_red": hecho.bytes_red,
        "reutilizados": hecho.reutilizados,
        "bytes_corte": ultimo.bytes, "segundos": hecho.segundos})
    mensaje = (f"corte {ultimo.nombre} verificado y publicado desde {origen.url}: "
               f"{hecho.descargados} archivos descargados ({hecho.bytes_descargados:,} "
               f"bytes), {hecho.reutilizados} reutilizados"
               + (f"; retirados {', '.join(podados)}" if podados else ""))
    log.info("%s", mensaje, extra=fields(corte=ultimo.nombre))
    return Consulta(True, ultimo.nombre, True, mensaje)


def _vigente(indice: Indice, config: Config, raiz: Raiz, servido: str | None,
             url: str) -> None:
    """Refuse an index older than twice the institute's corte period: a frozen site or a
    replayed index would otherwise pass for «al día» with the cortes it names. After the
    último corte the index stops changing by design: not stale then."""
    edad = indice.edad()
    if edad is not None and edad <= config.vigencia:
        return
    if indice.ultimo is not None and indice.ultimo.nombre == servido \
            and raiz.es_ultimo(servido):
        return
    cuando = f"escrito hace {edad / 60:.0f} min" if edad is not None \
        else f"sin fecha válida ({indice.generado!r})"
    raise Desactualizado(
        f"el índice firmado de {url} está desactualizado ({cuando}; el instituto publica "
        f"un corte cada {config.periodo:g} min y se acepta hasta {config.vigencia / 60:g} "
        f"min): origen detenido o reproduciendo un índice viejo; se sigue sirviendo "
        f"{servido or '(ningún corte aún)'}")
