"""The GoTTY protocol's framing (the ``webtty`` subprotocol of sorenisanerd/gotty >= 1.4), as pure
functions: every message is one WebSocket **text** frame whose first character is the command.

Server to client (outbound): ``1`` + base64 (standard, padded) of raw terminal output, ``2`` pong,
``3`` window title, ``4`` preferences (JSON object), ``5`` reconnect (JSON: ``false`` or seconds),
``6`` buffer size (JSON int). On connect the server sends ``3``, ``6``, ``4`` in that order.

Client to server (inbound): ``1`` + terminal input (base64 unless the client switched the encoding
with ``4`` + ``null``, then the text itself), ``2`` ping, ``3`` resize ``{"columns": c, "rows": r}``
(numbers, floats accepted), ``4`` + encoding name. GoTTY's own web client starts with a JSON object
``{"Arguments": ..., "AuthToken": ...}`` (no command character); it is recognised and ignored (the
token that counts is the one checked before the upgrade).
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Union

SUBPROTOCOL = "webtty"

# outbound
OUTPUT, PONG, SET_WINDOW_TITLE, SET_PREFERENCES, SET_RECONNECT, SET_BUFFER_SIZE = "1", "2", "3", "4", "5", "6"
# inbound
INPUT, PING, RESIZE_TERMINAL, SET_ENCODING = "1", "2", "3", "4"

ENCODINGS = ("base64", "null")
MAX_DIMENSION = 10000  # columns or rows: beyond any screen, and fits TIOCSWINSZ's unsigned short


class ProtocolError(ValueError):
    """An inbound message this protocol does not allow; ``str()`` is safe to send as a close reason."""


# -- outbound -------------------------------------------------------------------------------------------
def output(data: bytes) -> str:
    return OUTPUT + base64.b64encode(data).decode("ascii")


def pong() -> str:
    return PONG


def window_title(title: str) -> str:
    return SET_WINDOW_TITLE + title


def preferences(prefs: dict) -> str:
    return SET_PREFERENCES + json.dumps(prefs, separators=(",", ":"))


def reconnect(seconds: int | bool = False) -> str:
    return SET_RECONNECT + json.dumps(seconds)


def buffer_size(size: int) -> str:
    return SET_BUFFER_SIZE + json.dumps(int(size))


def greeting(title: str, size: int, prefs: dict) -> list[str]:
    """What the server sends first, in order: the title, the buffer size, the preferences."""
    return [window_title(title), buffer_size(size), preferences(prefs)]


# -- inbound --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Input:
    data: bytes


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class Resize:
    columns: int
    rows: int


@dataclass(frozen=True)
class SetEncoding:
    encoding: str


@dataclass(frozen=True)
class Hello:
    """GoTTY's web client's first message: ``{"Arguments": ..., "AuthToken": ...}``."""

    arguments: str = ""


Message = Union[Input, Ping, Resize, SetEncoding, Hello]


def decode(frame: Union[str, bytes], encoding: str = "base64") -> Message:
    """One inbound frame as a message; ``ProtocolError`` for anything else. ``encoding`` is the one set
    by the client's last ``4`` (base64 until then)."""
    if isinstance(frame, bytes):
        try:
            frame = frame.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("frames are UTF-8 text") from None
    if not frame:
        raise ProtocolError("empty message")
    command, payload = frame[0], frame[1:]
    if command == INPUT:
        if encoding == "null":
            return Input(payload.encode("utf-8"))
        try:
            return Input(base64.b64decode(payload, validate=True))
        except (binascii.Error, ValueError):
            raise ProtocolError("input is not base64") from None
    if command == PING:
        return Ping()
    if command == RESIZE_TERMINAL:
        return _resize(payload)
    if command == SET_ENCODING:
        if payload not in ENCODINGS:
            raise ProtocolError(f"unknown encoding (known: {', '.join(ENCODINGS)})")
        return SetEncoding(payload)
    if command == "{":
        hello = _json_object(frame, "malformed JSON message")
        arguments = hello.get("Arguments", "")
        return Hello(arguments if isinstance(arguments, str) else "")
    raise ProtocolError("unknown message type")


def _json_object(text: str, problem: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError:
        raise ProtocolError(problem) from None
    if not isinstance(value, dict):
        raise ProtocolError(problem)
    return value


def _resize(payload: str) -> Resize:
    size = _json_object(payload, "resize is not a JSON object")
    values = []
    for key in ("columns", "rows"):
        value = size.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise ProtocolError(f"resize needs a number {key!r}")
        if not 1 <= value <= MAX_DIMENSION:
            raise ProtocolError(f"resize {key!r} out of range 1..{MAX_DIMENSION}")
        values.append(int(value))
    return Resize(*values)
