"""The verificación screen (issue 5, item 5)."""
