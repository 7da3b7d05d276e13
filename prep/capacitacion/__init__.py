"""Training mode (issue 32, ``docs/capacitacion.md``): the real workstation screens
against a practice set of synthetic actas whose true values are known, served by an
in-process practice central that no network reaches; each operator's score against
that truth, and the trainer's PDF."""
