"""The central node of the PREP: enrollment, ingest of station batches, the system of
record in PostgreSQL and its audit log (docs/protocol.md).

Qt-free: the control-room dashboard lives elsewhere and only reads the database.
"""
