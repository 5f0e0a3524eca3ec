"""REST API of the public compute service: thin views over ``compute.services`` and ``compute.usage``, one
module per part of the domain (``partitions``, ``requests``, ``allocations``, ``reconcile``)."""
