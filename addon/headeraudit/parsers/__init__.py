"""Pure, stdlib-only parsers for security headers.

Each parser takes decoded header text, never raises (except `parse_item`, whose ValueError is
RFC 8941's "fail parsing"), and returns what it could parse plus a tuple of Problems.
"""

from .cookies import SetCookie, parse_set_cookie
from .csp import FALLBACKS, Policy, Sources, allows, parse_csp, scheme_of
from .directives import parse_directives
from .hsts import Hsts, parse_hsts
from .problems import Problem
from .referrer import POLICIES, ReferrerPolicy, parse_referrer_policy
from .sf import SfItem, Token, parse_item, parse_sf_token, parse_token_header
from .xcto import ContentTypeOptions, parse_xcto
from .xfo import FrameOptions, parse_xfo

__all__ = [
    "FALLBACKS",
    "ContentTypeOptions",
    "POLICIES",
    "FrameOptions",
    "Hsts",
    "Policy",
    "Problem",
    "ReferrerPolicy",
    "SetCookie",
    "SfItem",
    "Sources",
    "Token",
    "allows",
    "parse_csp",
    "parse_directives",
    "parse_hsts",
    "parse_item",
    "parse_referrer_policy",
    "parse_sf_token",
    "parse_set_cookie",
    "parse_token_header",
    "parse_xfo",
    "parse_xcto",
    "scheme_of",
]
