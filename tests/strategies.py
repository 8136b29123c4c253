"""Hypothesis strategies shared by the property tests (tests/test_fixes.py, tests/test_fuzz.py).

`HEADER_VALUES`/`header_sets`: realistic, well-known values (the fix-closure tests over a
narrow alphabet). `wild_*`: the same plus what a hostile or broken server sends — any
unicode, lone surrogates \\udc80-\\udcff (undecodable bytes: the addon decodes header bytes
with surrogateescape), control characters, grammar punctuation in odd places, fragments of
real values glued together, repeated lines and oddly cased names.
"""

from __future__ import annotations

from hypothesis import strategies as st

HEADER_VALUES = {
    "Content-Type": ["text/html", "text/html; charset=utf-8", "application/json", "image/png", "application/xhtml+xml"],
    "Strict-Transport-Security": ["max-age=63072000; includeSubDomains; preload", "max-age=0", "max-age=abc", "includeSubDomains", "max-age=100", 'max-age="31536000"', "max-age=1; max-age=2"],
    "Content-Security-Policy": ["default-src 'self'", "script-src * 'unsafe-inline' 'unsafe-eval'", "default-src; script-src 'nonce-abc12345' 'strict-dynamic'", "img-src http://x.example", "script-src 'self'; script-src 'unsafe-inline'", "object-src data:", "frame-ancestors 'none'", "frame-ancestors *", "script-src https://*; frame-ancestors https:", "bogus!!", ""],
    "Content-Security-Policy-Report-Only": ["script-src 'none'", "default-src 'self'"],
    "X-Frame-Options": ["DENY", "SAMEORIGIN", "ALLOW-FROM https://a.example", "DENY, SAMEORIGIN", "allowall", ""],
    "X-Content-Type-Options": ["nosniff", "NOSNIFF", "sniff", ""],
    "Referrer-Policy": ["no-referrer", "unsafe-url", "whimsy", "origin, whimsy", "strict-origin-when-cross-origin"],
    "Set-Cookie": ["sessionid=1", "sessionid=1; Secure; HttpOnly; SameSite=Strict", "theme=1; SameSite=None", "__Host-a=1; Path=/x", "__Secure-b=1", "auth_token=x; samesite=bogus", "csrftoken=1", "novalue", "sid=; Max-Age=0", "__Host-Http-c=1; Secure; Path=/", "__Http-d=1"],
    "Access-Control-Allow-Origin": ["*", "null", "https://a.example"],
    "Access-Control-Allow-Credentials": ["true"],
    "Cross-Origin-Opener-Policy": ["same-origin", '"same-origin"', "bogus"],
    "Cross-Origin-Embedder-Policy": ["require-corp", "bogus"],
    "Cross-Origin-Resource-Policy": ["same-site", "Same-Origin"],
    "Permissions-Policy": ["geolocation=()"],
    "Feature-Policy": ["camera 'none'"],
    "X-XSS-Protection": ["0", "1; mode=block"],
    "Expect-CT": ["max-age=0"],
    "Public-Key-Pins": ['pin-sha256="x"'],
    "Server": ["nginx", "Apache/2.4.1"],
    "X-Powered-By": ["PHP/8.1"],
    "X-AspNet-Version": ["4.0"],
    "Cache-Control": ["no-store", "public, max-age=600", "private"],
}

header_sets = st.lists(
    st.sampled_from(sorted(HEADER_VALUES)).flatmap(lambda name: st.tuples(st.just(name), st.sampled_from(HEADER_VALUES[name]))),
    max_size=14,
)


# ---------------------------------------------------------------- wide: arbitrary header text

SURROGATE_ESCAPES = st.integers(0xDC80, 0xDCFF).map(chr)  # what surrogateescape makes of bytes 0x80-0xff
CONTROLS = st.one_of(st.integers(0, 0x1F).map(chr), st.just("\x7f"), st.integers(0x80, 0x9F).map(chr))
PUNCTUATION = st.sampled_from(list(";,=\"'\\ \t:/*.-?()<>@[]{}"))
# Whitespace to str.strip()/str.split() but not to HTTP grammars (OWS is SP / HTAB only).
NOT_HTTP_WHITESPACE = st.sampled_from(list("\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2003\u2028\u3000"))

wild_chars = st.one_of(st.characters(), SURROGATE_ESCAPES, CONTROLS, PUNCTUATION, NOT_HTTP_WHITESPACE)
wild_text = st.text(alphabet=wild_chars, max_size=40)
# Bytes as the addon sees them: decoded UTF-8 with surrogateescape.
undecodable = st.binary(max_size=40).map(lambda raw: raw.decode("utf-8", "surrogateescape"))

FRAGMENTS = sorted({
    *(value for values in HEADER_VALUES.values() for value in values),
    "max-age=", "max-age=31536000", "max-age=0", "max-age=-1", 'max-age="1"', "includeSubDomains", "preload",
    "default-src", "script-src", "script-src-elem", "object-src", "base-uri", "frame-ancestors", "worker-src",
    "'self'", "'none'", "'unsafe-inline'", "'unsafe-eval'", "'strict-dynamic'", "'nonce-abc'", "'sha256-AAAA='",
    "*", "https:", "http:", "data:", "ws:", "ftp://a.example", "*.example.com", "https://a.example:*/p",
    "sessionid=", "__Host-", "__Secure-", "__Http-", "Secure", "HttpOnly", "SameSite=None", "SameSite=Lax",
    "Path=/", "Domain=.example.com", "Max-Age=0", "Max-Age=60", "Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    "Expires=Wed, 21 Oct 2099 07:28:00 GMT", "DENY", "SAMEORIGIN", "ALLOW-FROM", "no-referrer", "unsafe-url",
    "same-origin", "require-corp", "?1", ":YWJj:", '"x"', ';report-to="a"', "no-store", "nginx/1.2.3",
})
SEPARATORS = st.one_of(st.sampled_from(["", " ", ";", "; ", ",", ", ", "=", '"', "\t", "\r\n"]), NOT_HTTP_WHITESPACE)

wild_values = st.one_of(
    st.sampled_from(FRAGMENTS),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), SEPARATORS, wild_text, undecodable), max_size=10).map("".join),
    wild_text,
    undecodable,
)

KNOWN_NAMES = sorted({*HEADER_VALUES, "Public-Key-Pins-Report-Only", "X-Generator", "Feature-Policy", "Vary", "Date"})


def _casings(name: str) -> st.SearchStrategy[str]:
    return st.sampled_from([name, name.lower(), name.upper(), name.swapcase()])


wild_names = st.one_of(
    st.sampled_from(KNOWN_NAMES).flatmap(_casings),
    st.from_regex(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,20}", fullmatch=True),
    wild_text.filter(bool),
    undecodable.filter(bool),
)


@st.composite
def wild_header_sets(draw, max_size: int = 16) -> list[tuple[str, str]]:
    """Header lines, mostly known names with realistic or hostile values; some lines repeated."""
    known = st.sampled_from(KNOWN_NAMES).flatmap(
        lambda name: st.tuples(_casings(name), st.one_of(st.sampled_from(HEADER_VALUES.get(name, ["x"])), wild_values))
    )
    lines = draw(st.lists(st.one_of(known, known, st.tuples(wild_names, wild_values)), max_size=max_size))
    if lines and draw(st.booleans()):
        repeats = draw(st.lists(st.sampled_from(lines), max_size=4))
        positions = draw(st.lists(st.integers(0, len(lines)), min_size=len(repeats), max_size=len(repeats)))
        for line, position in zip(repeats, positions):
            lines.insert(position, line)
    return lines


schemes = st.sampled_from(["https", "http"])
statuses = st.one_of(st.sampled_from([100, 101, 103, 200, 204, 206, 301, 302, 304, 308, 404, 500, 502, 503]), st.integers(100, 599))
methods = st.sampled_from(["GET", "POST", "HEAD", "OPTIONS", "get"])
hosts = st.one_of(st.sampled_from(["www.example.com", "api.example.net", "a.test"]), wild_text, undecodable)
