"""EdgeHub's link and outbox as Prometheus series for ``GET /metrics`` (read from the service's
attributes, no I/O): ``portald_edgehub_link_enabled``, ``portald_edgehub_connected``,
``portald_edgehub_cert_revoked``, ``portald_edgehub_storm_detected``, ``portald_edgehub_outbox_messages``
(its depth: tag messages waiting), ``portald_edgehub_outbox_max_messages``, the outbox's lasting
counters ``portald_edgehub_outbox_{dropped,duplicates,rejected}_total`` (kept across restarts) and
this run's ``portald_edgehub_connections_total`` / ``portald_edgehub_connect_attempts_total``.
"""
from __future__ import annotations


def families(service):
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    link, outbox = service.link, service.outbox
    found = [GaugeMetricFamily(name, documentation, value=float(value)) for name, documentation, value in (
        ("portald_edgehub_link_enabled", "Whether the EdgeHub link is enabled.", link.enabled),
        ("portald_edgehub_connected", "Whether the EdgeHub link is connected to its broker.", link.connected),
        ("portald_edgehub_cert_revoked", "Whether the broker refused the device's certificate.", link.cert_revoked),
        ("portald_edgehub_storm_detected", "Whether a connection storm slowed the reconnects down.",
         link.storm_detected),
        ("portald_edgehub_outbox_messages", "Tag messages waiting in the outbox.", outbox.depth),
        ("portald_edgehub_outbox_max_messages", "The outbox's capacity in messages.", outbox.max_messages),
    )]
    counters = outbox.counters
    for key, documentation in (("dropped", "Messages dropped from a full outbox (oldest first)."),
                               ("duplicates", "Messages sent again after a reconnect or a crash (may have arrived twice)."),
                               ("rejected", "Messages the broker refused (PUBACK with a failure reason).")):
        if key in counters:
            found.append(CounterMetricFamily(f"portald_edgehub_outbox_{key}", documentation,
                                             value=float(counters[key])))
    found.append(CounterMetricFamily("portald_edgehub_connections", "Connections made since the daemon started.",
                                     value=float(link.connects)))
    found.append(CounterMetricFamily("portald_edgehub_connect_attempts",
                                     "Connection attempts since the daemon started.", value=float(link.attempts)))
    return found
