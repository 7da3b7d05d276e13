"""What can go wrong while following an origin; every message is for the operator."""

from __future__ import annotations


class DifusorError(Exception):
    """Something the difusor could not do (Spanish message)."""


class OrigenNoDisponible(DifusorError):
    """The origin did not answer (down, timeout, 5xx): try the next origin."""


class Rechazo(DifusorError):
    """What the origin served was refused (signature, hash, path, size, rollback)."""


class CorteInvalido(Rechazo):
    """A corte downloaded whole that failed ``verify-corte``: never retried as it is."""

    def __init__(self, nombre: str, manifiesto_sha256: str, mensaje: str) -> None:
        super().__init__(mensaje)
        self.nombre = nombre
        self.manifiesto_sha256 = manifiesto_sha256


class PlazoVencido(OrigenNoDisponible):
    """The origin took longer than the poll's deadline (however it paced its bytes)."""


class Desactualizado(DifusorError):
    """A validly signed index older than the institute's corte period allows: frozen,
    replayed, or a mirror that stopped following: try the next origin."""
