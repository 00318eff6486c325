"""WeChat's user tags (用户标签管理) for one account, without HTTP, and their routes.

Rules (developers.weixin.qq.com, "用户标签管理"): at most 100 tags an account (45056), names of at most
30 bytes (45158), unique (45157); ids 0, 1, 2 are WeChat's own and cannot be changed (45058); at most 20
tags a follower (45059); batch tagging and untagging take at most 50 openids a call (40032); an unknown
tag is 45159, an openid that is not this account's follower 40003.
"""

from __future__ import annotations

import itertools
import threading
from typing import TYPE_CHECKING, Any, Callable

from sandbox.account import ApiError
from sandbox.wire import Answer, Request, json_answer

if TYPE_CHECKING:
    from sandbox.api import SandboxServer

MAX_TAGS = 100
MAX_TAGS_PER_FOLLOWER = 20
BATCH = 50
NAME_BYTES = 30
RESERVED = (0, 1, 2)
PAGE = 10_000  # openids per user/tag/get answer

ERRMSG = {
    40032: "invalid openid list size",
    45056: "too many tags",
    45057: "can't delete the tag that has too many fans",
    45058: "can't modify sys tag",
    45059: "too many tag now, no need to add new",
    45157: "invalid tag name",
    45158: "tag name too long",
    45159: "invalid tag id",
}


def _error(code: int) -> ApiError:
    return ApiError(code, ERRMSG.get(code))


class Tags:
    """The account's tags and who carries them. `is_follower(openid)` comes from the account."""

    def __init__(self, is_follower: Callable[[str], bool]) -> None:
        self.is_follower = is_follower
        self._lock = threading.Lock()
        self._ids = itertools.count(100)
        self._names: dict[int, str] = {}
        self._members: dict[int, set[str]] = {}
        self.calls: list[tuple[str, int]] = []  # (operation, number of openids): what tests count

    def create(self, name: Any) -> dict[str, Any]:
        with self._lock:
            self._check_name(name)
            if len(self._names) >= MAX_TAGS:
                raise _error(45056)
            tag_id = next(self._ids)
            self._names[tag_id], self._members[tag_id] = name, set()
            return {"id": tag_id, "name": name}

    def update(self, tag_id: Any, name: Any) -> None:
        with self._lock:
            self._known(tag_id)
            if self._names[tag_id] != name:
                self._check_name(name)
            self._names[tag_id] = name

    def delete(self, tag_id: Any) -> None:
        with self._lock:
            self._known(tag_id)
            if len(self._members[tag_id]) > 100_000:
                raise _error(45057)
            del self._names[tag_id], self._members[tag_id]

    def listing(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"id": i, "name": n, "count": len(self._members[i])} for i, n in self._names.items()]

    def tag(self, tag_id: Any, openids: Any) -> None:
        with self._lock:
            openids = self._batch("batchtagging", tag_id, openids)
            if any(len(self._tags_of(o) - {tag_id}) >= MAX_TAGS_PER_FOLLOWER for o in openids):
                raise _error(45059)
            self._members[tag_id].update(openids)

    def untag(self, tag_id: Any, openids: Any) -> None:
        with self._lock:
            self._members[tag_id].difference_update(self._batch("batchuntagging", tag_id, openids))

    def tags_of(self, openid: str) -> list[int]:
        with self._lock:
            return sorted(self._tags_of(openid))

    def members(self, tag_id: Any) -> list[str]:
        with self._lock:
            self._known(tag_id)
            return sorted(self._members[tag_id])

    def _tags_of(self, openid: str) -> set[int]:
        return {tag for tag, members in self._members.items() if openid in members}

    def _batch(self, operation: str, tag_id: Any, openids: Any) -> list[str]:
        self._known(tag_id)
        if not isinstance(openids, list) or not 1 <= len(openids) <= BATCH:
            raise _error(40032)
        if not all(isinstance(o, str) and self.is_follower(o) for o in openids):
            raise ApiError(40003)
        self.calls.append((operation, len(openids)))
        return openids

    def _known(self, tag_id: Any) -> None:
        if tag_id in RESERVED:
            raise _error(45058)
        if not isinstance(tag_id, int) or tag_id not in self._names:
            raise _error(45159)

    def _check_name(self, name: Any) -> None:
        if not isinstance(name, str) or not name.strip():
            raise _error(45157)
        if len(name.encode("utf-8")) > NAME_BYTES:
            raise _error(45158)
        if name in self._names.values():
            raise _error(45157)


def routes(server: SandboxServer) -> dict[tuple[str, str], Any]:
    tags = server.tags

    def api(handler: Callable[[dict[str, Any]], Any]) -> Callable[[Request], Answer]:
        def route(request: Request) -> Answer:
            server._authorized(request)
            data = request.json()
            if not isinstance(data, dict):
                raise ApiError(47001)
            return json_answer(handler(data) or {"errcode": 0, "errmsg": "ok"})
        return route

    def tag_field(data: dict[str, Any]) -> dict[str, Any]:
        return data.get("tag") if isinstance(data.get("tag"), dict) else {}

    def followers(data: dict[str, Any]) -> dict[str, Any]:
        members = tags.members(data.get("tagid"))
        after = data.get("next_openid") or ""
        page = [o for o in members if o > after][:PAGE]
        return {"count": len(page), "data": {"openid": page}, "next_openid": page[-1] if page else ""}

    def listing(request: Request) -> Answer:
        server._authorized(request)
        return json_answer({"tags": tags.listing()})

    return {
        ("POST", "/cgi-bin/tags/create"): api(lambda d: {"tag": tags.create(tag_field(d).get("name"))}),
        ("GET", "/cgi-bin/tags/get"): listing,
        ("POST", "/cgi-bin/tags/update"): api(lambda d: tags.update(tag_field(d).get("id"), tag_field(d).get("name"))),
        ("POST", "/cgi-bin/tags/delete"): api(lambda d: tags.delete(tag_field(d).get("id"))),
        ("POST", "/cgi-bin/tags/members/batchtagging"): api(lambda d: tags.tag(d.get("tagid"), d.get("openid_list"))),
        ("POST", "/cgi-bin/tags/members/batchuntagging"): api(
            lambda d: tags.untag(d.get("tagid"), d.get("openid_list"))),
        ("POST", "/cgi-bin/tags/getidlist"): api(lambda d: {"tagid_list": tags.tags_of(str(d.get("openid") or ""))}),
        ("POST", "/cgi-bin/user/tag/get"): api(followers),
    }
