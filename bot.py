"""Composition root: `create_app(settings)` builds the WSGI app; `python bot.py --help` lists the commands."""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import quote

import bottle

import dialogs
import search
from dialogs.context import AppContext
from gateways.pay import PayGateway
from gateways.wechat import WechatGateway
from handlers.events import robot as default_robot
from handlers.pipeline import Pipeline
from handlers.webhook import MAX_BODY, WechatEndpoint
from dialogs.admin_push import PUSH_TASK
from jobs.admin_tasks import admin_tasks, push_task
from jobs.outbox import OutboxWorker
from jobs.queue import QueuedOutbox, job_queue
from payments.notify import NotifyEndpoint
from payments.reconcile import Reconciler
from payments.refunds import Refunds
from ops.logs import new_request_id, request_id, setup_logging
from ops.metrics import Metrics
from settings import Settings, load_settings
from store.credentials import CredentialTokens
from store.db import bind, open_database
from store.migrations import migrate
from store import recommend
from store.outbox import CHECK_ORDERS, depth as outbox_depth
from store.degrading import Degrading
from store.state import Keys, open_state_store
from web import inputs, security
from web.admin_page import AdminPages
from web.health import health
from web.http import HttpResponse
from web.pages import ContentPages, message
from web.pay_page import PayPages
from web.visitor import Visitors

log = logging.getLogger("bot")

STATE_PREFIX = "kb"


@dataclass
class Services:
    """What one app instance holds; tests reach in through `app.services`."""

    settings: Settings
    database: Any
    state: Degrading
    metrics: Metrics
    pipeline: Pipeline
    endpoint: WechatEndpoint
    gateway: WechatGateway | None  # None without an appsecret: no customer-service messages, no OAuth
    outbox: OutboxWorker | None
    pay: PayGateway | None  # None without a merchant id: buying is switched off
    reconciler: Reconciler | None
    notify: NotifyEndpoint | None
    content_pages: ContentPages
    pay_pages: PayPages | None
    refunds: Refunds | None = None  # None without a merchant id
    admin_pages: AdminPages | None = None
    queue: Any = None  # the RQ queue pushes and outbox deliveries go through; None: in-process (jobs/queue.py)


def build_services(settings: Settings, robot: Any = None) -> Services:
    settings.check()
    database = bind(open_database(settings.store.database_url))
    migrate(database)
    recommend.configure(settings.recommend)
    search.prepare()
    state = Degrading(open_state_store(settings.store.redis_url, Keys(STATE_PREFIX, settings.wechat.appid)))
    metrics = Metrics()
    context = AppContext.from_settings(settings)
    links, site = context.links, settings.site
    gateway = WechatGateway(settings.wechat, CredentialTokens(state)) if settings.wechat.appsecret else None
    pay = PayGateway(settings.pay, settings.wechat.appid, f"{links.base_url}/pay/notify") if settings.pay.mchid else None
    reconciler = Reconciler(database, pay, links, settings.pay.mchid, settings.wechat.appid) if pay else None
    tasks = {CHECK_ORDERS: lambda row: reconciler.check_user(row.user)} if reconciler else {}
    refunds = Refunds(database, pay) if pay else None
    queue = job_queue(settings)
    tasks = admin_tasks(gateway, tasks, refunds) if gateway else tasks
    worker = ((QueuedOutbox(queue, settings.bot.outbox_delay, tasks) if queue is not None
               else OutboxWorker(gateway, database, settings.bot.outbox_delay, tasks)) if gateway else None)
    if reconciler and worker:
        reconciler.kick = refunds.kick = worker.kick
    pipeline = Pipeline(robot=robot or default_robot, router=dialogs.build_router(settings.bot.strict_states),
                        state=state, database=database, settings=settings, metrics=metrics, outbox=worker,
                        context=context)
    visitors = Visitors(site.secret_key, gateway, secure=site.base_url.startswith("https://"))
    notify = NotifyEndpoint(database, pay, links, settings.pay.mchid, settings.wechat.appid,
                            kick=worker.kick if worker else None) if pay else None
    services = Services(
        settings, database, state, metrics, pipeline, WechatEndpoint(settings, pipeline, metrics), gateway, worker,
        pay, reconciler, notify, ContentPages(links, visitors, site.dev_jsbridge_url),
        PayPages(links, visitors, pay, reconciler, site.dev_jsbridge_url) if pay and gateway else None,
        refunds, AdminPages(links, visitors, settings.admin.openids) if gateway else None, queue,
    )
    if worker is not None:  # 推送 runs a whole round, which needs every service
        worker.tasks[PUSH_TASK] = push_task(services)
    return services


def create_app(settings: Settings, robot: Any = None) -> bottle.Bottle:
    services = build_services(settings, robot)
    app = bottle.Bottle()
    app.services = services
    security.install(app, settings.site)  # the security headers of every answer (web/security.py)
    app.router.add_filter("token", inputs.token_filter)
    app.install(_request_scope(services))
    request = bottle.request

    def page_args() -> tuple:
        """What an H5 page reads, checked (web/inputs.py); its URL is built on site.base_url, not on the
        Host header (OAuth's redirect_uri comes from it)."""
        query = inputs.read(request.query, inputs.PAGE_QUERY, request.query_string)
        url = settings.site.base_url.rstrip("/") + quote(request.fullpath) + (
            f"?{request.query_string}" if request.query_string else "")
        return url, query, request.cookies, request.get_header("User-Agent", "")

    @app.get("/wechat")
    def wechat_check():
        return _send(services.endpoint.verify_get(request.query))

    @app.post("/wechat")
    def wechat_message():
        started = time.monotonic()
        return _send(services.endpoint.receive(request.query, _read_capped(request), started))

    @app.post("/pay/notify")
    def pay_notify():
        if services.notify is None:
            return _send(HttpResponse.json(503, {"code": "FAIL", "message": "payments are not configured"}))
        headers = {name: value for name, value in request.headers.items()}
        return _send(services.notify.receive(headers, _read_capped(request)))

    @app.get("/pay/<token:token>")
    def pay_page(token: str):
        if services.pay_pages is None:
            return _send(message(503, "支付尚未开通", "请稍后再试。"))
        return _send(services.pay_pages.page(token, *page_args()))

    @app.get("/pay/<token:token>/status")
    def pay_status(token: str):
        if services.pay_pages is None:
            return _send(HttpResponse.json(503, {"error": "payments are not configured"}))
        inputs.read(request.query, {}, request.query_string)  # it reads no parameter: the length cap only
        return _send(services.pay_pages.status(token, request.cookies))

    @app.get("/read/<token:token>")
    def read(token: str):
        return _send(services.content_pages.reader(token, *page_args()))

    @app.get("/s/<token:token>")
    def shared(token: str):
        return _send(services.content_pages.shared(token, *page_args()))

    @app.get("/admin/<token:token>")
    def admin_page(token: str):
        if services.admin_pages is None:
            return _send(message(503, "看板尚未开通", "需要配置 wechat.appsecret（网页授权）。"))
        return _send(services.admin_pages.dashboard(token, *page_args()[:3]))

    @app.get("/admin/<token:token>/chart/<name>.png")
    def admin_chart(token: str, name: str):
        if services.admin_pages is None:
            return _send(message(503, "看板尚未开通", "需要配置 wechat.appsecret（网页授权）。"))
        return _send(services.admin_pages.chart(token, name, *page_args()[:3]))

    @app.get("/admin/<token:token>/orders.csv")
    def admin_orders(token: str):
        if services.admin_pages is None:
            return _send(message(503, "看板尚未开通", "需要配置 wechat.appsecret（网页授权）。"))
        return _send(services.admin_pages.orders_csv(token, *page_args()[:3]))

    @app.get("/healthz")
    def healthz():
        status, body = health(services.state)
        return _send(HttpResponse(status, body, "application/json"))

    @app.get("/metrics")
    def metrics():
        services.metrics.outbox_depth.set(outbox_depth())
        return _send(HttpResponse(200, services.metrics.render().decode(), services.metrics.content_type))

    @app.error(404)
    def not_found(error: bottle.HTTPError) -> str:
        return message(404, "页面不存在", "请回到公众号对话中重新打开链接。").body

    @app.error(500)
    def failed(error: bottle.HTTPError) -> str:
        """A page that broke (the webhook never does: it apologises in the chat instead)."""
        log.error("page failed", exc_info=error.exception and (type(error.exception), error.exception,
                                                                error.exception.__traceback__))
        bottle.response.set_header("X-Request-Id", request_id.get())
        return message(500, "出了点问题", f"请稍后重试。（编号 {request_id.get()}）").body

    return app


def _request_scope(services: Services) -> Callable:
    """Bottle plugin: a request id for the logs, the database connection given back at the request's end, and the
    400 page for input of the wrong shape (web/inputs.py)."""

    def plugin(callback: Callable) -> Callable:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            rid = bottle.request.get_header("X-Request-Id", "")
            request_id.set(rid if inputs.REQUEST_ID.fullmatch(rid) else new_request_id())
            bottle.response.set_header("X-Request-Id", request_id.get())
            try:  # connected at the first query, inside the route: a database that is down is the
                return callback(*args, **kwargs)  # route's error (the webhook's apology), not a bare 500
            except inputs.BadInput as error:
                return _send(inputs.bad_request(error))
            finally:
                if not services.database.is_closed():
                    services.database.close()

        return wrapper

    return plugin


def _read_capped(request: bottle.BaseRequest) -> bytes:
    """At most MAX_BODY + 1 bytes: enough to know the body is too large without reading it all."""
    stream = request.environ["wsgi.input"]
    length = request.content_length
    if length > MAX_BODY:
        return b"\0" * (MAX_BODY + 1)
    return stream.read(length) if length >= 0 else stream.read(MAX_BODY + 1)


def _send(response: HttpResponse) -> str:
    bottle.response.status = response.status
    bottle.response.content_type = response.content_type
    for name, value in response.headers:
        bottle.response.add_header(name, value)
    return response.body


def wsgi() -> bottle.Bottle:
    """Entry point for gunicorn: `gunicorn 'bot:wsgi()'`."""
    setup_logging()
    return create_app(load_settings())


if __name__ == "__main__":
    from cli import main

    sys.exit(main())
