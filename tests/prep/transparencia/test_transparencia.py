"""The log's building blocks (issue 67): RFC 9162's tree and proofs, and the C2SP signed
texts, checked against the published test vectors and against every small tree."""

from __future__ import annotations

import base64
import itertools

import pytest

from prep.crypto import SigningKey
from prep.transparencia import merkle
from prep.transparencia import nota
from prep.transparencia.entrada import Entrada
from prep.transparencia.entrada import leer_entrada
from prep.transparencia.nota import NotaError

pytestmark = pytest.mark.rapido

# Certificate Transparency's reference leaves and the roots of their first 1..8 (the
# test vectors of the CT reference implementations).
CT_HOJAS = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
            "606162636465666768696a6b6c6d6e6f"]
CT_RAICES = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def _hojas(n: int) -> list[bytes]:
    return [merkle.hoja(f"corte {i}".encode()) for i in range(n)]


def test_roots_match_certificate_transparency_vectors() -> None:
    hashes = [merkle.hoja(bytes.fromhex(h)) for h in CT_HOJAS]
    assert [merkle.raiz(hashes[:n]).hex() for n in range(1, 9)] == CT_RAICES
    assert merkle.raiz([]).hex().startswith("e3b0c442")


def test_every_inclusion_proof_of_small_trees_verifies_and_no_altered_one_does() -> None:
    for n in range(1, 34):
        hojas = _hojas(n)
        raiz = merkle.raiz(hojas)
        for i in range(n):
            prueba = merkle.prueba_inclusion(i, hojas)
            assert merkle.verifica_inclusion(hojas[i], i, n, prueba, raiz)
            assert not merkle.verifica_inclusion(hojas[(i + 1) % n], i, n, prueba, raiz) \
                or n == 1
            for j in range(len(prueba)):
                roto = [*prueba[:j], bytes(32), *prueba[j + 1:]]
                assert not merkle.verifica_inclusion(hojas[i], i, n, roto, raiz)
            if n > 1:
                assert not merkle.verifica_inclusion(hojas[i], (i + 1) % n, n, prueba, raiz)


def test_every_consistency_proof_of_small_trees_verifies_and_a_rewritten_past_does_not(
        ) -> None:
    for n in range(1, 34):
        hojas = _hojas(n)
        raiz = merkle.raiz(hojas)
        for m in range(1, n + 1):
            prueba = merkle.prueba_consistencia(m, hojas)
            raiz_m = merkle.raiz(hojas[:m])
            assert merkle.verifica_consistencia(m, n, raiz_m, raiz, prueba)
            # The past rewritten: the first corte replaced, everything after re-signed.
            reescrito = [merkle.hoja(b"otro corte"), *hojas[1:]]
            assert not merkle.verifica_consistencia(m, n, raiz_m, merkle.raiz(reescrito),
                                                    merkle.prueba_consistencia(m, reescrito))
            for j in range(len(prueba)):
                roto = [*prueba[:j], bytes(32), *prueba[j + 1:]]
                assert not merkle.verifica_consistencia(m, n, raiz_m, raiz, roto)


def test_proofs_from_hostile_files_are_refused_without_raising() -> None:
    hojas = _hojas(5)
    raiz = merkle.raiz(hojas)
    assert not merkle.verifica_inclusion(hojas[0], 0, 5, [b"x"] * 3, raiz)
    assert not merkle.verifica_inclusion(hojas[0], 7, 5, [], raiz)
    assert not merkle.verifica_consistencia(3, 5, raiz, raiz, [bytes(32)] * 65)
    assert not merkle.verifica_consistencia(0, 5, raiz, raiz, [])
    assert not merkle.verifica_consistencia(6, 5, raiz, raiz, [])


def test_signed_note_matches_the_go_reference_example() -> None:
    # golang.org/x/mod/sumdb/note's example key and message.
    semilla = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
    llave = SigningKey.from_raw(semilla)
    assert nota.llave_texto("PeterNeumann", llave.public) == \
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    texto = ("If you think cryptography is the answer to your problem,\n"
             "then you don't know what your problem is.\n")
    firmada = nota.firmar(texto, "PeterNeumann", llave)
    assert firmada.codificar().decode().endswith(
        "\n\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXg"
        "KvqfqdngotpRZb6KE6RyyBwJnAM=\n")
    leida = nota.leer(firmada.codificar())
    assert leida == firmada
    nombre, tipo, publica = nota.leer_llave_texto(nota.llave_texto("PeterNeumann",
                                                                   llave.public))
    assert (nombre, tipo, publica) == ("PeterNeumann", nota.ED25519, llave.public)
    # A key whose base64 holds «+» reads back too (the text splits at the first two).
    con_mas = next(k for k in (SigningKey.from_raw(bytes([i]) * 32) for i in range(64))
                   if "+" in nota.llave_texto("d", k.public, nota.COFIRMA).split("+", 2)[2])
    assert nota.leer_llave_texto(nota.llave_texto("d", con_mas.public, nota.COFIRMA)) == \
        ("d", nota.COFIRMA, con_mas.public)
    assert nota.firmada_por(leida, "PeterNeumann", publica)
    alterada = nota.Nota(texto.replace("problem,", "problema,"), leida.firmas)
    assert not nota.firmada_por(alterada, "PeterNeumann", publica)


def test_checkpoint_signed_and_cosigned_round_trip() -> None:
    central, testigo = SigningKey.generate(), SigningKey.generate()
    cp = nota.Checkpoint("prep.iecm.example/2027", 3, merkle.raiz(_hojas(3)))
    firmada = nota.firmar(cp.texto(), "prep.iecm.example/2027", central)
    cofirma = nota.cofirmar(cp, "difusor-1", testigo, 1_780_000_000)
    leida = nota.leer(firmada.con(cofirma).codificar())
    assert nota.checkpoint(leida) == cp
    assert nota.firmada_por(leida, "prep.iecm.example/2027", central.public)
    assert nota.cofirma_valida(cp, leida.firmas[1], "difusor-1", testigo.public) == \
        1_780_000_000
    # A cosignature of another head, or by another key, is not one of this head.
    otro = nota.Checkpoint(cp.origen, 3, merkle.raiz(_hojas(4)[1:]))
    assert nota.cofirma_valida(otro, cofirma, "difusor-1", testigo.public) is None
    assert nota.cofirma_valida(cp, cofirma, "difusor-1", central.public) is None
    # The witness's line is not a signature of the checkpoint's text (type 0x04 ≠ 0x01).
    assert not nota.firmada_por(nota.Nota(cp.texto(), (cofirma,)), "difusor-1",
                                testigo.public)


@pytest.mark.parametrize("crudo", [
    b"", b"sin firmas\n", b"texto\n\nfirma sin guion\n", b"texto\n\n\xe2\x80\x94 a b c\n",
    b"texto\n\n\xe2\x80\x94 a !!!\n", b"\xff\n\n\xe2\x80\x94 a AAAAAAAA\n",
    b"x" * (nota.MAX_NOTA + 1),
    b"texto\n\n" + b"\xe2\x80\x94 a AAAAAAAA\n" * (nota.MAX_FIRMAS + 1),
])
def test_malformed_notes_raise_a_spanish_error(crudo: bytes) -> None:
    with pytest.raises(NotaError):
        nota.leer(crudo)


def test_a_checkpoint_with_a_bad_size_or_root_is_refused() -> None:
    llave = SigningKey.generate()
    for texto in ("origen\n-1\nAAAA\n", "origen\n01\n" + "A" * 44 + "\n",
                  "origen\n3\nAAAA\n", "origen\n3\n" + "A" * 44 + "\nextra\n"):
        with pytest.raises(NotaError):
            nota.checkpoint(nota.firmar(texto, "origen", llave))


def test_entry_round_trip_and_exact_form() -> None:
    entrada = Entrada("20270606_2305", "2027-06-07T05:05:00.000000Z", "a" * 64)
    assert leer_entrada(entrada.datos()) == entrada
    assert entrada.hash() == merkle.hoja(entrada.datos())
    for malo in (entrada.datos().replace(b"nombre", b"Nombre"),
                 entrada.datos() + b"\n", entrada.datos().replace(b"a" * 64, b"A" * 64)):
        with pytest.raises(NotaError):
            leer_entrada(malo)
    with pytest.raises(NotaError):
        Entrada("../etc", "2027-06-07T05:05:00.000000Z", "a" * 64)


def test_inclusion_in_a_later_head_follows_from_consistency() -> None:
    """How a verifier checks an old corte against the final head: its inclusion in the
    tree where it was added, then that tree's consistency with the final one."""
    hojas = _hojas(20)
    for i, n in itertools.product(range(0, 20, 3), (20,)):
        pequeno = hojas[: i + 1]
        assert merkle.verifica_inclusion(hojas[i], i, i + 1,
                                         merkle.prueba_inclusion(i, pequeno),
                                         merkle.raiz(pequeno))
        assert merkle.verifica_consistencia(i + 1, n, merkle.raiz(pequeno),
                                            merkle.raiz(hojas),
                                            merkle.prueba_consistencia(i + 1, hojas))
