"""Temporary media (新增临时素材) as WeChat keeps it: `POST /cgi-bin/media/upload?access_token&type=TYPE`.

Rules (developers.weixin.qq.com, 素材管理 / 新增临时素材): multipart form-data with the file in the part
named `media`; type image (PNG, JPEG, JPG, GIF, at most 10 MB), voice (AMR, MP3, 2 MB), video (MP4,
10 MB) or thumb (JPG, 64 KB). The answer is {"type", "media_id", "created_at"}; a media_id is reusable
and expires 3 days after the upload. Errors: 40004 invalid media type, 41005 no media part, 40005 a
format the type does not take, 40006 too large, 45009 the daily quota (5,000 uploads) used up; a
customer-service image naming an unknown or expired media_id answers 40007.

`GET /sandbox/media/<media_id>` hands the bytes back to the chat page and to tests.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING

from sandbox.account import ApiError
from sandbox.clock import Clock
from sandbox.wire import Answer, Request, Route, json_answer

if TYPE_CHECKING:
    from sandbox.api import SandboxServer

MEDIA_TTL = 3 * 24 * 3600
DAILY_QUOTA = 5000
MB = 1024 * 1024
# type -> (formats by leading bytes, largest size)
RULES: dict[str, tuple[tuple[bytes, ...], int]] = {
    "image": ((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a"), 10 * MB),
    "voice": ((b"#!AMR", b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"), 2 * MB),
    "video": ((b"ftyp",), 10 * MB),  # at offset 4 in an MP4
    "thumb": ((b"\xff\xd8\xff",), 64 * 1024),
}
CONTENT_TYPES = {b"\x89PNG": "image/png", b"\xff\xd8": "image/jpeg", b"GIF8": "image/gif"}


@dataclass(frozen=True)
class Media:
    media_id: str
    kind: str
    content: bytes
    created_at: float


class MediaStore:
    """The account's temporary media. Thread-safe."""

    def __init__(self, clock: Clock, daily_quota: int = DAILY_QUOTA) -> None:
        self.clock = clock
        self.daily_quota = daily_quota
        self._media: dict[str, Media] = {}
        self._uploads: dict[int, int] = {}  # day number -> uploads that day
        self._lock = threading.Lock()

    def upload(self, kind: str | None, content: bytes | None) -> dict:
        if kind not in RULES:
            raise ApiError(40004, "invalid media type")
        if not content:
            raise ApiError(41005, "media data missing")
        formats, limit = RULES[kind]
        head = content[4:8] if kind == "video" else content
        if not any(head.startswith(f) for f in formats):
            raise ApiError(40005, "invalid file type")
        if len(content) > limit:
            raise ApiError(40006, "invalid meida size")  # sic: WeChat's spelling
        now = self.clock.now()
        with self._lock:
            day = int(now // 86400)
            if self._uploads.get(day, 0) >= self.daily_quota:
                raise ApiError(45009, "reach max api daily quota limit")
            self._uploads[day] = self._uploads.get(day, 0) + 1
            media = Media(secrets.token_urlsafe(48), kind, content, now)
            self._media[media.media_id] = media
        return {"type": kind, "media_id": media.media_id, "created_at": int(now)}

    def get(self, media_id: str) -> Media | None:
        """The media while it lives (3 days), else None."""
        with self._lock:
            media = self._media.get(media_id)
        if media is None or self.clock.now() - media.created_at >= MEDIA_TTL:
            return None
        return media


def _media_part(request: Request) -> bytes | None:
    """The bytes of the form-data part named `media`."""
    content_type = request.headers.get("Content-Type", "") if hasattr(request, "headers") else ""
    if "multipart/form-data" not in content_type:
        return None
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + request.body)
    for part in message.iter_parts() if message.is_multipart() else []:
        if part.get_param("name", header="content-disposition") == "media":
            return part.get_payload(decode=True)
    return None


def routes(server: SandboxServer) -> dict[tuple[str, str], Route]:
    def upload(request: Request) -> Answer:
        server._authorized(request)
        return json_answer(server.media.upload(request.query.get("type"), _media_part(request)))

    return {("POST", "/cgi-bin/media/upload"): upload}


def prefix_routes(server: SandboxServer) -> list[tuple[str, str, Route]]:
    def download(request: Request) -> Answer:
        media = server.media.get(request.path.removeprefix("/sandbox/media/"))
        if media is None:
            return Answer(404, b"not found", "text/plain; charset=utf-8")
        kind = next((t for magic, t in CONTENT_TYPES.items() if media.content.startswith(magic)),
                    "application/octet-stream")
        return Answer(200, media.content, kind)

    return [("GET", "/sandbox/media/", download)]
