"""Set-Cookie parser following RFC 6265bis (draft-ietf-httpbis-rfc6265bis) §5.6.

The §5.6 algorithm is deliberately lenient: it never rejects an attribute list, it ignores
what it cannot use. This parser mirrors it and records each ignored piece as a Problem.
Exactly one Set-Cookie field line is parsed at a time: Set-Cookie must never be comma-split
(RFC 9110 §5.3), because Expires dates contain commas.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ._text import ascii_lower, shown
from .problems import Problem

__all__ = ["SetCookie", "domain_rejection", "parse_set_cookie"]

_WSP = " \t"
# §5.6 step 1: CTLs except HTAB make the UA ignore the whole line.
_CTL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_MAX_NAME_VALUE = 4096  # §5.6 step 5 (octets)
_MAX_ATTRIBUTE_VALUE = 1024  # §5.6 "If the attribute-value is longer than 1024 octets"
_MAX_AGE = re.compile(r"-?[0-9]+")  # §5.6.2: optional "-" then DIGITs

# §5.1.1 cookie-date tokenisation: delimiter = %x09 / %x20-2F / %x3B-40 / %x5B-60 / %x7B-7E.
_DATE_DELIMITERS = re.compile(r"[\x09\x20-\x2f\x3b-\x40\x5b-\x60\x7b-\x7e]+")
# Each production may be followed by ( non-digit *OCTET ), hence the optional tail.
_DATE_TIME = re.compile(r"([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[^0-9].*)?", re.S)
_DATE_DAY = re.compile(r"([0-9]{1,2})(?:[^0-9].*)?", re.S)
_DATE_YEAR = re.compile(r"([0-9]{2,4})(?:[^0-9].*)?", re.S)
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_SAMESITE_VALUES = frozenset({"strict", "lax", "none"})
_PREFIXES = ("__secure-", "__host-", "__http-")


def _octets(s: str) -> int:
    """UTF-8 length, without failing on lone surrogates (surrogateescape input)."""
    return len(s) if s.isascii() else len(s.encode("utf-8", "surrogatepass"))


def parse_cookie_date(text: str) -> datetime | None:
    """§5.1.1 cookie-date algorithm; returns an aware UTC datetime or None on failure.

    Tolerates RFC 1123, RFC 850 ("Wednesday, 21-Oct-15 …") and asctime formats because it
    only looks for a time, a day, a month name and a year among delimiter-separated tokens.
    """
    time: tuple[int, int, int] | None = None
    day = month = year = None
    for token in _DATE_DELIMITERS.split(text):
        if not token:
            continue
        if time is None and (m := _DATE_TIME.fullmatch(token)) is not None:
            time = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
        elif day is None and (m := _DATE_DAY.fullmatch(token)) is not None:
            day = int(m.group(1))
        elif month is None and (mo := _MONTHS.get(ascii_lower(token[:3]))) is not None:
            month = mo
        elif year is None and (m := _DATE_YEAR.fullmatch(token)) is not None:
            year = int(m.group(1))
    if time is None or day is None or month is None or year is None:
        return None
    if 70 <= year <= 99:  # §5.1.1 step 3-4: two-digit years
        year += 1900
    elif 0 <= year <= 69:
        year += 2000
    hour, minute, second = time
    if not 1 <= day <= 31 or year < 1601 or hour > 23 or minute > 59 or second > 59:
        return None
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:  # e.g. 31 Feb: "the date does not exist", §5.1.1 step 6
        return None


@dataclass(frozen=True, slots=True)
class SetCookie:
    """One Set-Cookie line as a user agent would understand it.

    `domain` is the §5.6.3 cookie-domain (leading "." removed, lowercased); `path` is None when
    absent or not starting with "/" (the UA then uses the default-path, §5.6.4).
    """

    name: str
    value: str
    secure: bool
    httponly: bool
    samesite: str | None
    domain: str | None
    path: str | None
    expires: datetime | None
    max_age: int | None
    problems: tuple[Problem, ...]

    def is_deletion(self, now: datetime) -> bool:
        """True when the cookie expires on arrival: Max-Age <= 0, or Expires <= now.

        Max-Age wins over Expires whenever both are present (§5.7 storage model, step "If the
        cookie-attribute-list contains an attribute with an attribute-name of Max-Age").
        """
        if self.max_age is not None:
            return self.max_age <= 0
        if self.expires is None:
            return False
        if now.tzinfo is None:  # be lenient with naive datetimes: treat them as UTC
            now = now.replace(tzinfo=timezone.utc)
        return self.expires <= now

    def prefix_problems(self) -> tuple[Problem, ...]:
        """Requirements of the cookie name prefixes (§4.1.3), matched case-insensitively.

        A UA drops the whole cookie when one is unmet, so every problem here is fatal.
        """
        lname = ascii_lower(self.name[:13])
        out: list[Problem] = []
        who = shown(self.name)
        if not self.name:
            # §5.7: a nameless cookie whose value looks prefixed is dropped (prefix spoofing).
            if ascii_lower(self.value[:9]).startswith(_PREFIXES):
                out.append(Problem("prefix.nameless", f"nameless cookie with value {shown(self.value)}", True))
            return tuple(out)
        host = lname.startswith("__host-")
        http = lname.startswith("__http-") or lname.startswith("__host-http-")
        if (host or http or lname.startswith("__secure-")) and not self.secure:
            out.append(Problem("prefix.secure_missing", f"{who} requires Secure", True))
        if host:
            if self.path != "/":
                out.append(Problem("prefix.path_not_root", f"{who} requires Path=/", True))
            if self.domain is not None:
                out.append(Problem("prefix.domain_present", f"{who} must not have a Domain attribute", True))
        if http and not self.httponly:
            out.append(Problem("prefix.httponly_missing", f"{who} requires HttpOnly", True))
        return tuple(out)


def parse_set_cookie(line: str) -> SetCookie:
    """Parse one Set-Cookie field line per §5.6; never raises."""
    problems: list[Problem] = []
    m = _CTL.search(line)
    if m is not None:
        problems.append(
            Problem("cookie.control_chars", f"control character {m.group()!r} at offset {m.start()}", True)
        )

    pair, _, attributes = line.partition(";")
    name, eq, value = pair.partition("=")
    if not eq:
        # §5.6 step 3: no "=" means an empty name and the whole pair as value.
        name, value = "", pair
        problems.append(Problem("cookie.no_equals", f"no '=' in name-value pair {shown(pair.strip(_WSP))}"))
    name = name.strip(_WSP)
    value = value.strip(_WSP)
    if not name and not value:
        problems.append(Problem("cookie.empty", "empty cookie name and value", True))
    elif len(name) + len(value) > _MAX_NAME_VALUE and _octets(name) + _octets(value) > _MAX_NAME_VALUE:
        problems.append(Problem("cookie.too_large", f"name+value exceed {_MAX_NAME_VALUE} octets", True))

    secure = httponly = False
    samesite: str | None = None
    domain: str | None = None
    path: str | None = None
    expires: datetime | None = None
    max_age: int | None = None

    # Every assignment below overwrites: the last *usable* occurrence wins (§5.7), and an
    # ignored cookie-av is never appended, so it cannot override an earlier valid one.
    for av in attributes.split(";") if attributes else ():
        aname, _, aval = av.partition("=")
        aname = ascii_lower(aname.strip(_WSP))
        aval = aval.strip(_WSP)
        if not aname:
            continue
        if len(aval) > _MAX_ATTRIBUTE_VALUE and _octets(aval) > _MAX_ATTRIBUTE_VALUE:
            problems.append(Problem("attribute.too_long", f"{aname} value over {_MAX_ATTRIBUTE_VALUE} octets ignored"))
            continue
        if aname == "secure":
            secure = True
        elif aname == "httponly":
            httponly = True
        elif aname == "samesite":
            samesite = ascii_lower(aval)
            if samesite not in _SAMESITE_VALUES:
                problems.append(Problem("samesite.invalid", f"SameSite value {shown(aval)} is not Strict/Lax/None"))
        elif aname == "expires":
            parsed = parse_cookie_date(aval)
            if parsed is None:
                problems.append(Problem("expires.invalid", f"Expires {shown(aval)} is not a cookie-date"))
            else:
                expires = parsed
        elif aname == "max-age":
            if _MAX_AGE.fullmatch(aval):  # at most 1024 digits here, so int() is cheap
                max_age = int(aval)
            else:
                problems.append(Problem("max_age.invalid", f"Max-Age {shown(aval)} is not an integer"))
        elif aname == "domain":
            if aval:  # §5.6.3: an empty Domain SHOULD be ignored
                domain = ascii_lower(aval[1:] if aval.startswith(".") else aval)
        elif aname == "path":
            # §5.6.4: a value not starting with "/" means the default-path.
            if aval.startswith("/"):
                path = aval
            else:
                path = None
                if aval:
                    problems.append(Problem("path.invalid", f"Path {shown(aval)} does not start with '/'"))

    return SetCookie(name, value, secure, httponly, samesite, domain, path, expires, max_age, tuple(problems))


_PSL: Any = None


def _is_public_suffix(domain: str) -> bool:
    """The Public Suffix List, ICANN and private sections, as browsers apply it to cookies,
    from the maintained `publicsuffixlist` package (loaded once, when first needed)."""
    global _PSL
    if _PSL is None:
        from publicsuffixlist import PublicSuffixList

        _PSL = PublicSuffixList()
    return bool(_PSL.is_public(domain))


def _canonical_host(name: str) -> str:
    """RFC 6265bis §5.1.2 canonicalized host name: lower case, A-labels, no trailing dot."""
    name = name.rstrip(".").lower()
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            pass
    return name


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def domain_rejection(domain: str | None, host: str) -> str | None:
    """Why the browser would not store a cookie with this Domain attribute sent by `host`, or
    None (RFC 6265bis §5.7 storage model, steps on the Domain attribute):
    - a Domain that is a public suffix is refused, unless it is the host itself (then the
      cookie is host-only);
    - a Domain the host does not domain-match (§5.1.3: equal, or the host ends with "." and
      the domain, and is not an IP address) is refused."""
    if not domain:
        return None
    domain, host = _canonical_host(domain), _canonical_host(host)
    if not domain or not host:
        return None
    if _is_public_suffix(domain):
        return None if domain == host else f"Domain={domain} is a public suffix"
    if host == domain or (host.endswith("." + domain) and not _is_ip(host)):
        return None
    return f"Domain={domain} does not match the host {host}"
