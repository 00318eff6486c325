"""What the recommendation dialog says (replies are in Simplified Chinese)."""

RECOMMEND_HEAD = "为你推荐："
RECOMMEND_LINE = "{n}. {title}（{label}）\n   {reason}"
RECOMMEND_FOOT = "回复序号阅读；回复「不感兴趣 序号」不再推荐这一篇。"
RECOMMEND_EMPTY = "暂时没有可以推荐的新内容，发送关键词搜索试试。"
DISLIKE_HOW = "请回复「不感兴趣」加序号，例如：不感兴趣 2"
DISLIKED = "好的，以后不再向你推荐《{title}》，相近的内容也会少一些。回复「推荐」换一批。"
RELATED = "\n你可能还喜欢：《{title}》（{reason}）\n发送「推荐」看更多。"
