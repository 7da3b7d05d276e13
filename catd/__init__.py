"""The CATD workstation (PySide6): enrollment, operator login and the screens of the
operator's role over the Qt-free station services of :mod:`prep.station`.

Views are thin: each screen has a presenter, station work runs on
:class:`catd.taskman.TaskManager` lanes and comes back to the GUI thread by signal.
"""
