"""Coordinators' PDF reports (Qt-free, reportlab): ``prep central report progreso``,
``final`` and ``puesta-en-ceros``."""
