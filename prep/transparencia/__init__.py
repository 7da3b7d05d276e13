"""The public log of cortes (issue 67): an append-only Merkle tree (RFC 9162 hashing) of
every published corte, its signed checkpoints and the difusores' cosignatures.

- :mod:`prep.transparencia.merkle`: the tree's hashes and its inclusion and consistency
  proofs (RFC 9162 §2.1), pure functions over leaf hashes.
- :mod:`prep.transparencia.nota`: the signed texts (C2SP *signed-note*,
  *tlog-checkpoint* and *tlog-cosignature/v1*, Ed25519): the central signs each
  checkpoint, every witness (a registered difusor) cosigns the ones it checked.
- :mod:`prep.transparencia.entrada`: a corte as one leaf of the log.
- :mod:`prep.transparencia.fuente`: where the published log is read from (a directory
  or ``https://``), every read bounded.
- :mod:`prep.transparencia.auditoria`: checking the published log as a third party does
  (``prep verify-corte --testigos``, :mod:`prep.corte.verify_testigos`).
- :mod:`prep.transparencia.testigo_cli`: ``prep testigo guardar|comprobar``, a party's
  representative's heads of the night.

Qt-free and central-free: the central (:mod:`central.publication.transparencia`), the
difusor and ``prep verify-corte`` share it.
The formats are written down for third parties in docs/publicacion.md («Registro público
de cortes»).
"""
