"""`SandboxServer`: WeChat's API on a loopback port, plus the chat page (sandbox/chat.py).

    server = SandboxServer(appid, appsecret, token, encoding_aes_key, webhook_url).start()
    settings.wechat.api_base_url = server.url          # the bot's gateway now talks to the sandbox
    ...
    server.touch(openid)                               # the user wrote to the account (48 h window)
    server.sent(openid)                                # customer-service messages the bot sent
    server.clock.advance(301)                          # time passes: tokens expire, windows close
    server.stop()

Endpoints answer like WeChat: JSON with errcode/errmsg and HTTP 200 for API errors. Test hooks:
`fail_next(path, errcode)` injects an error answer, `delay(path, seconds)` makes an endpoint slow,
`revoke_tokens()` makes every issued token answer 40001, `calls(path)` counts requests, `answered(path,
errcode)` counts the errors given. User tags live in `tags` (sandbox/tags.py), broadcasts in `mass`
(sandbox/mass.py; `account_type` "subscription" or "service" sets its quota).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox import chat, mass, media, oauth, pay, tags
from sandbox.account import Account, ApiError
from sandbox.clock import Clock
from sandbox.sender import DELIVERIES, Sender
from sandbox.wire import Answer, Request, Route, json_answer

log = logging.getLogger(__name__)

MAX_BODY = 11 * 1024 * 1024  # room for a 10 MB media upload and its form-data framing




class SandboxServer:
    def __init__(self, appid: str, appsecret: str, token: str, encoding_aes_key: str = "",
                 webhook_url: str = "", host: str = "127.0.0.1", port: int = 0, *,
                 mode: str | None = None, clock: Clock | None = None,
                 grants: dict[str, tuple[int, float]] | None = None, account_id: str = "gh_sandbox00001",
                 account_type: str = mass.SUBSCRIPTION) -> None:
        """`mode` is how the chat page posts to the webhook: plain, safe or compatible (default: safe
        when an encoding_aes_key is given). `grants` overrides the customer-service quotas
        ({"message": (5, 172800), ...}, see sandbox/account.py)."""
        self.appid = appid
        self.token = token
        self.encoding_aes_key = encoding_aes_key
        self.webhook_url = webhook_url
        self.mode = mode or ("safe" if encoding_aes_key else "plain")
        self.account_id = account_id
        self.host = host
        self.port = port
        self.clock = clock or Clock()
        self.media = media.MediaStore(self.clock)
        self.account = Account(appid, appsecret, self.clock, grants, self.media)
        self.requests: deque[tuple[str, str]] = deque(maxlen=10_000)  # (method, path), newest last
        self._counts: Counter[str] = Counter()
        self._errors: Counter[tuple[str, int]] = Counter()
        self._failures: dict[str, list[tuple[int, str | None]]] = {}
        self._delays: dict[str, float] = {}
        self._hooks = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._sender: Sender | None = None
        self.payments: pay.Merchant | None = None  # WeChat Pay, once enable_pay() is called
        self.creators: list[str] = []  # openids the chat page offers as creators (the demo sets them)
        self.oauth = oauth.OAuth(appid, appsecret, self.clock)
        self.tags = tags.Tags(self.account.is_follower)
        self.mass = mass.MassSender(self.tags, self.account.is_subscribed, self.account.record_broadcast,
                                    self.clock.now, account_type)
        self.mass.report = self._report_mass
        self.routes: dict[tuple[str, str], Route] = {
            ("GET", "/cgi-bin/token"): self._token,
            ("POST", "/cgi-bin/stable_token"): self._stable_token,
            ("POST", "/cgi-bin/message/custom/send"): self._custom_send,
            ("POST", "/cgi-bin/menu/create"): self._menu_create,
            ("GET", "/cgi-bin/menu/get"): self._menu_get,
            ("GET", "/cgi-bin/menu/delete"): self._menu_delete,
            **chat.routes(self),
            **pay.routes(self),
            **oauth.routes(self),
            **tags.routes(self),
            **mass.routes(self),
            **media.routes(self),
        }
        # (method, path prefix, route) for paths that carry ids: WeChat Pay's /v3/ API
        self.prefix_routes: list[tuple[str, str, Route]] = [*pay.prefix_routes(self), *media.prefix_routes(self)]

    # ------------------------------------------------------------ lifecycle

    def start(self) -> SandboxServer:
        handler = type("Handler", (_Handler,), {"sandbox": self})
        self._httpd = ThreadingHTTPServer((self.host, self.port), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.payments is not None:
            self.payments.close()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # ------------------------------------------------------------ inspection (tests and the chat page)

    def sent(self, openid: str | None = None, after: int = 0) -> list[dict[str, Any]]:
        """Customer-service messages accepted so far: {id, openid, msgtype, content, articles, time}."""
        return self.account.sent(openid, after)

    @property
    def menu(self) -> dict[str, Any] | None:
        return self.account.menu

    @property
    def token_fetches(self) -> int:
        return self.account.token_fetches

    def touch(self, openid: str, kind: str = "message") -> None:
        """The user acted (message, click, subscribe, scan, view, unsubscribe): opens or closes windows."""
        self.account.touch(openid, kind)

    def revoke_tokens(self) -> None:
        self.account.revoke_tokens()

    def calls(self, path: str) -> int:
        """How many requests reached `path`."""
        with self._hooks:
            return self._counts[path]

    def answered(self, path: str, errcode: int) -> int:
        """How many calls to `path` were answered with `errcode`."""
        with self._hooks:
            return self._errors[path, errcode]

    def _report_mass(self, job: mass.MassJob) -> None:
        """WeChat posts MASSSENDJOBFINISH to the account's server once a broadcast is done, and posts the
        same event again while no 200 comes back within the reply deadline, DELIVERIES times at most."""
        if not self.webhook_url:
            return
        event, sender = mass.finish_event(job, self.account_id), self.sender()
        for _ in range(DELIVERIES):
            if sender.post(event, touch=False).status == 200:
                return

    # ------------------------------------------------------------ WeChat Pay (sandbox/pay/)

    def enable_pay(self, mchid: str, apiv3_key: str, merchant_public_key_pem: str | bytes, notify_url: str,
                   **options: Any) -> pay.PlatformKeys:
        """Play WeChat Pay (API v3) for this merchant on this server; `options` go to `pay.Merchant`
        (appid, merchant_serial_no, mode, scheduler, time_factor, refund_delay, folder, clock: this
        server's by default). Returns the platform's key files and ids (`public_key_path`, ...)."""
        if self.payments is not None:
            self.payments.close()
        options.setdefault("appid", self.appid)
        options.setdefault("clock", self.clock)
        self.payments = pay.Merchant(mchid, apiv3_key, merchant_public_key_pem, notify_url, **options)
        return self.payments.keys

    def pay(self, out_trade_no: str, payer_openid: str) -> dict[str, Any]:
        """The payer pays: the order turns SUCCESS and TRANSACTION.SUCCESS goes to the notify_url.
        Raises `pay.PaymentRejected` when this payer cannot pay this order."""
        if self.payments is None:
            raise RuntimeError("WeChat Pay is off: call enable_pay() first")
        return self.payments.pay(out_trade_no, payer_openid)

    def sender(self) -> Sender:
        """A Sender to the configured webhook, in this server's mode, touching this server."""
        if self._sender is None:
            if not self.webhook_url:
                raise RuntimeError("no webhook_url configured")
            self._sender = Sender(self.webhook_url, self.token, self.appid, self.encoding_aes_key,
                                  mode=self.mode, account=self.account_id, server=self)
        return self._sender

    # ------------------------------------------------------------ test hooks

    def fail_next(self, path: str, errcode: int, errmsg: str | None = None, times: int = 1) -> None:
        """The next `times` calls to `path` answer this errcode (after the token check passes)."""
        with self._hooks:
            self._failures.setdefault(path, []).extend([(errcode, errmsg)] * times)

    def delay(self, path: str, seconds: float) -> None:
        """Sleep this long before answering `path` (0 removes the delay)."""
        with self._hooks:
            self._delays[path] = seconds

    def _injected(self, path: str) -> ApiError | None:
        with self._hooks:
            queue = self._failures.get(path)
            if not queue:
                return None
            errcode, errmsg = queue.pop(0)
        return ApiError(errcode, errmsg)

    # ------------------------------------------------------------ dispatch

    def handle(self, request: Request) -> Answer:
        with self._hooks:
            self.requests.append((request.method, request.path))
            self._counts[request.path] += 1
            pause = self._delays.get(request.path, 0)
        if pause:
            time.sleep(pause)
        route = self.routes.get((request.method, request.path)) or next(
            (r for method, prefix, r in self.prefix_routes
             if method == request.method and request.path.startswith(prefix)), None)
        try:
            if route is None:
                return self._no_route(request)
            return route(request)
        except ApiError as error:
            with self._hooks:
                self._errors[request.path, error.errcode] += 1
            return json_answer(error.payload())

    def _no_route(self, request: Request) -> Answer:
        other = "POST" if request.method == "GET" else "GET"
        if (other, request.path) in self.routes and request.path.startswith("/cgi-bin/"):
            raise ApiError(43002 if other == "POST" else 43001)
        if request.path.startswith("/cgi-bin/"):
            raise ApiError(40066)
        return Answer(404, b"not found", "text/plain; charset=utf-8")

    def _authorized(self, request: Request) -> None:
        """The token check every API call starts with, then any injected failure."""
        self.account.check_token(request.query.get("access_token"))
        injected = self._injected(request.path)
        if injected:
            raise injected

    # ------------------------------------------------------------ API routes

    def _token(self, request: Request) -> Answer:
        q = request.query
        self.account.check_credentials(q.get("grant_type"), q.get("appid"), q.get("secret"))
        injected = self._injected(request.path)
        if injected:
            raise injected
        return json_answer(self.account.issue_token())

    def _stable_token(self, request: Request) -> Answer:
        data = request.json()
        if not isinstance(data, dict):
            raise ApiError(47001)
        self.account.check_credentials(data.get("grant_type"), data.get("appid"), data.get("secret"))
        injected = self._injected(request.path)
        if injected:
            raise injected
        return json_answer(self.account.issue_stable_token(bool(data.get("force_refresh"))))

    def _custom_send(self, request: Request) -> Answer:
        self._authorized(request)
        self.account.send_custom(request.json())
        return json_answer({"errcode": 0, "errmsg": "ok"})

    def _menu_create(self, request: Request) -> Answer:
        self._authorized(request)
        self.account.create_menu(request.json())
        return json_answer({"errcode": 0, "errmsg": "ok"})

    def _menu_get(self, request: Request) -> Answer:
        self._authorized(request)
        if self.account.menu is None:
            raise ApiError(46003)
        return json_answer({"menu": self.account.menu})

    def _menu_delete(self, request: Request) -> Answer:
        self._authorized(request)
        self.account.delete_menu()
        return json_answer({"errcode": 0, "errmsg": "ok"})


class _Handler(BaseHTTPRequestHandler):
    sandbox: SandboxServer
    server_version = "sandbox"

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_OPTIONS(self) -> None:  # CORS preflight (the JS bridge, sandbox/pay/endpoints.py)
        self._serve("OPTIONS")

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._write(Answer(413, b"too large", "text/plain"))
            return
        body = self.rfile.read(length) if length else b""
        try:
            request = Request(method, parts.path, query, body)
            request.headers = self.headers  # type: ignore[attr-defined]  # Authorization, Cookie, Origin
            request.target = self.path  # type: ignore[attr-defined]  # as sent: WeChat Pay signs it
            answer = self.sandbox.handle(request)
        except Exception:  # a sandbox bug: answer like WeChat's "system error", keep serving
            log.exception("sandbox error")
            answer = json_answer(ApiError(-1).payload())
        self._write(answer)

    def _write(self, answer: Answer) -> None:
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in getattr(answer, "headers", ()):  # Location, Set-Cookie, Wechatpay-*
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("sandbox %s", format % args)

