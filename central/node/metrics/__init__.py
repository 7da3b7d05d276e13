"""What the central tells a NOC's Prometheus (issue 68; docs/instalacion.md, «Monitoreo»).

Two kinds of metric, on ``serve --metrics-port``:

- :mod:`central.node.metrics.instruments`: counters and histograms of what *this process* did
  (batches and records ingested or refused and by what reason, ingest latency, leases
  granted and found expired, corte phases). Prometheus adds up the ``serve`` nodes.
- :mod:`central.node.metrics.database`: the night's state, read from PostgreSQL at scrape
  time in one short read-only transaction with a time budget (queue depth, each
  station's backlog, last contact and clock skew, the last corte, anomalies open, the
  audit chain's length, the standby's replication lag, the difusores' lag): every
  ``serve`` node of one database reports the same values.

The domain code only calls the thin functions of :mod:`central.node.metrics.instruments` at
its edges; nothing here takes part in any published number.
"""
