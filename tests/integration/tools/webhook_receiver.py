#!/usr/bin/env python3
"""An HTTP receiver for responder-alert webhooks, for the integration tests.

    webhook_receiver.py --port P --secret S --out FILE [--blackhole] [--status N]
                        [--tls-cert CERT --tls-key KEY]

Listens on 127.0.0.1:P (HTTP/1.1, a thread per connection; HTTPS with --tls-cert and --tls-key,
PEM files). For every POST it reads the body
(Content-Length, or chunked), checks `X-Sosproxy-Signature: sha256=<hex>` against
HMAC-SHA256(S, body) and appends one JSON line to FILE before it answers:

    {"path": "/alerts", "delivery": <X-Sosproxy-Delivery or null>, "signature_ok": true,
     "body": <the body parsed as JSON, or the raw text when it is not JSON>,
     "method": "POST", "content_type": ..., "signature": <header value or null>,
     "status": <the status answered, null with --blackhole>, "tls": <over HTTPS>,
     "client_port": <the client's port: requests over one connection share it>}

Each line is flushed and fsync'ed on its own, so a test can read FILE while this runs. The answer
is --status (default 200) with an empty body.

--blackhole: connections are accepted and requests read (and recorded, with "status": null),
but nothing is ever answered; the socket stays open until the client closes it or this process
ends. A dead endpoint that does not refuse.

Prints "ready" on stdout once listening. SIGTERM or SIGINT: exits with status 0.
"""

import argparse
import hashlib
import hmac
import json
import os
import signal
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Recorder:
    """Appends JSON lines to a file, one whole line per write, fsync'ed."""

    def __init__(self, path):
        self._lock = threading.Lock()
        self._file = open(path, "a", encoding="utf-8")

    def append(self, record):
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self):
        with self._lock:
            self._file.close()


def make_handler(secret, recorder, status, blackhole):
    key = secret.encode("utf-8")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "webhook-receiver/1"

        def _read_body(self):
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                body = b""
                while True:
                    size_line = self.rfile.readline()
                    if not size_line:
                        break
                    size = int(size_line.split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        # Trailers, up to the empty line.
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    body += self.rfile.read(size)
                    self.rfile.readline()  # CRLF after the chunk
                return body
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length > 0 else b""

        def _hold(self):
            # Never answer: keep reading until the client gives up and closes.
            self.close_connection = True
            try:
                while self.connection.recv(4096):
                    pass
            except OSError:
                pass

        def do_POST(self):
            body = self._read_body()
            signature = self.headers.get("X-Sosproxy-Signature")
            expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
            signature_ok = signature is not None and hmac.compare_digest(
                signature.strip().encode("utf-8"), expected.encode("utf-8"))
            text = body.decode("utf-8", errors="replace")
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = text
            recorder.append({
                "path": self.path,
                "delivery": self.headers.get("X-Sosproxy-Delivery"),
                "signature_ok": signature_ok,
                "body": parsed,
                "method": "POST",
                "content_type": self.headers.get("Content-Type"),
                "signature": signature,
                "status": None if blackhole else status,
                "tls": isinstance(self.connection, ssl.SSLSocket),
                "client_port": self.client_address[1],
            })
            if blackhole:
                self._hold()
                return
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _other(self):
            if blackhole:
                self._hold()
                return
            self._read_body()
            self.send_response(405)
            self.send_header("Allow", "POST")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _other

        def log_message(self, fmt, *args):
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))
            sys.stderr.flush()

    return Handler


def main():
    parser = argparse.ArgumentParser(description="HTTP receiver for signed webhooks")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--blackhole", action="store_true")
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args()

    recorder = Recorder(args.out)
    handler = make_handler(args.secret, recorder, args.status, args.blackhole)
    ThreadingHTTPServer.allow_reuse_address = True
    try:
        server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    except OSError as e:
        sys.stderr.write("cannot listen on 127.0.0.1:%d: %s\n" % (args.port, e))
        return 1
    server.daemon_threads = True  # a held (blackhole) connection must not delay the exit
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        # The handshake is done by the connection's own thread, on its first read: a client that
        # refuses the certificate does not hold up the accepting thread.
        server.socket = context.wrap_socket(server.socket, server_side=True,
                                            do_handshake_on_connect=False)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                               daemon=True)
    serving.start()
    print("ready", flush=True)
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    recorder.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
