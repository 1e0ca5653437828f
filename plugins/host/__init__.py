"""Host information, display count and screenshots (``/platform/api/host/*``).

``info`` reads the host's identity (the ``board`` driver's DMI fields, machine id, OS, uptime) per
request, since it is a handful of small files; ``boot`` counts boots at startup; ``display`` talks to X.
The display count is sampled in the background (it is also a profile key, which must be cheap).

Config ``[plugins.host]``:
  ``display``                   X display to count and capture (default: the daemon's ``$DISPLAY``;
                                empty means no display: count 0)
  ``machine_id_file``           source of ``hostid`` (default ``/etc/machine-id``)
  ``image_version_file``        first line is ``imageVersion`` (default none: ``""``)
  ``docker_command``            asked ``--version`` for ``dockerVersion`` (default ``docker``)
  ``timeout_seconds``           limit for one X call or ``docker --version`` (default 5)
  ``display_interval_seconds``  how often the display count is sampled while read (default 2)

Profile: ``host:info`` is 1; ``host:display:count`` is the number of displays (the spec's example shows
1 on a one-monitor machine; a client reading it as a support flag gets "supported" exactly when there is
a display to capture).
"""
from __future__ import annotations

import os
from functools import partial

from pydantic import BaseModel, ConfigDict, Field

from portald.hookspecs import hookimpl
from portald.sampler import SampleFailed

from . import boot, display, info, routes


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    display: str = Field(default_factory=lambda: os.environ.get("DISPLAY", ""))
    machine_id_file: str = "/etc/machine-id"
    image_version_file: str = ""
    docker_command: str = "docker"
    timeout_seconds: float = Field(5.0, gt=0, le=60)
    display_interval_seconds: float = Field(2.0, gt=0)


def settings(ctx) -> Settings:
    return ctx.memo("settings", lambda: Settings.model_validate(ctx.config))


def boot_count(ctx) -> int:
    return ctx.memo("boot_count", lambda: boot.record_boot(ctx.state, ctx.paths.procfs()))


def host_info(ctx) -> dict:
    config = settings(ctx)
    board = ctx.driver("board")
    docker = ctx.memo("docker", lambda: info.docker_version(ctx.runner, config.docker_command,
                                                           config.timeout_seconds))
    return info.collect(ctx.paths.procfs(), board.read() if board is not None else {},
                        boot_count=boot_count(ctx), docker=docker, machine_id_file=config.machine_id_file,
                        image_version_file=config.image_version_file)


def display_count(ctx) -> int:
    config = settings(ctx)
    if not config.display:
        return 0
    sampler = ctx.memo("displays", lambda: ctx.sampler(
        "displays", partial(display.count_monitors, config.display), interval=config.display_interval_seconds,
        in_thread=True, timeout=config.timeout_seconds))
    try:
        return sampler.latest()
    except SampleFailed as exc:  # X did not answer in time; the sampler has logged it
        ctx.log.debug("display count unavailable: %s", exc)
        return 0


@hookimpl
def portald_startup(ctx):
    settings(ctx)
    boot_count(ctx)


@hookimpl
def portald_blueprints(ctx):
    def screenshot(index: int) -> bytes:
        config = settings(ctx)
        return display.screenshot(config.display, index, config.timeout_seconds)

    return [routes.blueprint(lambda: host_info(ctx), lambda: display_count(ctx), screenshot)]


@hookimpl
def portald_profile(ctx):
    return {"host:info": 1, "host:display:count": display_count(ctx)}
