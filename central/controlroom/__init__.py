"""The control room's model (Qt-free): what it reads in one consistent snapshot
(:mod:`~central.controlroom.overview`), what a coordinator does through the central's
audited functions (:mod:`~central.controlroom.actions`) and when to read again
(:mod:`~central.controlroom.gate`). The dashboard (:mod:`dashboard`) draws it
with Qt; the reports (:mod:`central.controlroom.reports`) print the same snapshot."""
