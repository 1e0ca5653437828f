"""AppHub: the AppHub service's status and control, and its log settings
(``GET /edgehub/api/apphub/status``, ``PUT /edgehub/api/apphub/service``,
``PUT /edgehub/api/apphub/log/config``; profile key ``apphub``).

The service is driven through the ``services`` capability's driver (``ctx.driver("services")``:
systemd on Linux, the sim board's list under ``--sim``); this plugin has no driver of its own. The
status strings and the profile numbers are explained in ``service``; the log file in ``log_config``.

Config ``[plugins.apphub]``: ``unit`` (default ``apphub.service``), ``log_config_file`` (default: the
plugin's state folder, ``<state_dir>/plugins/apphub/log-config.json``; point it at the file your
AppHub reads).
"""
from __future__ import annotations

from pydantic import Field

from portald.capability import Capability
from portald.settings import Settings as _Settings

from . import routes, service
from .log_config import LogConfig


class Settings(_Settings):
    unit: str = Field("apphub.service", pattern=r"^[A-Za-z0-9:_.\\-]{1,240}\.service$")
    log_config_file: str = ""


def _log_config(ctx) -> LogConfig:
    path = CAPABILITY.settings(ctx).log_config_file or ctx.state.path("log-config.json")
    return LogConfig(path, ctx.log)


CAPABILITY = Capability(
    "apphub", None, settings=Settings,
    blueprints=lambda ctx: routes.blueprint(lambda: ctx.driver("services"), CAPABILITY.settings(ctx).unit,
                                            _log_config(ctx), ctx.log),
    profile=lambda ctx, _: {"apphub": service.profile_value(ctx.driver("services"), CAPABILITY.settings(ctx).unit)},
)
CAPABILITY.export(globals())
