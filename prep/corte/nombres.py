"""The names of a corte's files and of its directory, which every part of the corte
(the package, the site, ``verify-corte``, the central's publication) refers to: kept
apart from the modules that make the files, so naming a file imports none of them.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from prep.catalog.model import Eleccion
from prep.corte.anexo import TZ

MANIFEST = "MANIFIESTO.sha256"
#: The manifest's Ed25519 signature, and the public key that checks it.
SIGNATURE = MANIFEST + ".sig"
PUBLIC_KEY = "llave_publica.pem"
#: What changed since the previous corte (central.publication.diferencias).
DIFERENCIAS = "diferencias.json"
LEEME = "LEEME.txt"
#: The corte's folders: its acta images (by their SHA-256) and its public site.
IMAGENES = "imagenes"
SITIO = "sitio"


def slug(text: str) -> str:
    """File-name form of an election name: ``ALCALDÍAS`` → ``ALCALDIAS``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "_".join("".join(ch if ch.isalnum() else " " for ch in ascii_text).upper().split())


def csv_name(eleccion: Eleccion) -> str:
    """The election's results CSV in a corte: ``ALCALDIAS.csv``."""
    return f"{slug(eleccion.nombre)}.csv"


def candidaturas_csv_name(eleccion: Eleccion) -> str:
    """The election's candidaturas CSV in a corte: ``ALCALDIAS_CANDIDATURAS.csv``."""
    return f"{slug(eleccion.nombre)}_CANDIDATURAS.csv"


#: A corte's directory name: :func:`corte_dirname`, then ``_2``, ``_3``… for a second
#: and later corte of the same minute.
NOMBRE_CORTE = re.compile(r"[0-9]{8}_[0-9]{4}(_[1-9][0-9]*)?")  # [0-9]: \d takes any script's


def corte_dirname(corte: datetime) -> str:
    """``YYYYMMDD_HHMM`` of the corte in local (America/Mexico_City) time."""
    return f"{corte.astimezone(TZ):%Y%m%d_%H%M}"
