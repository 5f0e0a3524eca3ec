"""Fixtures of the compute tests (the data itself is built in ``tests/compute/factories.py``)."""

import pytest

from tests.compute.factories import PartitionFactory


@pytest.fixture
def partition(db):
    return PartitionFactory()
