"""tthc.cycles: the collector is paused for the block and resumes as it was."""

from __future__ import annotations

import gc

import pytest

from tthc.cycles import collector_paused


@pytest.fixture
def collector_enabled():
    was_enabled = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was_enabled else gc.disable)()


def test_paused_inside_and_resumed_after(collector_enabled):
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_resumes_when_the_block_raises(collector_enabled):
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("page failed")
    assert gc.isenabled()


def test_a_collector_off_before_stays_off(collector_enabled):
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_cycles_made_while_paused_wait_for_it_and_are_collected_once_it_resumes(collector_enabled):
    """No explicit gc.collect() after the block: the collector that resumes finds the cycle itself."""

    class Node:
        pass

    def allocate_containers() -> list:
        # Kept alive: the collector counts allocations net of deallocations. 20,000 is far past
        # the young generation's threshold.
        return [[] for _ in range(20_000)]

    def nodes_alive() -> int:
        return sum(type(o) is Node for o in gc.get_objects())

    gc.collect()
    with collector_paused():
        node = Node()
        node.itself = node
        del node
        held = allocate_containers()
        assert nodes_alive() == 1  # paused: nothing collected it
    held += allocate_containers()
    assert nodes_alive() == 0
