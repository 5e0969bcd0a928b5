"""Review text is untrusted input on its way into a prompt: strip what hides.

Hidden HTML comments and invisible or direction-changing characters can carry
instructions a human reviewer never saw; they are removed before the text is
stored as feedback or shown to the agent.
"""

from __future__ import annotations

import re
import unicodedata

_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
# zero-width, joiners, BOM, bidi controls, tag characters, variation selectors
_INVISIBLE = re.compile(
    "[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
    "\ufe00-\ufe0f\U000e0000-\U000e007f]"
)


def clean_untrusted(text: str) -> str:
    text = _COMMENT.sub("", text)
    text = _INVISIBLE.sub("", text)
    # remaining format characters (category Cf) are invisible too
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf" or ch in "\n\t")
    lines = [line.rstrip() for line in text.splitlines()]
    return "\n".join(lines).strip()
