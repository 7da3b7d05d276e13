"""The small Qt kit the three GUI programs share (the CATD/CCV workstation, and the
control room's dashboard): one palette, the tone convention, the few widgets every
screen builds (a caption, a card) and the presenter that polls something off the GUI
thread while its screen is shown.

It imports no program package (``catd``, ``ccv``, ``central``): each program builds its
own look on it, and none imports another (import contracts in ``pyproject.toml``).
"""
