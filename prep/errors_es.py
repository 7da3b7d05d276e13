"""What an operating-system or network error means, in Spanish, for the screen and the
console (issue 33: «every error an operator or technician sees is Spanish and says what
to do; the exception detail goes to the log, not the screen»).

Python's own texts (``[Errno 111] Connection refused``, ``Cannot connect to host …``)
are English and name internals; :func:`describe_os_error` gives the short Spanish phrase
a message is built around. The caller logs the exception itself.
"""

from __future__ import annotations

import errno
import socket
import ssl

_BY_ERRNO = {
    errno.ENOENT: "no existe",
    errno.EACCES: "este usuario no tiene permiso",
    errno.EPERM: "este usuario no tiene permiso",
    errno.ENOSPC: "el disco está lleno",
    errno.EDQUOT: "se agotó la cuota de disco de este usuario",
    errno.EROFS: "el disco es de solo lectura",
    errno.EEXIST: "ya existe",
    errno.ENOTDIR: "parte de la ruta es un archivo, no una carpeta",
    errno.EISDIR: "es una carpeta, no un archivo",
    errno.ENOTEMPTY: "la carpeta no está vacía",
    errno.EIO: "error de lectura o escritura del disco",
    errno.ECONNREFUSED: "nadie atiende en esa dirección y puerto (conexión rechazada)",
    errno.ECONNRESET: "la conexión se cortó",
    errno.ECONNABORTED: "la conexión se cortó",
    errno.EPIPE: "la conexión se cortó",
    errno.ETIMEDOUT: "no respondió a tiempo",
    errno.EHOSTUNREACH: "no hay ruta de red hasta ese equipo",
    errno.ENETUNREACH: "no hay ruta de red hasta ese equipo",
    errno.ENETDOWN: "la red de este equipo no está activa",
    errno.EADDRINUSE: "esa dirección y puerto ya están en uso",
    errno.EADDRNOTAVAIL: "esa dirección no es de este equipo",
}


def describe_os_error(exc: BaseException) -> str:
    """A short Spanish phrase for ``exc`` (an :class:`OSError`, a timeout, or an error
    caused by one, as aiohttp's), prefixed by the file it names, if any."""
    cause = _os_cause(exc)
    if cause is None:
        return "error inesperado de red o del sistema"
    if isinstance(cause, socket.gaierror):
        phrase = "no se encontró ese nombre de equipo en la red"
    elif isinstance(cause, ssl.SSLError):
        phrase = "falló la conexión segura (TLS)"
    elif isinstance(cause, TimeoutError) and cause.errno is None:
        phrase = "no respondió a tiempo"
    else:
        phrase = _BY_ERRNO.get(cause.errno or 0) or (
            f"error del sistema (código {cause.errno})" if cause.errno
            else "error inesperado de red o del sistema")
    filename = getattr(cause, "filename", None)
    return f"{filename}: {phrase}" if filename else phrase


def os_error_advice(exc: BaseException) -> str:
    """What to do about ``exc``, in Spanish: check the network or the file."""
    cause = _os_cause(exc)
    if isinstance(cause, ConnectionError | TimeoutError | socket.gaierror | ssl.SSLError) \
            or (cause is not None and cause.errno in _NETWORK):
        return "Revise la red y la dirección, y vuelva a intentarlo."
    return "Revise la ruta, el espacio en disco y los permisos, y vuelva a intentarlo."


_NETWORK = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENETDOWN, errno.ETIMEDOUT,
            errno.EADDRNOTAVAIL}


def _os_cause(exc: BaseException) -> OSError | None:
    """``exc`` or the first OSError it wraps (``os_error`` of aiohttp's connection
    errors, ``__cause__``, ``__context__``)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        inner = getattr(current, "os_error", None)
        if isinstance(inner, OSError):
            return inner
        if isinstance(current, OSError) and (current.errno is not None
                                             or isinstance(current, TimeoutError)
                                             or not isinstance(current.__cause__, OSError)):
            return current
        current = current.__cause__ or current.__context__
    return None
