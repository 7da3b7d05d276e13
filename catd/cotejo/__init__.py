"""The cotejo screen (issue 29)."""
