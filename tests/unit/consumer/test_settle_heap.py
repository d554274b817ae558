"""settle_heap: a set-up consumer's objects leave the cyclic collector's scans."""

from __future__ import annotations

import gc

from consumer.app import settle_heap


def test_objects_held_at_set_up_are_no_longer_scanned_by_the_collector() -> None:
    held = [{"model": i} for i in range(1000)]  # like service models: alive for good
    try:
        settle_heap()
        assert gc.get_freeze_count() >= len(held)
        young = {id(o) for generation in range(3) for o in gc.get_objects(generation)}
        assert not any(id(o) in young for o in held)
    finally:
        gc.unfreeze()
