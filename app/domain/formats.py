r"""The shapes of formatted strings in job payloads, written once for two checkers.

The payload models (`app.domain.payloads`) check these with Python's `re`; the
enqueue path checks the same text with PostgreSQL's regular expressions
(`queue.payload_fields`, written by `migrate`). So every pattern keeps to what
both dialects read alike: anchors, classes, `\d`, counted repeats, `(?:...)`
groups and alternation; no lookaround, no backreferences.
"""

# Canonical, hyphenated, either case; the braced, URN and unhyphenated forms
# that a UUID parser also reads are not taken, so both checkers agree.
UUID = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"

# ISO 8601: a date, or a date and a time to the second (fraction to the
# microsecond), with `Z` or an offset. Both checkers then parse it, so
# 2024-02-30 is refused as well.
TIMESTAMP = (
    r"^\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})?)?$"
)

# An address as mail systems take it: a dot-atom local part (no leading,
# trailing or doubled dot) and a domain of letter-digit-hyphen labels with a
# top-level label of letters.
EMAIL = (
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
EMAIL_MAX_LENGTH = 254

# http(s), a host name (its last label begins with a letter) or an IPv4
# address, a port up to 65535, then a path, query and fragment of URL
# characters (no spaces, no control characters). IPv6 literals are not taken:
# a subscriber has a name.
_PORT = r"(?:6553[0-5]|655[0-2]\d|65[0-4]\d{2}|6[0-4]\d{3}|[1-5]\d{4}|\d{1,4})"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_HOST = (
    rf"(?:(?:{_LABEL}\.)*[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?"
    rf"|{_OCTET}(?:\.{_OCTET}){{3}})"
)
HTTP_URL = (
    r"^[Hh][Tt][Tt][Pp][Ss]?://"
    + _HOST
    + rf"(?::{_PORT})?(?:[/?#][A-Za-z0-9._~!$&'()*+,;=:@%/?#-]*)?$"
)
HTTP_URL_MAX_LENGTH = 2083
