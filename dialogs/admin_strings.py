"""What the bot says to creators (admin commands), in one place."""

NONE = "无"
AND_MORE = "共 {n} 项"
CONFIRM_HINT = "回复「确认」执行，回复「取消」放弃。"
CONFIRM_OR_CANCEL = "有一项操作等待确认：回复「确认」执行，或回复「取消」放弃。"
NOTHING_PENDING = "没有等待确认的操作。"
GONE_MEANWHILE = "对象已不存在，未做改动。"
MISSING_ARGUMENT = "缺少参数。"
UNKNOWN_SUBCOMMAND = "不认识「{value}」。"
TOO_LONG = "太长了：最多 {limit} 个字，请重新发送。"

# ---------------------------------------------------------------- usage lines (one example each)
USAGE_PRICE = "用法：改价 <文章编号或专栏slug> <价格元>，例如：改价 12 9.9"
USAGE_UNLIST = "用法：下架 <文章编号>，例如：下架 12"
USAGE_LIST = "用法：上架 <文章编号>，例如：上架 12"
USAGE_EDIT = "用法：编辑 <文章编号> [标题|摘要|正文|试读]，例如：编辑 12 标题"
USAGE_REFUND = "用法：退款 <订单号> [原因]，例如：退款 KB20261201120000ABCDEF123456 内容重复"
USAGE_GIFT = "用法：赠送 <openid> <文章编号或专栏slug>，例如：赠送 oUser123 12"
USAGE_USER = "用法：用户 <openid>，例如：用户 oUser123"
USAGE_STATS = "用法：统计 [今天|7天|30天]，例如：统计 7天"
USAGE_ADMINS = "用法：管理员 列表 | 管理员 移除 <openid>，例如：管理员 移除 oUser123"
USAGE_COUPON = "用法：优惠码 新建 <码> <折扣> … | 优惠码 列表 | 优惠码 停用 <码>，例如：优惠码 列表"
USAGE_COUPON_NEW = ("用法：优惠码 新建 <码> <折扣%|减免金额元> [到期 YYYY-MM-DD] [次数 N] [文章编号或专栏slug]，"
                    "例如：优惠码 新建 SPRING 20% 到期 2026-12-31 次数 100")
USAGE_COUPON_STOP = "用法：优惠码 停用 <码>，例如：优惠码 停用 SPRING"

HELP = (
    "\n\n创作者指令（每项写操作都会先请您确认）：\n"
    "· 发布：新建文章，例如：发布\n"
    "· 编辑：例如：编辑 12 标题\n"
    "· 改价：例如：改价 12 9.9\n"
    "· 下架 / 上架：例如：下架 12\n"
    "· 统计：例如：统计 7天（今天 / 7天 / 30天）\n"
    "· 退款：例如：退款 <订单号> 内容重复\n"
    "· 赠送：例如：赠送 <openid> 12\n"
    "· 优惠码：例如：优惠码 新建 SPRING 20% 到期 2026-12-31 次数 100；优惠码 列表；优惠码 停用 SPRING\n"
    "· 用户：例如：用户 <openid>\n"
    "· 推送预览：下一轮个性化推送会发给哪 3 位关注者、推什么、为什么\n"
    "· 推送：立即运行一轮个性化推送，完成后报告结果\n"
    "· 后台：获取数据看板链接（30 分钟有效）\n"
    "· 撤销：撤销 24 小时内最近一次发布、改价、上下架或优惠码操作\n"
    "· 管理员：例如：管理员 列表；管理员 移除 <openid>"
)

# ---------------------------------------------------------------- arguments
BAD_PRICE = "价格不对：「{value}」不是金额（最多两位小数）。"
PRICE_TOO_HIGH = "价格太高了，请检查。"
NO_ARTICLE = "没有编号或 slug 为「{ref}」的文章。"
NO_SERIES = "没有 slug 为「{ref}」的专栏。"
BAD_DATE = "日期不对：「{value}」，请写成 YYYY-MM-DD。"
BAD_COUNT = "次数不对：「{value}」，请写正整数。"
BAD_OPENID = "openid 不对：「{value}」。"
NO_USER = "没有 openid 为「{openid}」的关注者。"
NO_ORDER = "没有订单号为「{ref}」的订单。"

# ---------------------------------------------------------------- who is admin
AUTH_OK = "验证通过，您已成为管理员。回复「帮助」查看创作者指令。"
ALREADY_ADMIN = "您已经是管理员了。"
ADMINS_HEAD = "管理员："
ADMIN_CONFIGURED = "{openid} 写在配置 [admin] openids 中，需修改配置才能移除。"
NOT_AN_ADMIN = "{openid} 不是通过 #auth 添加的管理员。"
ADMIN_REMOVE_ASK = "将移除管理员 {openid}。"
ADMIN_REMOVED = "已移除管理员 {openid}。"

# ---------------------------------------------------------------- undo and the audit trail
NOTHING_TO_UNDO = "24 小时内没有可以撤销的操作（可撤销：发布、改价、上架、下架、优惠码）。"
UNDO_ASK = "将撤销 {when} 的操作：{what}。"
UNDONE = "已撤销：{what}"
AUDIT_LABELS = {"publish": "发布", "price": "改价", "unlist": "下架", "list": "上架", "coupon_new": "新建优惠码",
                "coupon_stop": "停用优惠码", "edit": "编辑", "refund": "退款", "gift": "赠送", "undo": "撤销",
                "admin_add": "添加管理员", "admin_remove": "移除管理员", "push": "推送"}

# ---------------------------------------------------------------- shop
SAME_PRICE = "价格已经是 {price}，未做改动。"
PRICE_ASK = "将《{title}》的价格从 {old} 改为 {new}。"
PRICE_DONE = "已改价：《{title}》现价 {price}。回复「撤销」可恢复。"
PRICE_RESTORED = "价格恢复为 {price}"
STATUS_NAMES = {"published": "上架", "unlisted": "下架", "draft": "草稿"}
STATUS_ALREADY = "《{title}》已经是{status}状态。"
STATUS_ASK = "将《{title}》设为{status}。下架后不再出现在搜索和推荐中，已购读者仍可阅读。"
STATUS_DONE = "已{status}：《{title}》。回复「撤销」可恢复。"
STATUS_RESTORED = "状态恢复为{status}"
ORDER_STATES = {"created": "待支付", "closed": "已关闭", "refunded": "已退款", "paid": "已支付"}
NOT_REFUNDABLE = "订单 {order} 不能退款（{state}，或为赠送）。"
REFUND_UNDERWAY = "订单 {order} 的退款已在处理中。"
NO_REASON = "未填写"
REFUND_ASK = ("将退款：\n订单 {order}\n{title}\n买家 {buyer}\n金额 {price}（支付于 {paid}）\n原因：{reason}\n"
              "退款后买家的阅读权限将收回，并会收到通知。")
REFUND_REQUESTED = "已向微信支付申请退款（订单 {order}）。退款成功后会通知买家并收回权限。"
REFUND_FAILED = "退款未成功：订单 {order}（{reason}）。可稍后再试。"
GIFT_OWNED = "{openid} 已经拥有这项内容。"
GIFT_ASK = "将把《{title}》赠送给 {openid}（记为 0 元赠送，不计入销售）。"
GIFT_DONE = "已赠送《{title}》给 {openid}，并已通知对方。"
GIFT_HEAD = "🎁 作者赠送了您这篇文章，可在「已购」中随时重读。\n\n"
GIFT_SERIES = "🎁 作者赠送了您专栏《{title}》，其中文章已全部解锁：\n{lines}\n回复「已购」选择序号即可阅读。"
EVENT_NAMES = {"view": "阅读", "like": "点赞", "comment": "评论", "share": "分享", "purchase": "购买",
               "search": "搜索", "text": "消息", "click": "菜单", "subscribe": "关注", "share_open": "分享被打开",
               "scan": "扫码", "feedback": "反馈", "dislike": "不感兴趣"}
SUBSCRIBED = "关注中"
NOT_SUBSCRIBED = "未关注"
PUSH_ON = "开启"
PUSH_OFF = "关闭"
USER_PROFILE = ("关注者 {openid}\n· 关注于 {since}（{subscribed}）\n· 行为：{events}\n· 已购：{purchases}\n"
                "· 推送：{push}")
DASHBOARD = "数据看板（30 分钟内有效，仅限您本人打开）：\n{url}"

# ---------------------------------------------------------------- stats
BAD_WINDOW = "时间范围不对：「{value}」。"
STATS_TEXT = (
    "📊 {label}数据\n"
    "收入 {revenue}（{orders} 单，{payers} 位付费关注者）\n"
    "退款 {refunds} 笔 {refunded}，净收入 {net}\n"
    "赠送 {grants} 份（不计入销售）\n"
    "新关注 {new} 人，当前关注 {subscribed} 人\n"
    "转化：{funnel}\n"
    "收入前五：\n{top}\n"
    "图表随后发送。"
)

# ---------------------------------------------------------------- pushes
PUSH_PREVIEW_HEAD = "下一轮个性化推送（前 {n} 位）："
PUSH_PREVIEW_NONE = "此刻运行的话，没有符合条件的关注者（免打扰时段、已推过、没有客服消息额度或暂无推荐）。"
PUSH_ASK = "将立即运行一轮个性化推送（遵守免打扰时段、每日上限和客服消息额度）。"
PUSH_STARTED = "推送已开始，完成后会把结果发给您。"
PUSH_RUN = "符合条件 {eligible} 人，已发送 {sent}，失败 {failed}；跳过：{skipped}"
PUSH_DONE = "推送完成：{summary}"

# ---------------------------------------------------------------- coupons
BAD_CODE = "优惠码不对：「{value}」，请用 3-32 位字母、数字、- 或 _。"
BAD_DISCOUNT = "折扣不对：「{value}」，请写 1-99 的百分比（如 20%）或减免金额（如 5元）。"
CODE_TAKEN = "优惠码 {code} 已存在。"
COUPON_FOR = "适用：{item}"
ALL_ITEMS = "全部内容"
COUPON_UNTIL = "{day} 当天有效截止"
COUPON_USES = "限 {uses} 次"
COUPON_NEW_ASK = "将新建优惠码：{terms}。"
COUPON_CREATED = "已新建优惠码：{terms}。"
COUPONS_HEAD = "优惠码："
NO_COUPONS = "还没有优惠码。"
COUPON_LIVE = "有效"
COUPON_STOPPED = "已停用"
NO_COUPON = "没有优惠码「{code}」。"
COUPON_ALREADY_STOPPED = "优惠码 {code} 已经停用。"
COUPON_STOP_ASK = "将停用优惠码 {line}。"
COUPON_STOPPED_DONE = "已停用优惠码 {code}。回复「撤销」可恢复。"
COUPON_RESTARTED = "优惠码 {code} 恢复可用"
COUPON_UNDONE_STOPPED = "优惠码 {code} 已有订单使用，改为停用"
COUPON_UNDONE_DELETED = "优惠码 {code} 已删除"

# ---------------------------------------------------------------- publish and edit
PUBLISH_START = "开始发布新文章（随时回复「取消」放弃）。"
ASK_TITLE = "请发送标题。"
ASK_SUMMARY = "请发送新的摘要。"
ASK_BODY = "请发送正文，可分多条发送，支持 Markdown；发完回复「完成」。"
BODY_RECEIVED = "已收到第 {n} 段。继续发送，或回复「完成」。"
BODY_EMPTY = "还没有收到正文。请发送正文，发完回复「完成」。"
ASK_PRICE = "请发送价格（元），例如 9.9；0 表示免费。"
ASK_PREVIEW = "免费试读到哪里？回复百分比（如 30%）或「到第N段」（全文共 {count} 段；0% 表示不提供试读）。"
ONE_PARAGRAPH_PREVIEW = ("正文只有 1 段，试读只能是全文或没有：回复 0% 不提供试读；"
                         "或回复「取消」，把正文分成几段（段与段之间空一行）重新发布。")
BAD_PREVIEW = "试读位置不对：请回复百分比（如 30%）或「到第N段」，N 小于 {count}（试读不能是全文）。"
ASK_FIELD = "要修改《{title}》的什么？回复：标题、摘要、正文 或 试读。"
BAD_FIELD = "不认识「{value}」。请回复：标题、摘要、正文 或 试读。"
NO_FREE_PART = "（无免费试读）"
REVIEW = ("关注者将看到：\n【{title}】\n\n{preview}\n\n—— 价格 {price} ——\n"
          "共 {parts} 段；专栏：{series}\n"
          "回复「确认」{action}，「专栏 <slug>」放入专栏，「取消」放弃。")
REVIEW_PUBLISH = "发布"
REVIEW_SAVE = "保存"
REVIEW_HINT = "请回复「确认」、「专栏 <slug>」或「取消」。"
PUBLISHED = "已发布：《{title}》，编号 {id}，现在即可被搜索和推荐。回复「撤销」可下架。"
UNPUBLISHED = "文章已下架（已购读者仍可阅读）"
SAVED = "已保存：《{title}》（编号 {id}）。"
