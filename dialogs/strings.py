"""Every sentence the bot says, in one place (replies are in Simplified Chinese); creators' in admin_strings.py."""

from dialogs.admin_strings import HELP as ADMIN_HELP

WELCOME = (
    "欢迎关注！这里有精选的付费知识内容。\n"
    "· 直接发送关键词搜索文章，例如：机器学习\n"
    "· 回复序号查看结果，先免费试读再决定购买\n"
    "· 点菜单「找内容」看热门和最新\n"
    "· 回复「帮助」查看全部指令"
)
WELCOME_BACK = "欢迎回来！回复「帮助」查看可以做什么。"

HELP = (
    "可以这样用：\n"
    "· 发送关键词：搜索文章，回复序号打开\n"
    "· 打开文章后：赞、评论 内容、看评论、分享、购买\n"
    "· 推荐 / 猜你喜欢：按你的阅读为你挑选，回复「不感兴趣 序号」不再推荐\n"
    "· 已购：重读买过的内容；我付了没解锁：立即查询支付\n"
    "· 我的、我的数据、删除我的数据\n"
    "· 反馈：给作者留言\n"
    "· 推送：退订推送、开启推送、少推点、多推点、推送时间 21、为什么推荐、不感兴趣\n"
    "· 取消：退出当前操作\n"
    "· 帮助：显示本说明"
)
HELP_ADMIN = ADMIN_HELP  # dialogs/admin_strings.py

HINT = "没太明白您的意思。发送关键词即可搜索内容，回复「帮助」查看全部指令。"
NON_TEXT = "暂时只能看懂文字哦。发送关键词即可搜索内容，回复「帮助」查看全部指令。"
CANCELLED = "已取消。"
NOTHING_TO_CANCEL = "当前没有进行中的操作。"

FIND_HOT = "热门内容："
FIND_NEW = "最新上架："
FIND_HINT = "回复序号查看；也可以直接发送关键词搜索，例如：机器学习。"
MINE = "您于 {since} 开始关注，推送{push}。"
MINE_OWNED = "已购 {count} 项，回复「已购」查看。"
MINE_VIEWED = "最近看过："
MINE_LIKED = "赞过："
MINE_EMPTY = "还没有看过的内容，发送关键词开始吧。"
MINE_HINT = "回复序号重新打开；回复「我的数据」查看我们保存的信息。"
EMPTY_CATALOG = "内容正在准备中，敬请期待。"
PUSH_ON = "已开启"
PUSH_OFF = "已关闭"

FEEDBACK_ASK = "请直接发送您想对作者说的话（回复「取消」放弃）。"
FEEDBACK_THANKS = "收到，谢谢您的反馈！作者会认真阅读。"
FEEDBACK_EMPTY = "请发送文字内容（回复「取消」放弃）。"

SORRY = "抱歉，系统开了个小差，请稍后再试。（编号 {request_id}）"
BUSY = "上一条消息还在处理中，请稍后再发一次。"

RESULTS_HEAD = "找到这些内容："
RESULTS_FOOT = "回复序号查看，回复「下一页」看更多。"
RESULTS_LAST = "回复序号查看。"
NO_MORE = "没有更多结果了，换个关键词试试？"
NO_RESULT = "没有找到和「{query}」相关的内容，换个说法试试？回复「帮助」查看全部指令。"
NO_RESULT_POPULAR = "大家都在看："
PICK_RANGE = "请回复 1 到 {n} 之间的序号。"
GONE = "这篇内容已下架。"
CONTINUE = "（回复「继续」阅读下一段）"
PREVIEW_END = "—— 试读结束 ——\n全文 {price}，回复「购买」解锁。"
READ_END = "—— 全文完 ——"
NOTHING_TO_CONTINUE = "已经读到最后了。发送关键词继续搜索吧。"
FREE = "免费"
OWNED = "已购"

OPEN_FIRST = "请先搜索并打开一篇文章，再回复「{command}」。"
LIKED = "已点赞，谢谢支持！"
ALREADY_LIKED = "您已经赞过这篇了。"
COMMENT_EMPTY = "请在「评论」后面写上内容，例如：评论 讲得很清楚"
COMMENT_TOO_LONG = "评论最多 {limit} 个字。"
COMMENTED = "评论已发布。回复「看评论」查看大家的评论。"
NO_COMMENTS = "还没有评论，回复「评论 内容」来写第一条吧。"
COMMENTS_HEAD = "最新评论："
SHARE = "把这个链接发给朋友，对方打开即可试读：\n{url}"

MY_DATA = (
    "我们为您保存的信息：\n"
    "· 微信 openid：{openid}\n"
    "· 首次互动：{first_seen}，最近互动：{last_seen}\n"
    "· 关注状态：{subscribed}；推送：{push}\n"
    "· 行为记录：{events}\n"
    "· 评论 {comments} 条，反馈 {feedback} 条\n"
    "回复「删除我的数据」可删除以上行为、评论与反馈（订单与购买记录依法保留用于对账）。"
)
DELETE_CONFIRM = "将删除您的全部行为记录、评论与反馈，且无法恢复。确认请回复「确认删除」，回复其他内容则取消。"
DELETED = "已删除。订单与购买记录依法保留用于对账。"
DELETE_KEPT = "已取消，您的数据未做改动。"
SUBSCRIBED_YES = "关注中"
SUBSCRIBED_NO = "未关注"

PAY_OFF = "购买功能尚未开通，敬请期待。"
BUY_OPEN_FIRST = "请先打开想购买的文章，再回复「购买」。"
BUY_FREE = "这篇是免费的，可以直接阅读全文。"
BUY_OWNED = "您已购买过《{title}》，回复「已购」可随时重读。"
BUY_SERIES_OWNED = "您已购买专栏《{title}》，其中所有文章都已解锁。"
BUY_NO_SERIES = "这篇文章不属于任何专栏。"
BUY_SUMMARY = (
    "确认购买：\n"
    "《{title}》\n"
    "价格：{price}\n"
    "购买后：{unlocks}，可在「已购」中随时重读。\n"
    "退款：内容有问题可回复「反馈」联系作者，退款后访问权限将收回。\n"
    "回复「确认」下单，「优惠码 XXX」使用优惠码，「取消」放弃。"
)
COUPON_REFUSED = {
    "unknown": "没有优惠码「{code}」，请检查后重试。",
    "stopped": "优惠码 {code} 已停用。",
    "expired": "优惠码 {code} 已过期。",
    "used_up": "优惠码 {code} 已被用完。",
    "not_here": "优惠码 {code} 不适用于这项内容。",
}
COUPON_APPLIED = "已使用优惠码 {code}：原价 {old}，优惠后 {new}。\n回复「确认」按 {new} 下单，回复「取消」放弃。"
BUY_UNLOCKS_ARTICLE = "解锁全文"
BUY_UNLOCKS_SERIES = "解锁专栏全部 {count} 篇文章（含以后新增）"
BUY_SERIES_HINT = "\n本文属于专栏《{title}》（{price}），回复「购买专栏」一次解锁全部。"
PAY_CARD_TITLE = "支付 {price}：《{title}》"
PAY_CARD_DESC = "点击打开支付页面（{minutes} 分钟内有效）。支付完成后内容会自动发送到对话中。"
PAY_WAITING = "支付完成后内容会自动发送到对话中。已经付了却没收到？回复「我付了没解锁」。"
CHECKING = "正在向微信支付查询您的订单，确认后会立即把内容发给您。"
NO_OPEN_ORDERS = "您没有待确认的订单。已购内容请回复「已购」查看。"
UNLOCKED_ARTICLE = "✅ 支付成功，已为您解锁全文。\n\n"
UNLOCKED_SERIES = "✅ 支付成功，专栏《{title}》已解锁，共 {count} 篇：\n{lines}\n回复「已购」选择序号即可阅读。"
REFUNDED = "您的订单 {order} 已退款 {price}，《{title}》的阅读权限已收回。"
PENDING_UNLOCKS = "您有 {count} 篇已购内容待查收，马上发送给您。"
LIBRARY_EMPTY = "您还没有购买任何内容。发送关键词搜索感兴趣的文章吧。"
LIBRARY_HEAD = "您已购买："
LIBRARY_FOOT = "回复序号重新接收全文。"
