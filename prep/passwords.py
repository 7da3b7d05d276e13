"""Operator passwords: scrypt hashes made at the central, checked offline at stations.

A hash carries its own salt and parameters (``hashlib.scrypt``, n=2**14, r=8, p=1, 32
bytes by default), so the central can raise the cost later without breaking accounts
already distributed. Parameters read from a bundle are bounded before use: a hash with
absurd parameters is refused rather than letting it exhaust the station's memory.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import secrets
import sys
from dataclasses import dataclass
from typing import Any

from prep.crypto import b64decode
from prep.crypto import b64encode

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_DKLEN = 32
SALT_BYTES = 16
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024

_MAX_N = 2**20
_MAX_R = 32
_MAX_P = 16
_MAX_MEMORY = 256 * 1024 * 1024


class PasswordError(ValueError):
    """A password that may not be used, or a stored hash that cannot be read (Spanish)."""


@dataclass(frozen=True)
class ScryptHash:
    """An scrypt derived key with the salt and parameters that made it."""

    salt: bytes
    n: int
    r: int
    p: int
    hash: bytes

    def to_json(self) -> dict[str, Any]:
        return {"salt": b64encode(self.salt), "n": self.n, "r": self.r, "p": self.p,
                "hash": b64encode(self.hash)}

    @classmethod
    def from_json(cls, value: Any) -> ScryptHash:
        """Read a hash from a bundle (untrusted shape, trusted signature)."""
        if not isinstance(value, dict) or set(value) != {"salt", "n", "r", "p", "hash"}:
            raise PasswordError("el hash de la contraseña está incompleto")
        try:
            salt, digest = b64decode(value["salt"]), b64decode(value["hash"])
        except ValueError:
            raise PasswordError("el hash de la contraseña no es base64 válido") from None
        n, r, p = value["n"], value["r"], value["p"]
        if not all(type(x) is int for x in (n, r, p)):
            raise PasswordError("los parámetros de scrypt deben ser enteros")
        scrypt = cls(salt, n, r, p, digest)
        scrypt.check()
        return scrypt

    def check(self) -> None:
        """Refuse parameters no legitimate central would use."""
        if not (2 <= self.n <= _MAX_N and self.n & (self.n - 1) == 0
                and 1 <= self.r <= _MAX_R and 1 <= self.p <= _MAX_P
                and 128 * self.r * self.n <= _MAX_MEMORY):
            raise PasswordError(f"parámetros de scrypt fuera de rango (n={self.n}, "
                                f"r={self.r}, p={self.p})")
        if len(self.salt) < SALT_BYTES or not 16 <= len(self.hash) <= 64:
            raise PasswordError("sal o hash de scrypt de longitud inválida")

    def derive(self, password: str) -> bytes:
        """The key ``password`` derives with this salt and parameters, as long as
        ``hash`` (the dashboard's login sends it for the database to compare)."""
        return _derive(password, self.salt, self.n, self.r, self.p, len(self.hash))

    def matches(self, password: str) -> bool:
        """Whether ``password`` derives this hash (constant-time comparison)."""
        return hmac.compare_digest(_derive(password, self.salt, self.n, self.r, self.p,
                                           len(self.hash)), self.hash)


def check_new_password(password: str) -> None:
    """Refuse a password too short or too long for an operator account."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordError(f"la contraseña debe tener al menos {MIN_PASSWORD_LENGTH} "
                            "caracteres")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordError(f"la contraseña no debe pasar de {MAX_PASSWORD_LENGTH} caracteres")


def read_new_password(from_stdin: bool, prompt: str = "Contraseña del operador: ") -> str:
    """A new password for a command line: one line of stdin, or typed twice without
    echo; refused (:class:`PasswordError`) if too short or long."""
    if from_stdin:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    else:
        password = getpass.getpass(prompt)
        check_new_password(password)
        if getpass.getpass("Repita la contraseña: ") != password:
            raise PasswordError("las contraseñas no coinciden")
    check_new_password(password)
    return password


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P,
                  dklen: int = SCRYPT_DKLEN) -> ScryptHash:
    """A new scrypt hash of ``password`` with a fresh random salt."""
    check_new_password(password)
    salt = secrets.token_bytes(SALT_BYTES)
    scrypt = ScryptHash(salt, n, r, p, _derive(password, salt, n, r, p, dklen))
    scrypt.check()
    return scrypt


_DUMMY = ScryptHash(b"\0" * SALT_BYTES, SCRYPT_N, SCRYPT_R, SCRYPT_P, b"\0" * SCRYPT_DKLEN)


def waste_like_a_check(password: str) -> None:
    """Spend the time of one check, so an unknown user answers as slowly as a known one."""
    _DUMMY.matches(password)


def _derive(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    # scrypt needs 128·r·n bytes (plus p blocks); leave headroom over the default 32 MiB.
    maxmem = 128 * r * (n + p + 2) + (1 << 20)
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=max(maxmem, 32 * 1024 * 1024), dklen=dklen)
