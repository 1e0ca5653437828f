"""The sim board's services: a handful of units whose running state is kept in the state dir, so
``/platform/api/service*`` works on any machine. ``broken.service`` fails to start, like a unit with a
bad ExecStart; a disabled unit can still be started by hand (as with systemd) but is ``disabled``
again once stopped."""
from __future__ import annotations

from dataclasses import dataclass

from portald.drivers import DriverError, NotFound

UNITS = {  # unit -> (description, enabled, running at first boot)
    "ssh.service": ("OpenBSD Secure Shell server", True, True),
    "cron.service": ("Regular background program processing daemon", True, True),
    "mosquitto.service": ("Mosquitto MQTT Broker", True, False),
    "apphub.service": ("AppHub-Edge Service", True, True),  # the apphub plugin's default unit
    "bluetooth.service": ("Bluetooth service", False, False),
    "broken.service": ("A service whose start always fails", True, False),
}
_FILE = "services.json"


@dataclass(frozen=True)
class SimService:
    unit: str
    description: str
    status: str


class SimServicesDriver:
    name = "sim.services"

    def __init__(self, state):
        self.state = state

    def probe(self) -> bool:
        return True

    def _running(self) -> dict[str, bool]:
        saved = self.state.read_json(_FILE, default={})
        return {unit: bool(saved.get(unit, first)) for unit, (_, _, first) in UNITS.items()}

    def _status(self, unit: str, running: bool) -> str:
        if running:
            return "running"
        return "stopped" if UNITS[unit][1] else "disabled"

    def services(self) -> list[SimService]:
        running = self._running()
        return [SimService(unit, UNITS[unit][0], self._status(unit, running[unit])) for unit in sorted(UNITS)]

    def status(self, unit: str) -> str:
        if unit not in UNITS:
            raise NotFound(f"Unit {unit} not found.")
        return self._status(unit, self._running()[unit])

    def control(self, unit: str, action: str) -> None:
        if unit not in UNITS:
            raise NotFound(f"Unit {unit} not found.")
        if action in ("start", "restart") and unit == "broken.service":
            raise DriverError(f"{action} of {unit} failed (job result: failed); see journalctl -u {unit}")
        running = self._running()
        running[unit] = action != "stop"
        self.state.write_json(_FILE, running)


CAPABILITY = "services"


def create_driver(ctx, settings=None):
    return SimServicesDriver(ctx.state)
