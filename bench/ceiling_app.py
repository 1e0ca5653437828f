"""The "ceiling" for bench/http_bench.py: the least a Flask + gevent server can do per request.

A minimal Flask app answering "pong" at /platform/api/ping, served the way portald serves
(gevent.monkey.patch_all(), gevent.pywsgi.WSGIServer with log=None, TCP_NODELAY set on every
accepted socket in do_read). portald can only be slower; the ratio shows what its own layers cost.

    python bench/ceiling_app.py --port PORT [--no-nodelay]

--no-nodelay leaves Nagle's algorithm on, to see what the ~40 ms keep-alive stall looks like.
Always listens on 127.0.0.1.
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import socket  # noqa: E402

from flask import Flask, Response  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

app = Flask(__name__)


@app.get("/platform/api/ping")
def ping():
    return Response("pong", mimetype="text/plain")


class NoDelayWSGIServer(WSGIServer):
    def do_read(self):
        accepted = super().do_read()
        if accepted:
            accepted[0].setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return accepted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-nodelay", action="store_true", help="do not set TCP_NODELAY (for comparison)")
    args = parser.parse_args()
    server_class = WSGIServer if args.no_nodelay else NoDelayWSGIServer
    server_class(("127.0.0.1", args.port), app, log=None).serve_forever()


if __name__ == "__main__":
    main()
