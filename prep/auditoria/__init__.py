"""The auditor's kit, Qt-free and independent of the central: the format of the signed
evidence package (:mod:`prep.auditoria.paquete`) and its verification anywhere
(:mod:`prep.auditoria.verificar`, ``prep auditoria verificar DIR``). The central writes
the package (``prep auditoria evidencia``, :mod:`central.audit.evidencia`)."""
