"""The captura screen (issue 5, item 4) and what the verificación screen shares with it."""
