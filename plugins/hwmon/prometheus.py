"""The hwmon readings as Prometheus series for ``GET /metrics``, named as node_exporter's hwmon
collector names them: ``node_hwmon_temp_celsius``, ``node_hwmon_in_volts``, ``node_hwmon_curr_amps``
and ``node_hwmon_fan_rpm``, labelled ``chip`` and ``sensor``.

``sensor`` is the reading's name (unique within its kind, e.g. ``CPU``, ``nct6775 in0``). A reading
carries no chip of its own in the driver interface: ``chip`` is the reading's ``chip`` key when a
driver adds one, else empty. Values come from the plugin's sampler, the one requests and the
``hwmon`` event share (a scrape never reads a sensor itself).
"""
from __future__ import annotations

# kind of reading -> (series, help)
SERIES = {
    "temperature": ("node_hwmon_temp_celsius", "Hardware monitor temperature, in degrees Celsius."),
    "voltage": ("node_hwmon_in_volts", "Hardware monitor voltage, in volts."),
    "current": ("node_hwmon_curr_amps", "Hardware monitor current, in amperes."),
    "fanspeed": ("node_hwmon_fan_rpm", "Hardware monitor fan speed, in revolutions per minute."),
}


def families(sampler):
    """The families of the latest sample (``sampler`` None: no driver, no series); a failed sample
    raises ``SampleFailed``, which the scrape reports as this plugin's failure."""
    if sampler is None:
        return None
    from prometheus_client.core import GaugeMetricFamily

    data = sampler.latest()
    found = []
    for kind, (name, documentation) in SERIES.items():
        readings = data.get(kind) or []
        if not readings:
            continue
        family = GaugeMetricFamily(name, documentation, labels=["chip", "sensor"])
        for reading in readings:
            family.add_metric([str(reading.get("chip", "")), str(reading["name"])], float(reading["value"]))
        found.append(family)
    return found
