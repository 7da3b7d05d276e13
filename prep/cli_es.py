"""The command line in Spanish: argparse's own messages and the logging of one-shot commands.

argparse builds its messages (``usage:``, ``unrecognized arguments``…) through
:mod:`gettext`, and Python ships no Spanish catalog for it; :func:`install` gives it one,
so a technician reads «uso:» and «argumentos no reconocidos» in the same language as
every other message of the PREP. :func:`quiet_libraries` keeps the libraries' chatter
(pgserver's initdb/pg_ctl transcripts, Alembic's migrations) out of the console unless
``-v`` is given.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from typing import Any
from typing import TypeAlias
from typing import TypeVar

#: What ``add_subparsers`` returns: the parameter of every ``register…`` function that
#: adds a command to ``prep`` (or a subcommand to one).
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
T = TypeVar("T")


def checked(name: str, kind: Callable[[str], T], ok: Callable[[T], bool],
            message: str) -> Callable[[str], T]:
    """An argparse ``type``: ``kind(text)``, refused with ``message`` unless ``ok``.
    ``name`` is the function's name, which argparse's own message gives when ``kind``
    itself refuses the text (``invalid <name> value``)."""
    def convert(text: str) -> T:
        value = kind(text)
        if not ok(value):
            raise argparse.ArgumentTypeError(message)
        return value
    convert.__name__ = name
    return convert
_ES = {
    "usage: ": "uso: ",
    "%(prog)s: error: %(message)s\n": "%(prog)s: error: %(message)s\n",
    "options": "opciones",
    "positional arguments": "argumentos",
    "show this help message and exit": "muestra esta ayuda y termina",
    "show program's version number and exit": "muestra la versión del programa y termina",
    "the following arguments are required: %s": "faltan estos argumentos: %s",
    "unrecognized arguments: %s": "argumentos no reconocidos: %s (vea la ayuda con -h)",
    "argument %(argument_name)s: %(message)s": "argumento %(argument_name)s: %(message)s",
    "invalid choice: %(value)r (choose from %(choices)s)":
        "opción no válida: %(value)r (elija una de: %(choices)s)",
    "invalid %(type)s value: %(value)r": "valor no válido: %(value)r",
    "expected one argument": "falta su valor",
    "expected at most one argument": "admite a lo más un valor",
    "expected at least one argument": "necesita al menos un valor",
    "not allowed with argument %s": "no se puede usar junto con %s",
    "one of the arguments %s is required": "falta uno de estos argumentos: %s",
    "ambiguous option: %(option)s could match %(matches)s":
        "opción ambigua: %(option)s puede ser %(matches)s",
    "can't open '%(filename)s': %(error)s": "no se pudo abrir '%(filename)s': %(error)s",
    "ignored explicit argument %r": "se ignoró el valor %r",
    "unknown parser %(parser_name)r (choices: %(choices)s)":
        "subcomando desconocido %(parser_name)r (elija uno de: %(choices)s)",
}
_ES_PLURAL = {
    ("expected %s argument", "expected %s arguments"): ("necesita %s valor", "necesita %s valores"),
}
#: Libraries whose INFO lines are transcripts for developers, not results for users.
LIBRARY_LOGGERS = ("pgserver", "alembic", "asyncio", "aiohttp.access", "zeroconf",
                   "PIL", "urllib3", "filelock")


def _gettext(message: str) -> str:
    return _ES.get(message, message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    spanish = _ES_PLURAL.get((singular, plural))
    if spanish is None:
        return singular if n == 1 else plural
    return spanish[0] if n == 1 else spanish[1]


class _VersionAction(argparse._VersionAction):
    """``--version`` with its help in Spanish: Python 3.11 writes that help as a plain
    default, never through gettext (3.12 and later do). It sets itself up as
    :class:`argparse.Action` directly: argparse's own ``__init__`` calls
    ``super(_VersionAction, self)``, which after :func:`install` names this class."""

    def __init__(self, option_strings: list[str], version: str | None = None,
                 dest: str = argparse.SUPPRESS, default: Any = argparse.SUPPRESS,
                 help: str | None = None, **kwargs: Any) -> None:
        argparse.Action.__init__(
            self, option_strings=option_strings, dest=dest, default=default, nargs=0,
            help=help or _gettext("show program's version number and exit"), **kwargs)
        self.version = version


def install() -> None:
    """Make every argparse parser of this process speak Spanish (idempotent)."""
    argparse._ = _gettext  # type: ignore[attr-defined]
    argparse.ngettext = _ngettext  # type: ignore[attr-defined]
    # A parser registers the action named "version" from this module global when it is
    # made, so the parsers made from now on take the Spanish one.
    argparse._VersionAction = _VersionAction  # type: ignore[misc,assignment]


#: Libraries whose errors are transcripts too: pgserver logs a failed ``pg_ctl`` (its
#: whole command line and output, in English) before raising, and the caller
#: (central.db.embedded) reports the failure itself, in Spanish, with the server's log.
TRANSCRIPT_LOGGERS = ("pgserver",)


def quiet_libraries(verbose: bool) -> None:
    """Libraries log only warnings (the transcript ones nothing) unless ``verbose``
    (``-v``)."""
    for name in LIBRARY_LOGGERS:
        quiet = logging.CRITICAL if name in TRANSCRIPT_LOGGERS else logging.WARNING
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else quiet)
