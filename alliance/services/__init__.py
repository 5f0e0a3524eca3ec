"""The alliance's use cases, one module per part of the domain (import from the module, not from here):

- ``membership``: apply, decide, suspend, reinstate, withdraw, change tier, renew, and the daily recheck;
- ``profiles``: who sees each profile field, and moderated profile changes;
- ``directory``: keeping the public directory in sync, and reading it (search, facets, statistics);
- ``solutions`` and ``needs``: members' solutions (moderated), needs and interest in a match;
- ``matching``: suggested solutions and members for a need;
- ``inputs`` and ``mail``: the checks of submitted values and the emails they share.
"""
