"""The CCV workstation: the CATD workstation program (:mod:`catd`) started on a station
enrolled as a CCV. Its screens (captura, verificación, and the PREP Casilla panel,
:mod:`catd.casilla`) are catd's, chosen by the station's role; this package is only its
command line."""
