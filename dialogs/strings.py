"""Every sentence the bot says, in one place (replies are in Simplified Chinese)."""

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
    "· 发送关键词：搜索文章\n"
    "· 反馈：给作者留言\n"
    "· 取消：退出当前操作\n"
    "· 帮助：显示本说明"
)
HELP_ADMIN = (
    "\n\n创作者指令：\n"
    "· 统计：关注人数与行为数据"
)

HINT = "没太明白您的意思。发送关键词即可搜索内容，回复「帮助」查看全部指令。"
NON_TEXT = "暂时只能看懂文字哦。发送关键词即可搜索内容，回复「帮助」查看全部指令。"
CANCELLED = "已取消。"
NOTHING_TO_CANCEL = "当前没有进行中的操作。"

FIND_HOT = "热门内容："
FIND_NEW = "最新上架："
FIND_HINT = "回复序号查看；也可以直接发送关键词搜索，例如：机器学习。"
MINE = "您于 {since} 开始关注，推送{push}。"
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

ADMIN_ONLY = "该指令仅限创作者使用。"
STATS = "关注中：{subscribed} 人（累计 {users} 人）\n行为记录：{events}"

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
PREVIEW_END = "—— 试读结束 ——\n全文 {price}。"
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
