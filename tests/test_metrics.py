"""``GET /metrics``: who may scrape it, and that what it serves parses as Prometheus text with the
node_exporter-style series of the sim board, the daemon's own request series and EdgeHub's."""
from __future__ import annotations

import json
import logging
import os
import shutil
import time

import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import FIXTURES, admin_token, bearer, write_dropin

from portald.auth import privileges


def _samples(response) -> dict[str, list]:
    """``{sample name: [(labels, value), ...]}`` of a scrape, parsed by prometheus_client's parser."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain; version=0.0.4")
    found: dict[str, list] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def _value(samples: dict, name: str, **labels) -> float:
    matching = [value for found, value in samples.get(name, []) if all(found.get(k) == v for k, v in labels.items())]
    assert len(matching) == 1, (name, labels, samples.get(name))
    return matching[0]


def _token_file(tmp_path, content: str):
    path = tmp_path / "metrics.token"
    path.write_text(content)
    os.chmod(path, 0o600)
    return path


def test_metrics_without_a_token_is_401_in_the_auth_shape(client):
    response = client.get("/metrics")
    assert response.status_code == 401
    body = response.get_json()
    assert body["Code"] == 401 and isinstance(body["Message"], str)
    wrong = client.get("/metrics", headers=bearer("not-a-token"))
    assert wrong.status_code == 401 and wrong.get_json()["Code"] == 401


def test_sim_scrape_has_the_node_style_series_with_sane_values(client, admin_headers):
    samples = _samples(client.get("/metrics", headers=admin_headers))
    assert 35 <= _value(samples, "node_hwmon_temp_celsius", sensor="CPU") <= 85  # the sim's clamp
    assert 11.4 <= _value(samples, "node_hwmon_in_volts", sensor="12V") <= 12.6
    assert 900 - 300 <= _value(samples, "node_hwmon_fan_rpm", sensor="FAN0") <= 3000 + 300
    assert _value(samples, "node_hwmon_curr_amps", sensor="OEM0") > 0
    total = _value(samples, "node_memory_MemTotal_bytes")
    assert 0 < _value(samples, "node_memory_MemAvailable_bytes") <= total
    assert all(0 <= value <= 1 for _, value in samples["portald_cpu_busy_ratio"])
    assert _value(samples, "node_cpu_info", cpu="0") == 1
    assert _value(samples, "node_network_receive_bytes_total", device="eth0") > 0
    assert _value(samples, "node_network_up", device="eth0") == 1
    size = _value(samples, "node_filesystem_size_bytes", mountpoint="/")
    assert 0 < _value(samples, "node_filesystem_avail_bytes", mountpoint="/") <= size
    assert _value(samples, "node_watchdog_timeout_seconds", identity="EC Watchdog") > 0
    assert _value(samples, "portald_watchdog_enabled", identity="EC Watchdog") == 0
    assert _value(samples, "portald_edgehub_connected") == 0
    assert _value(samples, "portald_edgehub_outbox_messages") == 0
    for plugin in ("hwmon", "systemperf", "disk", "networking", "wdt", "edgehub"):
        assert _value(samples, "portald_scrape_collector_success", plugin=plugin) == 1, plugin


ITEMS = """
from flask import Blueprint
from portald.hookspecs import hookimpl


@hookimpl
def portald_blueprints(ctx):
    bp = Blueprint("items", __name__)
    bp.add_url_rule("/test/items/<int:n>", "item", lambda n: ({"n": n}, 200 if n < 2 else 404))
    return [bp]
"""


def test_request_counter_counts_by_url_rule_never_the_raw_path(make_app, tmp_path):
    write_dropin(tmp_path, "items", ITEMS)
    client = make_app().test_client()
    headers = bearer(admin_token(client))
    rule = "/test/items/<int:n>"

    def count(samples, route, status):
        return sum(value for labels, value in samples.get("portald_http_requests_total", [])
                   if labels["route"] == route and labels["method"] == "GET" and labels["status"] == status)

    before = _samples(client.get("/metrics", headers=headers))
    for path, status in (("/test/items/0", 200), ("/test/items/1", 200), ("/test/items/7", 404),
                         ("/test/items/nope", 404)):
        assert client.get(path, headers=headers).status_code == status, path
    after = _samples(client.get("/metrics", headers=headers))
    assert count(after, rule, "200") - count(before, rule, "200") == 2
    assert count(after, rule, "404") - count(before, rule, "404") == 1
    assert count(after, "unmatched", "404") - count(before, "unmatched", "404") == 1  # no rule took it
    routes = {labels["route"] for labels, _ in after["portald_http_requests_total"]}
    assert rule in routes and not any(route.startswith("/test/items/") and route != rule for route in routes)
    assert _value(after, "portald_http_request_duration_seconds_count", method="GET", route=rule) == 3
    assert _value(after, "portald_http_request_duration_seconds_bucket", method="GET", route=rule, le="+Inf") == 3
    # the refused scrapes are counted too (the clock runs before the privilege guard)
    client.get("/metrics")
    again = _samples(client.get("/metrics", headers=headers))
    assert _value(again, "portald_http_requests_total", method="GET", route="/metrics", status="401") == 1


def test_scrape_token_file_lets_a_scraper_in_and_a_wrong_one_is_401(make_app, tmp_path):
    token_file = _token_file(tmp_path, "s3cret-scrape-token-1\n")
    client = make_app(metrics={"token_file": str(token_file)}).test_client()
    assert _samples(client.get("/metrics", headers=bearer("s3cret-scrape-token-1")))["node_hwmon_temp_celsius"]
    wrong = client.get("/metrics", headers=bearer("s3cret-scrape-token-2"))
    assert wrong.status_code == 401 and wrong.get_json()["Code"] == 401
    assert client.get("/metrics").status_code == 401
    # the scrape token opens /metrics only
    assert client.get("/platform/api/hwmon", headers=bearer("s3cret-scrape-token-1")).status_code == 401
    # a new token in the file takes over without a restart
    token_file.write_text("another-token-of-more-length\n")
    assert client.get("/metrics", headers=bearer("another-token-of-more-length")).status_code == 200
    assert client.get("/metrics", headers=bearer("s3cret-scrape-token-1")).status_code == 401
    # a login's token still works beside it
    assert client.get("/metrics", headers=bearer(admin_token(client))).status_code == 200


def test_missing_or_empty_token_file_lets_no_scraper_in(make_app, tmp_path, caplog):
    empty = _token_file(tmp_path, "\n")
    with caplog.at_level(logging.ERROR, "portald.metrics"):
        client = make_app(metrics={"token_file": str(empty)}).test_client()
        assert client.get("/metrics", headers=bearer("")).status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer"}).status_code == 401
        missing = make_app(metrics={"token_file": str(tmp_path / "none")}).test_client()
        assert missing.get("/metrics", headers=bearer("anything")).status_code == 401
    assert "is empty" in caplog.text and "cannot be read" in caplog.text


def test_auth_false_opens_metrics_and_the_privilege_table_says_so(make_app):
    app = make_app(metrics={"auth": False})
    assert _samples(app.test_client().get("/metrics"))["node_memory_MemTotal_bytes"]
    assert ("/metrics", "GET", privileges.PUBLIC) in privileges.table(app)
    guarded = make_app()
    assert ("/metrics", "GET", privileges.USER) in privileges.table(guarded)


def test_a_plugin_whose_metrics_raise_does_not_break_the_scrape(make_app, tmp_path, caplog):
    write_dropin(tmp_path, "broken", "from portald.hookspecs import hookimpl\n\n"
                 "@hookimpl\ndef portald_metrics(ctx):\n    raise RuntimeError('sensor bus on fire')\n")
    write_dropin(tmp_path, "notmetric", "from portald.hookspecs import hookimpl\n\n"
                 "@hookimpl\ndef portald_metrics(ctx):\n    return ['node_fake 1']\n")
    write_dropin(tmp_path, "badvalue", "from portald.hookspecs import hookimpl\n"
                 "from prometheus_client.core import GaugeMetricFamily\n\n"
                 "@hookimpl\ndef portald_metrics(ctx):\n"
                 "    family = GaugeMetricFamily('acme_broken', 'A sample that cannot be written.', labels=['n'])\n"
                 "    family.add_metric([7], None)\n"
                 "    return [family]\n")
    write_dropin(tmp_path, "oem", "from portald.hookspecs import hookimpl\n"
                 "from prometheus_client.core import GaugeMetricFamily\n\n"
                 "@hookimpl\ndef portald_metrics(ctx):\n"
                 "    return [GaugeMetricFamily('acme_fan_tray_present', 'OEM series.', value=1),\n"
                 "            GaugeMetricFamily('node_memory_MemTotal_bytes', 'A copy.', value=-1)]\n")
    client = make_app().test_client()
    headers = bearer(admin_token(client))
    with caplog.at_level(logging.WARNING, "portald.metrics"):
        for _ in range(2):
            samples = _samples(client.get("/metrics", headers=headers))
            assert _value(samples, "portald_scrape_collector_success", plugin="broken") == 0
            assert _value(samples, "portald_scrape_collector_success", plugin="notmetric") == 0
            assert _value(samples, "portald_scrape_collector_success", plugin="badvalue") == 0
            assert "acme_broken" not in samples
            assert _value(samples, "portald_scrape_collector_success", plugin="hwmon") == 1
            assert _value(samples, "acme_fan_tray_present") == 1  # an OEM's own series
            # one family per name: the plugin called first keeps it (pluggy's order, as for the
            # profile: a drop-in before the built-ins), the other's is dropped
            assert _value(samples, "node_memory_MemTotal_bytes") == -1
            assert samples["node_hwmon_temp_celsius"]
    # once, not at every scrape
    assert caplog.text.count("sensor bus on fire") == 1 and caplog.text.count("already given") == 1
    assert "not a prometheus_client metric family" in caplog.text
    assert "metrics of plugin systemperf: series node_memory_MemTotal_bytes is already given by plugin oem" \
        in caplog.text


def test_edgehub_outbox_depth_follows_queued_tag_data(client, admin_headers):
    for n in range(3):
        posted = client.post("/edgehub/api/data", headers=admin_headers, json={"n": n, "s": "v"})
        assert posted.status_code == 201
    samples = _samples(client.get("/metrics", headers=admin_headers))
    assert _value(samples, "portald_edgehub_outbox_messages") == 3
    assert _value(samples, "portald_edgehub_link_enabled") == 0


def test_linux_board_blocking_hwmon_driver_served_from_its_sampler(make_app):
    """The desktop fixture's hwmon driver is ``blocking``: its values reach the scrape as the API
    serves them."""
    tree = FIXTURES / "machines" / "desktop-q370"
    client = make_app(board="auto", sysfs_root=str(tree / "sys")).test_client()
    headers = bearer(admin_token(client))
    expected = json.loads((tree / "expected" / "hwmon.json").read_text())
    samples = _samples(client.get("/metrics", headers=headers))
    for kind, series in (("temperature", "node_hwmon_temp_celsius"), ("voltage", "node_hwmon_in_volts"),
                         ("fanspeed", "node_hwmon_fan_rpm")):
        assert expected[kind], kind
        served = {labels["sensor"]: value for labels, value in samples[series]}
        assert served == {reading["name"]: pytest.approx(reading["value"]) for reading in expected[kind]}


CPU_MODES = {"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"}
DISK_COUNTERS = ("node_disk_reads_completed_total", "node_disk_writes_completed_total", "node_disk_read_bytes_total",
                 "node_disk_written_bytes_total", "node_disk_read_time_seconds_total",
                 "node_disk_write_time_seconds_total")


def test_sim_scrape_has_cpu_seconds_and_disk_io_counters_that_only_grow(client, admin_headers):
    """On the sim board the CPU times are this machine's (the sim board has no systemperf driver: the
    Linux one reads the live /proc), the disk's I/O counters the sim drive's."""
    first = _samples(client.get("/metrics", headers=admin_headers))
    cpus = {labels["cpu"] for labels, _ in first["node_cpu_seconds_total"]}
    assert cpus == {str(n) for n in range(psutil.cpu_count())}
    for cpu in cpus:
        modes = {labels["mode"]: value for labels, value in first["node_cpu_seconds_total"] if labels["cpu"] == cpu}
        assert set(modes) == CPU_MODES and all(value >= 0 for value in modes.values())
        # each second since boot is counted in one mode (not while the CPU was offline): seconds, not ticks
        uptime = time.time() - psutil.boot_time()
        assert 0.5 * uptime < sum(modes.values()) < uptime + 5, (modes, uptime)
    assert _value(first, "node_disk_reads_completed_total", device="sda") > 0
    assert _value(first, "node_disk_read_bytes_total", device="sda") >= 512 * _value(
        first, "node_disk_reads_completed_total", device="sda")
    time.sleep(0.05)
    second = _samples(client.get("/metrics", headers=admin_headers))
    for name in ("node_cpu_seconds_total", *DISK_COUNTERS):
        before = {tuple(sorted(labels.items())): value for labels, value in first[name]}
        after = {tuple(sorted(labels.items())): value for labels, value in second[name]}
        assert before.keys() == after.keys() and all(after[k] >= before[k] for k in before), name
    assert _value(second, "node_disk_read_time_seconds_total", device="sda") > _value(
        first, "node_disk_read_time_seconds_total", device="sda")  # read at the scrape, not sampled
    assert sum(v for _, v in second["node_cpu_seconds_total"]) > sum(v for _, v in first["node_cpu_seconds_total"])


def test_linux_board_cpu_seconds_and_disk_io_come_from_the_configured_procfs_root(make_app, tmp_path):
    """A fixture machine's /proc/stat and /proc/diskstats reach the scrape as node_exporter would give
    them; with neither file, the other series of the two plugins are still served."""
    desktop = FIXTURES / "machines" / "desktop"
    proc = tmp_path / "proc"
    shutil.copytree(desktop / "proc", proc, symlinks=True)  # its mount table, for the disk driver
    (proc / "cpuinfo").write_text((FIXTURES / "machines" / "x86-xeon-vm" / "proc" / "cpuinfo").read_text())
    (proc / "stat").write_text((FIXTURES / "machines" / "uno-2484g" / "proc" / "stat").read_text())
    (proc / "diskstats").write_text(
        "   8       0 sda 5021 130 402114 2210 1893 950 88410 4021 0 3120 6231\n"
        "   8       1 sda1 4900 130 399000 2190 1893 950 88410 4021 0 3100 6211\n"
        "   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0\n")
    client = make_app(board="auto", sysfs_root=str(desktop / "sys"), procfs_root=str(proc),
                      plugins={"linux": {"disk": {"rootfs": str(desktop / "rootfs")}}}).test_client()
    headers = bearer(admin_token(client))
    samples = _samples(client.get("/metrics", headers=headers))
    hz = os.sysconf("SC_CLK_TCK")
    # uno-2484g's stat: "cpu0 1393 280 283 924373 12 12 0 0 0 0"
    assert {labels["mode"]: value for labels, value in samples["node_cpu_seconds_total"] if labels["cpu"] == "0"} \
        == pytest.approx({"user": 1393 / hz, "nice": 280 / hz, "system": 283 / hz, "idle": 924373 / hz,
                          "iowait": 12 / hz, "irq": 12 / hz, "softirq": 0, "steal": 0})
    assert len(samples["node_cpu_seconds_total"]) == 4 * 8
    assert {labels["device"] for labels, _ in samples["node_disk_reads_completed_total"]} == {"sda"}
    assert _value(samples, "node_disk_reads_completed_total", device="sda") == 5021
    assert _value(samples, "node_disk_writes_completed_total", device="sda") == 1893
    assert _value(samples, "node_disk_read_bytes_total", device="sda") == 402114 * 512
    assert _value(samples, "node_disk_written_bytes_total", device="sda") == 88410 * 512
    assert _value(samples, "node_disk_read_time_seconds_total", device="sda") == pytest.approx(2.21)
    assert _value(samples, "node_disk_write_time_seconds_total", device="sda") == pytest.approx(4.021)

    (proc / "stat").unlink()
    (proc / "diskstats").unlink()
    samples = _samples(client.get("/metrics", headers=headers))
    assert "node_cpu_seconds_total" not in samples and not any(name in samples for name in DISK_COUNTERS)
    assert _value(samples, "node_cpu_info", cpu="0") == 1
    assert samples["node_disk_info"]
    for plugin in ("systemperf", "disk"):
        assert _value(samples, "portald_scrape_collector_success", plugin=plugin) == 1, plugin
