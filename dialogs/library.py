"""「已购」: what the follower owns, numbered; a number sends that article again in full. Graph: library.mmd."""

from __future__ import annotations

from dialogs import strings
from dialogs.framework import STAY, Dialog, Result, Route, Text, Turn, number, words
from dialogs.reading import article_messages
from store import catalog, orders

LISTED = "library:listed"


def owned_articles(turn: Turn) -> list:
    """Bought articles, then the articles of bought series, each once, newest purchase first."""
    seen, owned = set(), []
    for purchase in orders.purchases_of(turn.user):
        items = [purchase.article] if purchase.article_id else catalog.series_articles(purchase.series)
        for article in items:
            if article is not None and article.id not in seen:
                seen.add(article.id)
                owned.append(article)
    return owned


def show(turn: Turn) -> Result:
    owned = owned_articles(turn)
    if not owned:
        return Text(strings.LIBRARY_EMPTY), STAY
    turn.data.update(ids=[a.id for a in owned])
    lines = [strings.LIBRARY_HEAD] + [f"{n}. {a.title}" for n, a in enumerate(owned, start=1)]
    return Text("\n".join(lines + [strings.LIBRARY_FOOT])), LISTED


def resend(turn: Turn) -> Result:
    ids = turn.data.get("ids", [])
    choice = int(turn.text.strip())
    if not 1 <= choice <= len(ids):
        return Text(strings.PICK_RANGE.format(n=len(ids))), STAY
    article = catalog.article(ids[choice - 1])
    if article is None or not orders.owns_article(turn.user, article):  # refunded since the list was shown
        return Text(strings.GONE), STAY
    return article_messages(article, turn.openid, turn.app.links, whole=True), STAY


DIALOG = Dialog(
    name="library",
    entry_points=[Route(words("已购", "已购买", "我的购买"), show)],
    states={LISTED: [Route(number, resend)]},
)
