"""Temporary media: the gateway's upload and image message against the sandbox over real HTTP, the
sandbox's rules (type, format, size, expiry, daily quota), and the chart 统计 sends as an image."""

from __future__ import annotations

import struct
import zlib

import pytest
import requests

from gateways.wechat import WechatError
from tests.test_gateway_wechat import (  # noqa: F401
    APPID, SECRET, TOKEN, USER, database, gateway, make_gateway, server, state, wechat,
)
from tests.shop import demo_catalog, settings, scheduler  # noqa: F401,E402


def png(width: int = 4, height: int = 4) -> bytes:
    """A real (tiny, grey) PNG, written from the format's spec."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def upload(server, kind: str, content: bytes | None, token: str) -> dict:
    files = {"media": ("f.bin", content, "application/octet-stream")} if content is not None else None
    data = None if files else {"nothing": "here"}
    return requests.post(f"{server.url}/cgi-bin/media/upload", params={"access_token": token, "type": kind},
                         files=files, data=data, timeout=10).json()


def test_upload_and_send_an_image(gateway, server):
    image = png()
    media_id = gateway.upload_image(image)
    assert server.media.get(media_id).content == image
    server.touch(USER)
    gateway.send_image(USER, media_id)
    (sent,) = server.sent(USER)
    assert sent["msgtype"] == "image" and sent["media_id"] == media_id
    fetched = requests.get(f"{server.url}/sandbox/media/{media_id}", timeout=10)
    assert fetched.headers["Content-Type"] == "image/png" and fetched.content == image


def test_wechat_rules_for_temporary_media(gateway, server):
    token = gateway.access_token()
    assert upload(server, "picture", png(), token)["errcode"] == 40004
    assert upload(server, "image", None, token)["errcode"] == 41005
    assert upload(server, "image", b"GIF? no, plain text", token)["errcode"] == 40005
    assert upload(server, "thumb", png(), token)["errcode"] == 40005  # a thumb is a JPEG
    assert upload(server, "image", png() + b"\0" * (10 * 1024 * 1024), token)["errcode"] == 40006
    answer = upload(server, "image", png(), token)
    assert answer["type"] == "image" and answer["media_id"] and isinstance(answer["created_at"], int)
    with pytest.raises(ValueError):
        gateway.upload_image(b"")


def test_a_media_id_expires_after_three_days_and_the_quota_is_daily(gateway, server):
    media_id = gateway.upload_image(png())
    server.touch(USER)
    server.clock.advance(3 * 24 * 3600)
    server.touch(USER)
    with pytest.raises(WechatError) as expired:
        gateway.send_image(USER, media_id)
    assert expired.value.errcode == 40007
    server.media.daily_quota = 1
    gateway.upload_image(png())
    with pytest.raises(WechatError) as quota:
        gateway.upload_image(png())
    assert quota.value.errcode == 45009


def test_stats_send_a_chart_image_after_the_text(app, admin, user, sandbox, demo_catalog, tmp_path):
    from tests.test_browse import own_something

    user.says("梯度下降")
    user.says("1")
    own_something(app, "o_user", "gradient-descent")
    text = admin.says("统计 30天")
    assert text.startswith("📊 近30天数据") and "图表随后发送" in text and "梯度下降" in text
    (image,) = [m for m in admin.received() if m["msgtype"] == "image"]
    chart = sandbox.media.get(image["media_id"]).content
    assert chart.startswith(b"\x89PNG") and len(chart) > 20_000
    (tmp_path / "stats.png").write_bytes(chart)
