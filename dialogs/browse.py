"""Search, pick a number, read. Graph: browse.mmd.

Any text no other dialog claims is a query. Results are numbered across pages; a number opens the
article: free ones in full, paid ones up to the preview marker. Long texts come in parts of at most
2000 bytes, the next one on 「继续」.
"""

from __future__ import annotations

from catalog.text import fen_to_yuan_text
from dialogs import search_strings, strings
from dialogs.framework import (
    STAY, Dialog, News, Result, Route, Text, Turn, any_text, clicked, number, prefix, words,
)
from dialogs.home import MENU_FIND, MENU_MINE
from dialogs.push import settings_text as push_settings
from dialogs.reading import article_messages, from_outbox, with_continue
from store.catalog_search import catalog_search
from store import catalog, orders, outbox, queries

RESULTS = "browse:results"
READING = "browse:reading"
PAGE = 5
POPULAR = 3
COMMENT_LIMIT = 300


def search(turn: Turn) -> Result:
    query = turn.text[:100]
    hits = catalog_search().search(query, limit=PAGE)
    queries.record_event(turn.user, queries.SEARCH, query=query, hits=len(hits))
    if not hits:
        return _no_result(turn, query)
    turn.data.update(query=query, ids=[h.id for h in hits], quotes=_quotes(hits))
    return Text(_listing(turn, turn.data["ids"], start=0)), RESULTS


def discover(turn: Turn) -> Result:
    """「找内容」: the most read and the newest, numbered so a reply opens one."""
    hot = catalog.popular_articles(POPULAR)
    new = [a for a in catalog.newest_articles(POPULAR + len(hot)) if a.id not in {h.id for h in hot}][:POPULAR]
    if not hot and not new:
        return Text(strings.EMPTY_CATALOG), STAY
    ids = [a.id for a in hot + new]
    turn.data.update(ids=ids, query="")
    lines = [strings.FIND_HOT] + _numbered(turn, hot, 1) + [strings.FIND_NEW] + _numbered(turn, new, len(hot) + 1)
    return Text("\n".join(lines + [strings.FIND_HINT])), RESULTS


def mine(turn: Turn) -> Result:
    """「我的」: what the follower read and liked, numbered to reopen."""
    push = push_settings(turn)
    lines = [strings.MINE.format(since=f"{turn.user.first_seen:%Y-%m-%d}", push=push)]
    owned = len(orders.purchases_of(turn.user))
    if owned:
        lines.append(strings.MINE_OWNED.format(count=owned))
    viewed = catalog.articles_touched(turn.user, queries.VIEW, PAGE)
    liked = [a for a in catalog.articles_touched(turn.user, queries.LIKE, PAGE) if a not in viewed]
    if not viewed and not liked:
        return Text("\n".join(lines + [strings.MINE_EMPTY])), STAY
    turn.data.update(ids=[a.id for a in viewed + liked], query="")
    if viewed:
        lines += [strings.MINE_VIEWED] + _numbered(turn, viewed, 1)
    if liked:
        lines += [strings.MINE_LIKED] + _numbered(turn, liked, len(viewed) + 1)
    return Text("\n".join(lines + [strings.MINE_HINT])), RESULTS


def next_page(turn: Turn) -> Result:
    shown = turn.data.get("ids", [])
    hits = catalog_search().search(turn.data.get("query", ""), limit=PAGE, offset=len(shown))
    if not hits:
        return Text(strings.NO_MORE), STAY
    turn.data["ids"] = shown + [h.id for h in hits]
    turn.data["quotes"] = {**turn.data.get("quotes", {}), **_quotes(hits)}
    return Text(_listing(turn, turn.data["ids"], start=len(shown))), RESULTS


def pick(turn: Turn) -> Result:
    ids = turn.data.get("ids", [])
    choice = int(turn.text.strip())
    if not 1 <= choice <= len(ids):
        return Text(strings.PICK_RANGE.format(n=len(ids))), STAY
    article = catalog.articles_by_ids([ids[choice - 1]]).get(ids[choice - 1])
    if article is None or article.status != article.PUBLISHED:
        return Text(strings.GONE), STAY
    queries.record_event(turn.user, queries.VIEW, article_id=article.id)
    parts = _messages(turn, article)
    turn.data.update(article=article.id, part=1)
    if turn.app.settings.bot.long_text == "customer_service":
        return parts, READING  # the first is the reply, the rest follow as customer-service messages
    turn.data["parts"] = len(parts)
    return with_continue(parts, 0), READING


def read_on(turn: Turn) -> Result:
    """「继续」: the next part. In customer-service mode, whatever WeChat has not let through yet."""
    if turn.app.settings.bot.long_text == "customer_service":
        row = outbox.take_next_unsent(turn.user)
        return (from_outbox(row), STAY) if row else (Text(strings.NOTHING_TO_CONTINUE), STAY)
    article = catalog.articles_by_ids([turn.data.get("article", 0)]).get(turn.data.get("article", 0))
    index = turn.data.get("part", 0)
    if article is None or index >= turn.data.get("parts", 0):
        return Text(strings.NOTHING_TO_CONTINUE), STAY
    turn.data["part"] = index + 1
    return with_continue(_messages(turn, article), index), STAY


def _messages(turn: Turn, article) -> list[Text | News]:
    whole = not article.price or orders.owns_article(turn.user, article)
    return article_messages(article, turn.openid, turn.app.links, whole)


def like(turn: Turn) -> Result:
    article_id = turn.data["article"]
    if queries.has_event(turn.user, queries.LIKE, article_id):
        return Text(strings.ALREADY_LIKED), STAY
    queries.record_event(turn.user, queries.LIKE, article_id=article_id)
    return Text(strings.LIKED), STAY


def comment(turn: Turn) -> Result:
    text = turn.text.strip()[len("评论"):].strip(" :：")
    if not text:
        return Text(strings.COMMENT_EMPTY), STAY
    if len(text) > COMMENT_LIMIT:
        return Text(strings.COMMENT_TOO_LONG.format(limit=COMMENT_LIMIT)), STAY
    queries.add_comment(turn.user, turn.data["article"], text)
    return Text(strings.COMMENTED), STAY


def show_comments(turn: Turn) -> Result:
    comments = queries.recent_comments(turn.data["article"], limit=10)
    if not comments:
        return Text(strings.NO_COMMENTS), STAY
    lines = [strings.COMMENTS_HEAD] + [
        f"· {c.text}（{c.created_at:%m-%d}）" for c in comments]
    return Text("\n".join(lines)), STAY


def share(turn: Turn) -> Result:
    article_id = turn.data["article"]
    queries.record_event(turn.user, queries.SHARE, article_id=article_id)
    return Text(strings.SHARE.format(url=turn.app.links.share(article_id, turn.openid))), STAY


def open_first(command: str):
    """「赞」 and friends outside an article: say what to do instead of searching for 「赞」."""
    return lambda turn: (Text(strings.OPEN_FIRST.format(command=command)), STAY)


def _numbered(turn: Turn, articles: list, first: int) -> list[str]:
    """One line per article: its number, the title exactly as stored, then the price, 免费 or 已购."""
    return [f"{n}. {a.title}（{_label(turn, a)}）" for n, a in enumerate(articles, start=first)]


def _label(turn: Turn, article) -> str:
    if not article.price:
        return strings.FREE
    if orders.owns_article(turn.user, article):
        return strings.OWNED
    return fen_to_yuan_text(article.price)


def _listing(turn: Turn, ids: list[int], start: int) -> str:
    found = catalog.articles_by_ids(ids[start:])
    quotes = turn.data.get("quotes", {})
    lines = [strings.RESULTS_HEAD]
    for number_, article_id in enumerate(ids[start:], start=start + 1):
        if article_id in found:
            lines += _numbered(turn, [found[article_id]], number_)
            if str(article_id) in quotes:
                lines.append(search_strings.IN_BODY.format(snippet=quotes[str(article_id)]))
    more = len(ids) - start == PAGE
    lines.append(strings.RESULTS_FOOT if more else strings.RESULTS_LAST)
    return "\n".join(lines)


def _quotes(hits: list) -> dict[str, str]:
    """Article id (as JSON keys are) -> the body quote of a hit found through the body only."""
    return {str(h.id): h.snippet for h in hits if h.snippet}


def _no_result(turn: Turn, query: str) -> Result:
    """Never a dead end: the closest tags and series by name, and the hot list, numbered to open."""
    lines = [strings.NO_RESULT.format(query=query)]
    names = catalog_search().suggest(query)
    if names:
        lines += [search_strings.NO_RESULT_TRY, "、".join(f"「{name}」" for name in names)]
    popular = catalog.popular_articles(POPULAR)
    if not popular:
        return Text("\n".join(lines)), STAY
    turn.data.update(query="", ids=[a.id for a in popular], quotes={})
    lines += [strings.NO_RESULT_POPULAR] + _numbered(turn, popular, 1) + [strings.RESULTS_LAST]
    return Text("\n".join(lines)), RESULTS


ARTICLE_COMMANDS = [("赞", words("赞", "点赞", "👍"), like), ("评论", prefix("评论"), comment),
                    ("看评论", words("看评论", "查看评论"), show_comments), ("分享", words("分享"), share)]

DIALOG = Dialog(
    name="browse",
    entry_points=[Route(clicked(MENU_FIND), discover), Route(words("找内容", "热门", "最新"), discover),
                  Route(clicked(MENU_MINE), mine), Route(words("我的"), mine)]
    + [Route(matches, open_first(name)) for name, matches, _ in ARTICLE_COMMANDS]
    + [Route(any_text, search)],
    states={
        RESULTS: [Route(number, pick), Route(words("下一页", "更多"), next_page)],
        READING: [Route(matches, step) for _, matches, step in ARTICLE_COMMANDS]
        + [Route(number, pick), Route(words("继续", "下一段"), read_on), Route(words("下一页", "更多"), next_page)],
    },
)
