#!/usr/bin/env python3
"""Attack traffic for scripts/edge-flood.sh (standard library only).

  edge_flood.py invites --target IP:PORT --source IP --rate N --seconds S [--sos-every K]
      Sends INVITEs over UDP from SOURCE at N a second for S seconds, each with its own Call-ID
      and branch (every K-th one to 911, the rest to an ordinary number), and counts the
      answers. SIPp falls behind long before 10,000 a second on a small machine; this does not.
  edge_flood.py idle --target IP:PORT --source IP --connections N --seconds S
      Holds N TCP connections from SOURCE open for S seconds, sending nothing, and opens a new
      one whenever the far end closes one (as an attacker would).

Both print one line of key=value figures when done and exit 0; 2 when they cannot run at all.
"""

import argparse
import errno
import resource
import selectors
import socket
import sys
import time


def target(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def invites(args):
    host, port = target(args.target)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.bind((args.source, 0))
    s.setblocking(False)
    local = s.getsockname()[1]
    head = (
        "INVITE sip:{user}@{host}:{port} SIP/2.0\r\n"
        "Via: SIP/2.0/UDP {src}:{local};branch=z9hG4bK-flood-{n}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:9999@{src}:{local}>;tag=flood{n}\r\n"
        "To: <sip:{user}@{host}:{port}>\r\n"
        "Call-ID: flood-{n}@{src}\r\n"
        "CSeq: 1 INVITE\r\n"
        "Contact: <sip:9999@{src}:{local}>\r\n"
        "Content-Type: application/sdp\r\n"
        "Content-Length: {length}\r\n\r\n"
    )
    sdp = ("v=0\r\no=flood 1 1 IN IP4 {src}\r\ns=-\r\nc=IN IP4 {src}\r\nt=0 0\r\n"
           "m=audio 40000 RTP/AVP 0\r\n").format(src=args.source)
    answers = {}
    sent = failed = 0
    start = time.perf_counter()
    end = start + args.seconds
    n = 0
    while True:
        now = time.perf_counter()
        if now >= end:
            break
        due = int((now - start) * args.rate)  # sends due by now
        while n < due:
            user = "911" if args.sos_every and n % args.sos_every == 0 else "5551234"
            msg = head.format(user=user, host=host, port=port, src=args.source, local=local,
                              n=n, length=len(sdp)) + sdp
            try:
                s.sendto(msg.encode(), (host, port))
                sent += 1
            except OSError:
                failed += 1
            n += 1
        while True:  # answers so far (few: sosproxy rate-limits them)
            try:
                data = s.recv(65535)
            except BlockingIOError:
                break
            status = data[8:11].decode(errors="replace")
            answers[status] = answers.get(status, 0) + 1
        time.sleep(0.0005)
    elapsed = time.perf_counter() - start
    time.sleep(0.3)
    while True:
        try:
            data = s.recv(65535)
        except BlockingIOError:
            break
        status = data[8:11].decode(errors="replace")
        answers[status] = answers.get(status, 0) + 1
    replies = ",".join("%s:%d" % kv for kv in sorted(answers.items())) or "none"
    print("sent=%d send_failed=%d seconds=%.2f rate=%.0f answers=%s"
          % (sent, failed, elapsed, sent / elapsed if elapsed else 0, replies), flush=True)


def idle(args):
    host, port = target(args.target)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.connections + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(want, soft), hard), hard))
    sel = selectors.DefaultSelector()
    opened = closed = refused = 0
    samples = []

    def connect():
        nonlocal opened, refused
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        c.bind((args.source, 0))
        c.setblocking(False)
        err = c.connect_ex((host, port))
        if err not in (0, errno.EINPROGRESS):
            refused += 1
            c.close()
            return False
        sel.register(c, selectors.EVENT_READ)
        opened += 1
        return True

    end = time.monotonic() + args.seconds
    next_sample = time.monotonic()
    while time.monotonic() < end:
        while len(sel.get_map()) < args.connections and time.monotonic() < end:
            if not connect():
                break
        for key, _ in sel.select(timeout=0.05):
            c = key.fileobj
            try:
                data = c.recv(4096)
            except OSError:
                data = b""
            if not data:  # closed by the far end
                sel.unregister(c)
                c.close()
                closed += 1
        if time.monotonic() >= next_sample:
            samples.append(len(sel.get_map()))
            next_sample += 0.1
    open_now = len(sel.get_map())
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    print("opened=%d closed_by_peer=%d connect_failed=%d open_at_end=%d open_avg=%.0f"
          % (opened, closed, refused, open_now, sum(samples) / len(samples) if samples else 0),
          flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("mode", choices=["invites", "idle"])
    p.add_argument("--target", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--rate", type=float, default=10000)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--sos-every", type=int, default=0)
    p.add_argument("--connections", type=int, default=2000)
    args = p.parse_args()
    try:
        invites(args) if args.mode == "invites" else idle(args)
    except OSError as e:
        print("edge_flood: %s" % e, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
