"""The central node of the PREP: enrollment, ingest of station batches, the system of
record in PostgreSQL and its audit log (docs/protocol.md).

Qt-free: the control-room dashboard is a program of its own (``dashboard/``) over the
Qt-free model in :mod:`central.controlroom`.
"""
