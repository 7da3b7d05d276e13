"""The node's own ground floor, which imports nothing else of the central: its data
directory and identity (:mod:`central.node.config`), the refusals every layer raises
(:mod:`central.node.errors`), crash points for fault tests, log lines that a flood cannot
multiply, the process tuning of cortes and the Prometheus metrics."""
