#!/usr/bin/env python3
"""A development mail sink: receives SMTP (aiosmtpd) and shows what it received as JSON over HTTP,
so a person running the API locally, and the Postman collection, can read the links the API mails
(email verification, password reset) without a real mailbox.

    python3 scripts/mail_sink.py [--smtp-port 1025] [--http-port 8025]

GET http://127.0.0.1:8025/messages            every message, oldest first
GET http://127.0.0.1:8025/messages?to=ADDRESS  the messages to ADDRESS (case-insensitive)
Each message: {"to": [...], "subject": "...", "body": "...", "token": "<the link's token or null>"}.
Messages live in memory only; nothing is relayed anywhere."""
import argparse
import email
import email.policy
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from aiosmtpd.controller import Controller

MESSAGES = []
LOCK = threading.Lock()
TOKEN = re.compile(r"[?&]token=([A-Za-z0-9_-]+)")


class Sink:
    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        part = message.get_body(preferencelist=("plain",))
        body = part.get_content() if part is not None else ""
        found = TOKEN.search(body)
        with LOCK:
            MESSAGES.append({
                "to": [address.lower() for address in envelope.rcpt_tos],
                "subject": str(message.get("Subject", "")),
                "body": body,
                "token": found.group(1) if found else None,
            })
        return "250 OK"


class Api(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlparse(self.path)
        if url.path != "/messages":
            self.send_error(404)
            return
        to = parse_qs(url.query).get("to", [None])[0]
        with LOCK:
            found = [m for m in MESSAGES if to is None or to.lower() in m["to"]]
        body = json.dumps(found).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--http-port", type=int, default=8025)
    args = parser.parse_args()
    controller = Controller(Sink(), hostname="127.0.0.1", port=args.smtp_port)
    controller.start()
    print(f"mail sink: SMTP on 127.0.0.1:{args.smtp_port}, messages at http://127.0.0.1:{args.http_port}/messages",
          flush=True)
    try:
        ThreadingHTTPServer(("127.0.0.1", args.http_port), Api).serve_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
