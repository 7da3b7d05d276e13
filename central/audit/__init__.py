"""What the central keeps as evidence: the hash-chained audit log and its copy outside
the database (the anchor), anomalies for the coordinator, the audited builds, and the
auditor's evidence package. Every audit event and anomaly type is declared once in the
TOML files beside their modules."""
