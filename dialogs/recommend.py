"""「推荐」 / 「猜你喜欢」 / the menu's MENU_RECOMMEND: the top 3 with their reasons, numbered; a number opens
the item through the reading flow of dialogs/browse.py; 「不感兴趣 2」 marks the second. Graph: recommend.mmd."""

from __future__ import annotations

import re

from catalog.text import fen_to_yuan_text
from dialogs import browse, recommend_strings as strings, strings as common
from dialogs.framework import STAY, Dialog, Result, Route, Text, Turn, clicked, fold, number, prefix, words
from store import catalog
from store.recommend import dislike, recommendations

MENU_RECOMMEND = "MENU_RECOMMEND"
LISTED = "recommend:listed"
READING = "recommend:reading"  # browse's reading commands, on an article opened from this list
SHOWN = 3


def show(turn: Turn) -> Result:
    items = recommendations().for_user(turn.openid, k=SHOWN)
    if not items:
        return Text(strings.RECOMMEND_EMPTY), STAY
    turn.data.update(ids=[item.article_id for item in items], query="")
    found = catalog.articles_by_ids(turn.data["ids"])
    lines = [strings.RECOMMEND_LINE.format(n=n, title=item.title, label=_price(found[item.article_id]),
                                           reason=item.reason)
             for n, item in enumerate(items, start=1) if item.article_id in found]
    return Text("\n".join([strings.RECOMMEND_HEAD, *lines, strings.RECOMMEND_FOOT])), LISTED


def _price(article) -> str:
    """Owned items are never recommended, so the label is the price or 免费."""
    return fen_to_yuan_text(article.price) if article.price else common.FREE


def open_item(turn: Turn) -> Result:
    """The reading flow that exists (records the view, sends the parts); its state, as this dialog's."""
    reply, next_ = browse.pick(turn)
    return reply, READING if next_ == browse.READING else next_


def not_interested(turn: Turn) -> Result:
    ids = turn.data.get("ids", [])
    picked = re.fullmatch(r"不感兴趣(\d+)", fold(turn.text))
    if picked is None:
        return Text(strings.DISLIKE_HOW), STAY
    choice = int(picked.group(1))
    if not 1 <= choice <= len(ids):
        return Text(common.PICK_RANGE.format(n=len(ids))), STAY
    article = catalog.article(ids[choice - 1])
    dislike(turn.user, article.id)
    return Text(strings.DISLIKED.format(title=article.title)), STAY


ASK = [Route(clicked(MENU_RECOMMEND), show), Route(words("推荐", "猜你喜欢", "推荐内容"), show)]
CHOOSE = [Route(number, open_item), Route(prefix("不感兴趣"), not_interested)]

DIALOG = Dialog(
    name="recommend",
    entry_points=ASK,
    states={
        LISTED: CHOOSE,
        READING: [Route(matches, step) for _, matches, step in browse.ARTICLE_COMMANDS]
        + [Route(words("继续", "下一段"), browse.read_on)] + CHOOSE,
    },
)
