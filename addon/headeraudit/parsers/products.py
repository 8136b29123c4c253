"""Server and User-Agent style product lists (RFC 9110 §10.2.4, §10.1.5):

    Server = product *( RWS ( product / comment ) )
    product = token [ "/" product-version ]      comment = "(" *( ctext / quoted-pair / comment ) ")"

and what in them discloses a version: a product-version with a digit (`nginx/1.25.3`), a bare
version number (`Apache 2.4`), a version inside a comment (`Jetty(9.4.z-SNAPSHOT)`), or an
operating system named in a comment (`(Ubuntu)`, `(Win64)`). A name alone does not
(`AmazonS3`, `hypercorn-h2`: digits in a product name are not a version), nor does a comment
of opaque ids (`ECS (dcb/7F83)`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERSION = re.compile(r"\d+(?:\.\d+)+|v?\d+(?:[._-]\w+)*")  # 1.2.3, 10.0, 2, v8, 9.4.z-SNAPSHOT
_DOTTED = re.compile(r"\b\d+\.\d+")
# Operating systems servers name in a comment (Apache's ServerTokens OS, IIS, Jetty, Tomcat).
OPERATING_SYSTEMS = frozenset({
    "unix", "linux", "ubuntu", "debian", "centos", "red hat", "red hat enterprise linux", "rhel", "fedora",
    "rocky", "almalinux", "suse", "opensuse", "alpine", "amazon", "amazon linux", "gentoo", "arch linux",
    "freebsd", "openbsd", "netbsd", "darwin", "macos", "win32", "win64", "windows", "windows nt",
})


@dataclass(frozen=True)
class Product:
    name: str
    version: str | None


@dataclass(frozen=True)
class ProductList:
    products: tuple[Product, ...]
    comments: tuple[str, ...]

    def disclosed(self) -> tuple[str, ...]:
        """What tells an attacker which software release runs, as written."""
        out = [f"{p.name}/{p.version}" for p in self.products if p.version is not None and any(c.isdigit() for c in p.version)]
        out += [p.name for p in self.products if p.version is None and _VERSION.fullmatch(p.name)]
        for comment in self.comments:
            words = {w.strip().lower() for w in re.split(r"[;,]", comment)}
            if words & OPERATING_SYSTEMS or _DOTTED.search(comment):
                out.append(f"({comment})")
        return tuple(out)


def parse_products(value: str) -> ProductList:
    """Never raises: text that is neither a product nor a comment is skipped a character at a time."""
    products: list[Product] = []
    comments: list[str] = []
    i, n = 0, len(value)
    while i < n:
        c = value[i]
        if c in " \t":
            i += 1
        elif c == "(":
            depth, j, text = 1, i + 1, []
            while j < n and depth:
                ch = value[j]
                if ch == "\\" and j + 1 < n:  # quoted-pair
                    text.append(value[j + 1])
                    j += 2
                    continue
                depth += ch == "("
                depth -= ch == ")"
                if depth:
                    text.append(ch)
                j += 1
            comments.append("".join(text).strip())
            i = j
        else:
            j = i
            while j < n and value[j] not in " \t(":
                j += 1
            name, _, version = value[i:j].partition("/")
            products.append(Product(name, version if _ else None))
            i = j
    return ProductList(tuple(products), tuple(comments))
