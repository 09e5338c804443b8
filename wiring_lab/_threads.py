"""The default CPU thread count: the cores this process may use that are not already busy.

torch's own default is every physical core; on a machine other jobs share, its threads then
spin-wait for cores they do not get (an epoch of the digits demo: 16.8 s at the default against
3.5 s on one thread, measured under load). The 1-minute load average counts the busy ones.
"""

from __future__ import annotations

import os


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """Usable CPUs less those the load average says are busy (at least 1)."""
    cpus = usable_cpus()
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average (Windows): all usable CPUs
        busy = 0.0
    return max(1, min(cpus, int(cpus - busy + 0.5)))
