"""The usual disguises of a credential value: what a leak check looks for besides the value.

An agent told to "save the environment" may write ``base64 <<< $KEY``, a URL with
the key in its query, the key reversed, or the key cut into lines. Each form
:func:`encoded_forms` gives is text that only that value makes:

- **base64** (standard and URL-safe alphabets), at each of the three byte
  alignments the value can have inside a longer encoded text: only the
  characters that encode the value's bytes alone are kept;
- **URL-encoding**: ``%XX`` for the reserved characters (upper and lower case
  hex, ``+`` for a space too), and every byte as ``%XX``;
- **reversed**, and **hex** (lower and upper case).

Split across lines is the search's business: the check also looks at the
content with its whitespace removed (:func:`squeeze`).
"""

from __future__ import annotations

import base64
import re
from urllib.parse import quote, quote_plus

#: Forms shorter than this are not looked for (too many false alarms).
MIN_FORM_LENGTH = 8

_WHITESPACE = b" \t\r\n\v\f"
_PERCENT = re.compile(r"%[0-9A-F]{2}")


def _base64_forms(data: bytes) -> list[str]:
    forms = []
    for offset in range(3):
        padded = b"\0" * offset + data
        whole = (len(padded) // 3) * 4  # characters of complete 3-byte groups
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(padded).decode("ascii")[4 if offset else 0 : whole]
            forms.append(text)
    return forms


def _url_forms(value: str) -> list[str]:
    data = value.encode("utf-8")
    every = "".join(f"%{byte:02X}" for byte in data)
    forms = [quote(value, safe=""), quote_plus(value, safe=""), every]
    forms += [_PERCENT.sub(lambda m: m.group(0).lower(), form) for form in forms]
    return forms


def encoded_forms(value: str) -> list[str]:
    """The disguised forms of ``value`` worth looking for (not the value itself), longest first."""
    data = value.encode("utf-8")
    forms = {
        *_base64_forms(data),
        *_url_forms(value),
        value[::-1],
        data.hex(),
        data.hex().upper(),
    }
    forms.discard(value)
    return sorted((f for f in forms if len(f) >= MIN_FORM_LENGTH), key=lambda f: (-len(f), f))


def squeeze(data: bytes) -> bytes:
    """``data`` without its whitespace: a value cut into lines is whole again."""
    return data.translate(None, _WHITESPACE)
