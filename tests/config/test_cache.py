"""config.cache: Django's Redis cache with one client per pool, against a real Redis."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import caches

from config.cache import RedisCache

pytestmark = pytest.mark.redis


@pytest.fixture
def two_workers(settings):
    """Two cache objects on one Redis database, as two gunicorn workers hold them."""
    settings.CACHES = {
        "default": {"BACKEND": "config.cache.RedisCache", "LOCATION": settings.TEST_REDIS_URL},
        "other": {"BACKEND": "config.cache.RedisCache", "LOCATION": settings.TEST_REDIS_URL},
    }
    first, second = caches["default"], caches["other"]
    first.clear()
    yield first, second
    first.clear()


def test_what_one_worker_writes_the_other_reads(two_workers):
    first, second = two_workers
    first.set("comment-rate:7", [1.5, 2.5], timeout=60)
    assert second.get("comment-rate:7") == [1.5, 2.5]
    second.delete("comment-rate:7")
    assert first.get("comment-rate:7", "gone") == "gone"


def test_threads_of_one_worker_share_its_client_and_lose_no_count(two_workers):
    first, second = two_workers
    first.set("count", 0)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: first.incr("count"), range(400)))
    assert second.get("count") == 400
    assert first._cache.get_client() is first._cache.get_client(write=True)


def test_a_lost_connection_is_made_again(two_workers):
    first, _ = two_workers
    first.set("k", "v")
    client = first._cache.get_client()
    client.connection_pool.disconnect()
    assert first.get("k") == "v"
    assert isinstance(first, RedisCache)
