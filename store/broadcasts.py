"""Named queries of the broadcasts: our WeChat user tags and who carries them, the (day, group) claims,
and the results WeChat reports (MASSSENDJOBFINISH)."""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from store.models import User, utcnow
from store.push_models import Broadcast, InterestTag, PushSend, TagMember


def tag_of(slot: int) -> InterestTag | None:
    return InterestTag.get_or_none(InterestTag.slot == slot)


def save_tag(slot: int, tag_id: int, name: str) -> None:
    (InterestTag.insert(slot=slot, tag_id=tag_id, name=name)
     .on_conflict(conflict_target=[InterestTag.slot], update={InterestTag.tag_id: tag_id, InterestTag.name: name})
     .execute())


def members_of(tag_id: int) -> dict[int, str]:
    """user id -> openid of everyone WeChat has under the tag (as far as we told it)."""
    rows = (TagMember.select(User.id, User.openid).join(User).where(TagMember.tag_id == tag_id).tuples())
    return dict(rows)


def tagged(tag_id: int, user_ids: Iterable[int]) -> None:
    TagMember.insert_many([{"user": u, "tag_id": tag_id} for u in user_ids]).on_conflict_ignore().execute()


def untagged(tag_id: int, user_ids: Iterable[int]) -> None:
    TagMember.delete().where((TagMember.tag_id == tag_id) & TagMember.user.in_(list(user_ids))).execute()


def openids_of(user_ids: Iterable[int]) -> dict[int, str]:
    return dict(User.select(User.id, User.openid).where(User.id.in_(list(user_ids))).tuples())


def claim(day: dt.date, group: int, name: str, article_id: int, recipients: int) -> Broadcast | None:
    """The unique (day, group) row: whoever inserts it sends that group's broadcast."""
    inserted = list(Broadcast.insert(day=day, group=group, name=name, article_id=article_id,
                                     recipients=recipients).on_conflict_ignore()
                    .returning(Broadcast.id).tuples().execute())
    return Broadcast.get_by_id(inserted[0][0]) if inserted else None


def submitted(broadcast: Broadcast, tag_id: int, msg_id: str) -> None:
    (Broadcast.update(state=Broadcast.SUBMITTED, tag_id=tag_id, msg_id=msg_id)
     .where(Broadcast.id == broadcast.id).execute())


def failed(broadcast: Broadcast, error: str) -> None:
    Broadcast.update(state=Broadcast.FAILED, status=error[:64]).where(Broadcast.id == broadcast.id).execute()


def sent_today(day: dt.date) -> int:
    """Broadcasts that went (or may have gone) out today: what a subscription account's quota counts."""
    return Broadcast.select().where((Broadcast.day == day) & (Broadcast.state != Broadcast.FAILED)).count()


def last_days() -> dict[int, dt.date]:
    """group -> the day of its latest broadcast."""
    return {group: day for group, day in Broadcast.select(Broadcast.group, Broadcast.day)
            .where(Broadcast.state != Broadcast.FAILED).order_by(Broadcast.day).tuples()}


def record_recipients(user_ids: Iterable[int], day: dt.date, article_id: int) -> None:
    """Mark the day's broadcast on each recipient: no personal push today, and no repeat of the item."""
    rows = [{"user": u, "day": day, "slot": PushSend.BROADCAST, "article_id": article_id,
             "state": PushSend.SENT} for u in user_ids]
    for start in range(0, len(rows), 500):
        PushSend.insert_many(rows[start:start + 500]).on_conflict_ignore().execute()


def record_finished(msg_id: str, status: str, total: int, filtered: int, sent: int, errors: int) -> bool:
    """MASSSENDJOBFINISH: WeChat's counts for the broadcast; False when no broadcast has this msg_id."""
    return bool(Broadcast.update(state=Broadcast.FINISHED, status=status[:64], total=total, filtered=filtered,
                                 sent=sent, errors=errors, finished_at=utcnow())
                .where(Broadcast.msg_id == msg_id).execute())
