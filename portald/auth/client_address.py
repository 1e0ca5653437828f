"""Which address a login comes from: the peer's, or -- only when the peer is a reverse proxy listed in
``auth.trusted_proxies`` -- the nearest untrusted address in its ``X-Forwarded-For`` header. Nothing
else may set it, so a client cannot pick the address its failures are counted against."""
from __future__ import annotations

import ipaddress

from flask import Request


class ClientAddress:
    def __init__(self, trusted: list[str]):
        self._trusted = [ipaddress.ip_network(entry, strict=False) for entry in trusted]

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._trusted)

    def of(self, req: Request) -> str:
        peer = req.remote_addr or "?"
        if not self._trusted or not self._is_trusted(peer):
            return peer
        hops = [hop.strip() for hop in ",".join(req.headers.getlist("X-Forwarded-For")).split(",") if hop.strip()]
        # walk from the proxy back towards the client: the first hop not itself a trusted proxy
        for hop in reversed(hops):
            try:
                hop = str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage in the header: count it against the proxy, not a made-up name
            if not self._is_trusted(hop):
                return hop
        return hops[0] if hops else peer
