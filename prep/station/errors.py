"""Errors a station reports to its operator: each one says, in Spanish, what happened
and what to do, so a view can show ``str(error)`` as it is."""

from __future__ import annotations


class StationError(Exception):
    """Something the operator must know about; ``str()`` is the Spanish message."""


class StationStorageError(StationError):
    """The station could not store a record or an image (disk full, disk failing).

    Nothing stored before is lost: the transaction rolled back and any partial file
    was removed.
    """


class StationInputError(StationError):
    """What the operator entered cannot become a record (a malformed clave, a value
    out of range, an image too large)."""


class NotEnrolledError(StationError):
    """The station has no identity yet: it must be enrolled with a code first."""


class EnrollmentError(StationError):
    """Enrollment failed; ``code`` is stable (``possible_spoof``, ``rejected``,
    ``unreachable``, ``already_enrolled``…)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class SyncError(StationError):
    """One delivery attempt failed.

    ``code`` is stable (the central's error code, or ``possible_spoof``,
    ``unreachable``, ``server_error``, ``bad_receipt``…); ``retry`` says whether the
    agent tries again by itself (network trouble, 5xx) or waits for a person (anything
    that looks like tampering or a bug).
    """

    def __init__(self, code: str, message: str, retry: bool) -> None:
        super().__init__(message)
        self.code = code
        self.retry = retry


STATION_DISABLED = "station_disabled"
DISABLED_MESSAGE = (
    "El nodo central deshabilitó este equipo (o ya no lo reconoce) y rechaza todo lo que "
    "envía. Llame a su coordinador. Nada se pierde: los registros siguen guardados en este "
    "equipo y se enviarán en cuanto el coordinador lo habilite de nuevo.")


class StationDisabledError(SyncError):
    """The central refused a request this station signed with 403 ``unknown_station``:
    a coordinator disabled it (``prep central station disable``), or the central does
    not know it. Not a batch's fault, so nothing is blocked: the agent keeps what it has
    and tries now and then until the station is enabled again."""

    def __init__(self) -> None:
        super().__init__(STATION_DISABLED, DISABLED_MESSAGE, retry=False)


class BundleRefusedError(StationError):
    """The central's bundle (catalog and accounts) was not kept: bad signature, another
    station's, older than the one held… ``code`` is stable (see
    :class:`prep.bundle.BundleError`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class LoginError(StationError):
    """An operator could not log in; ``code``: ``bad_credentials``, ``disabled``,
    ``ambiguous`` or ``no_bundle``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class NoCatalogError(StationError):
    """The station has not received the catalog from the central yet."""
