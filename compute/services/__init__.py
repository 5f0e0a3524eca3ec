"""Use cases of the public compute service: requests and their decisions (``requests``), allocations on
the cluster (``allocations``), and capacity (``capacity``). Usage ingest and reconciliation are in
``compute.usage``. Pages, the admin, the API and the tasks all call these functions; the cluster backend
is a parameter so tests pass the fake one.
"""
