#!/usr/bin/env python3
"""One HTTPS request, the server's certificate verified against a given CA only, for the
integration tests.

    https_client.py --url URL --ca FILE [--method M] [--header "Name: value"]... [--body TEXT]
                    [--until TEXT] [--timeout S]

Prints one JSON line: {"status": N, "headers": "<the header lines as received>", "body": "..."},
or {"error": "..."} when no answer came (a refused certificate, a closed port). --until: the
body is read only until it holds TEXT (an open answer such as Server-Sent Events), then the
connection is closed. --timeout bounds every wait (default 10 s). Always exits 0 once it printed.
"""

import argparse
import http.client
import json
import ssl
import sys
import urllib.parse


def main():
    parser = argparse.ArgumentParser(description="one HTTPS request")
    parser.add_argument("--url", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--body")
    parser.add_argument("--until")
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()

    url = urllib.parse.urlsplit(args.url)
    context = ssl.create_default_context(cafile=args.ca)
    connection = http.client.HTTPSConnection(url.hostname, url.port or 443, context=context,
                                             timeout=args.timeout)
    headers = {}
    for header in args.header:
        name, _, value = header.partition(":")
        headers[name.strip()] = value.strip()
    body = args.body.encode("utf-8") if args.body is not None else None
    if body is not None and "Content-Type" not in headers:
        headers["Content-Type"] = "application/json"
    path = url.path or "/"
    if url.query:
        path += "?" + url.query
    try:
        connection.request(args.method, path, body=body, headers=headers)
        response = connection.getresponse()
        if args.until:
            text = b""
            wanted = args.until.encode("utf-8")
            while wanted not in text:
                piece = response.read1(4096)
                if not piece:
                    break
                text += piece
        else:
            text = response.read()
        print(json.dumps({"status": response.status,
                          "headers": "".join("%s: %s\r\n" % h for h in response.getheaders()),
                          "body": text.decode("utf-8", errors="replace")}), flush=True)
    except (OSError, http.client.HTTPException) as e:
        print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}), flush=True)
    finally:
        connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
