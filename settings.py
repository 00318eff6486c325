"""Typed settings: config.toml, then BOT_<SECTION>_<KEY> environment overrides.

Every problem is reported as one `SettingsError` line naming the key, so a bad deployment fails at
start-up instead of on the first message.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

ROOT = Path(__file__).resolve().parent
DEFAULT_CONFIG = ROOT / "config.toml"


class SettingsError(ValueError):
    """A missing, unknown or malformed configuration key."""


@dataclass(frozen=True)
class WechatSettings:
    token: str = ""
    appid: str = ""
    appsecret: str = ""
    encoding_aes_key: str = ""
    api_base_url: str = "https://api.weixin.qq.com"
    oauth_base_url: str = "https://open.weixin.qq.com"
    http_timeout: float = 3.0
    account_type: str = "subscription"  # or "service": which broadcast quota WeChat applies


@dataclass(frozen=True)
class PaySettings:
    mchid: str = ""
    apiv3_key: str = ""
    cert_serial_no: str = ""
    private_key_path: str = ""
    public_key_path: str = ""
    public_key_id: str = ""
    gateway_url: str = "https://api.mch.weixin.qq.com"
    order_timeout: int = 1800


@dataclass(frozen=True)
class StoreSettings:
    database_url: str = "sqlite:///data/bot.db"
    redis_url: str = ""
    state_ttl: int = 1800
    lock_timeout: float = 10.0
    lock_wait: float = 4.0
    seen_ttl: int = 172800


@dataclass(frozen=True)
class SiteSettings:
    base_url: str = "http://127.0.0.1:8000"
    secret_key: str = ""
    dev_jsbridge_url: str = ""  # development only: the sandbox's WeixinJSBridge, so pages work outside WeChat
    frame_ancestors: str = "'none'"  # CSP frame-ancestors: who may frame the H5 pages (the demo: its chat page)


@dataclass(frozen=True)
class AdminSettings:
    openids: list[str] = field(default_factory=list)
    passphrase: str = ""  # secret, from BOT_ADMIN_PASSPHRASE: `#auth <passphrase>` makes an admin; empty = off
    auth_tries: int = 5  # wrong passphrases within auth_lockout seconds that lock an openid out
    auth_lockout: int = 900


@dataclass(frozen=True)
class PushSettings:
    schedule: str = "0 20 * * *"
    quiet_start: int = 22
    quiet_end: int = 8
    daily_cap: int = 1
    timezone: str = "Asia/Shanghai"  # of schedule, quiet hours, days and followers' hours
    broadcast_schedule: str = "0 12 * * *"
    rate: float = 20.0  # customer-service sends per second in a round
    max_groups: int = 8  # interest groups (and WeChat user tags) of the broadcasts
    recent_days: int = 30  # an item pushed to a follower is not pushed to them again for this long
    leader_interval: float = 10.0  # seconds: how often the clocks check the leader lock (takeover within it)

    def quiet(self, hour: int) -> bool:
        """Inside the quiet hours [quiet_start, quiet_end) (local), which may wrap midnight; equal: none."""
        start, end = self.quiet_start, self.quiet_end
        if start == end:
            return False
        return start <= hour < end if start < end else hour >= start or hour < end

    def hours(self) -> list[int]:
        """The local hours at which the personal round runs (what 「推送时间 N」 may choose from)."""
        import datetime as dt
        from zoneinfo import ZoneInfo

        trigger, zone = cron_trigger(self.schedule, self.timezone), ZoneInfo(self.timezone)
        start = dt.datetime(2024, 1, 1, tzinfo=zone)  # a Monday: seven days cover every weekday
        hours, fire = set(), trigger.get_next_fire_time(None, start)
        while fire is not None and fire < start + dt.timedelta(days=7):
            hours.add(fire.astimezone(zone).hour)
            next_hour = fire.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
            fire = trigger.get_next_fire_time(fire, next_hour)
        return sorted(hours)


@dataclass(frozen=True)
class BotSettings:
    strict_states: bool = False
    reply_deadline: float = 4.5
    long_text: str = "customer_service"  # or "continue": later parts only on 「继续」
    outbox_delay: float = 0.5


@dataclass(frozen=True)
class RecommendSettings:
    """Behaviour weights of a follower's profile (不感兴趣 pushes away), their half-life, the text analyzer."""

    view: float = 1.0
    like: float = 2.0
    comment: float = 3.0
    share: float = 4.0
    purchase: float = 5.0
    dislike: float = -1.0
    half_life_days: float = 30.0
    analyzer: str = "char"  # or "jieba" (measured: BENCHMARKS.md, "Recommender")
    collaborative: str = "co_reading"  # or "als" (measured likewise)
    refit_minutes: int = 60  # the clock refits at once when the catalog changes, and at least this often


DEFAULT_MENU = [
    {"type": "click", "name": "找内容", "key": "MENU_FIND"},
    {"type": "click", "name": "我的", "key": "MENU_MINE"},
    {"type": "click", "name": "帮助", "key": "MENU_HELP"},
]


@dataclass(frozen=True)
class MenuSettings:
    """The custom menu `python bot.py menu push` creates: WeChat's button objects, as in its API."""

    buttons: list[dict] = field(default_factory=lambda: [dict(b) for b in DEFAULT_MENU])


@dataclass(frozen=True)
class JobsSettings:
    """Where pushes and outbox deliveries run: "" in the process that asks (the clock, the web worker's
    outbox thread); a queue name: RQ on store.redis_url, run by `bot.py worker` processes (jobs/queue.py)."""

    queue: str = ""
    chunk: int = 50  # pushes per queued job of a round


@dataclass(frozen=True)
class Settings:
    wechat: WechatSettings = field(default_factory=WechatSettings)
    pay: PaySettings = field(default_factory=PaySettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    site: SiteSettings = field(default_factory=SiteSettings)
    admin: AdminSettings = field(default_factory=AdminSettings)
    push: PushSettings = field(default_factory=PushSettings)
    bot: BotSettings = field(default_factory=BotSettings)
    menu: MenuSettings = field(default_factory=MenuSettings)
    recommend: RecommendSettings = field(default_factory=RecommendSettings)
    jobs: JobsSettings = field(default_factory=JobsSettings)

    def replace(self, **sections: Mapping[str, Any]) -> Settings:
        """A copy with some keys changed, e.g. `s.replace(store={"redis_url": ""})`."""
        changed = {
            name: dataclasses.replace(getattr(self, name), **_coerce_section(name, values))
            for name, values in sections.items()
        }
        return dataclasses.replace(self, **changed)

    def check(self) -> Settings:
        """Validate what the webhook needs; raise SettingsError naming the first bad key."""
        if not self.wechat.token:
            raise SettingsError("wechat.token is required (set BOT_WECHAT_TOKEN)")
        if not self.wechat.appid:
            raise SettingsError("wechat.appid is required (set BOT_WECHAT_APPID)")
        if self.wechat.encoding_aes_key:
            _check_aes_key(self.wechat.encoding_aes_key)
        if not self.site.secret_key:
            raise SettingsError("site.secret_key is required (set BOT_SITE_SECRET_KEY)")
        if not self.store.database_url.startswith(("sqlite://", "postgres://", "postgresql://")):
            raise SettingsError("store.database_url must start with sqlite:// or postgresql://")
        if self.bot.long_text not in ("customer_service", "continue"):
            raise SettingsError("bot.long_text must be customer_service or continue")
        if self.store.redis_url and not self.store.redis_url.startswith(("redis://", "rediss://")):
            raise SettingsError("store.redis_url must start with redis:// (or be empty for memory)")
        if self.recommend.analyzer not in ("char", "jieba"):
            raise SettingsError("recommend.analyzer must be char or jieba")
        if self.recommend.collaborative not in ("als", "co_reading"):
            raise SettingsError("recommend.collaborative must be als or co_reading")
        if self.recommend.half_life_days <= 0:
            raise SettingsError("recommend.half_life_days must be positive")
        _check_push(self)
        if self.jobs.queue and not self.store.redis_url:
            raise SettingsError("jobs.queue needs store.redis_url (RQ keeps its queue in Redis)")
        if self.jobs.chunk < 1:
            raise SettingsError("jobs.chunk must be at least 1")
        return self


SECTIONS: dict[str, type] = {f.name: f.type for f in dataclasses.fields(Settings)}


def load_settings(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file (path, else $BOT_CONFIG, else ./config.toml) and apply the environment."""
    environ = os.environ if environ is None else environ
    config_path = Path(path or environ.get("BOT_CONFIG") or DEFAULT_CONFIG)
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"config file not found: {config_path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{config_path}: {exc}") from None
    sections: dict[str, dict[str, Any]] = {}
    for name, values in raw.items():
        if name not in SECTIONS or not isinstance(values, dict):
            raise SettingsError(f"unknown section [{name}] in {config_path}")
        sections[name] = dict(values)
    for name, key, value in _env_overrides(environ):
        sections.setdefault(name, {})[key] = value
    return Settings().replace(**sections)


def _env_overrides(environ: Mapping[str, str]) -> list[tuple[str, str, str]]:
    found = []
    for var, value in environ.items():
        if not var.startswith("BOT_") or var == "BOT_CONFIG":
            continue
        section, _, key = var[4:].lower().partition("_")
        if section in SECTIONS and key:
            found.append((section, key, value))
    return found


def _coerce_section(name: str, values: Mapping[str, Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(_section_type(name))
    out = {}
    for key, value in values.items():
        if key not in hints:
            raise SettingsError(f"unknown key {name}.{key}")
        out[key] = _coerce(f"{name}.{key}", hints[key], value)
    return out


def _section_type(name: str) -> type:
    hints = typing.get_type_hints(Settings)
    if name not in hints:
        raise SettingsError(f"unknown section [{name}]")
    return hints[name]


def _coerce(key: str, kind: Any, value: Any) -> Any:
    """Turn a TOML value or an environment string into the declared type."""
    try:
        if kind is bool:
            return _to_bool(value)
        if kind in (int, float):
            if isinstance(value, bool):
                raise ValueError
            return kind(value)
        if kind is str:
            if not isinstance(value, str):
                raise ValueError
            return value
        if kind == list[dict]:
            items = json.loads(value) if isinstance(value, str) else value  # from the environment: JSON
            if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
                raise ValueError
            return [dict(item) for item in items]
        if typing.get_origin(kind) is list:
            items = value.split(",") if isinstance(value, str) else list(value)
            return [str(item).strip() for item in items if str(item).strip()]
    except (TypeError, ValueError):
        pass
    raise SettingsError(f"{key} must be {getattr(kind, '__name__', kind)}, got {value!r}")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(value)


def generate_aes_key() -> str:
    """A fresh EncodingAESKey in WeChat's format (43 characters of base64, 32 bytes)."""
    return base64.b64encode(os.urandom(32)).decode()[:43]


def _check_aes_key(key: str) -> None:
    try:
        ok = len(key) == 43 and len(base64.b64decode(key + "=")) == 32
    except binascii.Error:
        ok = False
    if not ok:
        raise SettingsError("wechat.encoding_aes_key must be the 43-character key from the WeChat console")


def _check_push(settings: Settings) -> None:
    """The push keys: a known account type and timezone, schedules that are crontab lines, sane numbers."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if settings.wechat.account_type not in ("subscription", "service"):
        raise SettingsError("wechat.account_type must be subscription or service")
    push = settings.push
    try:
        ZoneInfo(push.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"push.timezone is not a timezone: {push.timezone!r}") from None
    for key in ("schedule", "broadcast_schedule"):
        try:
            cron_trigger(getattr(push, key), push.timezone)
        except ValueError as exc:
            raise SettingsError(f"push.{key} must be a crontab line: {exc}") from None
    if not (0 <= push.quiet_start <= 23 and 0 <= push.quiet_end <= 23):
        raise SettingsError("push.quiet_start and push.quiet_end are hours, 0 to 23")
    if push.rate <= 0 or push.daily_cap < 0 or push.max_groups < 1 or push.leader_interval <= 0:
        raise SettingsError("push.rate, push.max_groups and push.leader_interval must be positive")


def cron_trigger(line: str, timezone: str):
    """APScheduler's trigger for a crontab line; six fields put seconds first (tests fire within a minute)."""
    from apscheduler.triggers.cron import CronTrigger

    fields = line.split()
    if len(fields) == 6:
        second, minute, hour, day, month, weekday = fields
        return CronTrigger(second=second, minute=minute, hour=hour, day=day, month=month,
                           day_of_week=weekday, timezone=timezone)
    return CronTrigger.from_crontab(line, timezone=timezone)
