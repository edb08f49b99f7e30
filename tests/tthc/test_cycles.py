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


def test_cycles_made_while_paused_are_collected_once_it_resumes(collector_enabled):
    class Node:
        pass

    gc.collect()
    with collector_paused():
        node = Node()
        node.itself = node
        del node
        assert any(type(o) is Node for o in gc.get_objects())
    gc.collect()
    assert not any(type(o) is Node for o in gc.get_objects())
