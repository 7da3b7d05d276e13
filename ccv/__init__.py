"""The CCV workstation (PySide6): the CATD workstation's login, captura and
verificación screens (reused from :mod:`catd`, not copied), drawing work from every
CATD, plus the PREP Casilla intake panel (:mod:`ccv.panel`)."""
