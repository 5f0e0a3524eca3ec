"""Cluster identities: each person's one POSIX identity at the center and their SSH keys.

The portal owns them and provisions them into the directory the cluster reads (``directory/``), as it owns
allocations and converges them to Slurm (``compute/backends/``). A package of ``compute`` for the reason the
vouchers are (docs/architecture.md): an identity exists because of allocations, and locks when the last one
goes.
"""
