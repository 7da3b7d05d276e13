"""The Merkle tree of RFC 9162 (Certificate Transparency 2.0), §2.1: its hashes and the
inclusion and consistency proofs, written from the RFC's definitions.

A leaf's hash is ``SHA-256(0x00 || datos)`` and an inner node's ``SHA-256(0x01 || izq ||
der)``; the tree of ``n`` leaves splits at the largest power of two below ``n``. Proofs
are lists of 32-byte hashes. The verifiers follow §2.1.3.2 and §2.1.4.2 step by step:
they take untrusted input (a proof read from a file) and only say yes or no.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_BYTES = 32
#: A proof in a tree of at most 2**64 leaves has at most 64 hashes (a bound for readers).
MAX_PRUEBA = 64


def hoja(datos: bytes) -> bytes:
    """The hash of a leaf whose data is ``datos`` (RFC 9162 §2.1.1)."""
    return hashlib.sha256(b"\x00" + datos).digest()


def nodo(izquierda: bytes, derecha: bytes) -> bytes:
    """The hash of an inner node."""
    return hashlib.sha256(b"\x01" + izquierda + derecha).digest()


def _corte(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n`` > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def raiz(hojas: Sequence[bytes]) -> bytes:
    """MTH: the root of the tree whose leaf hashes are ``hojas`` (empty: SHA-256 of "")."""
    if not hojas:
        return hashlib.sha256(b"").digest()
    if len(hojas) == 1:
        return hojas[0]
    k = _corte(len(hojas))
    return nodo(raiz(hojas[:k]), raiz(hojas[k:]))


def prueba_inclusion(indice: int, hojas: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]): the hashes that lead leaf ``indice`` to the root of ``hojas``."""
    if not 0 <= indice < len(hojas):
        raise ValueError(f"la hoja {indice} no está en un árbol de {len(hojas)}")
    if len(hojas) == 1:
        return []
    k = _corte(len(hojas))
    if indice < k:
        return [*prueba_inclusion(indice, hojas[:k]), raiz(hojas[k:])]
    return [*prueba_inclusion(indice - k, hojas[k:]), raiz(hojas[:k])]


def prueba_consistencia(anterior: int, hojas: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]): that the tree of the first ``anterior`` leaves is a prefix of the
    tree of ``hojas`` (0 < anterior <= n)."""
    if not 0 < anterior <= len(hojas):
        raise ValueError(f"no hay prueba de {anterior} a {len(hojas)} hojas")
    return _subprueba(anterior, hojas, True)


def _subprueba(m: int, hojas: Sequence[bytes], completo: bool) -> list[bytes]:
    n = len(hojas)
    if m == n:
        return [] if completo else [raiz(hojas)]
    k = _corte(n)
    if m <= k:
        return [*_subprueba(m, hojas[:k], completo), raiz(hojas[k:])]
    return [*_subprueba(m - k, hojas[k:], False), raiz(hojas[:k])]


def verifica_inclusion(hoja_hash: bytes, indice: int, tamano: int,
                       prueba: Sequence[bytes], raiz_esperada: bytes) -> bool:
    """Whether ``prueba`` shows the leaf ``hoja_hash`` at ``indice`` in the tree of
    ``tamano`` leaves whose root is ``raiz_esperada`` (RFC 9162 §2.1.3.2)."""
    if not 0 <= indice < tamano or len(prueba) > MAX_PRUEBA \
            or any(len(p) != HASH_BYTES for p in prueba):
        return False
    fn, sn, r = indice, tamano - 1, hoja_hash
    for p in prueba:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = nodo(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = nodo(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == raiz_esperada


def verifica_consistencia(anterior: int, tamano: int, raiz_anterior: bytes,
                          raiz_nueva: bytes, prueba: Sequence[bytes]) -> bool:
    """Whether ``prueba`` shows the tree of ``anterior`` leaves (root ``raiz_anterior``)
    is a prefix of the tree of ``tamano`` leaves (root ``raiz_nueva``), RFC 9162
    §2.1.4.2. The same size: the roots must be equal and the proof empty."""
    if not 0 < anterior <= tamano or len(prueba) > MAX_PRUEBA \
            or any(len(p) != HASH_BYTES for p in prueba):
        return False
    if anterior == tamano:
        return not prueba and raiz_anterior == raiz_nueva
    if not prueba:
        return False
    camino = list(prueba)
    if anterior & (anterior - 1) == 0:  # an exact power of two: the old root is a node
        camino.insert(0, raiz_anterior)
    fn, sn = anterior - 1, tamano - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = camino[0]
    for c in camino[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = nodo(c, fr)
            sr = nodo(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = nodo(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == raiz_anterior and sr == raiz_nueva and sn == 0
