"""The central's HTTPS API: the application and its middleware (:mod:`central.api.server`),
what every route module shares (:mod:`central.api.http_common`), the guards in front of
it (connection limits, unsigned refusals by source, enrollment attempts) and one routes
module per role (``*_api.py``): stations' enrollment and bundle, the sync agent's
requests, work leases, the CCV's intake panel, the difusores. See docs/protocol.md."""
