"""Who works with the central and what it hands them: stations' enrollment, signed
requests and health, the operator accounts of each site and the coordinators' login,
the signed bundle (catalog, accounts, serve nodes), disabling a station, which CATD
receives each distrito, and the registered difusores (they enroll with the same kind
of one-time code)."""
