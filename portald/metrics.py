"""``GET /metrics``: the Prometheus text exposition of the daemon and of its plugins.

What this module owns, per app (tests build many apps in one process, so nothing goes to
``prometheus_client``'s global registry):

- the **registry** (``CollectorRegistry``) that a scrape renders;
- the daemon's **own request series**: ``portald_http_requests_total{method,route,status}`` and the
  ``portald_http_request_duration_seconds{method,route}`` histogram, with Flask's URL rule as
  ``route`` (``/platform/api/gpio/<int:pin>``), never the raw path, so a client walking URLs cannot
  grow the series without bound (a request no rule matched is ``route="unmatched"``). The duration
  runs from before the privilege guard to the response's headers (a stream's or a WebSocket's
  lifetime is not in it; a WebSocket counts when it closes);
- the **plugin collector**: at each scrape it calls every plugin's ``portald_metrics(ctx)`` hook
  (``Capability(metrics=fn)``) and yields what they return. A plugin that raises is logged (once
  per distinct error) and left out of that scrape, with ``portald_scrape_collector_success{plugin}``
  0, never a failed scrape; a family name that a plugin called before (pluggy's order, as for the
  profile) gave already is dropped and logged;
- **authentication** of the endpoint (``[metrics]``): by default the route needs a token like any
  read (a login's Bearer token or ``jwt`` cookie, checked by the privilege guard), or the static
  scrape token of ``token_file`` (``Authorization: Bearer <its content>``; compared in constant time,
  re-read when the file changes). Scrapers cannot log in, so that file is how Prometheus gets in.
  ``auth = false`` declares the route public.
"""
from __future__ import annotations

import bisect
import hmac
import logging
import stat
import time
from pathlib import Path

from flask import Blueprint, Flask, Response, request

from .auth.privileges import PUBLIC, USER, privilege
from .openapi_decl import TEXT, answers

log = logging.getLogger("portald.metrics")

ENDPOINT = "metrics.metrics"
STARTED = "portald.started"  # key of the request's start time in the WSGI environ
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# request latencies of a device's API: pings take ~100 us, a PAM login or a screenshot seconds
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ScrapeToken:
    """The static token of ``[metrics] token_file``, read again whenever the file changes. An
    unreadable or empty file lets no scraper in (logged once per change), tokens still work."""

    def __init__(self, path: str):
        self.path = Path(path) if path else None
        self._seen: tuple | None = None
        self._token: bytes = b""

    def check(self) -> None:
        self._current()

    def matches(self, given: str) -> bool:
        token = self._current()
        # compare_digest: the time taken does not tell a guesser how much of the token was right
        return bool(token) and hmac.compare_digest(given.encode(), token)

    def _current(self) -> bytes:
        if self.path is None:
            return b""
        try:
            info = self.path.stat()
            key = (info.st_mtime_ns, info.st_size, info.st_ino)
            if key != self._seen:
                self._token = self.path.read_bytes().strip()
                self._seen = key
                if not self._token:
                    log.error("[metrics] token_file %s is empty: no scraper gets in with it", self.path)
                elif info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                    log.warning("[metrics] token_file %s can be read by others than its owner (chmod 600 it)",
                                self.path)
        except OSError as exc:
            if self._seen != "error":
                log.error("[metrics] token_file %s cannot be read: %s", self.path, exc.strerror or exc)
            self._seen, self._token = "error", b""
        return self._token


class PluginCollector:
    """Asks every plugin's ``portald_metrics`` hook at scrape time (see the module docstring)."""

    def __init__(self, host):
        self.host = host
        self._errors: dict[str, str] = {}  # plugin -> the error last logged
        self._dropped: set[tuple[str, str]] = set()  # (plugin, family name) dropped and logged

    def collect(self):
        from prometheus_client import generate_latest
        from prometheus_client.core import GaugeMetricFamily, Metric

        success = GaugeMetricFamily("portald_scrape_collector_success",
                                    "Whether a plugin's portald_metrics hook answered at this scrape.",
                                    labels=["plugin"])
        duration = GaugeMetricFamily("portald_scrape_collector_duration_seconds",
                                     "How long a plugin's portald_metrics hook took at this scrape.",
                                     labels=["plugin"])
        names: dict[str, str] = {}
        hook = self.host.pm.hook.portald_metrics
        for impl in reversed(hook.get_hookimpls()):
            plugin = impl.plugin_name
            started, made = time.perf_counter(), None
            try:
                made = impl.function(**{arg: self.host.context(plugin) for arg in impl.argnames})
                families = list(made or ())
                for family in families:
                    if not isinstance(family, Metric):
                        raise TypeError(f"gave {type(family).__name__}, not a prometheus_client metric family")
                # rendered once here: a sample that cannot be written (a None value, a label that is
                # not text) fails this plugin, not the whole scrape
                generate_latest(_Families(families))
            except Exception as exc:
                self._failed(plugin, f"{type(exc).__name__}: {exc}")
                ok, families = 0, []
            else:
                if self._errors.pop(plugin, None) is not None:
                    log.info("metrics of plugin %s work again", plugin)
                ok = 1
            elapsed = time.perf_counter() - started
            if made is None and ok:
                continue  # the plugin offers no series
            success.add_metric([plugin], ok)
            duration.add_metric([plugin], elapsed)
            for family in families:
                owner = names.get(family.name)
                if owner is not None:
                    if (plugin, family.name) not in self._dropped:
                        self._dropped.add((plugin, family.name))
                        log.warning("metrics of plugin %s: series %s is already given by plugin %s; dropped",
                                    plugin, family.name, owner)
                    continue
                names[family.name] = plugin
                yield family
        yield success
        yield duration

    def _failed(self, plugin: str, error: str) -> None:
        # once per distinct error: a plugin that stays broken must not log at every scrape
        if self._errors.get(plugin) != error:
            self._errors[plugin] = error
            log.error("metrics of plugin %s: %s", plugin, error)


class _Families:
    """A fixed list of families in the shape ``generate_latest`` renders (a registry's ``collect``)."""

    def __init__(self, families: list):
        self.families = families

    def collect(self):
        return self.families


class RequestSeries:
    """The daemon's own request counts and latencies, kept in plain dicts and turned into metric
    families at scrape time: a request costs two dict updates, and ``prometheus_client`` (~1 MiB) is
    imported only by a daemon that is scraped."""

    def __init__(self):
        self.counts: dict[tuple[str, str, int], int] = {}  # (method, route, status) -> requests
        self.timings: dict[tuple[str, str], list] = {}  # (method, route) -> [per-bucket counts, sum]

    def observe(self, method: str, route: str, status: int, seconds: float | None) -> None:
        key = (method, route, status)
        self.counts[key] = self.counts.get(key, 0) + 1
        if seconds is None:
            return
        timing = self.timings.get(key[:2])
        if timing is None:
            timing = self.timings[key[:2]] = [[0] * (len(BUCKETS) + 1), 0.0]
        timing[0][bisect.bisect_left(BUCKETS, seconds)] += 1  # le: a bucket holds values <= its bound
        timing[1] += seconds

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
        from prometheus_client.utils import floatToGoString

        requests = CounterMetricFamily("portald_http_requests", "HTTP requests answered, by route and status.",
                                       labels=["method", "route", "status"])
        for (method, route, status), count in list(self.counts.items()):
            requests.add_metric([method, route, str(status)], count)
        yield requests
        latency = HistogramMetricFamily("portald_http_request_duration_seconds",
                                        "Time from a request's arrival to its response's headers, by route.",
                                        labels=["method", "route"])
        for key, (counts, total) in list(self.timings.items()):
            running, buckets = 0, []
            for bound, count in zip((*map(floatToGoString, BUCKETS), "+Inf"), counts):
                running += count
                buckets.append((bound, running))
            latency.add_metric(list(key), buckets, total)
        yield latency


class Metrics:
    """One app's registry, request series and endpoint (``install(app, core)`` builds it)."""

    def __init__(self, core):
        self.config = core.config.metrics
        self.host = core.host
        self.scrape_token = ScrapeToken(self.config.token_file if self.config.auth else "")
        self.scrape_token.check()  # a bad file is reported at start, not at the first scrape
        self.series = RequestSeries()
        self._registry = None

    @property
    def registry(self):
        """The app's ``CollectorRegistry``, built at the first scrape."""
        if self._registry is None:
            from prometheus_client import CollectorRegistry

            registry = CollectorRegistry(auto_describe=False)
            registry.register(self.series)
            registry.register(PluginCollector(self.host))
            self._registry = registry
        return self._registry

    # -- the request series --------------------------------------------------------------------------
    def before(self):
        """First of the app's ``before_request`` functions (ahead of the privilege guard): starts
        the clock, and lets a scraper holding the scrape token in."""
        req = request._get_current_object()  # one proxy lookup instead of one per attribute
        req.environ[STARTED] = time.perf_counter()
        if req.endpoint == ENDPOINT and self.scrape_token.path is not None:
            scheme, _, value = req.headers.get("Authorization", "").partition(" ")
            if scheme.lower() == "bearer" and self.scrape_token.matches(value.strip()):
                return self.render()
        return None

    def after(self, response: Response) -> Response:
        req = request._get_current_object()
        started, rule, method = req.environ.get(STARTED), req.url_rule, req.method
        self.series.observe(method if method in METHODS else "other", rule.rule if rule is not None else "unmatched",
                            response.status_code, time.perf_counter() - started if started is not None else None)
        return response

    # -- the endpoint --------------------------------------------------------------------------------
    def render(self) -> Response:
        from prometheus_client import generate_latest

        return Response(generate_latest(self.registry), content_type=CONTENT_TYPE)

    def blueprint(self) -> Blueprint:
        bp = Blueprint("metrics", __name__)

        @bp.get("/metrics")
        @privilege(USER if self.config.auth else PUBLIC)
        @answers({200: TEXT})
        def metrics():
            return self.render()

        return bp


def install(app: Flask, core) -> Metrics:
    """Build the app's ``Metrics``, put its clock ahead of every other ``before_request`` function
    (the privilege guard's too, so refused requests are timed and counted) and register ``/metrics``."""
    found = Metrics(core)
    app.extensions["portald.metrics"] = found
    app.before_request_funcs.setdefault(None, []).insert(0, found.before)
    app.after_request(found.after)
    app.register_blueprint(found.blueprint())
    return found

