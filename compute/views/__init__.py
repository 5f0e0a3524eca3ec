"""Pages of the public compute service, one module per part of the domain: ``public`` (landing page and
partitions), ``requests`` (the organisations' quota requests), ``review`` (the operators' queue and
decisions), ``allocations`` and ``operations`` (capacity and reconciliation).

Views parse input, call one service or QuerySet method and present the result; every rule lives in
``compute.services`` and the models.
"""
