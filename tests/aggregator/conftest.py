"""One real PostgreSQL cluster for the aggregator's tests of a module (tests/postgres_support.py)."""

from __future__ import annotations

import pytest

from tests.postgres_support import PostgresCluster


@pytest.fixture(scope="module")
def postgres():
    cluster = PostgresCluster.create()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()
