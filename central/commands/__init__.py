"""The ``prep central …`` commands, one module per group of them.

:mod:`central.commands.cli` builds the parser from each module's ``register_…`` function; what
every command shares (the database engine, database errors as one Spanish line, who
runs the command) is in :mod:`central.commands.common`. Commands sit on top of the
central: they may use any other module of it, and no other module imports them
(an import contract in ``pyproject.toml`` keeps it so).
"""
