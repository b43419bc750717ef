"""A one-shot HTTP listener on the loopback interface that receives the OAuth redirect
(RFC 8252 §7.3), for CLIs and desktop tools.

`LoopbackReceiver(port=0)` binds 127.0.0.1 on a free port (or the given one); `redirect_uri` is
what to register/send; `wait(timeout)` blocks until the browser arrives with a callback whose
`state` matches (other requests, e.g. `/favicon.ico` or a stray page's probe, are answered and
ignored) and returns the full callback URL for `parse_callback`.
"""

from __future__ import annotations

import html
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from gridshare_client.errors import InvalidArgument, LoginTimedOut, LoopbackUnavailable
from gridshare_client.oauth import states_equal

_DONE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;margin:4rem auto;max-width:32rem}}</style></head>
<body><h1>{title}</h1><p>{text}</p></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        receiver = self.server.receiver
        parts = urlsplit(self.path)
        if parts.path != receiver.path:
            self._answer(404, "Not found", "Nothing here.")
            return
        query = parse_qs(parts.query, keep_blank_values=True)
        state = query.get("state", [None])[0]
        if receiver.expected_state is not None and not states_equal(receiver.expected_state, state):
            self._answer(400, "Unexpected request", "This is not the sign-in you started.")
            return
        if "error" in query:
            self._answer(
                200,
                "Sign-in not completed",
                "The authorization was not granted. You can close this tab.",
            )
        else:
            self._answer(200, "Signed in", "You can close this tab and return to the terminal.")
        receiver._deliver(f"{receiver.base_url}{self.path}")

    def _answer(self, status: int, title: str, text: str) -> None:
        body = _DONE_PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return  # never log: the query carries the authorization code


class _Server(HTTPServer):
    receiver: LoopbackReceiver


class LoopbackReceiver:
    """Listen on `http://127.0.0.1:{port}{path}` for one OAuth callback."""

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        path: str = "/callback",
        expected_state: str | None = None,
    ) -> None:
        self.host = host
        self.path = path if path.startswith("/") else "/" + path
        self.expected_state = expected_state
        try:
            self._server = _Server((host, port), _Handler)
        except OSError as exc:
            raise LoopbackUnavailable(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from exc
        self._server.receiver = self
        self.port: int = self._server.server_address[1]
        self._result: str | None = None
        self._arrived = threading.Event()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url}{self.path}"

    def _deliver(self, url: str) -> None:
        if not self._arrived.is_set():
            self._result = url
            self._arrived.set()

    def wait(self, timeout: float | None = 300.0) -> str:
        """The callback URL; `LoginTimedOut` when nobody came back in time."""
        if not self._arrived.wait(timeout):
            raise LoginTimedOut(f"no sign-in arrived within {timeout:g} s")
        assert self._result is not None
        return self._result

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LoopbackReceiver:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def loopback_binding(registered: str | None, port: int | None) -> tuple[str, int, str]:
    """(host, port, path) to listen on for a login.

    With a registered loopback redirect URI: its host and path, on `port` when given (0 = any
    free port) else on its own port. Without one: 127.0.0.1 at `/callback` on `port` (default:
    any free port). A registered non-loopback URI cannot be listened on (ValueError) unless a
    `port` is given, which then means a loopback URI of its own.
    """
    if not registered:
        return "127.0.0.1", port or 0, "/callback"
    parts = urlsplit(registered)
    loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not loopback:
        if port is not None:
            return "127.0.0.1", port, "/callback"
        raise InvalidArgument(
            f"the redirect URI {registered!r} is not a loopback URI, so nothing here can "
            "receive it: paste the URL the browser lands on instead"
        )
    assert parts.hostname is not None
    chosen = port if port is not None else (parts.port or 80)
    return parts.hostname, chosen, parts.path or "/"
