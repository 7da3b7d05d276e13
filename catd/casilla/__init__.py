"""The PREP Casilla screen of a CCV station: the photos the central received from the
casillas and refused (and why), actas waiting for capture and validated."""
