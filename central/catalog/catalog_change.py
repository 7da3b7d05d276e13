"""What loading a new catalog would do to a central that already holds results.

A catalog load over results is the most dangerous thing a coordinator can type: a
catalog of another seed once turned every validated acta into *fuera de catálogo* and
the next corte published 0 contabilizadas. So ``prep central catalog load`` first
measures the change against the stored acta states, and:

- on a central with no record yet, loads as before;
- on a central holding results, shows the change and stores nothing unless the
  coordinator confirms it (``--confirmar``); the confirmation is audited with the change;
- refuses a catalog that would take out of the catalog actas whose data is published
  (validada or sin acta) unless forced with a written reason (``--forzar --motivo``).

An acta can also stay in the catalog with other data under the same CLAVE_ACTA (its
lista nominal, distrito, asociaciones…): the change names those too, and which of them
already hold data or are published, so the coordinator sees it before confirming.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field

from sqlalchemy import case
from sqlalchemy import exists
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.actas import ActaStateRow
from central.db.lotes import StoredRecord
from prep.catalog import Acta
from prep.catalog import Catalog
from prep.catalog import CatalogError

#: States whose data a corte publishes (the acta's row carries votes or a sin acta cause).
PUBLISHED = frozenset({"validada", "sin_acta"})
_SHOWN = 10  # claves named in a message; the audit keeps up to 200


@dataclass(frozen=True)
class CatalogImpact:
    """How the stored acta states meet the new catalog."""

    holds_results: bool  # any station record is stored
    added: int  # actas in the new catalog only
    removed: int  # actas of the current catalog missing from the new one
    removed_with_data: tuple[str, ...]  # of those, the ones records have moved
    removed_published: tuple[str, ...]  # of those, the ones with published data
    changed: int = 0  # actas in both catalogs whose data differs
    changed_fields: Mapping[str, int] = field(default_factory=dict)  # what → how many
    changed_with_data: tuple[str, ...] = ()  # of those, the ones records have moved
    changed_published: tuple[str, ...] = ()  # of those, the ones with published data

    def to_json(self) -> dict[str, object]:
        return {"holds_results": self.holds_results, "added": self.added,
                "removed": self.removed,
                "removed_with_data": list(self.removed_with_data[:200]),
                "removed_published": list(self.removed_published[:200]),
                "changed": self.changed, "changed_fields": dict(self.changed_fields),
                "changed_with_data": list(self.changed_with_data[:200]),
                "changed_published": list(self.changed_published[:200])}

    def describe(self) -> str:
        """The change in Spanish, for the coordinator."""
        lines = [f"Actas nuevas en el catálogo: {self.added}.",
                 f"Actas que saldrían del catálogo: {self.removed}."]
        if self.removed_with_data:
            lines.append(f"De ellas, {_actas(len(self.removed_with_data))} con datos ya "
                         f"recibidos pasarían a «fuera de catálogo»: "
                         f"{_some(self.removed_with_data)}.")
        if self.removed_published:
            lines.append(f"{_actas(len(self.removed_published)).capitalize()} ya "
                         "publicadas (validadas o sin acta) dejarían de publicarse: "
                         f"{_some(self.removed_published)}.")
        lines.append(f"Actas que siguen en el catálogo pero con otros datos: {self.changed}"
                     + (f" ({_fields(self.changed_fields)})." if self.changed else "."))
        if self.changed_with_data:
            lines.append(f"De ellas, {_actas(len(self.changed_with_data))} con datos ya "
                         "recibidos se procesarían con los datos nuevos: "
                         f"{_some(self.changed_with_data)}.")
        if self.changed_published:
            lines.append(f"{_actas(len(self.changed_published)).capitalize()} ya "
                         "publicadas (validadas o sin acta) se publicarían con los datos "
                         f"nuevos en el próximo corte: {_some(self.changed_published)}.")
        return "\n".join(lines)


class CatalogChangeRefused(CatalogError):
    """The load was not done: it needs a confirmation, or a forced load with a reason."""

    def __init__(self, message: str, impact: CatalogImpact, *, needs: str) -> None:
        super().__init__(message)
        self.impact = impact
        self.needs = needs  # "confirmar" or "forzar"


def assess(session: Session, catalog: Catalog,
           previous: Catalog | None = None) -> CatalogImpact:
    """Compare ``catalog`` with the acta states stored now (in ``session``'s snapshot)
    and, acta by acta, with the ``previous`` catalog (the current version, if any)."""
    holds = bool(session.scalar(select(exists().where(StoredRecord.id.is_not(None)))))
    new = {a.clave for a in catalog.iter_actas()}
    # An acta in a correction round (a cotejo found a difference) is being captured
    # again, but its validated data is still published.
    estado = case((ActaStateRow.validada_record.is_not(None), "validada"),
                  else_=ActaStateRow.estado)
    current = session.execute(select(ActaStateRow.clave_acta, estado)
                              .where(ActaStateRow.en_catalogo.is_(True))).all()
    removed = [(clave, estado) for clave, estado in current if clave not in new]
    known = {clave for clave, _ in current}
    changes = changed_actas(previous, catalog) if previous is not None else {}
    estados: dict[str, str] = dict(current)
    fields = Counter(name for names in changes.values() for name in names)
    return CatalogImpact(
        holds_results=holds, added=len(new - known), removed=len(removed),
        removed_with_data=tuple(sorted(c for c, e in removed if e != "esperada")),
        removed_published=tuple(sorted(c for c, e in removed if e in PUBLISHED)),
        changed=len(changes), changed_fields=dict(fields.most_common()),
        changed_with_data=tuple(sorted(c for c in changes
                                       if estados.get(c, "esperada") != "esperada")),
        changed_published=tuple(sorted(c for c in changes if estados.get(c) in PUBLISHED)))


#: What an acta's data is made of, in the words of the summary (one per :func:`_facets`).
FACETS = ("distrito", "demarcación", "lista nominal", "representantes", "boletas",
          "ubicación", "mecanismo de traslado", "elección o tipo de acta",
          "asociaciones y campos del acta")


def changed_actas(old: Catalog, new: Catalog) -> dict[str, tuple[str, ...]]:
    """CLAVE_ACTA → what differs (:data:`FACETS`), for the actas of both catalogs whose
    data is not the same: the clave names the same acta, its contents changed."""
    old_actas = old.actas_por_clave
    old_cache: dict[tuple[int, int], object] = {}
    new_cache: dict[tuple[int, int], object] = {}
    changes = {}
    for clave, acta in new.actas_por_clave.items():
        before = old_actas.get(clave)
        if before is None:
            continue
        was, now = _facets(before, old_cache), _facets(acta, new_cache)
        if was != now:
            changes[clave] = tuple(name for name, a, b in zip(FACETS, was, now, strict=True)
                                   if a != b)
    return changes


def _facets(acta: Acta, cache: dict[tuple[int, int], object]) -> tuple[object, ...]:
    """The acta's data, in the order of :data:`FACETS`; the asociaciones that compete in
    its ámbito are computed once per election and ámbito (``cache``, per catalog)."""
    c, e = acta.casilla, acta.eleccion
    ambito = e.ambito_id(c)
    key = (id(e), ambito)
    asociaciones = cache.get(key)
    if asociaciones is None:
        asociaciones = cache[key] = tuple(
            (a.clave, a.nombre, str(a.tipo), a.partidos) for a in e.asociaciones
            if a.compite_en(ambito))
    return (c.distrito_id, c.demarcacion_id, c.lista_nominal, c.representantes, c.boletas,
            c.ubicacion, c.traslado, (e.nombre, acta.tipo_acta), asociaciones)


def check_allowed(impact: CatalogImpact, *, confirmed: bool, force_reason: str | None) -> None:
    """Raise :class:`CatalogChangeRefused` unless the change may be stored as asked."""
    if not impact.holds_results:
        return
    if impact.removed_published and not force_reason:
        raise CatalogChangeRefused(
            "No se cargó el catálogo: dejaría fuera actas cuyos resultados ya se "
            "publicaron.\n" + impact.describe() + "\nRevise que sea el catálogo correcto "
            "(misma semilla y versión del instituto). Si de verdad debe cargarse, repita "
            "con --forzar --motivo \"…\"; quedará registrado en la bitácora.",
            impact, needs="forzar")
    if not (confirmed or force_reason):
        raise CatalogChangeRefused(
            "No se cargó el catálogo: el nodo central ya tiene resultados.\n"
            + impact.describe() + "\nSi el cambio es el esperado, repita con --confirmar; "
            "quedará registrado en la bitácora.", impact, needs="confirmar")


def _fields(counts: Mapping[str, int]) -> str:
    """«lista nominal en 3, distrito en 1»."""
    return ", ".join(f"{name} en {n:,}" for name, n in counts.items())


def _actas(n: int) -> str:
    return "1 acta" if n == 1 else f"{n:,} actas"


def _some(claves: tuple[str, ...]) -> str:
    shown = ", ".join(claves[:_SHOWN])
    return shown if len(claves) <= _SHOWN else f"{shown} y {len(claves) - _SHOWN:,} más"
