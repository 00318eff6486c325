"""The CJK font every chart is set in: WenQuanYi Micro Hei from the `paperang-p2-fonts-cjk` wheel (pinned in
requirements.txt), so a fresh `./dev run` draws Chinese labels without any system font package."""

from __future__ import annotations

import functools
from pathlib import Path

import paperang_p2_fonts_cjk
from matplotlib import font_manager

FONT_FILE = Path(paperang_p2_fonts_cjk.__file__).parent / "fonts" / "wqy-microhei.ttc"


@functools.cache
def cjk_family() -> str:
    """Register the font with matplotlib once; its family name for `font.family`."""
    font_manager.fontManager.addfont(str(FONT_FILE))
    return font_manager.FontProperties(fname=str(FONT_FILE)).get_name()
