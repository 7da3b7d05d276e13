"""Continuity of the central node on PostgreSQL's own machinery: a hot standby by
streaming replication with synchronous commit, its promotion, and the coordinator's
audited choice to go on asynchronously while the standby is down (docs/continuidad.md).
"""
