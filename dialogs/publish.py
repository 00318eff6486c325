"""发布 and 编辑 <id>: title -> body (messages until 「完成」) -> price -> preview point -> review -> 「确认」.
Graph: publish.mmd.

编辑 walks the same steps for one field (标题, 摘要, 正文, 试读) and ends in the same review. The review
shows what followers will see; 「确认」 writes it, audited; 「专栏 <slug>」 there puts it into a series.
「取消」 (global) leaves at any step; the draft lives in the dialog data with the state's TTL.
"""

from __future__ import annotations

import re

from catalog.text import PREVIEW_MARKER, fen_to_yuan_text, mark_preview, paragraphs, preview, to_chat
from dialogs import admin_args as a, admin_strings as s
from dialogs.admin_confirm import undoer
from dialogs.admin_routes import admin_route, command
from dialogs.framework import END, STAY, Dialog, Result, Route, Text, Turn, any_text, prefix, words
from store import audit, catalog, shop
from store.models import Article, Series

TITLE, SUMMARY, BODY = "publish:title", "publish:summary", "publish:body"
PRICE, PREVIEW, REVIEW, FIELD = "publish:price", "publish:preview", "publish:review", "publish:field"
TITLE_LIMIT, SUMMARY_LIMIT, BODY_LIMIT = 100, 200, 60_000
UP_TO = re.compile(r"到第\s*(\d+)\s*段")
PERCENT = re.compile(r"(\d{1,3})\s*[%％]")
FIELDS = {"标题": TITLE, "title": TITLE, "摘要": SUMMARY, "summary": SUMMARY, "正文": BODY, "body": BODY,
          "试读": PREVIEW, "preview": PREVIEW}
ASK = {TITLE: s.ASK_TITLE, SUMMARY: s.ASK_SUMMARY, BODY: s.ASK_BODY, PRICE: s.ASK_PRICE}
REVIEW_SHOWN = 300  # characters of the preview in the review: the reply stays within WeChat's 2048 bytes


def start(turn: Turn) -> Result:
    turn.data.update(mode="new", parts=[])
    return Text(s.PUBLISH_START + "\n" + s.ASK_TITLE), TITLE


def start_edit(turn: Turn) -> Result:
    args = a.arguments(turn.text)
    a.need(args, 1, s.USAGE_EDIT)
    article = a.article(args[0], s.USAGE_EDIT)
    turn.data.update(mode="edit", article=article.id, title=article.title, summary=article.summary,
                     body=article.body, price=article.price, series=article.series_id, parts=[])
    if len(args) > 1:
        return _field(turn, args[1])
    return Text(s.ASK_FIELD.format(title=article.title)), FIELD


def choose_field(turn: Turn) -> Result:
    return _field(turn, turn.text.strip())


def _field(turn: Turn, name: str) -> Result:
    state = FIELDS.get(name)
    if state is None:
        return Text(s.BAD_FIELD.format(value=name)), FIELD
    if state == PREVIEW:
        return _ask_preview(turn)
    return Text(ASK[state]), state


def title(turn: Turn) -> Result:
    text = turn.text.strip()
    if len(text) > TITLE_LIMIT:
        return Text(s.TOO_LONG.format(limit=TITLE_LIMIT)), STAY
    turn.data["title"] = text
    if turn.data["mode"] == "edit":
        return _review(turn)
    return Text(s.ASK_BODY), BODY


def summary(turn: Turn) -> Result:
    text = turn.text.strip()
    if len(text) > SUMMARY_LIMIT:
        return Text(s.TOO_LONG.format(limit=SUMMARY_LIMIT)), STAY
    turn.data["summary"] = text
    return _review(turn)


def body_part(turn: Turn) -> Result:
    parts = turn.data["parts"] + [turn.text]
    if sum(len(p) for p in parts) > BODY_LIMIT:
        return Text(s.TOO_LONG.format(limit=BODY_LIMIT)), STAY
    turn.data["parts"] = parts
    return Text(s.BODY_RECEIVED.format(n=len(parts))), STAY


def body_done(turn: Turn) -> Result:
    if not turn.data["parts"]:
        return Text(s.BODY_EMPTY), STAY
    turn.data["body"] = "\n\n".join(turn.data["parts"]).replace(PREVIEW_MARKER, "")
    turn.data["parts"] = []
    if turn.data["mode"] == "new":
        return Text(s.ASK_PRICE), PRICE
    return _ask_preview(turn) if turn.data["price"] else _review(turn)


def price(turn: Turn) -> Result:
    try:
        turn.data["price"] = a.price(turn.text.strip(), s.ASK_PRICE)
    except a.BadArgument as problem:
        return Text(str(problem)), STAY
    return _ask_preview(turn) if turn.data["price"] else _review(turn)


def _ask_preview(turn: Turn) -> Result:
    return Text(_preview_help(s.ASK_PREVIEW, len(paragraphs(turn.data["body"])))), PREVIEW


def _preview_help(template: str, count: int) -> str:
    """A body of one paragraph has no preview point short of the whole text: say what can be done."""
    return s.ONE_PARAGRAPH_PREVIEW if count == 1 else template.format(count=count)


def preview_point(turn: Turn) -> Result:
    texts = paragraphs(turn.data["body"])
    free = _free_paragraphs(turn.text.strip(), texts)
    if free is None:
        return Text(_preview_help(s.BAD_PREVIEW, len(texts))), STAY
    turn.data["body"] = mark_preview(turn.data["body"], free)
    return _review(turn)


def _free_paragraphs(answer: str, texts: list[str]) -> int | None:
    """「到第N段」 or a percentage of the text; never the whole article (that would give it away)."""
    up_to, percent = UP_TO.fullmatch(answer), PERCENT.fullmatch(answer)
    if up_to:
        free = int(up_to[1])
    elif percent and int(percent[1]) <= 100:
        budget, used, free = int(percent[1]) / 100 * sum(map(len, texts)), 0, 0
        while free < len(texts) and used + len(texts[free]) <= budget:
            used += len(texts[free])
            free += 1
        free = max(free, 1) if int(percent[1]) else 0
    else:
        return None
    return free if free < len(texts) else None


def join_series(turn: Turn) -> Result:
    slug = turn.text.strip()[len("专栏"):].strip()
    found = Series.get_or_none(Series.slug == slug)
    if found is None:
        return Text(s.NO_SERIES.format(ref=slug)), STAY
    turn.data["series"] = found.id
    return _review(turn)


def _review(turn: Turn) -> Result:
    d = turn.data
    free = to_chat(preview(d["body"]))[:REVIEW_SHOWN] if d["price"] else to_chat(d["body"])[:REVIEW_SHOWN]
    series = catalog.series(d["series"]) if d.get("series") else None
    text = s.REVIEW.format(title=d["title"], preview=free or s.NO_FREE_PART,
                           price=fen_to_yuan_text(d["price"]), parts=len(paragraphs(d["body"])),
                           series=series.title if series else s.NONE,
                           action=s.REVIEW_PUBLISH if d["mode"] == "new" else s.REVIEW_SAVE)
    return Text(text), REVIEW


def confirm(turn: Turn) -> Result:
    d = turn.data
    summary_text = d.get("summary") or to_chat(paragraphs(d["body"])[0])[:80]
    if d["mode"] == "new":
        article = shop.publish(d["title"], summary_text, d["body"], d["price"], d.get("series"))
        audit.record(turn.openid, "publish", f"article:{article.id}", {}, {"title": article.title,
                                                                          "price": article.price})
        return Text(s.PUBLISHED.format(id=article.id, title=article.title)), END
    article = catalog.article(d["article"])
    if article is None:
        return Text(s.GONE_MEANWHILE), END
    fields = {"title": d["title"], "summary": summary_text, "body": d["body"], "series": d.get("series")}
    before = {"title": article.title, "summary": article.summary, "body": article.body, "series": article.series_id}
    shop.update_article(article.id, **fields)
    audit.record(turn.openid, "edit", f"article:{article.id}", before, fields)
    return Text(s.SAVED.format(id=article.id, title=d["title"])), END


@undoer("publish")
def unpublish(turn: Turn, entry) -> str:
    """Undoing a publish unlists the article: anyone who bought it in between keeps reading."""
    shop.set_status(int(entry.target.partition(":")[2]), Article.UNLISTED)
    return s.UNPUBLISHED


def review_hint(turn: Turn) -> Result:
    return Text(s.REVIEW_HINT), STAY


DIALOG = Dialog(
    name="publish",
    entry_points=[admin_route(command("发布", "/publish"), start), admin_route(command("编辑", "/edit"), start_edit)],
    states={
        FIELD: [Route(any_text, choose_field)],
        TITLE: [Route(any_text, title)],
        SUMMARY: [Route(any_text, summary)],
        BODY: [Route(words("完成", "done", "/done"), body_done), Route(any_text, body_part)],
        PRICE: [Route(any_text, price)],
        PREVIEW: [Route(any_text, preview_point)],
        REVIEW: [Route(words("确认", "confirm", "/confirm"), confirm), Route(prefix("专栏"), join_series),
                 Route(any_text, review_hint)],
    },
)
