"""A tiny SMTP server for tests: it can refuse mail (451), be slow, and counts what it took.

Only enough SMTP for Django's SMTP backend: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT.
A message counts as delivered only once the server has answered 250 to its DATA, as a
real server takes responsibility for it then.
"""

import email
import email.policy
import socketserver
import threading
import time


class _Handler(socketserver.StreamRequestHandler):
    timeout = 30

    def reply(self, line: str):
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def handle(self):
        sink: SmtpSink = self.server.sink
        self.reply("220 sink.test ESMTP")
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            command = raw.decode(errors="replace").strip()
            verb = command[:4].upper()
            if verb in {"EHLO", "HELO"}:
                self.reply("250 sink.test")
            elif verb == "MAIL":
                if sink.delay:
                    sink.holding += 1  # a sender is waiting for this server's answer
                    time.sleep(sink.delay)
                    sink.holding -= 1
                if sink.failing:
                    sink.refused += 1
                    self.reply("451 4.3.0 Try again later")
                else:
                    self.reply("250 OK")
            elif verb == "RCPT":
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while True:
                    line = self.rfile.readline()
                    if not line or line in (b".\r\n", b".\n"):
                        break
                    lines.append(line[1:] if line.startswith(b"..") else line)
                self.reply("250 OK queued")
                sink._delivered(b"".join(lines))
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:  # RSET, NOOP, anything else
                self.reply("250 OK")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class SmtpSink:
    def __init__(self, *, failing: bool = False, delay: float = 0.0):
        self.failing = failing
        self.delay = delay
        self.refused = 0
        self.holding = 0
        self.messages = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.sink = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _delivered(self, data: bytes):
        message = email.message_from_bytes(data, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)

    @property
    def subjects(self) -> list[str]:
        with self._lock:
            return [str(m["Subject"]) for m in self.messages]

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
