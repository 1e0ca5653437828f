"""The ``/platform/api/etp`` routes: device data, the two user-data areas and their lock.

Where the spec is vague, what a client written against it would expect:

* ``userSpace1``/``userSpace2`` are JSON strings stored as their UTF-8 bytes ("RAW data", at most 128
  bytes each, so 64 two-byte characters fit). Both fields are required on ``PUT`` (the spec's "422 the
  request body has missing parameters"); ``""`` empties an area. The ``200`` body is what the EEPROM
  holds afterwards, read back. Each area is written atomically on its own: a crash between the two
  leaves area 1 new and area 2 old.
* Too long data is 422 ``{"errors":{"ETP":"The maximum length of UserSpace1 is 128"}}`` (the spec's
  text; ``UserSpace2`` for the second). A password outside 1-8 UTF-8 bytes is 422 with area ``ETP``
  too, as the spec shows. Missing or mistyped fields are 422 ``validator``.
* Writing while locked, a wrong unlock password, locking an area already locked with another password
  and EEPROM I/O failures are 400 ``{"errors":{"ETP":...}}``. Locking again with the same password and
  unlocking an unlocked area succeed without writing (a retried request gets the same answer).
* No EEPROM: the user-data endpoints answer 404 ``{"errors":{"ETP":...}}`` (the spec's shape, not the
  generic ``{"message"}``); device data answers an empty 204 with no board identity.
* Writes need ``admin`` (the privilege table's default): the lock guards the data against other
  administrators' and programs' mistakes; ordinary users may read.
"""
from __future__ import annotations

import logging
from typing import Callable

from flask import Blueprint, jsonify

from portald.app_context import identity
from portald.drivers import DriverError
from portald.errors import AreaError
from portald.openapi_decl import AREA_ERROR, JSON, accepts, answers
from portald.validation import Body, parse_body

from .layout import AREA_SIZE
from .store import StoreError, UserDataStore

AREA = "ETP"
log = logging.getLogger("portald.plugins.etp")

# DMI field (the board driver's sysfs names) for each device-data key, in order of preference
DEVICE_FIELDS = {
    "modelName": ("product_name", "board_name"),
    "serialNumber": ("product_serial", "board_serial"),
    "boardVersion": ("board_version",),
    "uuid": ("product_uuid",),
    "version": ("product_version",),
}


class UserDataBody(Body):
    userSpace1: str
    userSpace2: str


class LockBody(Body):
    locked: bool
    password: str


def device_data(board) -> dict[str, str] | None:
    """The spec's device data from the board's DMI fields; None when there is nothing to show."""
    if board is None:
        return None
    try:
        fields = board.read()
    except OSError as exc:
        log.warning("board identity unreadable: %s", exc)
        return None
    data = {key: next((fields[f].strip() for f in names if fields.get(f, "").strip()), "")
            for key, names in DEVICE_FIELDS.items()}
    return data if any(data.values()) else None


def _spaces(user_data) -> dict[str, str]:
    return {f"userSpace{area}": data.decode("utf-8", errors="replace") for area, data in user_data.spaces.items()}


def blueprint(ctx, get_store: Callable[[], UserDataStore | None], io_lock) -> Blueprint:
    bp = Blueprint("etp", __name__, url_prefix="/platform/api/etp")

    def store() -> UserDataStore:
        found = get_store()
        if found is None:
            raise AreaError(AREA, "ETP user data is not supported on this device", 404)
        return found

    def run(action: Callable, *args):
        """One EEPROM operation at a time: each is a read-modify-write of the chip, and its slow calls
        (the driver's I/O, scrypt) yield to other greenlets while they run in the threadpool."""
        with io_lock:
            try:
                return action(*args)
            except (StoreError, DriverError) as exc:
                raise AreaError(AREA, str(exc), 400) from None
            except OSError as exc:
                log.warning("EEPROM I/O failed: %s", exc)
                raise AreaError(AREA, f"EEPROM I/O error: {exc.strerror or type(exc).__name__}", 400) from None

    @bp.get("/devicedata")
    @answers({200: JSON, 204: None})
    def get_device_data():
        data = device_data(ctx.driver("board"))
        return jsonify(data) if data else ("", 204)

    @bp.get("/userdata")
    @answers({400: AREA_ERROR, 404: AREA_ERROR})
    def get_user_data():
        found = run(store().read)
        return jsonify({"data": _spaces(found), "locked": found.locked})

    @bp.put("/userdata")
    @accepts(UserDataBody)
    @answers({400: AREA_ERROR, 404: AREA_ERROR})
    def put_user_data():
        target = store()
        body = parse_body(UserDataBody)
        values = {1: body.userSpace1.encode(), 2: body.userSpace2.encode()}
        for area, data in values.items():
            if len(data) > AREA_SIZE:
                raise AreaError(AREA, f"The maximum length of UserSpace{area} is {AREA_SIZE}")
        who = identity().user
        for area, data in values.items():
            try:
                if run(target.write, area, data):
                    log.info("ETP userSpace%d written by %s (%d bytes)", area, who, len(data))
            except AreaError as exc:
                log.warning("ETP userSpace%d write by %s refused: %s", area, who, exc.message)
                raise
        return jsonify(_spaces(run(target.read)))

    @bp.get("/userdata/lockstatus")
    @answers({400: AREA_ERROR, 404: AREA_ERROR})
    def get_lock_status():
        return jsonify({"locked": run(store().read).locked})

    @bp.put("/userdata/lockstatus")
    @accepts(LockBody)
    @answers({400: AREA_ERROR, 404: AREA_ERROR})
    def put_lock_status():
        target = store()
        body = parse_body(LockBody)
        password = body.password.encode()
        if not 1 <= len(password) <= 8:
            raise AreaError(AREA, "The length of password must be 1 to 8 bytes")
        verb, action = ("lock", target.lock) if body.locked else ("unlock", target.unlock)
        who = identity().user
        try:
            changed = run(action, password)
        except AreaError as exc:
            log.warning("ETP user data %s by %s refused: %s", verb, who, exc.message)
            raise
        if changed:
            log.info("ETP user data %sed by %s", verb, who)
        return jsonify({"locked": body.locked})

    return bp
