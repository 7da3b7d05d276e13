"""The verificación screen's presenter: the captura presenter's queue, images and
records, for verification leases (the actas whose captures disagree), with a reason
for each decision.

The decision is a record: the verificador's values and reason (``motivo``), signed
and sent like any other.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from catd.captura.presenter import WorkPresenter
from prep.station.captura import MAX_MOTIVO
from prep.station.captura import read_form

log = logging.getLogger("catd.verificacion")

MOTIVOS_VERIFICACION: tuple[str, ...] = (
    "Valores leídos en la imagen del acta",
    "Una captura tenía un error de tecleo",
    "Campo ilegible o sin dato confirmado en la imagen",
    "Se consultaron todas las imágenes del acta",
)
"""The usual reasons for a decision; the verificador may type another."""


class VerificacionPresenter(WorkPresenter):
    """The verificador's queue of actas whose captures disagree."""

    KIND = "verificacion"
    PREFETCH = 2
    VERBO = "verificar"

    def submit_decision(self, texts: Mapping[str, str], motivo: str) -> bool:
        """Record the verificador's values for the acta on screen, with the reason."""
        item = self.current
        if item is None:
            return False
        motivo = motivo.strip()
        _, faltan = read_form(item.campos, texts)
        if not faltan and (not motivo or len(motivo) > MAX_MOTIVO):
            self.form_did_reject.emit("", self.tr(
                "Escriba o elija el motivo de la decisión (hasta {n} caracteres) y guarde "
                "de nuevo.").format(n=MAX_MOTIVO))
            return False
        return self.submit(texts, motivo)
