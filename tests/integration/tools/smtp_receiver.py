#!/usr/bin/env python3
"""A minimal SMTP server (RFC 5321) for responder-alert mail, for the integration tests.

    smtp_receiver.py --port P --out FILE [--refuse] [--tls-cert CERT --tls-key KEY
                     [--require-tls | --implicit-tls]] [--auth USER:PASSWORD
                     [--mechanisms "PLAIN LOGIN"]]

Listens on 127.0.0.1:P. Speaks enough SMTP for a client: 220 greeting, EHLO (a multi-line 250
reply), HELO, MAIL FROM, RCPT TO, DATA (354, then lines up to a "." alone, dot-stuffing
undone), RSET, NOOP, VRFY, HELP, QUIT (221), and STARTTLS and AUTH when asked for. Commands out
of order get 503, bad syntax 501, unknown commands 500.

--refuse: every RCPT TO is answered 550 (and DATA then 554: no valid recipients).
--tls-cert, --tls-key: STARTTLS is offered (RFC 3207) with this certificate and key (PEM); after
  it the client starts again with EHLO. --require-tls: MAIL before STARTTLS is answered 530.
  --implicit-tls: TLS from the first byte instead (RFC 8314), no STARTTLS.
--auth USER:PASSWORD: AUTH (RFC 4954) with --mechanisms (default "PLAIN LOGIN") is offered, over
  TLS only when TLS is required; MAIL before a successful AUTH is answered 530, wrong
  credentials 535.

Each message accepted is appended to FILE as one JSON line before the 250 that accepts it:

    {"from": "alerts@example.com", "to": ["desk@example.com"], "data": "<message text>",
     "helo": <the EHLO/HELO name>, "esmtp": true, "bare_lf": false, "tls": <over TLS>,
     "auth": <the user authenticated, or null>, "auth_mechanism": <PLAIN, LOGIN or null>}

"data" is the message as sent, line ends kept, dot-stuffing undone, without the final "."
line; "bare_lf" says whether some line ended in LF alone instead of CRLF. Each line is flushed
and fsync'ed, so a test can read FILE while this runs.

Prints "ready" on stdout once listening. SIGTERM or SIGINT: exits with status 0.
"""

import argparse
import asyncio
import base64
import binascii
import json
import os
import re
import signal
import ssl
import sys

HOSTNAME = "localhost"
MAX_LINE = 4096              # command lines; text lines may be longer (RFC 5321 4.5.3.1)
MAX_MESSAGE = 10 * 1024 * 1024

PATH_RE = re.compile(r"^\s*<([^<>]*)>(\s+.*)?$")


class Recorder:
    def __init__(self, path):
        self._file = open(path, "a", encoding="utf-8")

    def append(self, record):
        # One write per line; asyncio runs one handler at a time, so no lock is needed.
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self):
        self._file.close()


def parse_path(arg, keyword):
    """`FROM:<a@b> SIZE=1` -> "a@b"; None when the syntax is wrong."""
    if not arg.upper().startswith(keyword + ":"):
        return None
    m = PATH_RE.match(arg[len(keyword) + 1:])
    return m.group(1) if m else None


class Conversation:
    def __init__(self, reader, writer, recorder, options):
        self.reader = reader
        self.writer = writer
        self.recorder = recorder
        self.refuse = options.refuse
        self.options = options
        self.tls = options.implicit_tls
        self.auth_user = None
        self.auth_mechanism = None
        self.helo = None
        self.esmtp = False
        self.reset()

    def reset(self):
        self.mail_from = None
        self.rcpt_to = []

    async def reply(self, *lines):
        """reply("250-a", "250 b"), or reply(code, text)."""
        if len(lines) == 2 and isinstance(lines[0], int):
            lines = ("%d %s" % lines,)
        self.writer.write("".join(line + "\r\n" for line in lines).encode("utf-8"))
        await self.writer.drain()

    async def read_line(self, limit):
        line = await self.reader.readline()
        if len(line) > limit:
            raise ValueError("line too long")
        return line

    async def run(self):
        await self.reply(220, HOSTNAME + " ESMTP ready")
        while True:
            try:
                raw = await self.read_line(MAX_LINE)
            except (ValueError, asyncio.LimitOverrunError):
                await self.reply(500, "5.5.6 Line too long")
                continue
            if not raw:
                return  # the client went away
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            arg = arg.strip()
            handler = getattr(self, "cmd_" + verb, None) if verb.isalpha() else None
            if handler is None:
                await self.reply(500, "5.5.2 Command unrecognized")
                continue
            if await handler(arg) is False:
                return

    async def cmd_EHLO(self, arg):
        if not arg:
            await self.reply(501, "5.5.4 EHLO needs a domain")
            return
        self.helo, self.esmtp = arg, True
        self.reset()
        lines = ["250-%s Hello %s" % (HOSTNAME, arg), "250-8BITMIME"]
        if self.options.tls_context and not self.tls:
            lines.append("250-STARTTLS")
        if self.options.auth and (self.tls or not self.options.require_tls):
            lines.append("250-AUTH " + " ".join(self.options.mechanisms))
        lines.append("250 SIZE %d" % MAX_MESSAGE)
        await self.reply(*lines)

    async def cmd_STARTTLS(self, arg):
        if not self.options.tls_context or self.tls:
            await self.reply(502 if not self.options.tls_context else 503,
                             "5.5.1 STARTTLS not available")
            return
        await self.reply(220, "2.0.0 Ready to start TLS")
        try:
            await self.writer.start_tls(self.options.tls_context)
        except (ssl.SSLError, ConnectionError, OSError) as e:
            sys.stderr.write("TLS handshake failed: %s\n" % e)
            return False
        # RFC 3207 4.2: everything said before TLS is forgotten.
        self.tls = True
        self.helo, self.esmtp = None, False
        self.auth_user = self.auth_mechanism = None
        self.reset()

    async def decoded_line(self):
        raw = await self.read_line(MAX_LINE)
        return base64.b64decode(raw.strip(), validate=True)

    async def cmd_AUTH(self, arg):
        if not self.options.auth:
            await self.reply(502, "5.5.1 AUTH not available")
            return
        if self.helo is None or self.auth_user is not None:
            await self.reply(503, "5.5.1 Bad sequence of commands")
            return
        if self.options.require_tls and not self.tls:
            await self.reply(530, "5.7.0 Must issue a STARTTLS command first")
            return
        mechanism, _, initial = arg.partition(" ")
        mechanism = mechanism.upper()
        if mechanism not in self.options.mechanisms:
            await self.reply(504, "5.5.4 Unrecognized authentication type")
            return
        try:
            if mechanism == "PLAIN":
                if initial:
                    decoded = base64.b64decode(initial.strip(), validate=True)
                else:
                    await self.reply(334, "")
                    decoded = await self.decoded_line()
                _, user, password = decoded.split(b"\0", 2)
            else:
                await self.reply(334, "VXNlcm5hbWU6")
                user = await self.decoded_line()
                await self.reply(334, "UGFzc3dvcmQ6")
                password = await self.decoded_line()
        except (ValueError, binascii.Error):
            await self.reply(501, "5.5.2 Cannot decode the response")
            return
        if (user.decode("utf-8", "replace"), password.decode("utf-8", "replace")) != self.options.auth:
            await self.reply(535, "5.7.8 Authentication credentials invalid")
            return
        self.auth_user, self.auth_mechanism = user.decode("utf-8"), mechanism
        await self.reply(235, "2.7.0 Authentication successful")

    async def cmd_HELO(self, arg):
        if not arg:
            await self.reply(501, "5.5.4 HELO needs a domain")
            return
        self.helo, self.esmtp = arg, False
        self.reset()
        await self.reply(250, HOSTNAME)

    async def cmd_MAIL(self, arg):
        if self.helo is None:
            await self.reply(503, "5.5.1 Send EHLO or HELO first")
            return
        if self.mail_from is not None:
            await self.reply(503, "5.5.1 Nested MAIL command")
            return
        if self.options.require_tls and not self.tls:
            await self.reply(530, "5.7.0 Must issue a STARTTLS command first")
            return
        if self.options.auth and self.auth_user is None:
            await self.reply(530, "5.7.0 Authentication required")
            return
        path = parse_path(arg, "FROM")
        if path is None:
            await self.reply(501, "5.5.4 Syntax: MAIL FROM:<address>")
            return
        self.mail_from = path
        await self.reply(250, "2.1.0 OK")

    async def cmd_RCPT(self, arg):
        if self.mail_from is None:
            await self.reply(503, "5.5.1 Need MAIL before RCPT")
            return
        path = parse_path(arg, "TO")
        if not path:
            await self.reply(501, "5.5.4 Syntax: RCPT TO:<address>")
            return
        if self.refuse:
            await self.reply(550, "5.1.1 <%s>: Recipient address rejected" % path)
            return
        self.rcpt_to.append(path)
        await self.reply(250, "2.1.5 OK")

    async def cmd_DATA(self, arg):
        if arg:
            await self.reply(501, "5.5.4 DATA takes no argument")
            return
        if self.mail_from is None:
            await self.reply(503, "5.5.1 Need MAIL command")
            return
        if not self.rcpt_to:
            await self.reply(554 if self.refuse else 503, "5.5.1 No valid recipients")
            return
        await self.reply(354, "End data with <CR><LF>.<CR><LF>")
        parts = []
        size = 0
        bare_lf = False
        while True:
            raw = await self.reader.readline()
            if not raw:
                return False  # the client went away in the middle of the message
            if raw in (b".\r\n", b".\n"):
                break
            if raw.startswith(b"."):
                raw = raw[1:]
            if raw.endswith(b"\n") and not raw.endswith(b"\r\n"):
                bare_lf = True
            size += len(raw)
            if size <= MAX_MESSAGE:
                parts.append(raw)
        if size > MAX_MESSAGE:
            self.reset()
            await self.reply(552, "5.3.4 Message too big")
            return
        self.recorder.append({
            "from": self.mail_from,
            "to": list(self.rcpt_to),
            "data": b"".join(parts).decode("utf-8", errors="replace"),
            "helo": self.helo,
            "esmtp": self.esmtp,
            "bare_lf": bare_lf,
            "tls": self.tls,
            "auth": self.auth_user,
            "auth_mechanism": self.auth_mechanism,
        })
        self.reset()
        await self.reply(250, "2.0.0 OK queued")

    async def cmd_RSET(self, arg):
        self.reset()
        await self.reply(250, "2.0.0 OK")

    async def cmd_NOOP(self, arg):
        await self.reply(250, "2.0.0 OK")

    async def cmd_VRFY(self, arg):
        await self.reply(252, "2.5.0 Cannot VRFY user")

    async def cmd_HELP(self, arg):
        await self.reply(214, "2.0.0 EHLO HELO MAIL RCPT DATA RSET NOOP VRFY QUIT")

    async def cmd_QUIT(self, arg):
        await self.reply(221, "2.0.0 Bye")
        return False


async def serve(port, recorder, options):
    clients = set()

    async def on_client(reader, writer):
        task = asyncio.current_task()
        clients.add(task)
        try:
            await Conversation(reader, writer, recorder, options).run()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        except ValueError as e:  # a text line beyond the reader's limit
            sys.stderr.write("connection dropped: %s\n" % e)
        finally:
            clients.discard(task)
            writer.close()

    try:
        # The reader's limit bounds text lines of a message; commands are checked separately.
        server = await asyncio.start_server(
            on_client, "127.0.0.1", port, reuse_address=True, limit=1024 * 1024,
            ssl=options.tls_context if options.implicit_tls else None)
    except OSError as e:
        sys.stderr.write("cannot listen on 127.0.0.1:%d: %s\n" % (port, e))
        return 1

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print("ready", flush=True)
    await stop.wait()
    server.close()
    for task in list(clients):
        task.cancel()
    await asyncio.gather(*clients, return_exceptions=True)
    await server.wait_closed()
    return 0


def main():
    parser = argparse.ArgumentParser(description="minimal SMTP receiver")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--refuse", action="store_true")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--require-tls", action="store_true")
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--auth", help="USER:PASSWORD")
    parser.add_argument("--mechanisms", default="PLAIN LOGIN")
    args = parser.parse_args()
    args.tls_context = None
    if args.tls_cert:
        args.tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        args.tls_context.load_cert_chain(args.tls_cert, args.tls_key)
    if args.auth:
        user, _, password = args.auth.partition(":")
        args.auth = (user, password)
    args.mechanisms = args.mechanisms.upper().split()
    recorder = Recorder(args.out)
    try:
        return asyncio.run(serve(args.port, recorder, args))
    finally:
        recorder.close()


if __name__ == "__main__":
    sys.exit(main())
