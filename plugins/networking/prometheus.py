"""Network adapters as Prometheus series for ``GET /metrics``, from the plugin's sampler, named as
node_exporter's netdev and netclass collectors name them, labelled ``device`` (the adapter's name):
``node_network_{receive,transmit}_{bytes,packets,errs,drop,fifo}_total``, ``node_network_up``
(carrier), ``node_network_mtu_bytes`` and ``node_network_speed_bytes`` (when the link speed is known).
The loopback adapter is not listed by the driver interface, so it has no series.
"""
from __future__ import annotations

COUNTERS = (  # (series part, iocounters key)
    ("receive_bytes", "bytesRecv"), ("transmit_bytes", "bytesSent"),
    ("receive_packets", "packetsRecv"), ("transmit_packets", "packetsSent"),
    ("receive_errs", "errin"), ("transmit_errs", "errout"),
    ("receive_drop", "dropin"), ("transmit_drop", "dropout"),
    ("receive_fifo", "fifoin"), ("transmit_fifo", "fifoout"),
)


def families(sampler):
    if sampler is None:
        return None
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    adapters = sampler.latest() or []
    counters = {part: CounterMetricFamily(f"node_network_{part}", f"Network device statistic {part}.",
                                          labels=["device"]) for part, _ in COUNTERS}
    up = GaugeMetricFamily("node_network_up", "Whether the adapter's carrier is up.", labels=["device"])
    mtu = GaugeMetricFamily("node_network_mtu_bytes", "The adapter's MTU in bytes.", labels=["device"])
    speed = GaugeMetricFamily("node_network_speed_bytes", "The adapter's link speed in bytes per second.",
                              labels=["device"])
    for adapter in adapters:
        device = [adapter["name"]]
        io = adapter.get("iocounters") or {}
        for part, key in COUNTERS:
            if key in io:
                counters[part].add_metric(device, float(io[key]))
        up.add_metric(device, 1.0 if adapter.get("connected") else 0.0)
        if "mtu" in adapter:
            mtu.add_metric(device, float(adapter["mtu"]))
        if adapter.get("recvSpeed"):
            speed.add_metric(device, adapter["recvSpeed"] / 8)
    return [*counters.values(), up, mtu, speed]
