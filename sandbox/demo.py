"""Wiring the bot to the sandbox for `python bot.py demo` and `chat`: the same settings a real deployment
has, pointed at loopback, with throwaway secrets, a sandbox merchant for WeChat Pay, one creator, and no
quiet hours (so that 推送 can be tried at any hour).

WeChat Pay keeps real time while the chat page's "time travel" moves the Official Account's clock (the
48 h window, access tokens): the bot signs and checks Pay's timestamps against its own clock, which
does not travel."""

from __future__ import annotations

import secrets
from pathlib import Path

from sandbox.api import SandboxServer
from sandbox.clock import Clock
from sandbox.pay import merchant_keys
from settings import Settings, generate_aes_key

DEMO_APPID = "wxdemo0000000000"
DEMO_MCHID = "1900000001"
DEMO_CREATOR = "o_demo_creator"  # an admin openid: the chat page's 创作者 switch, the terminal's /admin


def start_sandbox(base: Settings, host: str, port: int, sandbox_port: int, data: Path) -> tuple[SandboxServer, Settings]:
    """Start the sandbox (WeChat's API, OAuth, WeChat Pay, chat page); return it and the bot's settings."""
    wechat = {
        "token": base.wechat.token or secrets.token_hex(16),
        "appid": base.wechat.appid or DEMO_APPID,
        "appsecret": base.wechat.appsecret or secrets.token_hex(16),
        "encoding_aes_key": base.wechat.encoding_aes_key or generate_aes_key(),
    }
    site = f"http://{host}:{port}"
    sandbox = SandboxServer(webhook_url=f"{site}/wechat", host=host, port=sandbox_port, **wechat).start()
    merchant = merchant_keys(data / "demo-merchant", DEMO_MCHID)
    apiv3_key = secrets.token_hex(16)
    platform = sandbox.enable_pay(DEMO_MCHID, apiv3_key, merchant.public_key_pem(), f"{site}/pay/notify",
                                  merchant_serial_no=merchant.serial_no, folder=str(data / "demo-platform"),
                                  clock=Clock())
    sandbox.creators = [DEMO_CREATOR]
    settings = base.replace(
        wechat={**wechat, "api_base_url": sandbox.url, "oauth_base_url": sandbox.url},
        site={"secret_key": base.site.secret_key or secrets.token_hex(16), "base_url": site,
              "dev_jsbridge_url": f"{sandbox.url}/sandbox/jsbridge.js",
              "frame_ancestors": sandbox.url},  # the chat page opens the H5 pages in a frame beside it
        pay={"mchid": DEMO_MCHID, "apiv3_key": apiv3_key, "cert_serial_no": merchant.serial_no,
             "private_key_path": merchant.private_key_path, "public_key_path": platform.public_key_path,
             "public_key_id": platform.public_key_id, "gateway_url": sandbox.url},
        admin={"openids": [*base.admin.openids, DEMO_CREATOR]},
        push={"quiet_start": 0, "quiet_end": 0},  # 推送 reaches the demo's follower at any hour
    )
    return sandbox, settings
