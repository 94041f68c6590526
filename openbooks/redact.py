"""Credentials taken out of text before it is printed or stored.

``redact(text)`` replaces, wherever they stand in a message, a config's
JSON or a run's parameters:

- the user-info of a URL (``https://user:pass@host`` → ``https://***@host``);
- the value of a query-string key that looks like a credential
  (``?api_key=…``, ``token``, ``secret``, ``password``, ``signature``, ``auth`` …);
- the value of a libpq keyword of the same kind (``password=…`` in a DSN);
- a bearer token (``Bearer abc…``).

``redact_data`` does the same through nested dicts and lists, and replaces
the whole value of a key that names a credential (``password``,
``webhook_url``, ``api_key`` …). Redacting is idempotent: redacted text
redacts to itself.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"

# A key whose value is a credential (api_key, access_token, client_secret,
# password, auth, signature, x-amz-credential, key, sig …); not a name of
# one (``password_env``) nor a count (``output_tokens``).
_WORD = r"(?:api[_\-]?key|apikey|access[_\-]?key|token(?!s|_count)|secret|passw(?:or)?d|pwd|auth(?:orization)?|signature|credential|private[_\-]?key)"
_SECRET_KEY = rf"(?:[A-Za-z0-9_\-]*\.)*(?:[A-Za-z0-9_\-]*{_WORD}[A-Za-z0-9_\-]*(?<!_env)|key|sig|pass)"
_USER_INFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<info>[^/@\s?#'\"]+)@")
_QUERY_VALUE = re.compile(rf"(?P<key>[?&;]{_SECRET_KEY}=)(?P<value>[^&#\s'\"]+)", re.IGNORECASE)
_VALUE = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s,'"{}\[\]()]+"""
_KEYWORD_VALUE = re.compile(
    rf"(?P<key>(?:^|(?<=[\s,{{(]))(?:{_SECRET_KEY}\s*=\s*|(?P<q>['\"]){_SECRET_KEY}(?P=q)\s*[:=]\s*))(?P<value>{_VALUE})",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<key>\bBearer\s+)(?P<value>[A-Za-z0-9._~+/\-]+=*)", re.IGNORECASE)
# Keys of structured data (config sections, parameters) whose whole value is secret.
_SECRET_FIELD = re.compile(rf"^(?:{_SECRET_KEY}|webhook[_\-]?url)$", re.IGNORECASE)


def _masked(match: re.Match) -> str:
    return match["key"] + (MASK if match["value"] != MASK else match["value"])


def redact(text: Any) -> Any:
    """``text`` with credentials replaced by ``***``; anything not a string as it is."""
    if not isinstance(text, str) or not text:
        return text
    text = _USER_INFO.sub(lambda m: m["scheme"] + MASK + "@", text)
    text = _QUERY_VALUE.sub(_masked, text)
    text = _KEYWORD_VALUE.sub(_keyword_masked, text)
    return _BEARER.sub(_masked, text)


def _keyword_masked(match: re.Match) -> str:
    value = match["value"]
    if value.strip("'\"") in (MASK, "", "null", "None"):
        return match[0]
    return match["key"] + MASK


def redact_data(data: Any, key: str | None = None) -> Any:
    """``data`` (dicts, lists, strings) with every credential replaced by ``***``."""
    if key is not None and _SECRET_FIELD.match(key) and isinstance(data, str) and data:
        return MASK
    if isinstance(data, dict):
        return {k: redact_data(v, str(k)) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(redact_data(v) for v in data)
    return redact(data)
