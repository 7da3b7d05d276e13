"""``prep difusor``: republish the PREP's signed cortes from a server of one's own.

A *difusor* (a university, a newspaper) follows the institute's signed index
(``indice.json``, written by the central beside its cortes), downloads each new corte
fetching only the files it does not hold yet, checks it with the same code as
``prep verify-corte`` against the key fingerprint the institute publishes, and only
then moves it into its web root. Qt-free; it imports :mod:`prep`, never the central.
See docs/difusores.md.
"""
