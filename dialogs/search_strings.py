"""Replies of search-related turns: voice, the no-result answer, body matches."""

VOICE_HEARD = "🎤 你说的是：{text}"
VOICE_UNHEARD = ("🎤 这条语音没有识别出文字。请直接发送文字，或在公众号后台开启「接收语音识别结果」后再说一次。"
                 "回复「帮助」查看全部指令。")
NO_RESULT_TRY = "试试这些分类或专栏（直接回复名称即可）："
IN_BODY = "  ↳ 正文：{snippet}"
