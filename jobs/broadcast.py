"""Interest-tag broadcasts for the followers the personal round cannot reach.

The audience: subscribed, not opted out, no personal push and no broadcast today, no usable
customer-service grant, not within a week of a push for 「少推点」, and (service account) under four
broadcasts this month. The recommender groups it by dominant interest (recommender/groups.py); each group
is one of our WeChat user tags (slot = the group's rank by size), renamed to the group's name and kept in
step (tagging and untagging in chunks of 50), then sent the best item for that interest by tag. A
subscription account sends one group a day (the one waiting longest, the largest first); a service
account sends every group. The (day, group) claim row makes a second send impossible.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from gateways import rules
from gateways.wechat import WechatError
from jobs.push_round import HOLDER, STOP_HINT, local_time
from recommender.groups import Group, best_item, group_followers
from recommender.types import Recommendation
from store import broadcasts, pushes
from store.models import utcnow
from store.push_models import PushRun, PushSend
from store.recommend import recommendations

log = logging.getLogger(__name__)

BROADCAST_TEXT = "【{name}】今日推荐：《{title}》\n{url}\n{hint}"


@dataclass(frozen=True)
class PlannedBroadcast:
    slot: int
    group: Group
    item: Recommendation


@dataclass
class BroadcastPlan:
    day: dt.date
    audience: int = 0
    skipped: Counter = field(default_factory=Counter)
    sends: list[PlannedBroadcast] = field(default_factory=list)


def skip_reason(f: pushes.Follower, day: dt.date, account_type: str) -> str | None:
    checks = [
        (f.opted_out, "opted_out"),
        (f.broadcast_today, "done"),
        (f.today > 0, "pushed_today"),
        (f.capacity > f.owed, "reachable"),
        (f.weekly and f.last_day is not None and f.last_day > day - dt.timedelta(days=7), "weekly"),
        (account_type == rules.SERVICE and f.broadcasts_this_month >= rules.SERVICE_BROADCASTS_A_MONTH,
         "monthly_quota"),
    ]
    return next((reason for failed, reason in checks if failed), None)


def plan(settings: Any, now: dt.datetime) -> BroadcastPlan:
    """The groups that would be sent now and what each would get; writes nothing."""
    push, account_type = settings.push, settings.wechat.account_type
    day = local_time(now, push).date()
    result = BroadcastPlan(day)
    members = []
    for follower in pushes.audience(day, PushSend.BROADCAST, now, day.replace(day=1)):
        reason = skip_reason(follower, day, account_type)
        if reason:
            result.skipped[reason] += 1
        else:
            members.append(follower.id)
    result.audience = len(members)
    if not members:
        return result
    profiles, features = recommendations().profiles(members)
    groups = list(enumerate(group_followers(members, profiles, features, push.max_groups)))
    recent = pushes.recently_pushed(day - dt.timedelta(days=push.recent_days))
    for slot, group in _within_quota(groups, day, account_type):
        lists = (recs for _, recs in recommendations().batch(list(group.members), k=3, exclude=recent))
        item = best_item(lists)
        if item is None:
            result.skipped["no_recommendation"] += len(group.members)
        else:
            result.sends.append(PlannedBroadcast(slot, group, item))
    return result


def _within_quota(groups: list[tuple[int, Group]], day: dt.date, account_type: str) -> list[tuple[int, Group]]:
    if account_type == rules.SERVICE:
        return groups  # each follower's four a month were checked above
    left = rules.SUBSCRIPTION_BROADCASTS_A_DAY - broadcasts.sent_today(day)
    last = broadcasts.last_days()
    waiting = sorted(groups, key=lambda g: (last.get(g[0], dt.date.min), -len(g[1].members)))
    return waiting[:max(0, left)]


def sync_tag(gateway: Any, slot: int, group: Group) -> int:
    """Our tag for `slot`, named after the group and carrying exactly its members; returns its id."""
    tag = broadcasts.tag_of(slot)
    if tag is None:
        tag_id = gateway.create_tag(group.name)
    else:
        tag_id = tag.tag_id
        if tag.name != group.name:
            gateway.rename_tag(tag_id, group.name)
    broadcasts.save_tag(slot, tag_id, group.name)
    current = broadcasts.members_of(tag_id)
    wanted = set(group.members)
    gone = [u for u in current if u not in wanted]
    new = sorted(wanted - set(current))
    _in_chunks(gone, lambda chunk: (gateway.untag_users(tag_id, list(broadcasts.openids_of(chunk).values())),
                                    broadcasts.untagged(tag_id, chunk)))
    _in_chunks(new, lambda chunk: (gateway.tag_users(tag_id, list(broadcasts.openids_of(chunk).values())),
                                   broadcasts.tagged(tag_id, chunk)))
    return tag_id


def _in_chunks(user_ids: list[int], apply: Callable[[list[int]], Any]) -> None:
    for start in range(0, len(user_ids), rules.TAG_BATCH):
        apply(user_ids[start:start + rules.TAG_BATCH])


def send_group(services: Any, day: dt.date, planned: PlannedBroadcast) -> str:
    """Claim, tag and send one group's broadcast: "sent", "failed", or "done" (claimed elsewhere)."""
    group, item = planned.group, planned.item
    claim = broadcasts.claim(day, planned.slot, group.name, item.article_id, len(group.members))
    if claim is None:
        return "done"
    try:
        tag_id = sync_tag(services.gateway, planned.slot, group)
        url = services.pipeline.context.links.share(item.article_id, "")
        content = BROADCAST_TEXT.format(name=group.name, title=item.title, url=url, hint=STOP_HINT)
        msg_id = services.gateway.broadcast_text(tag_id, content)
    except (WechatError, ValueError) as exc:
        log.error("broadcast failed", extra={"group": planned.slot, "error": str(exc)})
        broadcasts.failed(claim, str(exc))
        return "failed"
    broadcasts.submitted(claim, tag_id, msg_id)
    broadcasts.record_recipients(group.members, day, item.article_id)
    return "sent"


def run_broadcast(services: Any, clock: Callable[[], dt.datetime] = utcnow) -> PushRun:
    """Plan and send today's broadcasts; returns the PushRun (kind "broadcast")."""
    planned = plan(services.settings, clock())
    run = pushes.start_run(PushRun.BROADCAST, planned.day, PushSend.BROADCAST, HOLDER)
    run.eligible = planned.audience
    skipped = Counter(planned.skipped)
    for send in planned.sends:
        outcome, size = send_group(services, planned.day, send), len(send.group.members)
        run.sent += size if outcome == "sent" else 0
        run.failed += size if outcome == "failed" else 0
        skipped["done"] += size if outcome == "done" else 0
    waiting = planned.audience - sum(len(send.group.members) for send in planned.sends) - skipped["no_recommendation"]
    if waiting > 0:
        skipped["broadcast_quota"] += waiting  # groups left for another day
    pushes.finish_run(run, skipped)
    log.info("broadcast round finished", extra={"run": run.id, "sent": run.sent, "groups": len(planned.sends)})
    return run


def scheduled(services: Any) -> None:
    """The clock's cron job."""
    run_broadcast(services)
