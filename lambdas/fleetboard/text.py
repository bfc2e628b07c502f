"""How text reads for people, in one place: numbers the rules and the page agree on, and the
one scrubber every source passes an exception's words through before they become a reason."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import timedelta


def latency(ms: float | None) -> str:
    """`41 ms`, `1.2 s`, or a dash when there was no answer."""
    if ms is None:
        return "—"
    if ms >= 1000:
        return f"{ms / 1000:.1f} s"
    return f"{ms:.0f} ms"


# --------------------------------------------------------------------------- scrubbing

#: A reason's longest form: one line a person reads, never a dump of a request.
REASON_CHARS = 400
#: Shown where something was taken out.
HIDDEN = "***"
#: Shown for a whole header (name and value) that carries a credential.
CREDENTIAL_HEADER = "<credential header omitted>"

#: scheme://[userinfo@]host[:port][/path][?query][#fragment] -> scheme://host[:port]
_URL = re.compile(
    r"(?i)\b(?P<scheme>[a-z][a-z0-9+.-]{1,15})://"
    r"(?:[^\s/?#@'\"<>]*@)?"
    r"(?P<host>\[[0-9a-f:.]+\]|[^\s/?#@:'\"<>\\]+)"
    r"(?P<port>:\d{1,5})?"
    r"(?:[/?#][^\s'\"<>]*)?"
)
#: urllib3's "Max retries exceeded with url: /path?query (Caused by ...)".
_URL_FIELD = re.compile(r"(?i)\b(url:?\s+)(?:/|\?)\S*")
#: A query string left on its own: `?key=value&...`.
_QUERY = re.compile(r"\?[^\s'\"<>?]*=[^\s'\"<>]*")
#: SigV4: the whole Authorization value, wherever it is quoted or printed.
_SIGV4 = re.compile(r"AWS4-HMAC-SHA256\b[^'\"\n]*")
#: SigV4's parts on their own, in a header or a presigned query.
_SIGV4_PARTS = re.compile(
    r"(?i)\b((?:X-Amz-)?(?:Credential|Signature|SignedHeaders|Security-Token)\s*=\s*)[^\s,;&'\"]+"
)
#: Header lines (or dict reprs) whose value is a credential.
_SECRET_HEADER = re.compile(
    r"(?i)(['\"]?\b(?:authorization|proxy-authorization|x-amz-security-token|"
    r"x-amz-content-sha256|cookie|set-cookie|x-api-key|api-key|private-token)['\"]?"
    r"\s*[:=]\s*)(?:b?'[^']*'|b?\"[^\"]*\"|[^\n,;}]+)"
)
#: `name=value` pairs whose value is a credential (config dumps, query strings, env lines).
#: (Prose such as "token: check ..." keeps its words: the plain names need an `=`.)
_SECRET_PAIR = re.compile(
    r"(?i)\b(?:((?:aws_)?(?:secret_access_key|access_key_id|session_token|security_token)|"
    r"api[_-]?key|apikey|access[_-]?token|auth[_-]?token|client[_-]?secret)(\s*[=:]\s*)|"
    r"(token|secret|password|passwd|key|sig|signature)(\s*=\s*))(?!\*\*\*)[^\s,;&'\"}]+"
)
#: A scheme word followed by a credential: `Bearer abc`, `token ghp_...`, `Basic dXNl...`.
_AUTH_SCHEME = re.compile(
    r"(?i)\b(Bearer|Basic|Digest|token)\s+(?=[A-Za-z0-9._~+/=-]*\d)[A-Za-z0-9._~+/=-]{8,}"
)
#: Credentials recognisable on sight.
_KNOWN_TOKENS = (
    (
        re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA|AIPA|ANPA|ANVA|AGPA)[A-Z0-9]{12,}\b"),
        "<access key id>",
    ),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b"), HIDDEN),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}\b"), HIDDEN),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"), HIDDEN),  # JWT
)
#: IAM's long opaque blob in AccessDenied messages.
_ENCODED_AUTH = re.compile(r"(?i)(Encoded authorization failure message:)\s*\S+")
#: A long run of key-like characters (a signature, a session token): kept out whatever it
#: is, since nothing a person acts on looks like that. No '/', so paths are left alone.
_LONG_TOKEN = re.compile(
    r"(?<![\w/+=.-])(?=[A-Za-z0-9+=_-]*\d)(?=[A-Za-z0-9+=_-]*[A-Za-z])"
    r"[A-Za-z0-9+=_-]{40,}(?![\w+=-])"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WHITESPACE = re.compile(r"\s+")
#: Secrets shorter than this are not replaced: "/" or "a" would shred the whole text.
_MIN_SECRET_CHARS = 4


def scrub(text: str, secrets: Iterable[str] = (), *, limit: int = REASON_CHARS) -> str:
    """`text` (an exception's words, a server's message) made safe for a reason: one line, at
    most `limit` characters, with every given secret, header value, signature, credential,
    URL path, query and userinfo taken out; a URL keeps its scheme, host and port.

        >>> scrub("GET https://user:pw@rpc.example.com/v3/KEY?apikey=x failed")
        'GET https://rpc.example.com failed'
        >>> scrub("Authorization: Bearer s3cr3t-t0ken-value", secrets=["s3cr3t-t0ken-value"])
        '<credential header omitted>'
    """
    for secret in sorted({s for s in secrets if s and len(s) >= _MIN_SECRET_CHARS}, key=len)[::-1]:
        text = text.replace(secret, HIDDEN)
    # Header and parameter names go too: "Authorization", "Credential=" are what a grep for
    # leaked request detail looks for, and their values were the point anyway.
    text = _SIGV4.sub(f"AWS4-HMAC-SHA256 {HIDDEN}", text)
    text = _SECRET_HEADER.sub(CREDENTIAL_HEADER, text)
    text = _SIGV4_PARTS.sub(HIDDEN, text)
    text = _URL.sub(lambda m: f"{m['scheme']}://{m['host']}{m['port'] or ''}", text)
    text = _URL_FIELD.sub(r"\1(path omitted)", text)
    text = _QUERY.sub(f"?{HIDDEN}", text)
    text = _AUTH_SCHEME.sub(rf"\1 {HIDDEN}", text)
    for pattern, replacement in _KNOWN_TOKENS:
        text = pattern.sub(replacement, text)
    text = _SECRET_PAIR.sub(lambda m: f"{m[1] or m[3]}{m[2] or m[4]}{HIDDEN}", text)
    text = _ENCODED_AUTH.sub(r"\1 (omitted)", text)
    text = _LONG_TOKEN.sub(HIDDEN, text)
    # Escaped newlines from a bytes repr ("\\n") read as text; real ones become spaces.
    text = _CONTROL.sub("?", text.replace("\\r", " ").replace("\\n", " "))
    text = _WHITESPACE.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


#: What `mask` takes out of a line someone else wrote (a service's log), beside the
#: credentials scrub knows on sight. A private key: a PEM block, or 64 hex digits after 0x.
_PEM_KEY = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S
)
_HEX_KEY = re.compile(r"\b0x[0-9a-fA-F]{64}(?![0-9a-fA-F])")
#: `Bearer <anything>`: a bearer token, whatever characters it has.
_BEARER = re.compile(r"(?i)\b(Bearer)\s+[A-Za-z0-9._~+/=-]+")
#: A URL's user name and password: `scheme://user:pass@host` keeps `scheme://***@host`.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{1,15}://)[^\s/?#@'\"<>]+@")
#: `password=...`, `"token": "..."`, `DB_SECRET: ...`, `api-key=...`: a name that says
#: secret, an `=` or `:`, and the value (quoted, or up to the next space, comma, `;`, `&`:
#: a `)` after it goes too, since a secret may hold one and none of it may show).
_NAMED_SECRET = re.compile(
    r"(?i)(['\"]?\b[\w.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|"
    r"private[_-]?key|access[_-]?key|credential)[\w.-]*['\"]?\s*[=:]\s*)"
    r"(?:\"[^\"]*\"|'[^']*'|(?!\*\*\*)[^\s,;&'\"}]+)"
)


def mask(text: str) -> str:
    """`text` (a line a service logged) with every secret it may carry replaced by `***`:
    private keys (a PEM block, 64 hex digits after 0x), bearer and other tokens, AWS
    access keys, JWTs, the values of `password=`, `token:`, `secret=` and their kin, a
    URL's user name and password, credential headers and SigV4 signatures. Unlike
    `scrub`, it keeps the rest as written (paths, hosts, ids: what a person reads a log
    line for), and its length: the caller caps it after, so no secret is cut in two and
    half shown. The one masking of log lines: the source calls it before anything is kept
    or shown.

        >>> mask("login failed for https://bob:hunter2@db.internal/x password=hunter2")
        'login failed for https://***@db.internal/x password=***'
    """
    text = _PEM_KEY.sub(HIDDEN, text)
    text = _SIGV4.sub(f"AWS4-HMAC-SHA256 {HIDDEN}", text)
    text = _SECRET_HEADER.sub(CREDENTIAL_HEADER, text)
    text = _SIGV4_PARTS.sub(HIDDEN, text)
    text = _URL_USERINFO.sub(rf"\1{HIDDEN}@", text)
    text = _BEARER.sub(rf"\1 {HIDDEN}", text)
    text = _AUTH_SCHEME.sub(rf"\1 {HIDDEN}", text)
    for pattern, replacement in _KNOWN_TOKENS:
        text = pattern.sub(replacement, text)
    text = _HEX_KEY.sub(f"0x{HIDDEN}", text)
    text = _NAMED_SECRET.sub(rf"\1{HIDDEN}", text)
    return _SECRET_PAIR.sub(lambda m: f"{m[1] or m[3]}{m[2] or m[4]}{HIDDEN}", text)


def visible(text: str, cap: int = 60) -> str:
    r"""`text` with control and invisible characters shown as escapes (`\x00`, `\u202e`),
    at most `cap` characters, cut with "…". The page escapes HTML itself: this only makes
    sure nothing raw or invisible reaches it."""
    out: list[str] = []
    size = 0
    for ch in text:
        shown = ch if ch == " " or unicodedata.category(ch)[0] not in "CZ" else ascii(ch)[1:-1]
        if size + len(shown) > cap:  # over: make room for the "…", never half an escape
            while out and size + 1 > cap:
                size -= len(out.pop())
            return "".join(out) + "…"
        out.append(shown)
        size += len(shown)
    return "".join(out)


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """ "1 run", "2 runs": a count with its noun in the right number."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def duration(lasted: timedelta) -> str:
    """`under 1 min`, `14 min`, `2 h 5 min`, `1 day 3 h`, `6 days`: floored, never rounded
    up (a board says no more than it saw)."""
    minutes = max(0, int(lasted.total_seconds()) // 60)
    if minutes < 1:
        return "under 1 min"
    hours, minutes = divmod(minutes, 60)
    if hours < 1:
        return f"{minutes} min"
    days, hours = divmod(hours, 24)
    if days < 1:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if days < 2:
        return f"1 day {hours} h" if hours else "1 day"
    return f"{days} days"
