"""The cotejo screen's presenter: the captura presenter's queue, images and records, for
cotejo leases (published actas of this CATD, oldest first), each checked against its
paper acta.

The outcome is a cotejo record: ``coincide`` true when every published value matches
the paper (the next corte publishes COTEJADA=1), or false with the fields that differ
and a short reason (the central opens a correction round: the acta is captured again).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtGui import QImage

from catd.captura.presenter import WorkPresenter
from catd.captura.presenter import _Decoded
from prep.records import MAX_COTEJO_MOTIVO
from prep.station.captura import FieldSpec
from prep.station.captura import valor_text
from prep.station.formatting import count
from prep.station.work import WorkItem
from prep.values import parse_valor

log = logging.getLogger("catd.cotejo")

MOTIVOS_COTEJO: tuple[str, ...] = (
    "El acta en papel dice otra cantidad",
    "El dato publicado tiene un error de captura",
    "El acta en papel dice Ilegible o Sin dato",
    "La imagen no corresponde al acta en papel",
)
"""The usual reasons for a difference; the operator may type another."""


@dataclass(frozen=True, slots=True)
class Publicado:
    """One field of the acta as published: its label and the value to compare."""

    spec: FieldSpec
    valor: str  # as the screen shows it ("—" when the central sent none)


def publicados(specs: Sequence[FieldSpec], item: WorkItem) -> tuple[Publicado, ...]:
    """The published value of each field of ``item``, in the acta's order."""
    valores: Mapping[str, object] = item.valores or {}
    rows = []
    for spec in specs:
        valor = valores.get(spec.campo)
        if valor is None:
            text = "—"
        elif isinstance(valor, str):
            try:
                text = valor_text(parse_valor(valor))
            except ValueError:
                text = valor
        else:
            text = str(valor)
        rows.append(Publicado(spec, text))
    return tuple(rows)


class CotejoPresenter(WorkPresenter):
    """The verificador's queue of published actas to check against their paper."""

    KIND = "cotejo"
    PREFETCH = 2
    VERBO = "cotejar"

    def confirm(self) -> bool:
        """Every published value matches the paper acta."""
        item = self.current
        if item is None:
            return False
        self._finish(item, lambda: self.queue.cotejo(item, True), self.KIND, self.tr(
            "Acta {clave} cotejada: coincide con el acta en papel; se enviará al nodo "
            "central.").format(clave=item.clave_acta))
        return True

    def report_difference(self, campos: Sequence[str], motivo: str) -> bool:
        """The fields ``campos`` differ from the paper acta, for ``motivo``: the
        central opens a correction round."""
        item = self.current
        if item is None:
            return False
        motivo = motivo.strip()
        if not campos:
            self.form_did_reject.emit(item.campos[0] if item.campos else "", self.tr(
                "Marque con Espacio los campos que no coinciden con el acta en papel. Si "
                "todos coinciden, borre el motivo y confirme con Ctrl+Enter."))
            return False
        if not motivo or len(motivo) > MAX_COTEJO_MOTIVO:
            self.form_did_reject.emit("motivo", self.tr(
                "Escriba o elija el motivo de la diferencia (hasta {n} caracteres) y "
                "envíe de nuevo.").format(n=MAX_COTEJO_MOTIVO))
            return False
        ordered = [c for c in item.campos if c in set(campos)]
        self._finish(item, lambda: self.queue.cotejo(item, False, ordered, motivo),
                     self.KIND, self.tr(
                         "Acta {clave}: diferencia enviada ({n}); el nodo central la "
                         "mandará a capturar de nuevo.").format(
                             clave=item.clave_acta,
                             n=count(len(ordered), self.tr("campo"), self.tr("campos"))))
        return True

    def submit_cotejo(self, campos: Sequence[str], motivo: str) -> bool:
        """What the operator decided on screen: nothing marked and no reason confirms;
        otherwise the marked fields are sent as a difference."""
        if not campos and not motivo.strip():
            return self.confirm()
        return self.report_difference(campos, motivo)

    # A cotejo is made against the paper acta: an image that cannot be shown does not
    # stop it, and there is no «imagen ilegible» here.

    def _did_decode(self, item: WorkItem, image: QImage | None) -> None:
        error = "" if image is not None else self.tr(
            "La imagen de esta acta no se puede mostrar. Coteje con el acta en papel y "
            "avise a soporte técnico.")
        self._store_decoded(item, _Decoded(image, error))

    def _did_fail_to_decode(self, item: WorkItem, error: BaseException) -> None:
        # The detail is for support (the log); the operator reads what to do.
        log.warning("image of %s unreadable", item.clave_acta, exc_info=error)
        self._store_decoded(item, _Decoded(None, self.tr(
            "No se pudo leer la imagen de esta acta en la estación. Coteje con el acta en "
            "papel y avise a soporte técnico.")))
