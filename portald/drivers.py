"""Errors a driver raises, shared by every board so capability plugins can catch them whichever
driver (generic, sim or an OEM's) is in use. Drivers have no Flask in them: these carry a message
meant for the client, and the capability's routes turn them into the spec's shape for their area."""


class DriverError(Exception):
    """The hardware or service refused or failed; ``str(exc)`` is safe to show the client."""


class NotFound(DriverError):
    """The named thing (a unit, a pin, a device) does not exist on this machine."""
