"""Ed25519 keys and signatures, and certificate fingerprints.

Stations and the central each hold one Ed25519 key; records travel in batches signed by
the station, receipts come back signed by the central. Keys are stored as raw 32-byte
values, base64 in JSON, private keys in files readable only by their owner.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from prep.durable import write_private

KEY_BYTES = 32
SIGNATURE_BYTES = 64


class SignatureError(ValueError):
    """A signature or key that does not verify or cannot be read."""


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, expected_len: int | None = None) -> bytes:
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, AttributeError):
        raise SignatureError("not valid base64") from None
    if expected_len is not None and len(data) != expected_len:
        raise SignatureError(f"{len(data)} bytes, expected {expected_len}")
    return data


class SigningKey:
    """A private Ed25519 key."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_raw(cls, raw: bytes) -> SigningKey:
        if len(raw) != KEY_BYTES:
            raise SignatureError("an Ed25519 private key is 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    def raw(self) -> bytes:
        return self._key.private_bytes(serialization.Encoding.Raw,
                                       serialization.PrivateFormat.Raw,
                                       serialization.NoEncryption())

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    @property
    def public(self) -> VerifyKey:
        return VerifyKey(self._key.public_key())

    def save(self, path: Path) -> None:
        """Write the key to ``path`` (mode 0600), replacing nothing that exists. The
        directory entry is flushed too: after a power cut the key must exist if anything
        that was signed with it does."""
        write_private(path, self.raw())

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        return cls.from_raw(path.read_bytes())


class VerifyKey:
    """A public Ed25519 key."""

    def __init__(self, key: Ed25519PublicKey) -> None:
        self._key = key

    @classmethod
    def from_raw(cls, raw: bytes) -> VerifyKey:
        if len(raw) != KEY_BYTES:
            raise SignatureError("an Ed25519 public key is 32 bytes")
        return cls(Ed25519PublicKey.from_public_bytes(raw))

    @classmethod
    def from_b64(cls, text: str) -> VerifyKey:
        return cls.from_raw(b64decode(text, KEY_BYTES))

    def raw(self) -> bytes:
        return self._key.public_bytes(serialization.Encoding.Raw,
                                      serialization.PublicFormat.Raw)

    def b64(self) -> str:
        return b64encode(self.raw())

    def fingerprint(self) -> str:
        """SHA-256 (hex) of the raw public key, as shown to people."""
        return hashlib.sha256(self.raw()).hexdigest()

    def verify(self, signature: bytes, message: bytes) -> None:
        """Raise :class:`SignatureError` unless ``signature`` is this key's on ``message``."""
        if len(signature) != SIGNATURE_BYTES:
            raise SignatureError("an Ed25519 signature is 64 bytes")
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            raise SignatureError("signature does not verify") from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VerifyKey) and self.raw() == other.raw()

    def __hash__(self) -> int:
        return hash(self.raw())


def cert_fingerprint(der: bytes) -> str:
    """SHA-256 (hex, lower case) of a DER certificate: what stations pin."""
    return hashlib.sha256(der).hexdigest()


def pem_fingerprint(cert_pem: str) -> str:
    """:func:`cert_fingerprint` of a PEM certificate; ``ValueError`` if it is not one."""
    try:
        der = ssl.PEM_cert_to_DER_cert(cert_pem)
    except ValueError as exc:
        raise ValueError(f"not a PEM certificate ({exc})") from None
    return cert_fingerprint(der)


def is_ca_certificate(cert_pem: str) -> bool:
    """Whether PEM certificate ``cert_pem`` says it is a certificate authority
    (basicConstraints CA:TRUE): trusting one trusts every certificate it issues.
    ``ValueError`` if it is not a certificate."""
    certificate = x509.load_pem_x509_certificate(cert_pem.encode("ascii"))
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return constraints.value.ca
