"""The electoral catalog as the central keeps it: numbered, append-only versions, and
what loading a new one would change over a central that already holds results."""
