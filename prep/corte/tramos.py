"""A running central's corte reuses its previous corte's work per sección (issues 28–30).

A corte publishes, per election, one CSV row, a few HISTORIAL lines and the site's rows
of every acta, in catalog order: distrito, sección, casilla. Between two cortes a few
percent of the actas change (at the peak of a national night ≈2 % in five minutes),
about one sección in twenty. So a corte is cut into *tramos*: the run of an election's
actas in one (distrito, sección). A tramo's published text is a function of what its
actas' rows are made from (:data:`Insumos`) and of the corte's context (catalog,
rules…, the caller's store context): when none of its actas changed, the previous
corte's text of the tramo is this corte's, byte for byte, and is reused whole; only the
tramos with a changed acta are made again. The summary's counts are kept per tramo too.

What an acta's rows are made from is what the registered files declare they read
(:class:`prep.corte.insumos.Insumo`: its state, trajectory, first publication, whether
a verificador decided it, its image's media type, AVANCE_CATD's digitalized and
captured), compared with the previous corte's by value (:func:`distinto`); what the
tramos' texts read of the whole corte (catalog, rules…) is the key of the memo's store
that keeps them (:func:`prep.corte.insumos.contexto`). Each output of the
:class:`Pieza` (the summary's rows and counts with the CSV lines, HISTORIAL, AVANCE_CATD
and the site's texts: :data:`CAMPOS`) is reused when every input its own file declares
is equal, and made again alone otherwise (so an output reading an input only another
file declares is reused stale, which the differential catches); a text the registry
makes per tramo (:attr:`Tramos.textos`) likewise by its own file's declaration.
An acta published for the first time has its history made with the corte being made
as its publication: that is the input kept for the next corte to compare with what it
reads from the database.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Collection
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from datetime import datetime
from itertools import compress
from itertools import pairwise
from itertools import repeat
from operator import is_
from operator import is_not
from typing import TYPE_CHECKING
from typing import Any
from typing import TypeVar
from typing import cast
from typing import overload

from prep.corte.carrete import Carrete
from prep.corte.carrete import Generacion
from prep.corte.carrete import Texto
from prep.corte.carrete import partes
from prep.corte.carrete import soltar_bloques
from prep.corte.carrete import texto
from prep.corte.insumos import Insumo
from prep.corte.insumos import fuentes
from prep.corte.insumos import igual

if TYPE_CHECKING:
    from prep.catalog.model import Acta
    from prep.catalog.model import Catalog
    from prep.catalog.model import Eleccion
    from prep.corte.historial import Historial
    from prep.corte.salud_catd import Avance
    from prep.corte.summary import Fila


K = TypeVar("K")


@dataclass(slots=True)
class Pieza:
    """What one corte made of one tramo: its rows (the summary's ``Fila``), their
    counts for the summary, and its published text as each file needs it (``None``:
    not made by this corte, e.g. without the site). Each text is its bytes, or, once
    every tramo of the election has it, the :class:`~prep.corte.carrete.Generacion`
    holding it (:meth:`Tramos.guardar`; read with :func:`~prep.corte.carrete.texto` or
    :meth:`Tramos.partes`)."""

    filas: tuple[Fila, ...]
    #: capturadas, contabilizadas, inconsistencias, lista nominal, votos c/cs, s/cs
    cuentas: tuple[int, int, int, int, int, int]
    csv: Texto = None  # its lines of the election's CSV (UTF-8, as published)
    historial: Texto = None  # its lines of HISTORIAL.csv (UTF-8)
    #: Its actas' entries in the site's history, joined by commas (UTF-8; b"": none).
    historial_sitio: Texto = None
    #: The site's running totals of its actas, per (distrito, demarcación, sección).
    #: (A tuple of pairs, not a dict: a national central keeps 176,000 pieces.)
    hojas: tuple[tuple[tuple[int, int, int], Any], ...] | None = None
    #: Its actas' rows on the site, JSON arrays joined by commas (UTF-8, as published).
    sitio: Texto = None
    #: What AVANCE_CATD.csv takes from its actas (``salud_catd.avance_de``).
    avance: Avance | None = None
    #: Per area of ``hojas``, in its order, its JSON text on the site
    #: (``site_areas.Niveles.texto``; None: not made; an empty tuple: none made).
    textos: tuple[tuple[str, str] | None, ...] | None = None


@dataclass(slots=True)
class Combinada:
    """The site's area of a (distrito, demarcación, sección) cut in several tramos: the
    tramos' areas it adds up, the sum, and the sum's JSON text once made."""

    partes: list[Any]
    suma: Any
    texto: tuple[str, str] | None = None


@dataclass(frozen=True)
class Rangos:
    """An election's tramos in the catalog: (distrito, sección) and [start, end) of
    each in ``catalog.actas(eleccion)`` (a sección's tramos one after the other), and
    each acta's tramo. A national central keeps them for half a million actas: numbers
    in arrays, not one int object each (:class:`Limites`, :class:`Posiciones`)."""

    secciones: tuple[tuple[int, int], ...]  # one tuple per sección, repeated per tramo
    limites: Limites
    tramo_de: Sequence[int]  # per acta, the index of its tramo
    claves: tuple[str, ...]  # per acta, its CLAVE_ACTA
    posicion: Posiciones  # CLAVE_ACTA → its index in ``claves``


class Limites(Sequence[tuple[int, int]]):
    """Per tramo its [start, end): ``inicios[i]``, ``inicios[i + 1]``."""

    def __init__(self, inicios: array[int]) -> None:
        self._inicios = inicios

    @overload
    def __getitem__(self, i: int) -> tuple[int, int]: ...
    @overload
    def __getitem__(self, i: slice) -> list[tuple[int, int]]: ...

    def __getitem__(self, i: int | slice) -> tuple[int, int] | list[tuple[int, int]]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._inicios[i], self._inicios[i + 1]

    def __len__(self) -> int:
        return max(0, len(self._inicios) - 1)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return pairwise(self._inicios)


class Posiciones:
    """CLAVE_ACTA → its index among ``claves``: found by bisection in the indexes
    sorted by clave (an array), instead of a dict of half a million entries."""

    def __init__(self, claves: Sequence[str]) -> None:
        self._claves = claves
        self._orden = array("q", sorted(range(len(claves)), key=claves.__getitem__))

    def get(self, clave: str, default: int | None = None) -> int | None:
        orden = self._orden
        k = bisect_left(orden, clave, key=self._claves.__getitem__)
        if k < len(orden) and self._claves[orden[k]] == clave:
            return orden[k]
        return default


#: The outputs a :class:`Pieza` keeps per tramo, each keyed by its own file's declared
#: inputs (``Secciones.preparar``'s ``pieza``), and the fields holding it. ``filas`` is
#: the summary's rows and counts with the election CSV's lines (what the CSV declares):
#: a tramo whose ``filas`` inputs changed is made again whole; another output whose
#: inputs changed has only its own fields made again, the rest of the piece reused.
CAMPOS: dict[str, tuple[str, ...]] = {
    "filas": ("filas", "cuentas", "csv"),
    "historial": ("historial",),
    "historial_sitio": ("historial_sitio",),
    "avance": ("avance",),
    "sitio": ("sitio", "hojas", "textos"),
}


#: What goes between two tramos' texts of each field of :class:`Pieza` when they are
#: read together: the site's texts are lists joined by commas.
SEPARADORES = {"csv": b"", "historial": b"", "historial_sitio": b",", "sitio": b","}


#: The most actas of one tramo. A sección of Ciudad de México has two or three casillas,
#: one acta each per election; a catalog with larger secciones (the benchmarks'
#: national one repeats the Ciudad de México secciones with twelve times the casillas)
#: is cut in runs of this many, so that one changed acta makes a few actas again, not
#: its whole sección. Smaller costs more per tramo; larger, more actas made again.
TRAMO_ACTAS = 3


def rangos(actas: Sequence[Acta], tamano: int = TRAMO_ACTAS) -> Rangos:
    """The tramos of an election whose actas (in publication order) are ``actas``: each
    run of at most ``tamano`` actas of one (distrito, sección)."""
    if tamano < 1:
        raise ValueError("un tramo debe admitir al menos un acta")
    secciones: list[tuple[int, int]] = []
    inicios = array("q")
    tramo_de = array("q")
    inicio = 0
    previa: tuple[int, int] | None = None
    vistas: set[tuple[int, int]] = set()
    for i, acta in enumerate(actas):
        casilla = acta.casilla
        seccion = (casilla.distrito_id, casilla.seccion)
        if seccion != previa or i - inicio == tamano:
            if seccion != previa:
                if seccion in vistas:
                    raise ValueError("las actas de una sección no son contiguas en el "
                                     "catálogo")
                vistas.add(seccion)
                previa = seccion
            secciones.append(previa)  # one tuple per sección
            inicios.append(i)
            inicio = i
        tramo_de.append(len(secciones) - 1)
    if previa is not None:  # the last tramo's end (no acta: no tramo)
        inicios.append(len(actas))
    claves = tuple(a.clave for a in actas)
    return Rangos(tuple(secciones), Limites(inicios), tramo_de, claves, Posiciones(claves))


#: Per acta of an election, in publication order, the value of each per-acta input the
#: registered files declare (prep.corte.insumos.Insumo → one value per acta), compared
#: with the previous corte's by value (:func:`distintas`).
Insumos = dict[Insumo, list[Any]]


def distinto(ahora: object, antes: object) -> bool:
    """Whether two values of an input differ (:func:`prep.corte.insumos.igual`: by
    value, the identity test first)."""
    return not igual(ahora, antes)


def distintas(ahora: Sequence[Any], antes: Sequence[Any]) -> Iterator[int]:
    """The positions where ``ahora`` and ``antes`` (as long) hold different values:
    the lists compared whole first (C, identity before ``==`` per item), then the
    items that are other objects compared by value."""
    if len(ahora) != len(antes):
        raise ValueError("las entradas de dos cortes no cubren las mismas actas")
    if ahora == antes:
        return iter(())
    return (i for i in compress(range(len(ahora)), map(is_not, ahora, antes))
            if ahora[i] != antes[i])


@dataclass(frozen=True)
class Cambios:
    """What a snapshot says of itself for :meth:`Secciones.preparar`: a token of its own
    (``ficha``), the token of the snapshot it was read from (``base``, None: read whole)
    and the actas it read again since that one (every other acta's objects are that
    snapshot's very own)."""

    ficha: object
    base: object | None = None
    releidas: Collection[str] = ()


class Tramos:
    """One election's tramos in the corte being made: which can take the previous
    corte's :class:`Pieza` (:meth:`previa`), and this corte's pieces as they are made
    (:meth:`poner`), kept for the next corte only once the corte is published
    (:meth:`cerrar`)."""

    def __init__(self, eleccion: Eleccion, r: Rangos, insumos: Insumos,
                 previas: list[Pieza | None],
                 antiguas: Sequence[Pieza | None] | None = None,
                 carrete: Carrete | None = None,
                 cambiadas: Collection[int] | None = None) -> None:
        self.eleccion = eleccion
        self.carrete = carrete
        self.rangos = r
        self.insumos = insumos
        self._previas = previas
        self._antiguas = antiguas
        #: The actas (their positions in ``rangos.claves``) with an input that differs
        #: from ``antiguas``' corte (None: not known). A tramo made again takes each
        #: other acta's text from its previous piece where it can (:meth:`antigua`).
        self.cambiadas = cambiadas
        #: Per output of the piece (:data:`CAMPOS`), the actas with an input that output
        #: declares changed (None: not known).
        self.cambiadas_por: Mapping[str, Collection[int]] | None = None
        self.nuevas: list[Pieza | None] = list(previas)
        #: The site's areas of a sección (and demarcación) cut in several tramos.
        self.combinadas: dict[tuple[int, int, int], Combinada] = {}
        #: The sets the pieces' areas hold, one object each (``Area.congelar``).
        self.conjuntos: dict[frozenset[int], frozenset[int]] = {}
        #: The site's sums and sección texts of the previous corte
        #: (``site_areas.Memoria``; None: none yet, the site makes one).
        self.niveles: Any = None
        #: Per file the registry makes per tramo (prep.corte.archivos.por_registro), each
        #: tramo's text: the previous corte's where the inputs the file declared did
        #: not change for its actas, None until made (:meth:`poner_texto`).
        self.textos: dict[str, list[bytes | None]] = {}

    def hechas(self) -> list[Pieza]:
        """Every tramo's piece of this corte, once the summary made them all
        (ValueError, Spanish, if one is missing: the table was not made with these
        tramos)."""
        if any(map(is_, self.nuevas, repeat(None))):
            raise ValueError("un tramo sin filas: la tabla no se hizo con sus tramos")
        return cast("list[Pieza]", self.nuevas)

    def lineas_cambiadas(self) -> tuple[list[int], list[str], list[str]] | None:
        """The CSV lines this corte made differently from the previous one: (their
        positions among the election's acta lines, now, before); ``None`` when that
        is not known (no previous corte, a piece without its lines, a tramo whose line
        count changed)."""
        if self._antiguas is None:
            return None
        posiciones: list[int] = []
        ahora: list[str] = []
        antes: list[str] = []
        for i, (nueva, antigua) in enumerate(zip(self.nuevas, self._antiguas, strict=True)):
            if nueva is antigua:
                continue
            if nueva is None or antigua is None or nueva.csv is None or antigua.csv is None:
                return None
            if nueva.csv is antigua.csv:
                continue
            ahora_csv, antes_csv = texto(nueva.csv, i), texto(antigua.csv, i)
            if ahora_csv == antes_csv:
                continue
            inicio, fin = self.rangos.limites[i]
            nuevas = ahora_csv.decode("utf-8").split("\r\n")[:-1]
            viejas = antes_csv.decode("utf-8").split("\r\n")[:-1]
            if not len(nuevas) == len(viejas) == fin - inicio:
                return None
            for k, (n, v) in enumerate(zip(nuevas, viejas, strict=True)):
                if n != v:
                    posiciones.append(inicio + k)
                    ahora.append(n)
                    antes.append(v)
        return posiciones, ahora, antes

    def previa(self, i: int) -> Pieza | None:
        """The previous corte's piece of tramo ``i`` when none of its actas changed."""
        return self._previas[i]

    def antigua(self, i: int) -> Pieza | None:
        """The previous corte's piece of tramo ``i`` (None: there was none), whether or
        not its actas changed: with :attr:`cambiadas`, what an acta that did not change
        takes again."""
        return None if self._antiguas is None or self.cambiadas is None \
            else self._antiguas[i]

    def cambiadas_en(self, *campos: str) -> Collection[int] | None:
        """The actas with an input that one of the outputs ``campos`` (:data:`CAMPOS`)
        declares changed since :meth:`antigua`'s corte (None: not known)."""
        if self.cambiadas_por is None:
            return self.cambiadas
        if any(c not in self.cambiadas_por for c in campos):
            return None
        return set().union(*(self.cambiadas_por[c] for c in campos))

    def poner(self, i: int, pieza: Pieza) -> None:
        self.nuevas[i] = pieza

    def texto_previo(self, nombre: str, i: int) -> bytes | None:
        """File ``nombre``'s text of tramo ``i`` in the previous corte, when none of the
        inputs it declared changed for the tramo's actas (None: make it)."""
        return self.textos[nombre][i]

    def poner_texto(self, nombre: str, i: int, texto_: bytes) -> None:
        self.textos[nombre][i] = texto_

    def partes(self, campo: str, tope: int | None = None) -> Iterator[bytes]:
        """Every tramo's text ``campo``, in order, in few pieces (``carrete.partes``;
        a site text's pieces are lists to join by commas)."""
        return partes([getattr(p, campo) for p in self.hechas()], 0, tope)

    def grupos(self, campo: str, claves: Sequence[K]) -> Iterator[tuple[K, list[bytes]]]:
        """Per run of consecutive tramos with the same key (``claves``: each tramo's),
        the key and the run's texts ``campo`` in few pieces (none: every text empty)."""
        valores: list[bytes | Generacion] = [getattr(p, campo) for p in self.hechas()]
        n = len(valores)
        k = 0
        while k < n:
            clave = claves[k]
            fin = k + 1
            while fin < n and claves[fin] == clave:
                fin += 1
            yield clave, list(partes(valores[k:fin], k))
            k = fin

    def guardar(self, campo: str) -> None:
        """Every tramo has its text ``campo``: to the carrete, which the pieces then
        point at instead of holding it (without a carrete, they keep it)."""
        if self.carrete is not None:
            self.carrete.guardar(self.hechas(), campo, SEPARADORES[campo])

    @property
    def reusados(self) -> int:
        return sum(p is not None for p in self._previas)


def _sin_lo_cambiado(previas: list[Pieza | None], por_campo: Mapping[str, Collection[int]],
                     tramo_de: Sequence[int]) -> None:
    """``previas`` (the previous corte's pieces, changed in place) without what this
    corte makes again: per output (:data:`CAMPOS`), the tramos of the actas whose inputs
    it declares changed (``por_campo``; an output absent: every tramo). A piece whose rows
    are made again is dropped; one with another output to make again is copied, that
    output's fields None in the copy (the previous corte's piece stays as it was, for
    :meth:`Tramos.antigua`)."""
    for i in por_campo.get("filas", ()):
        previas[tramo_de[i]] = None
    copiadas: set[int] = set()
    for campo, campos in CAMPOS.items():
        if campo == "filas":
            continue
        suyas = por_campo.get(campo)
        tramos_ = range(len(previas)) if suyas is None else {tramo_de[i] for i in suyas}
        for k in tramos_:
            previa = previas[k]
            if previa is None:
                continue
            if k not in copiadas:
                previa = previas[k] = replace(previa)
                copiadas.add(k)
            for nombre in campos:
                setattr(previa, nombre, None)


class Secciones:
    """What a process keeps of its cortes per election (in a
    :class:`prep.corte.memo.RenderMemo` store, whose context holds the catalog, rules and
    everything else a tramo's text depends on as a whole)."""

    def __init__(self, carrete: Carrete | None = None) -> None:
        #: Where the pieces' texts go once made (None: they stay in memory).
        self.carrete = carrete
        self._rangos: dict[str, Rangos] = {}
        self._insumos: dict[str, Insumos] = {}
        self._piezas: dict[str, list[Pieza | None]] = {}
        self._combinadas: dict[str, dict[tuple[int, int, int], Combinada]] = {}
        self._niveles: dict[str, Any] = {}
        self._conjuntos: dict[frozenset[int], frozenset[int]] = {}
        #: The corte those pieces were published in, and its fuera-de-catálogo rows per
        #: election.
        self.nombre: str | None = None
        self.fuera: dict[str, int] = {}
        #: The snapshot (its :attr:`Cambios.ficha`) the kept inputs were read from, and
        #: the one the corte being made reads.
        self._ficha: object | None = None
        #: The per-acta inputs the kept ones are (``preparar``'s declarations), and per
        #: file the registry makes per tramo, per election its tramos' texts.
        self._lee: frozenset[Insumo] = frozenset()
        self._declarados: object = None
        self._textos: dict[str, dict[str, list[bytes | None]]] = {}
        self._pendiente: object | None = None
        #: A corte was prepared and not published (it failed): the kept inputs may have
        #: been changed in place by it, so the next corte keeps nothing.
        self._a_medias = False

    def preparar(self, catalog: Catalog, estado: Mapping[str, Any], historial: Historial,
                 imagenes: Mapping[str, Any], digitalizadas: Collection[str] = frozenset(),
                 con_captura: Collection[str] = frozenset(),
                 cambios: Cambios | None = None,
                 pieza: Mapping[str, Collection[Insumo]] | None = None,
                 textos: Mapping[str, Collection[Insumo]] | None = None
                 ) -> dict[str, Tramos]:
        """Per election code, its :class:`Tramos` for this corte.

        ``pieza``: per output of the :class:`Pieza` (:data:`CAMPOS`), the per-acta inputs
        the file it is of declares (the registry's files the engine makes by name; None:
        every output reads every input): a tramo takes its previous piece's output when
        each of them is equal, by value, for every acta of it; its rows (``filas``)
        made again, the whole piece is; an output with no declaration is made every
        corte. ``textos``: per file the registry makes per tramo,
        the per-acta inputs it declares: its previous text of a tramo is reused when
        those are equal (:meth:`Tramos.texto_previo`). ``digitalizadas``,
        ``con_captura``: AVANCE_CATD's sets of actas.

        ``cambios``: the snapshot's (:class:`Cambios`). When it was read from the
        snapshot of the last corte these pieces were published in, only the actas it
        read again are looked at for every input but the first publication (which is
        read whole every time, and compared for every acta)."""
        if self.carrete is not None:
            self.carrete.esperar()  # the previous corte's texts are in their generaciones
        textos = {} if textos is None else textos
        if pieza is None:
            pieza = dict.fromkeys(CAMPOS, tuple(Insumo))
        lee = frozenset().union(*pieza.values(), *textos.values())
        declaraciones = ({k: frozenset(v) for k, v in pieza.items()},
                         {k: frozenset(v) for k, v in textos.items()})
        if self._a_medias or lee != self._lee or declaraciones != self._declarados:
            # A failed corte may have changed the kept inputs in place; other
            # declarations were kept of other inputs: nothing kept is used.
            self._insumos.clear()
            self._piezas.clear()
            self._combinadas.clear()
            self._niveles.clear()
            self._textos = {nombre: {} for nombre in textos}
            self._ficha = None
        self._lee = lee
        self._declarados = declaraciones
        self._a_medias = True
        out: dict[str, Tramos] = {}
        de = {k: f for k, f in fuentes(estado, historial, imagenes, digitalizadas,
                                       con_captura).items() if k in lee}
        releidas = None if cambios is None or cambios.base is None \
            or cambios.base is not self._ficha else cambios.releidas
        self._pendiente = None if cambios is None else cambios.ficha
        for eleccion in catalog.elecciones:
            codigo = eleccion.codigo
            r = self._rangos.get(codigo)
            if r is None:
                r = self._rangos[codigo] = rangos(catalog.actas(eleccion))
            claves = r.claves
            antes = self._insumos.get(codigo)
            piezas = self._piezas.get(codigo)
            hay_antes = antes is not None and piezas is not None
            # Per input, the actas (positions in ``claves``) whose value differs.
            difieren: dict[Insumo, set[int]] = {k: set() for k in de}
            insumos: Insumos
            if releidas is not None and antes is not None and hay_antes:
                # The snapshot kept every other acta's very objects: only its re-read
                # actas' inputs can differ from what the previous corte was made of.
                # They are changed in place (a list per input of every acta, 25 MB
                # nationally, not copied): a corte that fails leaves them to be dropped.
                insumos = antes
                posicion = r.posicion
                for clave in releidas:
                    i = posicion.get(clave)
                    if i is None:
                        continue
                    for k, fuente in de.items():
                        if k is Insumo.PUBLICADA_EN:
                            continue  # compared whole, below
                        lista = insumos[k]
                        valor = fuente(clave)
                        if distinto(valor, lista[i]):
                            lista[i] = valor
                            difieren[k].add(i)
                if Insumo.PUBLICADA_EN in de:
                    publicadas = list(map(de[Insumo.PUBLICADA_EN], claves))
                    difieren[Insumo.PUBLICADA_EN].update(
                        distintas(publicadas, insumos[Insumo.PUBLICADA_EN]))
                    insumos[Insumo.PUBLICADA_EN] = publicadas
            else:
                insumos = {k: list(map(fuente, claves)) for k, fuente in de.items()}
                if antes is not None and hay_antes:
                    for k, ahora in insumos.items():
                        difieren[k].update(distintas(ahora, antes[k]))
            tramo_de = r.tramo_de
            por_campo: dict[str, set[int]] = {
                campo: set().union(*(difieren[k] for k in declarados_ if k in difieren))
                for campo, declarados_ in pieza.items()}
            cambiadas: set[int] = set().union(*por_campo.values())
            previas: list[Pieza | None] = [None] * len(r.limites) if piezas is None \
                or not hay_antes or "filas" not in por_campo else list(piezas)
            _sin_lo_cambiado(previas, por_campo, tramo_de)
            out[codigo] = t = Tramos(eleccion, r, insumos, previas, piezas, self.carrete,
                                     cambiadas if hay_antes else None)
            if hay_antes:
                t.cambiadas_por = por_campo
            for nombre, declarados in textos.items():
                kept = self._textos[nombre].get(codigo)
                previos: list[bytes | None] = [None] * len(r.limites) if kept is None \
                    or not hay_antes else list(kept)
                for k in declarados:
                    for i in difieren.get(k, ()):
                        previos[tramo_de[i]] = None
                t.textos[nombre] = previos
            t.combinadas = dict(self._combinadas.get(codigo, {}))
            niveles = self._niveles.get(codigo)
            t.niveles = None if niveles is None else niveles.copia()
            t.conjuntos = self._conjuntos
        return out

    def cerrar(self, tramos: Mapping[str, Tramos], nombre: str, corte: datetime,
               fuera: Mapping[str, int]) -> None:
        """The corte ``nombre`` made at ``corte`` was published (with ``fuera`` rows
        fuera de catálogo per election): its pieces and inputs are the next corte's
        previous ones. An acta it published for the first time has
        its history made with this corte as its publication, which the next corte reads
        from the database (``actas_publicadas``): that is the input kept for it."""
        esta = (nombre, corte)
        for codigo, t in tramos.items():
            estados = t.insumos.get(Insumo.ESTADO)
            publicadas = t.insumos.get(Insumo.PUBLICADA_EN)
            if publicadas is not None:
                if estados is None:
                    raise ValueError("la primera publicación de un acta se guarda con su "
                                     "estado: declare ESTADO junto con PUBLICADA_EN")
                for i in compress(range(len(publicadas)), map(is_, publicadas,
                                                               repeat(None))):
                    est = estados[i]
                    if est is not None and est.publicada:
                        publicadas[i] = esta
            self._insumos[codigo] = t.insumos
            for nombre_texto, hechos in t.textos.items():
                self._textos[nombre_texto][codigo] = hechos
            self._piezas[codigo] = t.nuevas
            self._combinadas[codigo] = t.combinadas
            if t.niveles is not None:
                self._niveles[codigo] = t.niveles
        self.nombre = nombre
        self.fuera = dict(fuera)
        self._ficha = self._pendiente
        self._a_medias = False
        soltar_bloques()  # nothing is read again before the next corte
