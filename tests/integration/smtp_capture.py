"""A capturing SMTP server for dmarcwatch's integration tests.

Listens on 127.0.0.1 only (aiosmtpd, Debian package python3-aiosmtpd) and
writes every accepted message to DIR as NNNN.eml (the data as received),
with NNNN.json beside it: the envelope sender and recipients, whether the
session was encrypted and whether it authenticated. Each file appears
complete (written under another name, then renamed).

Options:
  --starttls CERT KEY   offer STARTTLS and require it before MAIL
  --implicit CERT KEY   TLS from the first byte (like port 465)
  --auth USER:PASSWORD  require AUTH (PLAIN or LOGIN) with these credentials
  --refuse ADDRESS      answer 550 to RCPT TO for this address (repeatable)
  --ready FILE          created once the server accepts connections

Runs until SIGTERM or SIGINT.

"smtp_capture.py parse FILE..." prints, as one JSON array, what Python's own
email parser makes of captured messages: the decoded Subject, the other
headers, and each MIME part's type, charset and decoded content.
"""

import argparse
import email
import email.policy
import json
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Capture:
    def __init__(self, directory, refuse):
        self.directory = directory
        self.refuse = set(refuse)
        # A restarted server goes on numbering after what is there.
        self.count = len([f for f in os.listdir(directory) if f.endswith(".eml")])
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 <%s>: no such user" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            name = "%04d" % self.count
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            # STARTTLS upgrades the protocol; implicit TLS is the transport's.
            "tls": (server._tls_protocol is not None
                    or server.transport.get_extra_info("ssl_object") is not None),
            "authenticated": bool(session.authenticated),
        }
        for suffix, data in ((".eml", envelope.original_content),
                             (".json", json.dumps(meta).encode())):
            path = os.path.join(self.directory, name + suffix)
            with open(path + ".tmp", "wb") as f:
                f.write(data)
            os.rename(path + ".tmp", path)
        return "250 2.0.0 OK queued as " + name


def tls_context(cert, key):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def parse(files):
    out = []
    for path in files:
        with open(path, "rb") as f:
            message = email.message_from_binary_file(f, policy=email.policy.default)
        parts = []
        for part in (message.iter_parts() if message.is_multipart() else [message]):
            parts.append({
                "content_type": part.get_content_type(),
                "charset": part.get_content_charset(),
                "transfer_encoding": part.get("Content-Transfer-Encoding"),
                "content": part.get_content(),
            })
        out.append({
            "file": os.path.basename(path),
            "subject": str(message["Subject"]),
            "content_type": message.get_content_type(),
            "headers": {k: str(v) for k, v in message.items()},
            "defects": [str(d) for d in message.defects],
            "parts": parts,
        })
    json.dump(out, sys.stdout)
    return 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "parse":
        return parse(sys.argv[2:])
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--implicit", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--auth")
    parser.add_argument("--refuse", action="append", default=[])
    parser.add_argument("--ready")
    args = parser.parse_args()

    kwargs = {}
    if args.starttls:
        kwargs["tls_context"] = tls_context(*args.starttls)
        kwargs["require_starttls"] = True
    if args.implicit:
        kwargs["ssl_context"] = tls_context(*args.implicit)
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login == user.encode()
                  and auth_data.password == password.encode())
            return AuthResult(success=ok, handled=False)

        kwargs["authenticator"] = authenticator
        kwargs["auth_required"] = True
        # aiosmtpd counts only STARTTLS as encryption; implicit TLS is too.
        kwargs["auth_require_tls"] = bool(args.starttls)
    controller = Controller(Capture(args.dir, args.refuse), hostname="127.0.0.1",
                            port=args.port, **kwargs)
    controller.start()
    if args.ready:
        with open(args.ready, "w") as f:
            f.write("ready\n")

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
