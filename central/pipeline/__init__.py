"""The acta pipeline at the central: acta states advanced by the records stations send
(:mod:`central.pipeline.state`, a pure fold), kept in PostgreSQL inside each ingest
transaction (:mod:`central.pipeline.apply`) and recomputable from the facts
(:mod:`central.pipeline.rebuild`). See ``docs/pipeline.md``."""
