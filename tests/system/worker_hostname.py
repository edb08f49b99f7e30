"""``[core] hostname_callable`` of the system tests' Celery workers (tests/system/airflow_stack.py):
each worker process of one machine reports its own name on the task instances it runs, as workers
on separate hosts do. Imported by every task process: standard library only."""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("TTHC_SYSTEM_WORKER_HOSTNAME") or socket.getfqdn()
