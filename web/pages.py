"""H5 pages opened from the chat: the reader and the landing page of a shared link."""

from __future__ import annotations

from typing import Mapping

from catalog.reader_html import article_html
from catalog.text import fen_to_yuan_text, full_text, preview
from store import catalog, orders, queries
from store.models import Article
from web.links import BadLink, Links
from web.http import HttpResponse
from web.render import message, render
from web.visitor import Visitors, in_wechat


def _published(article_id: int) -> Article | None:
    article = catalog.articles_by_ids([article_id]).get(article_id)
    return article if article is not None and article.status != Article.DRAFT else None


class ContentPages:
    def __init__(self, links: Links, visitors: Visitors, dev_bridge: str = "") -> None:
        self.links, self.visitors = links, visitors
        self.dev_bridge = dev_bridge  # settings.site.dev_jsbridge_url: the sandbox plays WeChat in any browser

    def _article_page(self, article: Article, whole: bool, notice: str) -> str:
        body = full_text(article.body) if whole else preview(article.body)
        meta = "免费" if not article.price else f"{fen_to_yuan_text(article.price)} · {'全文' if whole else '试读'}"
        return render("article", title=article.title, meta=meta, notice=notice,
                      body_html=article_html(body, self.links.base_url))

    def reader(self, token: str, url: str, query: Mapping[str, str], cookies: Mapping[str, str],
               user_agent: str) -> HttpResponse:
        """A reader link from the chat, bound to its openid and expiring. A paid article is shown in
        full only to that follower (checked through OAuth) while they own it."""
        opened = self._open(self.links.open_reader, token, "请回到公众号对话中重新打开。")
        if isinstance(opened, HttpResponse):
            return opened
        article, openid = opened
        if not article.price:
            self._record_view(openid, article)
            return HttpResponse.html(200, self._article_page(article, True, ""))
        if not in_wechat(user_agent) and not self.dev_bridge:
            return HttpResponse.html(200, self._article_page(article, False, "请在微信中打开本页阅读全文。"))
        visitor = self.visitors.identify(url, query, cookies)
        if isinstance(visitor, HttpResponse):
            return visitor
        user = queries.find_user(visitor.openid)
        owner = visitor.openid == openid and user is not None and orders.owns_article(user, article)
        if owner:
            self._record_view(visitor.openid, article)
            return self.visitors.remember(HttpResponse.html(200, self._article_page(article, True, "")), visitor)
        notice = f"试读结束。全文 {fen_to_yuan_text(article.price)}，回到公众号对话回复「购买」解锁。"
        return self.visitors.remember(HttpResponse.html(200, self._article_page(article, False, notice)), visitor)

    def shared(self, token: str, url: str, query: Mapping[str, str], cookies: Mapping[str, str],
               user_agent: str) -> HttpResponse:
        """A link a follower shared; the page is the preview. Inside WeChat the opener is known (OAuth),
        and the sharer is credited once per opener and article, never for opening their own link."""
        opened = self._open(self.links.open_share, token, "请让分享者重新发送链接。")
        if isinstance(opened, HttpResponse):
            return opened
        article, sharer = opened
        page = HttpResponse.html(200, self._article_page(
            article, not article.price, f"关注公众号后发送「{article.title}」即可继续阅读。"))
        if not in_wechat(user_agent):
            return page
        opener = self.visitors.identify(url, query, cookies)
        if isinstance(opener, HttpResponse):
            return opener
        credited = queries.find_user(sharer)
        if credited is not None and opener.openid != sharer:
            queries.credit_share_open(credited, article.id, opener.openid)
        return self.visitors.remember(page, opener)

    @staticmethod
    def _open(read_token, token: str, advice: str) -> tuple[Article, str] | HttpResponse:
        """The article and openid a signed link names, or the page that says why not."""
        try:
            article_id, openid = read_token(token)
        except BadLink:
            return message(403, "链接无效或已过期", advice)
        article = _published(article_id)
        if article is None:
            return message(404, "内容已下架", "这篇内容暂时无法阅读。")
        return article, openid

    @staticmethod
    def _record_view(openid: str, article: Article) -> None:
        user = queries.find_user(openid)
        if user is not None:
            queries.record_event(user, queries.VIEW, article_id=article.id, via="reader")
