"""H5 pages opened from the chat: the reader and the landing page of a shared link."""

from __future__ import annotations

from pathlib import Path

import bottle
import markdown

from catalog.text import fen_to_yuan_text, full_text, preview
from store import catalog, queries
from store.models import Article
from web.links import BadLink, Links

TEMPLATES = Path(__file__).parent / "templates"


def render(name: str, **values) -> str:
    return bottle.template(name, template_lookup=[str(TEMPLATES)], **values)


def _article_page(article: Article, whole: bool, notice: str) -> str:
    body = full_text(article.body) if whole else preview(article.body)
    meta = "免费" if not article.price else f"{fen_to_yuan_text(article.price)} · {'全文' if whole else '试读'}"
    html = markdown.markdown(body, extensions=["fenced_code"], output_format="html")
    return render("article", title=article.title, meta=meta, body_html=html, notice=notice)


def _published(article_id: int) -> Article | None:
    article = catalog.articles_by_ids([article_id]).get(article_id)
    return article if article is not None and article.status != Article.DRAFT else None


def reader(links: Links, token: str) -> tuple[int, str]:
    """A reader link from the chat: bound to the openid it was made for, and expiring."""
    try:
        article_id, openid = links.open_reader(token)
    except BadLink:
        return 403, render("message", headline="链接无效或已过期", detail="请回到公众号对话中重新打开。")
    article = _published(article_id)
    if article is None:
        return 404, render("message", headline="内容已下架", detail="这篇内容暂时无法阅读。")
    user = queries.find_user(openid)
    if user is not None:
        queries.record_event(user, queries.VIEW, article_id=article.id, via="reader")
    whole = not article.price
    notice = "" if whole else f"试读结束。全文 {fen_to_yuan_text(article.price)}，回到公众号对话回复「购买」解锁。"
    return 200, _article_page(article, whole, notice)


def shared(links: Links, token: str) -> tuple[int, str]:
    """A link a follower shared: the opening is credited to the sharer; the page is the preview."""
    try:
        article_id, sharer = links.open_share(token)
    except BadLink:
        return 403, render("message", headline="链接无效", detail="请让分享者重新发送链接。")
    article = _published(article_id)
    if article is None:
        return 404, render("message", headline="内容已下架", detail="这篇内容暂时无法阅读。")
    user = queries.find_user(sharer)
    if user is not None:
        queries.record_event(user, queries.SHARE_OPEN, article_id=article.id)
    notice = f"关注公众号后发送「{article.title}」即可继续阅读。"
    return 200, _article_page(article, not article.price, notice)
