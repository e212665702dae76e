"""Keep secrets out of messages, logs and pages: credentials in URLs and known secret values."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
# Query parameters that carry credentials ("?key=", "?api_key=", "?token=", "?sig=", ...).
SECRET_PARAM = re.compile(r"(key|token|secret|passw(or)?d|pwd|auth|sig(nature)?|credential|session)", re.I)
# A URL anywhere in a text: scheme://[userinfo@]host[...] up to whitespace or a closing quote/bracket.
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>)\]]+")


def redact_url(url: str) -> str:
    """The URL without its password/user part and with secret-looking query values masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if SECRET_PARAM.search(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact(text: str, secrets: tuple[str, ...] | list[str] = ()) -> str:
    """`text` with every URL redacted and every known secret value replaced by ``***``."""
    text = _URL.sub(lambda m: redact_url(m.group(0)), str(text))
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    return text
