"""Cortes from PostgreSQL: snapshot, signed package, schedule (docs/publicacion.md)."""
