"""The station side of the PREP: local store, blob directory, outbox and sync agent.

A CATD or CCV workstation (or a headless virtual station in a drill) keeps every record
it makes in a local SQLite store before anything travels, so acopio and digitalización
never wait for the network. A background agent freezes the outbox into signed,
hash-chained batches and delivers them to the central node over TLS pinned at
enrollment (docs/protocol.md). Qt-free: the workstations wrap :class:`Station`
(:mod:`prep.station.station`) in their own views.
"""
