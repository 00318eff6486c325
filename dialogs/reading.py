"""How an article reaches the chat: parts of at most 2000 bytes, then a card linking to the reader.

Shared by opening a search result, unlocking a purchase and re-sending from 「已购」.
"""

from __future__ import annotations

import json

from catalog.text import fen_to_yuan_text, full_text, preview, split_for_chat, to_chat
from dialogs import recommend_strings, strings
from dialogs.framework import News, Text
from store.recommend import recommendations
from web.links import Links

PART_LIMIT = 2000 - len(strings.CONTINUE.encode()) - 2  # room for the 「继续」 line in continue mode


def article_messages(article, openid: str, links: Links, whole: bool, head: str = "") -> list[Text | News]:
    """The full text (free or owned) or the preview, in parts, then the reader card."""
    if whole:
        body, ending = full_text(article.body), strings.READ_END + _related(openid, article.id)
    else:
        body, ending = preview(article.body), strings.PREVIEW_END.format(price=fen_to_yuan_text(article.price))
    text = f"{head}【{article.title}】\n\n{to_chat(body)}\n\n{ending}"
    parts = [Text(part) for part in split_for_chat(text, limit=PART_LIMIT)]
    return parts + [News(article.title, article.summary, links.reader(article.id, openid))]


def _related(openid: str, article_id: int) -> str:
    """The end of a finished article: one related item and its reason."""
    item = recommendations().related(openid, article_id)
    return recommend_strings.RELATED.format(title=item.title, reason=item.reason) if item else ""


def with_continue(parts: list[Text | News], index: int) -> Text | News:
    """Continue mode: a part with the hint to reply 「继续」, or the closing card as the last reply."""
    part = parts[index]
    if isinstance(part, Text) and index + 1 < len(parts):
        return Text(part.content + "\n\n" + strings.CONTINUE)
    return part


def from_outbox(row) -> Text | News:
    payload = json.loads(row.payload)
    if row.kind == "news":
        return News(payload["title"], payload["description"], payload["url"], payload.get("picurl", ""))
    return Text(payload["content"])


def outbox_payload(reply: Text | News) -> tuple[str, dict]:
    """The other direction: a reply as an outbox row's kind and payload."""
    if isinstance(reply, News):
        return "news", {"title": reply.title, "description": reply.description, "url": reply.url,
                        "picurl": reply.picurl}
    return "text", {"content": reply.content}
