"""Pure text rules for articles: preview, chat rendering, message splitting, prices, slugs.

Each rule lives here once; the importer, the dialogs and the reader page all call these.

Price text style: free is "免费"; otherwise the amount in yuan with trailing zeros dropped and
"元" appended ("9.9元", "10元", "0.01元"), the way Chinese shops write prices in running text.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from decimal import Decimal, InvalidOperation

import nh3

PREVIEW_MARKER = "<!-- 试读至此 -->"
# The marker as found in bodies: spacing inside and around the comment does not matter.
_MARKER = re.compile(r"[ \t]*<!--\s*试读至此\s*-->[ \t]*")

# One or more blank (or whitespace-only) lines: the paragraph boundary.
_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n)+")
# A sentence: text up to and including its end mark(s) and any closing quotes or brackets.
_SENTENCE = re.compile(r"[^。！？；\n]*[。！？；\n]+[”’」』）)]*|[^。！？；\n]+")
# The smallest limit that always fits one character (UTF-8 uses at most 4 bytes).
_MIN_LIMIT = 4

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+")
_RULE = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
_HTML_COMMENT = re.compile(r"<!--.*?-->")
_INLINE_CODE = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(r"!?\[([^\]]*)\]\(\s*([^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
# Only the '**' form: '__' would turn a bare __init__ in prose into "init".
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
CODE_INDENT = "    "


# ---------------------------------------------------------------- preview


def preview(body: str, share: float = 0.3) -> str:
    """The free part of an article.

    With the marker: everything before it (an author may put it first to give no preview).
    Without it: the longest run of leading paragraphs that stays within `share` of the body's
    length, and at least the first paragraph -- a cut that errs on the side of giving away less.
    """
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share!r}")
    head, found, _ = _split_at_marker(body)
    if found:
        return head.strip("\n").rstrip()
    paragraphs = _paragraphs(body)
    if not paragraphs:
        return ""
    budget = share * len(body.strip())
    taken = [paragraphs[0]]
    used = len(paragraphs[0])
    for paragraph in paragraphs[1:]:
        used += 2 + len(paragraph)
        if used > budget:
            break
        taken.append(paragraph)
    return "\n\n".join(taken)


def full_text(body: str) -> str:
    """The whole article without the preview marker (the line is removed, paragraphs stay apart)."""
    head, found, tail = _split_at_marker(body)
    if not found:
        return body
    head, tail = head.strip("\n").rstrip(), tail.strip("\n")
    return f"{head}\n\n{tail}" if head and tail else head or tail


def _split_at_marker(body: str) -> tuple[str, bool, str]:
    match = _MARKER.search(body)
    if match is None:
        return body, False, ""
    return body[: match.start()], True, body[match.end():]


_CHAT_HEADING = re.compile(r"【[^\n]*】")


def _paragraphs(text: str) -> list[str]:
    """Non-empty paragraphs, separated by blank lines (a blank line inside fenced code counts too)."""
    return [p.strip("\n").rstrip() for p in _BLANK_LINES.split(text) if p.strip()]


# ---------------------------------------------------------------- chat rendering


def to_chat(markdown: str) -> str:
    """Markdown as a plain WeChat text message.

    Headings become "【标题】", bullets "· ", fenced code plain indented lines, inline code loses its
    backticks, links read "text（url）" (images too), bold markers and HTML comments (such as the
    preview marker) disappear, rules are dropped. Paragraph breaks stay; trailing spaces do not.
    """
    lines: list[str] = []
    in_code = False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            in_code = not in_code
            continue
        if in_code:
            lines.append(f"{CODE_INDENT}{line}".rstrip())
        else:
            lines.append(_chat_line(line))
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def _chat_line(line: str) -> str:
    line = _HTML_COMMENT.sub("", line)
    if _RULE.match(line):
        return ""
    heading = _HEADING.match(line)
    if heading:
        return f"【{_inline(heading.group(1))}】"
    bullet = _BULLET.match(line)
    if bullet:
        return f"{bullet.group(1)}· {_inline(line[bullet.end():])}".rstrip()
    return _inline(line).rstrip()


def _inline(text: str) -> str:
    """Inline Markdown to plain text; code spans are copied verbatim, without their backticks."""
    out: list[str] = []
    position = 0
    for code in _INLINE_CODE.finditer(text):
        out.append(_inline_prose(text[position: code.start()]))
        out.append(code.group(2).strip() if code.group(1) != "`" else code.group(2))
        position = code.end()
    out.append(_inline_prose(text[position:]))
    return "".join(out)


def _inline_prose(text: str) -> str:
    text = _strip_html(text)
    text = _LINK.sub(lambda m: f"{m.group(1)}（{m.group(2)}）" if m.group(1) else m.group(2), text)
    return _BOLD.sub(r"\1", text)


def _strip_html(text: str) -> str:
    """Tags out, their text kept (script and style lose their content too); entities read as characters.

    A cheap check first: most prose holds no '<' at all.
    """
    if "<" not in text:
        return text
    return html.unescape(nh3.clean(text, tags=set(), clean_content_tags={"script", "style"}))


# ---------------------------------------------------------------- splitting for chat


def split_for_chat(text: str, limit: int = 2000) -> list[str]:
    """Cut `text` into messages of at most `limit` UTF-8 bytes each.

    Paragraphs (separated by blank lines) are packed greedily, so cuts fall between paragraphs
    where they can. A paragraph over the limit is cut after sentence ends (。！？；or a line
    break), and a sentence over the limit at the last whole character that fits.
    """
    if limit < _MIN_LIMIT:
        raise ValueError(f"limit must be at least {_MIN_LIMIT} bytes, got {limit}")
    units: list[str] = []
    for paragraph in _headings_kept_with_text(_paragraphs(text), limit):
        if _size(paragraph) <= limit:
            units.append(paragraph)
        else:
            sentences = (piece for s in _SENTENCE.findall(paragraph) for piece in _hard_split(s, limit))
            units.extend(_pack(sentences, "", limit))
    parts = (part.strip("\n").rstrip() for part in _pack(units, "\n\n", limit))
    return [part for part in parts if part.strip()]


def _headings_kept_with_text(paragraphs: list[str], limit: int) -> list[str]:
    """A 【heading】 travels with the paragraph after it, so no message ends on a bare heading."""
    kept: list[str] = []
    for paragraph in paragraphs:
        if kept and _CHAT_HEADING.fullmatch(kept[-1]) and _size(kept[-1]) + 2 + _size(paragraph) <= limit:
            kept[-1] = f"{kept[-1]}\n\n{paragraph}"
        else:
            kept.append(paragraph)
    return kept


def _pack(units, separator: str, limit: int) -> list[str]:
    """Join consecutive units with `separator` while the result stays within `limit` bytes.

    Every unit must itself fit within `limit`.
    """
    parts: list[str] = []
    current, current_size = "", 0
    separator_size = _size(separator)
    for unit in units:
        unit_size = _size(unit)
        if current and current_size + separator_size + unit_size <= limit:
            current += separator + unit
            current_size += separator_size + unit_size
            continue
        if current:
            parts.append(current)
        current, current_size = unit, unit_size
    if current:
        parts.append(current)
    return parts


def _hard_split(text: str, limit: int) -> list[str]:
    """Cut at character boundaries into pieces of at most `limit` bytes."""
    pieces = []
    data = text.encode()
    while data:
        piece = data[:limit].decode("utf-8", errors="ignore")  # drops a trailing partial character
        pieces.append(piece)
        data = data[len(piece.encode()):]
    return pieces


def _size(text: str) -> int:
    return len(text.encode())


# ---------------------------------------------------------------- prices


def yuan_to_fen(value: object) -> int:
    """A price in yuan (str, int, float or None) as integer fen. None means free.

    Raises ValueError, naming the value, for negatives, fractions of a fen, and non-numbers.
    Floats go through their shortest repr, so 9.9 is exactly 990 fen.
    """
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"bad price {value!r}: not a number")
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else repr(value))
    except InvalidOperation:
        raise ValueError(f"bad price {value!r}: not a number") from None
    if not amount.is_finite():
        raise ValueError(f"bad price {value!r}: not a number")
    if amount < 0:
        raise ValueError(f"bad price {value!r}: negative")
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"bad price {value!r}: more than 2 decimals")
    return int(fen)


def fen_to_yuan_text(fen: int) -> str:
    """"免费" for 0, else yuan without trailing zeros plus "元": 990 -> "9.9元", 1000 -> "10元"."""
    if fen < 0:
        raise ValueError(f"negative price {fen!r}")
    if fen == 0:
        return "免费"
    yuan = Decimal(fen) / 100
    return f"{yuan.quantize(Decimal('0.01')).normalize():f}元"


# ---------------------------------------------------------------- slugs


def stable_slug(title: str) -> str:
    """"a-" + the first 10 hex digits of SHA-1 over the NFKC-normalised, stripped title."""
    normalised = unicodedata.normalize("NFKC", title).strip()
    return "a-" + hashlib.sha1(normalised.encode()).hexdigest()[:10]


# ---------------------------------------------------------------- the preview point of a new article


def paragraphs(body: str) -> list[str]:
    """The paragraphs of an article, without its preview marker."""
    return _paragraphs(full_text(body))


def mark_preview(body: str, free_paragraphs: int) -> str:
    """The body with the preview marker after its first `free_paragraphs` paragraphs (0: nothing free)."""
    parts = paragraphs(body)
    return "\n\n".join(parts[:free_paragraphs] + [PREVIEW_MARKER] + parts[free_paragraphs:])
