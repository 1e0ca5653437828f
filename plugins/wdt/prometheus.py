"""The watchdog's state as Prometheus series for ``GET /metrics``, labelled ``identity`` (what the
hardware calls itself, as node_exporter's watchdog collector labels it): ``node_watchdog_timeout_seconds``,
``portald_watchdog_enabled`` (counting down, whoever armed it), ``portald_watchdog_armed`` (held armed
and petted by this daemon) and the timeout range (``portald_watchdog_timeout_{min,max}_seconds``).

``info()`` reads sysfs only (it never arms the watchdog); a driver whose calls can stall is run in
the threadpool by the core, like for every other caller.
"""
from __future__ import annotations


def families(driver):
    if driver is None:
        return None
    from prometheus_client.core import GaugeMetricFamily

    info = driver.info()
    labels = [info["type"]]
    found = []
    for name, documentation, value in (
        ("node_watchdog_timeout_seconds", "The watchdog's timeout in seconds.", info["timeout"]),
        ("portald_watchdog_enabled", "Whether the watchdog is counting down (1) or not (0).", info["enabled"]),
        ("portald_watchdog_armed", "Whether this daemon holds the watchdog armed and pets it.",
         getattr(driver, "armed", False)),
        ("portald_watchdog_timeout_min_seconds", "The shortest timeout the watchdog takes.", info["min"]),
        ("portald_watchdog_timeout_max_seconds", "The longest timeout the watchdog takes.", info["max"]),
    ):
        family = GaugeMetricFamily(name, documentation, labels=["identity"])
        family.add_metric(labels, float(value))
        found.append(family)
    return found
