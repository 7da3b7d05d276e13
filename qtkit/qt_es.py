"""Qt's own texts in Spanish for every PySide6 program of the suite (the CATD and CCV
workstations and the dashboard): standard buttons («Aceptar», «Cancelar»), a line
edit's context menu, the folder chooser. Our own texts are Spanish already; these come
from Qt and would otherwise say «OK» and «Cancel» (issue 35).
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtCore import QLibraryInfo
from PySide6.QtCore import QLocale
from PySide6.QtCore import QTranslator

TRANSLATOR_NAME = "prep-qt-es"
"""The installed translator's object name (a child of the application): installed once."""


def install_qt_spanish(app: QCoreApplication) -> bool:
    """Load Qt's Spanish (Mexico, falling back to Spanish) translation into ``app``, once;
    whether it is installed (``False`` only if the Qt in use ships no ``qtbase_es``)."""
    if app.findChild(QTranslator, TRANSLATOR_NAME) is not None:
        return True
    translator = QTranslator(app)
    translator.setObjectName(TRANSLATOR_NAME)
    if not translator.load(QLocale(QLocale.Language.Spanish, QLocale.Country.Mexico),
                           "qtbase", "_",
                           QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        translator.deleteLater()
        return False
    app.installTranslator(translator)
    return True
