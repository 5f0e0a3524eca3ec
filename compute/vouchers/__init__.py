"""Compute vouchers (算力券), part of the compute app (its tables and app label): schemes, vouchers granted to
organisations, their ledger, and the monthly settlement of compute usage against them.

``models`` (registered through ``compute.models``), ``services/`` (``ledger``: every movement of money and the
monthly settlement; ``statements``; ``applications``: schemes, applications and incubation vouchers),
``views``, ``forms``, ``api``, ``statement_pdf`` and ``admin``."""
