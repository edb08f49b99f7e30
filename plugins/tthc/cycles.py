"""Bulk work on parsed records with Python's cycle collector paused.

A page of dossiers decodes into about a million dicts, lists and strings that live until the page
is written. The cycle collector runs every 700 container allocations and walks the survivors again
and again as they age through its generations, which costs a large share of the extraction's CPU
(docs/performance.md, "Code comments' measurements"). None of it is needed: decoded JSON, typed rows and COPY buffers are trees, which
reference counting frees the moment a page is done. Pausing only delays the collector: a cycle
made meanwhile (an exception's traceback, say) is collected when it resumes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cycle collector for the block; it resumes as it was, whatever the block raises."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
