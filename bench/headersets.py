"""A deterministic corpus of realistic HTTP response header sets for the benchmarks.

Each entry is modelled on what real sites send (big-site HTML with long CSPs, API
JSON, static assets behind CDNs, redirects, error pages, legacy PHP/ASP.NET/Java
stacks, CORS responses, HSTS variants, malformed values). Host names are made up
(example.*/.test); nothing here is ever sent over the network.

Entry shape (plain data, JSON-serialisable, so both benchmark interpreters read
exactly the same inputs):

    {"id": str, "scheme": "http"|"https", "host": str, "path": str, "method": str,
     "status": int, "headers": [[name, value], ...], "request_headers": [[name, value], ...]}

Helpers:
    CORPUS                    the list of entries (do not mutate)
    corpus_digest()           sha256 of the canonical JSON of CORPUS
    drheader_headers(entry)   the dict drHEADer 2.0.0 expects (Set-Cookie as a list)
    salted(entry, salt)       a copy whose audited header values are unique per salt,
                              with the same meaning as far as possible (cold runs)

Only the standard library is used: this module is imported by the headeraudit
interpreter and by the separate drHEADer interpreter alike.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re

__all__ = ["CORPUS", "corpus_digest", "drheader_headers", "salted", "salt_coverage"]

_DATE = "Tue, 14 Oct 2025 09:21:07 GMT"
_EXPIRES = "Wed, 14 Oct 2026 09:21:07 GMT"


def _e(id, scheme, host, path, status, headers, method="GET", request_headers=()):
    return {
        "id": id,
        "scheme": scheme,
        "host": host,
        "path": path,
        "method": method,
        "status": status,
        "headers": [list(h) for h in headers],
        "request_headers": [list(h) for h in request_headers],
    }


_UA = ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
_ACCEPT_HTML = ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")

# --------------------------------------------------------------------------- CSPs

_CSP_SEARCH = (
    "script-src 'nonce-q3kXhP0C0bZ8ZQ0m7Qd7Ig' 'strict-dynamic' 'report-sample' 'unsafe-eval' "
    "'unsafe-inline' https: http:;object-src 'none';base-uri 'self';"
    "report-uri https://csp.search.example/csp/gws/other-hp"
)

_CSP_CODEHOST = (
    "default-src 'none'; base-uri 'self'; child-src code.example.com/assets-cdn/worker/ "
    "code.example.com/webpack/ code.example.com/assets/ gist.code.example.com/assets-cdn/worker/; "
    "connect-src 'self' uploads.code.example.com www.codestatus.example collector.code.example.com "
    "raw.codeusercontent.example api.code.example.com codecloud.s3.amazonaws.example "
    "codecloud.s3.us-west-2.amazonaws.example objects-origin.codeusercontent.example "
    "copilot-proxy.codeusercontent.example proxy.individual.codecopilot.example "
    "*.actions.codeusercontent.example wss://*.actions.codeusercontent.example "
    "productionresultssa0.blob.core.windows.example productionresultssa1.blob.core.windows.example "
    "productionresultssa2.blob.core.windows.example productionresultssa3.blob.core.windows.example "
    "api.codecopilot.example wss://alive.code.example.com; font-src code.codeassets.example; "
    "form-action 'self' code.example.com gist.code.example.com copilot-workspace.codenext.example "
    "objects-origin.codeusercontent.example; frame-ancestors 'none'; frame-src "
    "viewscreen.codeusercontent.example notebooks.codeusercontent.example; img-src 'self' data: blob: "
    "code.codeassets.example media.codeusercontent.example camo.codeusercontent.example "
    "identicons.code.example.com avatars.codeusercontent.example private-avatars.codeusercontent.example "
    "codecloud.s3.amazonaws.example objects.codeusercontent.example secured-user-images.codeusercontent.example/ "
    "user-images.codeusercontent.example/ private-user-images.codeusercontent.example "
    "opengraph.codeassets.example copilotprodattachments.blob.core.windows.example/code-production-copilot-attachments/ "
    "code-production-user-asset-6210df.s3.amazonaws.example *.code.example.com; manifest-src 'self'; "
    "media-src code.example.com user-images.codeusercontent.example/ secured-user-images.codeusercontent.example/ "
    "private-user-images.codeusercontent.example code-production-user-asset-6210df.s3.amazonaws.example "
    "gist.code.example.com; script-src code.codeassets.example; style-src 'unsafe-inline' "
    "code.codeassets.example; upgrade-insecure-requests; worker-src code.example.com/assets-cdn/worker/ "
    "code.example.com/webpack/ code.example.com/assets/ gist.code.example.com/assets-cdn/worker/"
)

_CSP_SOCIAL = (
    "default-src data: blob: 'self' https://*.social.example *.socialcdn.example 'unsafe-inline';"
    "script-src *.social.example *.socialcdn.example *.socialpay.example 127.0.0.1:* 'unsafe-inline' "
    "blob: data: 'self' connect.social.example 'unsafe-eval';"
    "style-src data: blob: 'unsafe-inline' *.social.example *.socialcdn.example;"
    "connect-src *.social.example social.example *.socialcdn.example *.socialpay.example wss://*.social.example:* "
    "attachment.socialcdn.example blob: 'self' https://api.social-metrics.example https://*.social-edge.example:*;"
    "font-src data: *.social.example *.socialcdn.example;"
    "img-src *.social.example *.socialcdn.example data: https://*.social-img.example blob: 'self';"
    "media-src *.cdn.social-video.example blob: *.social.example *.socialcdn.example data: 'self';"
    "child-src data: blob: 'self' *.social.example;"
    "frame-src *.social.example *.socialcdn.example https://*.social-partner.example 'self';"
    "manifest-src data: blob: 'self' *.social.example;"
    "object-src 'none';block-all-mixed-content;upgrade-insecure-requests;"
)

_CSP_SOCIAL_RO = (
    "default-src 'self' https://*.social.example; script-src 'self' 'nonce-aB9xv2Lq' 'strict-dynamic';"
    "require-trusted-types-for 'script'; trusted-types social-default dompurify;"
    "report-uri https://www.social.example/csp/reporting/?minimize=0"
)

_CSP_MICROBLOG = (
    "connect-src 'self' blob: https://api.micro.example https://upload.micro.example "
    "https://*.micro-img.example https://*.pscp.example https://caps.micro.example https://ads-api.micro.example "
    "wss://*.pscp.example https://video.micro-img.example; default-src 'self'; "
    "form-action 'self' https://micro.example https://*.micro.example; font-src 'self' https://*.micro-img.example; "
    "frame-src 'self' https://micro.example https://mobile.micro.example https://pay.micro.example "
    "https://cards-frame.micro.example https://accounts.sso.example https://client-api.arkoselabs.example; "
    "img-src 'self' blob: data: https://*.cdn.micro.example https://ton.micro.example https://*.micro-img.example "
    "https://analytics.micro.example https://www.google-analytics.example https://www.googletagmanager.example "
    "https://*.pscp.example https://t.co; manifest-src 'self'; media-src 'self' blob: "
    "https://micro.example https://*.micro-img.example https://*.pscp.example; object-src 'none'; "
    "script-src 'self' 'unsafe-inline' https://*.micro-img.example https://www.google-analytics.example "
    "https://micro.example https://client-api.arkoselabs.example 'nonce-NjE0ZmVhNTgtZDc2Ni00M2Rm' ; "
    "style-src 'self' 'unsafe-inline' https://*.micro-img.example; worker-src 'self' blob:; "
    "report-uri https://micro.example/i/csp_report?a=O5RXE%3D%3D%3D&ro=false"
)

_CSP_HELMET = (
    "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';"
    "frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';"
    "script-src-attr 'none';style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests"
)

_CSP_BANK = (
    "default-src 'none'; script-src 'nonce-r4nd0mN0nc3Val' 'strict-dynamic' https: 'unsafe-inline'; "
    "style-src 'self' 'nonce-r4nd0mN0nc3Val'; img-src 'self' data: https://static.bank.example "
    "https://www.google-analytics.example; font-src 'self' https://static.bank.example; "
    "connect-src 'self' https://api.bank.example https://telemetry.bank.example; frame-src 'none'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'; "
    "require-trusted-types-for 'script'; trusted-types default bank-html; upgrade-insecure-requests; "
    "report-to csp-endpoint; report-uri https://csp.bank.example/report"
)

_CSP_RAILS = (
    "default-src 'self' https:; font-src 'self' https: data:; img-src 'self' https: data:; "
    "object-src 'none'; script-src 'self' https: 'nonce-c2VjcmV0LW5vbmNlLXJhaWxz'; "
    "style-src 'self' https: 'unsafe-inline'; connect-src 'self' https://errors.shop.example wss://cable.shop.example"
)

_CSP_NEWS = (
    "default-src * data: blob: 'unsafe-inline' 'unsafe-eval'; script-src * 'unsafe-inline' 'unsafe-eval' blob:; "
    "img-src * data: blob:; frame-ancestors 'self' https://*.news.example https://amp.news.example; "
    "upgrade-insecure-requests; block-all-mixed-content"
)

_PERMISSIONS_LONG = (
    "accelerometer=(), ambient-light-sensor=(), autoplay=(self), battery=(), camera=(), "
    "cross-origin-isolated=(), display-capture=(), document-domain=(), encrypted-media=(), "
    "execution-while-not-rendered=(), execution-while-out-of-viewport=(), fullscreen=(self), "
    "geolocation=(), gyroscope=(), keyboard-map=(), magnetometer=(), microphone=(), midi=(), "
    "navigation-override=(), payment=(self \"https://pay.bank.example\"), picture-in-picture=(), "
    "publickey-credentials-get=(self), screen-wake-lock=(), sync-xhr=(), usb=(), web-share=(), "
    "xr-spatial-tracking=(), clipboard-read=(), clipboard-write=(self), gamepad=(), "
    "hid=(), idle-detection=(), interest-cohort=(), serial=(), unload=()"
)

_REPORT_TO = (
    '{"group":"heroku-nel","max_age":3600,"endpoints":[{"url":"https://nel.heroku.example/reports'
    '?ts=1760433667&sid=af571f24-03ee-46d1-9f90-ab9030c2c74c&s=Wc3c%2BqL%2Fb6B"}]}'
)
_NEL = (
    '{"report_to":"heroku-nel","max_age":3600,"success_fraction":0.005,"failure_fraction":0.05,'
    '"response_headers":["Via"]}'
)

# --------------------------------------------------------------------------- corpus

CORPUS: list[dict] = [
    # ---- big-site HTML pages -------------------------------------------------
    _e("search-home", "https", "www.search.example", "/", 200, [
        ("Date", _DATE),
        ("Expires", "-1"),
        ("Cache-Control", "private, max-age=0"),
        ("Content-Type", "text/html; charset=ISO-8859-1"),
        ("Content-Security-Policy-Report-Only", _CSP_SEARCH),
        ("Accept-CH", "Sec-CH-Prefers-Color-Scheme"),
        ("P3P", 'CP="This is not a P3P policy! See search.example/support/accounts/answer/151657 for more info."'),
        ("Server", "gws"),
        ("X-XSS-Protection", "0"),
        ("X-Frame-Options", "SAMEORIGIN"),
        ("Set-Cookie", "AEC=AVh_V2iN1p5tBvRZ3vKZ1Qf-4GZt8R; expires=Sun, 12-Apr-2026 09:21:07 GMT; path=/; domain=.search.example; Secure; HttpOnly; SameSite=lax"),
        ("Set-Cookie", "NID=525=Xq3k1o9UJ0mGz8kqJ0F0; expires=Wed, 15-Apr-2026 09:21:07 GMT; path=/; domain=.search.example; HttpOnly"),
        ("Alt-Svc", 'h3=":443"; ma=2592000,h3-29=":443"; ma=2592000'),
        ("Transfer-Encoding", "chunked"),
    ], request_headers=[_UA, _ACCEPT_HTML]),
    _e("codehost-repo", "https", "code.example.com", "/acme/widgets", 200, [
        ("Server", "CodeHost.com"),
        ("Date", _DATE),
        ("Content-Type", "text/html; charset=utf-8"),
        ("Vary", "X-PJAX, X-PJAX-Container, Turbo-Visit, Turbo-Frame, Accept-Language, Accept-Encoding, Accept, X-Requested-With"),
        ("ETag", 'W/"8f6a1c0b0b6d1e6f5c2a9b3c4d5e6f70"'),
        ("Cache-Control", "max-age=0, private, must-revalidate"),
        ("Strict-Transport-Security", "max-age=31536000; includeSubdomains; preload"),
        ("X-Frame-Options", "deny"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-XSS-Protection", "0"),
        ("Referrer-Policy", "origin-when-cross-origin, strict-origin-when-cross-origin"),
        ("Content-Security-Policy", _CSP_CODEHOST),
        ("Set-Cookie", "_gh_sess=qX5lM2Zx%2FJc0YkR3p8w9T1rB5fD7hK2nL4sV6yA8cE0gI3jM5oQ7uW9zB1dF3hJ5lN7pR9tV1xZ3bD5fH7jL9n--a1b2c3d4e5f6; path=/; secure; HttpOnly; SameSite=Lax"),
        ("Set-Cookie", "_octo=GH1.1.1928374650.1760433667; Path=/; Domain=code.example.com; Expires=Wed, 14 Oct 2026 09:21:07 GMT; Secure; SameSite=Lax"),
        ("Set-Cookie", "logged_in=no; Path=/; Domain=code.example.com; Expires=Wed, 14 Oct 2026 09:21:07 GMT; HttpOnly; Secure; SameSite=Lax"),
        ("Accept-Ranges", "bytes"),
        ("X-CodeHost-Request-Id", "C1A2:3B4C:5D6E7F:8A9B0C:68EE1A03"),
    ], request_headers=[_UA, _ACCEPT_HTML]),
    _e("social-feed", "https", "www.social.example", "/", 200, [
        ("Vary", "Accept-Encoding"),
        ("Set-Cookie", "fr=0aBcDeFgHiJkLmNoP..BnE.AAA.0.0.BnE.AWVxyz123; expires=Mon, 12-Jan-2026 09:21:07 GMT; Max-Age=7776000; path=/; domain=.social.example; secure; httponly; SameSite=None"),
        ("Set-Cookie", "sb=a1B2c3D4e5F6g7H8; expires=Wed, 14-Oct-2026 09:21:07 GMT; Max-Age=31536000; path=/; domain=.social.example; secure; httponly; SameSite=None"),
        ("Set-Cookie", "datr=Z9y8X7w6V5u4T3s2; expires=Wed, 14-Oct-2026 09:21:07 GMT; Max-Age=31536000; path=/; domain=.social.example; secure; httponly; SameSite=None"),
        ("Reporting-Endpoints", 'coop_report="https://www.social.example/browser_reporting/coop/?minimize=0", default="https://www.social.example/ajax/browser_error_reports/?device_level=unknown"'),
        ("Report-To", '{"max_age":2592000,"endpoints":[{"url":"https://www.social.example/browser_reporting/coop/?minimize=0"}],"group":"coop_report","include_subdomains":true}'),
        ("Content-Security-Policy", _CSP_SOCIAL),
        ("Content-Security-Policy-Report-Only", _CSP_SOCIAL_RO),
        ("Document-Policy", "force-load-at-top"),
        ("Permissions-Policy", "accelerometer=(), attribution-reporting=(), autoplay=(), bluetooth=(), camera=(self), ch-device-memory=(), ch-downlink=(), ch-dpr=(), ch-ect=(), ch-rtt=(), ch-save-data=(), ch-ua-arch=(), ch-ua-bitness=(), clipboard-read=(), clipboard-write=(self), display-capture=(self), encrypted-media=(self), fullscreen=(self), gamepad=(), geolocation=(self), gyroscope=(), hid=(), idle-detection=(), keyboard-map=(), local-fonts=(), magnetometer=(), microphone=(self), midi=(), otp-credentials=(), payment=(), picture-in-picture=(self), publickey-credentials-get=(), screen-wake-lock=(), serial=(), usb=(), window-management=(), xr-spatial-tracking=(self)"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
        ("Cross-Origin-Opener-Policy", 'same-origin-allow-popups;report-to="coop_report"'),
        ("Pragma", "no-cache"),
        ("Cache-Control", "private, no-cache, no-store, must-revalidate"),
        ("Expires", "Sat, 01 Jan 2000 00:00:00 GMT"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-XSS-Protection", "0"),
        ("X-Frame-Options", "DENY"),
        ("Strict-Transport-Security", "max-age=15552000; preload"),
        ("Content-Type", "text/html; charset=\"utf-8\""),
        ("X-FB-Debug", "k1J2h3G4f5D6s7A8=="),
        ("Date", _DATE),
        ("Alt-Svc", 'h3=":443"; ma=86400'),
    ], request_headers=[_UA, _ACCEPT_HTML, ("Cookie", "datr=Z9y8X7w6V5u4T3s2")]),
    _e("microblog-home", "https", "micro.example", "/home", 200, [
        ("Date", _DATE),
        ("Perf", "7402827104"),
        ("Pragma", "no-cache"),
        ("Server", "tsa_k"),
        ("Set-Cookie", "guest_id_marketing=v1%3A176043366738265221; Max-Age=63072000; Expires=Thu, 14 Oct 2027 09:21:07 GMT; Path=/; Domain=.micro.example; Secure; SameSite=None"),
        ("Set-Cookie", "guest_id_ads=v1%3A176043366738265221; Max-Age=63072000; Expires=Thu, 14 Oct 2027 09:21:07 GMT; Path=/; Domain=.micro.example; Secure; SameSite=None"),
        ("Set-Cookie", "personalization_id=\"v1_a2V5LWZvci1wZXJzb25hbGl6YXRpb24=\"; Max-Age=63072000; Expires=Thu, 14 Oct 2027 09:21:07 GMT; Path=/; Domain=.micro.example; Secure; SameSite=None"),
        ("Set-Cookie", "guest_id=v1%3A176043366738265221; Max-Age=63072000; Expires=Thu, 14 Oct 2027 09:21:07 GMT; Path=/; Domain=.micro.example; Secure; SameSite=None"),
        ("Set-Cookie", "__cf_bm=Rz1.abc_DEF-ghi.jkl-1760433667-1.0.1.1-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789; path=/; expires=Tue, 14-Oct-25 09:51:07 GMT; domain=.micro.example; HttpOnly; Secure; SameSite=None"),
        ("Content-Type", "text/html; charset=utf-8"),
        ("Cache-Control", "no-cache, no-store, must-revalidate, pre-check=0, post-check=0"),
        ("Last-Modified", _DATE),
        ("Expires", "Tue, 31 Mar 1981 05:00:00 GMT"),
        ("X-Powered-By", "Express"),
        ("Content-Security-Policy", _CSP_MICROBLOG),
        ("Cross-Origin-Opener-Policy", "same-origin-allow-popups"),
        ("Strict-Transport-Security", "max-age=631138519"),
        ("X-Frame-Options", "DENY"),
        ("X-XSS-Protection", "0"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Response-Time", "162"),
        ("X-Connection-Hash", "a6d1f0c3e4b5a6978869a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1"),
        ("Origin-Agent-Cluster", "?0"),
    ], request_headers=[_UA, _ACCEPT_HTML]),
    _e("wiki-article", "https", "en.wiki.example", "/wiki/HTTP_Strict_Transport_Security", 200, [
        ("Date", _DATE),
        ("Server", "mw-web.eqiad.main-7d9f8b6c5-x2k4j"),
        ("X-Content-Type-Options", "nosniff"),
        ("Content-Language", "en"),
        ("Accept-CH", ""),
        ("Vary", "Accept-Encoding,Cookie,Authorization"),
        ("Last-Modified", "Mon, 13 Oct 2025 22:10:01 GMT"),
        ("Content-Type", "text/html; charset=UTF-8"),
        ("Age", "30312"),
        ("X-Cache", "cp1102 miss, cp1102 hit/14"),
        ("X-Cache-Status", "hit-front"),
        ("Server-Timing", 'cache;desc="hit-front", host;desc="cp1102"'),
        ("Strict-Transport-Security", "max-age=106384710; includeSubDomains; preload"),
        ("Report-To", '{ "group": "wm_nel", "max_age": 604800, "endpoints": [{ "url": "https://intake-logging.wiki.example/v1/events?stream=w3c.reportingapi.network_error&schema_uri=/w3c/reportingapi/network_error/1.0.0" }] }'),
        ("NEL", '{ "report_to": "wm_nel", "max_age": 604800, "failure_fraction": 0.05, "success_fraction": 0.0}'),
        ("Set-Cookie", "WMF-Last-Access=14-Oct-2025;Path=/;HttpOnly;secure;Expires=Sat, 15 Nov 2025 00:00:00 GMT"),
        ("Set-Cookie", "WMF-Last-Access-Global=14-Oct-2025;Path=/;Domain=.wiki.example;HttpOnly;secure;Expires=Sat, 15 Nov 2025 00:00:00 GMT"),
        ("Set-Cookie", "GeoIP=DE:BE:Berlin:52.52:13.40:v4; Path=/; secure; Domain=.wiki.example"),
        ("Set-Cookie", "NetworkProbeLimit=0.001;Path=/;Secure;SameSite=Lax;Max-Age=3600"),
        ("X-Client-IP", "203.0.113.42"),
        ("Cache-Control", "private, s-maxage=0, max-age=0, must-revalidate, no-transform"),
        ("Accept-Ranges", "bytes"),
        ("Content-Length", "182417"),
    ], request_headers=[_UA, _ACCEPT_HTML]),
    _e("news-front", "https", "www.news.example", "/", 200, [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Security-Policy", _CSP_NEWS),
        ("X-Frame-Options", "SAMEORIGIN"),
        ("Cache-Control", "max-age=60, stale-while-revalidate=30, stale-if-error=86400"),
        ("Via", "1.1 varnish, 1.1 varnish"),
        ("Age", "41"),
        ("X-Served-By", "cache-iad-kiad7000051-IAD, cache-fra-eddf8230105-FRA"),
        ("X-Cache", "HIT, HIT"),
        ("X-Cache-Hits", "3, 17"),
        ("X-Timer", "S1760433667.123456,VS0,VE0"),
        ("Vary", "Accept-Encoding, X-Country, X-Device"),
        ("Set-Cookie", "nyt-a=Qw3r7y_U1o0p; Expires=Thu, 15 Oct 2026 09:21:07 GMT; Path=/; Domain=.news.example; SameSite=none; Secure"),
        ("Set-Cookie", "nyt-gdpr=0; Path=/; Domain=.news.example"),
        ("Set-Cookie", "nyt-geo=DE; Path=/; Domain=.news.example"),
        ("Strict-Transport-Security", "max-age=63072000; preload; includeSubdomains"),
        ("Referrer-Policy", "no-referrer-when-downgrade"),
        ("Accept-Ranges", "bytes"),
        ("Onion-Location", "https://newsexamplexyzabcdefghij.onion/"),
    ], request_headers=[_UA, _ACCEPT_HTML]),
    _e("bank-login", "https", "online.bank.example", "/login", 200, [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Security-Policy", _CSP_BANK),
        ("Cross-Origin-Embedder-Policy", "require-corp"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
        ("Permissions-Policy", _PERMISSIONS_LONG),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Cache-Control", "no-store"),
        ("Pragma", "no-cache"),
        ("Reporting-Endpoints", 'csp-endpoint="https://csp.bank.example/r", default="https://reports.bank.example/"'),
        ("Set-Cookie", "__Host-session=eyJhbGciOiJIUzI1NiJ9.eyJzaWQiOiI0MmE3In0.S1gN4tUr3; Path=/; Secure; HttpOnly; SameSite=Strict"),
        ("Set-Cookie", "__Secure-csrf=7c9e6679-7425-40de-944b-e07fc1f90ae7; Path=/; Secure; SameSite=Strict"),
        ("Set-Cookie", "lang=de-DE; Path=/; Max-Age=31536000; Secure; SameSite=Lax"),
        ("Server", "nginx"),
        ("Date", _DATE),
    ], request_headers=[_UA, _ACCEPT_HTML]),
    _e("bank-logout", "https", "online.bank.example", "/logout", 200, [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Clear-Site-Data", '"cache", "cookies", "storage", "executionContexts"'),
        ("Content-Security-Policy", "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
        ("Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
        ("Set-Cookie", "__Host-session=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"),
        ("Set-Cookie", "__Secure-csrf=; Path=/; Secure; SameSite=Strict; Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
    ], request_headers=[_UA, ("Cookie", "__Host-session=eyJhbGciOiJIUzI1NiJ9")]),
    _e("shop-rails", "https", "www.shop.example", "/products/blue-mug", 200, [
        ("Content-Type", "text/html; charset=utf-8"),
        ("X-Frame-Options", "SAMEORIGIN"),
        ("X-XSS-Protection", "1; mode=block"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Download-Options", "noopen"),
        ("X-Permitted-Cross-Domain-Policies", "none"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("Content-Security-Policy", _CSP_RAILS),
        ("ETag", 'W/"0f4a6c1d5e2b3a7980c1d2e3f4a5b6c7"'),
        ("Cache-Control", "max-age=0, private, must-revalidate"),
        ("Set-Cookie", "_shop_session=dGhpcyBpcyBhIHJhaWxzIHNlc3Npb24gY29va2llIHZhbHVl--5f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a; path=/; secure; HttpOnly; SameSite=Lax"),
        ("Set-Cookie", "cart_currency=EUR; path=/; expires=Tue, 28 Oct 2025 09:21:07 GMT; SameSite=Lax"),
        ("X-Request-Id", "4d5a9c3e-1f2b-4a6c-8e7d-9b0a1c2d3e4f"),
        ("X-Runtime", "0.048213"),
        ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
        ("Vary", "Accept, Accept-Encoding"),
        ("Server", "Cowboy"),
        ("Via", "1.1 vegur"),
        ("Report-To", _REPORT_TO),
        ("Reporting-Endpoints", 'heroku-nel="https://nel.heroku.example/reports?ts=1760433667&sid=af571f24"'),
        ("NEL", _NEL),
    ], request_headers=[_UA, _ACCEPT_HTML]),
    _e("spa-vercel", "https", "app.saas.example", "/dashboard", 200, [
        ("Accept-Ranges", "bytes"),
        ("Access-Control-Allow-Origin", "*"),
        ("Age", "0"),
        ("Cache-Control", "public, max-age=0, must-revalidate"),
        ("Content-Disposition", "inline"),
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Security-Policy", "frame-ancestors 'none'"),
        ("Date", _DATE),
        ("ETag", '"2b0f6c8d9e1a4b3c5d7e9f0a1b2c3d4e"'),
        ("Server", "Vercel"),
        ("Strict-Transport-Security", "max-age=63072000"),
        ("X-Matched-Path", "/dashboard"),
        ("X-Vercel-Cache", "HIT"),
        ("X-Vercel-Id", "fra1::iad1::8x7k2-1760433667123-0c1d2e3f4a5b"),
    ], request_headers=[_UA, _ACCEPT_HTML]),
    _e("helmet-express", "https", "portal.acme.example", "/account", 200, [
        ("Content-Security-Policy", _CSP_HELMET),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
        ("Origin-Agent-Cluster", "?1"),
        ("Referrer-Policy", "no-referrer"),
        ("Strict-Transport-Security", "max-age=15552000; includeSubDomains"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-DNS-Prefetch-Control", "off"),
        ("X-Download-Options", "noopen"),
        ("X-Frame-Options", "SAMEORIGIN"),
        ("X-Permitted-Cross-Domain-Policies", "none"),
        ("X-XSS-Protection", "0"),
        ("Content-Type", "text/html; charset=utf-8"),
        ("ETag", 'W/"1f3a-Lq0bKx1N3m9sT7vQz5yHc2uRw8E"'),
        ("Set-Cookie", "connect.sid=s%3AkY1mN3pQ5rS7tU9vW1xY3zA5bC7dE9fG.h2J4k6L8m0N2p4Q6r8S0t2U4v6W8x0Y2z4A6b8C0d2E; Path=/; Expires=Wed, 15 Oct 2025 09:21:07 GMT; HttpOnly; Secure; SameSite=Strict"),
        ("Connection", "keep-alive"),
        ("Keep-Alive", "timeout=5"),
    ], request_headers=[_UA, _ACCEPT_HTML]),
    _e("django-admin", "https", "admin.cms.example", "/admin/", 302, [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Location", "/admin/login/?next=/admin/"),
        ("Expires", _DATE),
        ("Cache-Control", "max-age=0, no-cache, no-store, must-revalidate, private"),
        ("Vary", "Cookie"),
        ("X-Frame-Options", "DENY"),
        ("Content-Length", "0"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Set-Cookie", "csrftoken=Vb1Nw7uQ0x3zR6tY9kL2mP5sH8jD4fG7; expires=Tue, 13 Oct 2026 09:21:07 GMT; Max-Age=31449600; Path=/; SameSite=Lax; Secure"),
        ("Set-Cookie", "sessionid=k3n9x2b8v7c6z5a4s1d0f9g8h7j6k5l4; expires=Tue, 28 Oct 2025 09:21:07 GMT; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax"),
        ("Server", "gunicorn"),
    ], request_headers=[_UA]),
    # ---- API JSON -------------------------------------------------------------
    _e("codehost-api", "https", "api.code.example.com", "/repos/acme/widgets/issues", 200, [
        ("Date", _DATE),
        ("Content-Type", "application/json; charset=utf-8"),
        ("Cache-Control", "public, max-age=60, s-maxage=60"),
        ("Vary", "Accept,Accept-Encoding, Accept, X-Requested-With"),
        ("ETag", 'W/"3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b"'),
        ("X-CodeHost-Media-Type", "codehost.v3; format=json"),
        ("Link", '<https://api.code.example.com/repositories/1296269/issues?page=2>; rel="next", <https://api.code.example.com/repositories/1296269/issues?page=14>; rel="last"'),
        ("X-CodeHost-Api-Version-Selected", "2022-11-28"),
        ("Access-Control-Expose-Headers", "ETag, Link, Location, Retry-After, X-CodeHost-OTP, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, X-OAuth-Scopes, X-Accepted-OAuth-Scopes, X-Poll-Interval, X-CodeHost-Media-Type, X-CodeHost-SSO, X-CodeHost-Request-Id, Deprecation, Sunset"),
        ("Access-Control-Allow-Origin", "*"),
        ("Strict-Transport-Security", "max-age=31536000; includeSubdomains; preload"),
        ("X-Frame-Options", "deny"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-XSS-Protection", "0"),
        ("Referrer-Policy", "origin-when-cross-origin, strict-origin-when-cross-origin"),
        ("Content-Security-Policy", "default-src 'none'"),
        ("Server", "codehost.com"),
        ("X-RateLimit-Limit", "60"),
        ("X-RateLimit-Remaining", "57"),
        ("X-RateLimit-Reset", "1760437267"),
        ("X-RateLimit-Resource", "core"),
        ("X-RateLimit-Used", "3"),
    ], request_headers=[("Accept", "application/vnd.codehost+json"), ("User-Agent", "curl/8.5.0")]),
    _e("express-api-cors", "https", "api.saas.example", "/v2/me", 200, [
        ("X-Powered-By", "Express"),
        ("Access-Control-Allow-Origin", "https://app.saas.example"),
        ("Access-Control-Allow-Credentials", "true"),
        ("Vary", "Origin, Accept-Encoding"),
        ("Content-Type", "application/json; charset=utf-8"),
        ("Content-Length", "512"),
        ("ETag", 'W/"200-s6f0yJk3L0a9xH0ZbW6mGqV1c2E"'),
        ("Date", _DATE),
        ("Connection", "keep-alive"),
        ("Keep-Alive", "timeout=5"),
    ], request_headers=[("Origin", "https://app.saas.example"), ("Accept", "application/json"),
                        ("Authorization", "Bearer eyJhbGciOi.redacted")]),
    _e("cors-preflight", "https", "api.saas.example", "/v2/projects", 204, [
        ("Access-Control-Allow-Origin", "https://app.saas.example"),
        ("Access-Control-Allow-Credentials", "true"),
        ("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE"),
        ("Access-Control-Allow-Headers", "authorization,content-type,x-request-id"),
        ("Access-Control-Max-Age", "86400"),
        ("Vary", "Origin, Access-Control-Request-Headers"),
        ("Content-Length", "0"),
        ("Date", _DATE),
    ], method="OPTIONS", request_headers=[("Origin", "https://app.saas.example"),
                                          ("Access-Control-Request-Method", "PUT"),
                                          ("Access-Control-Request-Headers", "authorization,content-type,x-request-id")]),
    _e("cors-reflect-any", "https", "api.legacy.example", "/user/profile", 200, [
        ("Server", "nginx/1.18.0 (Ubuntu)"),
        ("Content-Type", "application/json"),
        ("Access-Control-Allow-Origin", "https://attacker.test"),
        ("Access-Control-Allow-Credentials", "true"),
        ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
        ("Set-Cookie", "api_session=5f2b8c1e9a7d3f6b4c0e8a2d; Path=/; HttpOnly"),
        ("Date", _DATE),
    ], request_headers=[("Origin", "https://attacker.test"), ("Cookie", "api_session=5f2b8c1e9a7d3f6b4c0e8a2d")]),
    _e("cors-null-origin", "https", "files.legacy.example", "/api/download/42", 200, [
        ("Access-Control-Allow-Origin", "null"),
        ("Access-Control-Allow-Credentials", "true"),
        ("Content-Type", "application/json; charset=UTF-8"),
        ("Cache-Control", "no-cache"),
        ("Server", "Apache"),
    ], request_headers=[("Origin", "null")]),
    _e("graphql-post", "https", "gql.store.example", "/graphql", 200, [
        ("Content-Type", "application/graphql-response+json; charset=utf-8"),
        ("Cache-Control", "no-store"),
        ("Strict-Transport-Security", "max-age=31536000"),
        ("X-Content-Type-Options", "nosniff"),
        ("Set-Cookie", "_ga_track=GA1.2.1234567890.1760433667; Path=/; Domain=.store.example; Max-Age=63072000; SameSite=None; Secure"),
        ("Set-Cookie", "ab_bucket=checkout-v3-b; Path=/; Max-Age=2592000; SameSite=Lax; Secure"),
        ("Set-Cookie", "__cf_bm=Rz1.abcDEFghi-1760433667-1.0.1.1-XyZ; path=/; expires=Tue, 14-Oct-25 09:51:07 GMT; domain=.store.example; HttpOnly; Secure; SameSite=None"),
        ("Server", "cloudflare"),
        ("CF-RAY", "98f0a1b2c3d4e5f6-FRA"),
        ("Alt-Svc", 'h3=":443"; ma=86400'),
    ], method="POST", request_headers=[("Origin", "https://www.store.example"), ("Content-Type", "application/json")]),
    _e("json-404-api", "https", "api.payments.example", "/v1/charges/ch_missing", 404, [
        ("Content-Type", "application/json"),
        ("Content-Length", "214"),
        ("Cache-Control", "no-cache, no-store"),
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Credentials", "true"),
        ("Access-Control-Allow-Methods", "GET, HEAD, PUT, PATCH, POST, DELETE"),
        ("Access-Control-Expose-Headers", "Request-Id, Idempotency-Key, Stripe-Should-Retry"),
        ("Access-Control-Max-Age", "300"),
        ("Content-Security-Policy", "report-uri https://q.payments.example/csp-report?p=v1%2Fcharges; block-all-mixed-content; default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; img-src 'self'; script-src 'self' 'report-sample'; style-src 'self'"),
        ("Cross-Origin-Opener-Policy-Report-Only", 'same-origin; report-to="coop"'),
        ("Request-Id", "req_9aB8cD7eF6gH5i"),
        ("Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload"),
        ("Server", "nginx"),
        ("Vary", "Origin"),
    ], request_headers=[("Authorization", "Bearer sk_test_redacted")]),
    _e("internal-api-http", "http", "metrics.intranet.test", "/api/v1/query", 200, [
        ("Content-Type", "application/json"),
        ("Date", _DATE),
        ("Content-Length", "1288"),
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Headers", "Accept, Authorization, Content-Type, Origin"),
        ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
        ("Access-Control-Expose-Headers", "Date"),
        ("Vary", "Origin"),
    ]),
    # ---- static assets ----------------------------------------------------------
    _e("cdn-png", "https", "static.cdn.example", "/img/hero-1440.png", 200, [
        ("Date", _DATE),
        ("Content-Type", "image/png"),
        ("Content-Length", "184327"),
        ("Connection", "keep-alive"),
        ("Accept-Ranges", "bytes"),
        ("Age", "1733421"),
        ("Cache-Control", "public, max-age=31536000, immutable"),
        ("ETag", '"5c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f"'),
        ("Last-Modified", "Fri, 02 Feb 2024 11:12:13 GMT"),
        ("Timing-Allow-Origin", "*"),
        ("Access-Control-Allow-Origin", "*"),
        ("CF-Cache-Status", "HIT"),
        ("Vary", "Accept-Encoding"),
        ("Server", "cloudflare"),
        ("CF-RAY", "98f0a1b2c3d4e5f7-FRA"),
        ("Strict-Transport-Security", "max-age=31536000"),
    ], request_headers=[_UA, ("Accept", "image/avif,image/webp,*/*")]),
    _e("s3-css", "https", "d111111abcdef8.cloudfront.example", "/assets/app.3f9a1c.css", 200, [
        ("Content-Type", "text/css"),
        ("Content-Length", "48211"),
        ("Connection", "keep-alive"),
        ("Date", _DATE),
        ("Last-Modified", "Thu, 09 Oct 2025 17:44:02 GMT"),
        ("ETag", '"a3c1f0e9d8b7a6c5d4e3f2a1b0c9d8e7"'),
        ("x-amz-server-side-encryption", "AES256"),
        ("x-amz-version-id", "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"),
        ("Cache-Control", "public, max-age=31536000, immutable"),
        ("Accept-Ranges", "bytes"),
        ("Server", "AmazonS3"),
        ("X-Cache", "Hit from cloudfront"),
        ("Via", "1.1 8f1d2e3c4b5a6978.cloudfront.example (CloudFront)"),
        ("X-Amz-Cf-Pop", "FRA56-P3"),
        ("X-Amz-Cf-Id", "Qk5vQ2Y0dGhpc2lzYWNsb3VkZnJvbnRpZA=="),
        ("Age", "81234"),
    ]),
    _e("jsdelivr-js", "https", "cdn.jsdeliver.example", "/npm/htmx.org@2.0.3/dist/htmx.min.js", 200, [
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Expose-Headers", "*"),
        ("Timing-Allow-Origin", "*"),
        ("Cache-Control", "public, max-age=31536000, s-maxage=31536000, immutable"),
        ("Cross-Origin-Resource-Policy", "cross-origin"),
        ("X-Content-Type-Options", "nosniff"),
        ("Strict-Transport-Security", "max-age=31536000; includeSubDomains; preload"),
        ("Content-Type", "application/javascript; charset=utf-8"),
        ("X-JSD-Version", "2.0.3"),
        ("X-JSD-Version-Type", "version"),
        ("ETag", 'W/"c4a5-7LcVzQkH0p2cN4Y1sWw9bGJ3xFQ"'),
        ("Accept-Ranges", "bytes"),
        ("Age", "3410543"),
        ("X-Served-By", "cache-fra-etou8220021-FRA, cache-ams21080-AMS"),
        ("X-Cache", "HIT, HIT"),
        ("Vary", "Accept-Encoding"),
        ("Alt-Svc", 'h3=":443";ma=86400,h3-29=":443";ma=86400'),
    ]),
    _e("font-woff2", "https", "fonts.static.example", "/s/inter/v13/UcC73FwrK3iLTeHuS_fvQtMwCp50KnMa1ZL7.woff2", 200, [
        ("Accept-Ranges", "bytes"),
        ("Content-Type", "font/woff2"),
        ("Cross-Origin-Resource-Policy", "cross-origin"),
        ("Cross-Origin-Opener-Policy-Report-Only", 'same-origin; report-to="static-on-bigtable"'),
        ("Report-To", '{"group":"static-on-bigtable","max_age":2592000,"endpoints":[{"url":"https://csp.static.example/csp/static-on-bigtable"}]}'),
        ("Content-Length", "48256"),
        ("Date", _DATE),
        ("Expires", _EXPIRES),
        ("Last-Modified", "Mon, 16 Oct 2023 20:11:56 GMT"),
        ("X-Content-Type-Options", "nosniff"),
        ("Server", "sffe"),
        ("X-XSS-Protection", "0"),
        ("Cache-Control", "public, max-age=31536000"),
        ("Age", "412010"),
        ("Access-Control-Allow-Origin", "*"),
        ("Timing-Allow-Origin", "*"),
        ("Alt-Svc", 'h3=":443"; ma=2592000'),
    ], request_headers=[("Origin", "https://portal.acme.example")]),
    _e("video-range", "https", "media.stream.example", "/v/8d7c6b/1080p/seg-00042.mp4", 206, [
        ("Content-Type", "video/mp4"),
        ("Content-Range", "bytes 1048576-2097151/73400320"),
        ("Content-Length", "1048576"),
        ("Accept-Ranges", "bytes"),
        ("Cache-Control", "public, max-age=86400"),
        ("Last-Modified", "Sun, 12 Oct 2025 03:00:00 GMT"),
        ("ETag", '"8d7c6b5a4f3e2d1c"'),
        ("Access-Control-Allow-Origin", "*"),
        ("Timing-Allow-Origin", "*"),
        ("X-Content-Type-Options", "nosniff"),
        ("Server", "ATS/9.2.5"),
    ], request_headers=[("Range", "bytes=1048576-2097151")]),
    _e("http-legacy-jpg", "http", "images.oldforum.test", "/uploads/2009/07/avatar_1723.jpg", 200, [
        ("Date", _DATE),
        ("Server", "Apache/2.2.22 (Debian)"),
        ("Last-Modified", "Tue, 14 Jul 2009 10:01:12 GMT"),
        ("ETag", '"1c2f3a-2b7e-46ea8b1e2c600"'),
        ("Accept-Ranges", "bytes"),
        ("Content-Length", "11134"),
        ("Cache-Control", "max-age=2592000"),
        ("Expires", "Thu, 13 Nov 2025 09:21:07 GMT"),
        ("Keep-Alive", "timeout=15, max=100"),
        ("Connection", "Keep-Alive"),
        ("Content-Type", "image/jpeg"),
    ]),
    _e("user-content-raw", "https", "raw.codeusercontent.example", "/acme/widgets/main/README.md", 200, [
        ("Connection", "keep-alive"),
        ("Content-Length", "5312"),
        ("Cache-Control", "max-age=300"),
        ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox"),
        ("Content-Type", "text/plain; charset=utf-8"),
        ("ETag", 'W/"bd2c3f4e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d"'),
        ("Strict-Transport-Security", "max-age=31536000"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "deny"),
        ("X-XSS-Protection", "1; mode=block"),
        ("Cross-Origin-Resource-Policy", "cross-origin"),
        ("Access-Control-Allow-Origin", "*"),
        ("Source-Age", "0"),
        ("Via", "1.1 varnish"),
        ("X-Cache", "MISS"),
    ]),
    _e("pdf-download", "https", "reports.acme.example", "/export/2025-Q3.pdf", 200, [
        ("Content-Type", "application/pdf"),
        ("Content-Disposition", 'attachment; filename="2025-Q3.pdf"; filename*=UTF-8\'\'2025-Q3.pdf'),
        ("Content-Length", "391822"),
        ("X-Content-Type-Options", "nosniff"),
        ("Cache-Control", "private, no-cache"),
        ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
        ("X-Frame-Options", "DENY"),
    ], request_headers=[_UA, ("Cookie", "connect.sid=s%3AkY1mN3p")]),
    # ---- redirects ---------------------------------------------------------------
    _e("redirect-http-to-https", "http", "www.shop.example", "/", 301, [
        ("Server", "nginx/1.18.0 (Ubuntu)"),
        ("Date", _DATE),
        ("Content-Type", "text/html"),
        ("Content-Length", "178"),
        ("Connection", "keep-alive"),
        ("Location", "https://www.shop.example/"),
    ], request_headers=[_UA]),
    _e("redirect-www-308-hsts", "https", "shop.example", "/collections/sale", 308, [
        ("Location", "https://www.shop.example/collections/sale"),
        ("Strict-Transport-Security", "max-age=31536000; includeSubDomains; preload"),
        ("Content-Type", "text/plain"),
        ("Refresh", "0;url=https://www.shop.example/collections/sale"),
        ("Server", "Vercel"),
    ]),
    _e("redirect-aspnet-login", "https", "intranet.corp.example", "/Reports/Sales", 302, [
        ("Cache-Control", "private"),
        ("Content-Type", "text/html; charset=utf-8"),
        ("Location", "/Account/Login?ReturnUrl=%2FReports%2FSales"),
        ("Server", "Microsoft-IIS/10.0"),
        ("X-AspNetMvc-Version", "5.2"),
        ("X-AspNet-Version", "4.0.30319"),
        ("Set-Cookie", "ASP.NET_SessionId=qz1yrw2v3u4t5s6r7q8p9o0n; path=/; HttpOnly; SameSite=Lax"),
        ("X-Powered-By", "ASP.NET"),
        ("Date", _DATE),
        ("Content-Length", "162"),
    ], request_headers=[_UA]),
    _e("redirect-oauth-302", "https", "login.idp.example", "/oauth2/authorize", 302, [
        ("Cache-Control", "no-store, no-cache"),
        ("Pragma", "no-cache"),
        ("Location", "https://app.saas.example/callback?code=M.C512_BAY.2.U.8d7c6b5a-4f3e&state=Zx81kq"),
        ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Set-Cookie", "esctx=PAQABBwEAAADW6jl31mB3T7ugrWTT8pFeL7h2; domain=.login.idp.example; path=/; secure; HttpOnly; SameSite=None"),
        ("Set-Cookie", "x-ms-gateway-slice=estsfd; path=/; secure; samesite=none; httponly"),
        ("Set-Cookie", "stsservicecookie=estsfd; path=/; secure; samesite=none; httponly"),
        ("P3P", 'CP="DSP CUR OTPi IND OTRi ONL FIN"'),
        ("X-XSS-Protection", "0"),
    ]),
    # ---- errors ---------------------------------------------------------------------
    _e("nginx-404-http", "http", "old.blog.test", "/wp-login.php", 404, [
        ("Server", "nginx/1.14.0 (Ubuntu)"),
        ("Date", _DATE),
        ("Content-Type", "text/html"),
        ("Content-Length", "580"),
        ("Connection", "keep-alive"),
    ]),
    _e("apache-404", "https", "docs.univ.example", "/~jdoe/thesis.pdf", 404, [
        ("Date", _DATE),
        ("Server", "Apache/2.4.41 (Ubuntu) OpenSSL/1.1.1f mod_perl/2.0.11 Perl/v5.30.0"),
        ("Content-Length", "275"),
        ("Content-Type", "text/html; charset=iso-8859-1"),
    ]),
    _e("werkzeug-500", "http", "127.0.0.1:5000", "/api/run", 500, [
        ("Server", "Werkzeug/2.0.1 Python/3.8.10"),
        ("Date", _DATE),
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", "13962"),
        ("X-XSS-Protection", "0"),
        ("Set-Cookie", "session=eyJfZnJlc2giOmZhbHNlfQ.ZxY1ZQ.abc; HttpOnly; Path=/"),
    ], method="POST"),
    _e("cloudflare-403-challenge", "https", "forum.gaming.example", "/threads/12345", 403, [
        ("Date", _DATE),
        ("Content-Type", "text/html; charset=UTF-8"),
        ("Accept-CH", "Sec-CH-UA-Bitness, Sec-CH-UA-Arch, Sec-CH-UA-Full-Version, Sec-CH-UA-Mobile, Sec-CH-UA-Model, Sec-CH-UA-Platform-Version, Sec-CH-UA-Full-Version-List, Sec-CH-UA-Platform, Sec-CH-UA, UA-Bitness, UA-Arch, UA-Full-Version, UA-Mobile, UA-Model, UA-Platform-Version, UA-Platform, UA"),
        ("Critical-CH", "Sec-CH-UA-Bitness, Sec-CH-UA-Arch, Sec-CH-UA-Full-Version, Sec-CH-UA-Mobile, Sec-CH-UA-Model, Sec-CH-UA-Platform-Version, Sec-CH-UA-Full-Version-List, Sec-CH-UA-Platform, Sec-CH-UA, UA-Bitness, UA-Arch, UA-Full-Version, UA-Mobile, UA-Model, UA-Platform-Version, UA-Platform, UA"),
        ("Cross-Origin-Embedder-Policy", "require-corp"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
        ("Origin-Agent-Cluster", "?1"),
        ("Permissions-Policy", "accelerometer=(),autoplay=(),browsing-topics=(),camera=(),clipboard-read=(),clipboard-write=(),geolocation=(),gyroscope=(),hid=(),interest-cohort=(),magnetometer=(),microphone=(),payment=(),publickey-credentials-get=(),screen-wake-lock=(),serial=(),sync-xhr=(),usb=()"),
        ("Referrer-Policy", "same-origin"),
        ("Server-Timing", "chlray;desc=\"98f0a1b2c3d4e5f8\""),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "SAMEORIGIN"),
        ("cf-mitigated", "challenge"),
        ("Cache-Control", "private, max-age=0, no-store, no-cache, must-revalidate, post-check=0, pre-check=0"),
        ("Expires", "Thu, 01 Jan 1970 00:00:01 GMT"),
        ("Set-Cookie", "__cf_bm=Ab1.cD2-1760433667-1.0.1.1-ZyX; path=/; expires=Tue, 14-Oct-25 09:51:07 GMT; domain=.gaming.example; HttpOnly; Secure; SameSite=None"),
        ("Server", "cloudflare"),
        ("CF-RAY", "98f0a1b2c3d4e5f8-FRA"),
    ], request_headers=[_UA, _ACCEPT_HTML]),
    _e("not-modified-304", "https", "www.news.example", "/section/world", 304, [
        ("Date", _DATE),
        ("ETag", 'W/"6a5b4c3d2e1f"'),
        ("Cache-Control", "max-age=60"),
        ("Vary", "Accept-Encoding"),
        ("Strict-Transport-Security", "max-age=63072000; preload; includeSubdomains"),
    ], request_headers=[("If-None-Match", 'W/"6a5b4c3d2e1f"')]),
    # ---- legacy stacks ---------------------------------------------------------------
    _e("php-legacy-http", "http", "www.smallbiz.test", "/index.php?page=contact", 200, [
        ("Date", _DATE),
        ("Server", "Apache/2.2.15 (CentOS)"),
        ("X-Powered-By", "PHP/5.4.16"),
        ("Set-Cookie", "PHPSESSID=7b4ok5v8k0f1r2s3t4u5v6w7x8; path=/"),
        ("Expires", "Thu, 19 Nov 1981 08:52:00 GMT"),
        ("Cache-Control", "no-store, no-cache, must-revalidate, post-check=0, pre-check=0"),
        ("Pragma", "no-cache"),
        ("Vary", "Accept-Encoding"),
        ("Content-Length", "8123"),
        ("Connection", "close"),
        ("Content-Type", "text/html; charset=UTF-8"),
    ], request_headers=[_UA, _ACCEPT_HTML]),
    _e("wordpress", "https", "blog.bakery.example", "/2025/10/sourdough-guide/", 200, [
        ("Server", "nginx"),
        ("Date", _DATE),
        ("Content-Type", "text/html; charset=UTF-8"),
        ("Vary", "Accept-Encoding"),
        ("X-Powered-By", "PHP/7.4.33"),
        ("Link", '<https://blog.bakery.example/wp-json/>; rel="https://api.w.org/", <https://blog.bakery.example/wp-json/wp/v2/posts/4211>; rel="alternate"; type="application/json", <https://blog.bakery.example/?p=4211>; rel=shortlink'),
        ("Set-Cookie", "wordpress_test_cookie=WP%20Cookie%20check; path=/; secure"),
        ("Set-Cookie", "wp_lang=en_US; path=/"),
        ("X-Frame-Options", "SAMEORIGIN"),
        ("Content-Security-Policy", "upgrade-insecure-requests"),
        ("X-Pingback", "https://blog.bakery.example/xmlrpc.php"),
        ("X-Cache", "HIT"),
        ("Strict-Transport-Security", "max-age=300"),
    ], request_headers=[_UA, _ACCEPT_HTML]),
    _e("drupal", "https", "www.cityhall.example", "/services/permits", 200, [
        ("Date", _DATE),
        ("Content-Type", "text/html; charset=UTF-8"),
        ("Cache-Control", "must-revalidate, no-cache, private"),
        ("X-Drupal-Dynamic-Cache", "MISS"),
        ("X-UA-Compatible", "IE=edge"),
        ("Content-language", "en"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "SAMEORIGIN"),
        ("Permissions-Policy", "interest-cohort=()"),
        ("Expires", "Sun, 19 Nov 1978 05:00:00 GMT"),
        ("X-Generator", "Drupal 9 (https://www.drupal.org)"),
        ("X-Drupal-Cache", "MISS"),
        ("Set-Cookie", "SSESSa1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6=Qm9vZ3lTZXNzaW9uSWQxMjM0NTY3ODkw; expires=Thu, 06-Nov-2025 12:54:27 GMT; Max-Age=2000000; path=/; domain=.cityhall.example; secure; HttpOnly; SameSite=Lax"),
        ("Server", "Apache/2.4.62 (Debian)"),
        ("X-Powered-By", "PHP/8.1.31"),
        ("Strict-Transport-Security", "max-age=31536000"),
    ], request_headers=[_UA, _ACCEPT_HTML]),
    _e("aspnet-webforms", "https", "portal.utility.example", "/Billing/Default.aspx", 200, [
        ("Cache-Control", "private"),
        ("Content-Type", "text/html; charset=utf-8"),
        ("Server", "Microsoft-IIS/8.5"),
        ("X-AspNet-Version", "4.0.30319"),
        ("X-Powered-By", "ASP.NET"),
        ("X-Powered-By", "ARR/3.0"),
        ("Set-Cookie", "ASP.NET_SessionId=0z1y2x3w4v5u6t7s8r9q0p1o; path=/; HttpOnly"),
        ("Set-Cookie", ".ASPXAUTH=8F3A1C0B9D2E4F6A7B8C9D0E1F2A3B4C5D6E7F8A9B0C1D2E3F4A5B6C7D8E9F0A1B2C3D4E5F6A7B8C9D0E1F2A3B4C; expires=Tue, 14-Oct-2025 10:21:07 GMT; path=/; HttpOnly"),
        ("Set-Cookie", "BIGipServerpool_portal_443=1677787402.47873.0000; path=/; Httponly; Secure"),
        ("X-Frame-Options", "ALLOW-FROM https://partner.utility.example"),
        ("X-XSS-Protection", "1; mode=block"),
        ("Date", _DATE),
        ("Content-Length", "40311"),
    ], request_headers=[_UA, _ACCEPT_HTML]),
    _e("tomcat-jsp", "http", "erp.factory.test", "/app/login.jsp", 200, [
        ("Server", "Apache-Coyote/1.1"),
        ("X-Powered-By", "Servlet/3.0 JSP/2.2 (Apache Tomcat/7.0.52 Java/Oracle Corporation/1.7)"),
        ("Set-Cookie", "JSESSIONID=A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6; Path=/app; HttpOnly"),
        ("Content-Type", "text/html;charset=ISO-8859-1"),
        ("Content-Language", "en-US"),
        ("Date", _DATE),
        ("Transfer-Encoding", "chunked"),
    ], request_headers=[_UA, _ACCEPT_HTML]),
    _e("spring-security", "https", "hr.corp.example", "/employees/42", 200, [
        ("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-XSS-Protection", "1; mode=block"),
        ("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate"),
        ("Pragma", "no-cache"),
        ("Expires", "0"),
        ("Strict-Transport-Security", "max-age=31536000 ; includeSubDomains"),
        ("X-Frame-Options", "DENY"),
        ("Content-Type", "application/json"),
        ("Set-Cookie", "JSESSIONID=8C7B6A5F4E3D2C1B0A9F8E7D6C5B4A39; Path=/; Secure; HttpOnly"),
        ("Set-Cookie", "XSRF-TOKEN=0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d; Path=/"),
    ], request_headers=[_UA, ("Accept", "application/json")]),
    _e("legacy-feature-policy", "https", "legacy.travel.example", "/booking", 200, [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Feature-Policy", "geolocation 'self'; microphone 'none'; camera 'none'; payment 'self' https://pay.travel.example"),
        ("Expect-CT", 'max-age=86400, enforce, report-uri="https://travel.report-uri.example/r/d/ct/enforce"'),
        ("X-Frame-Options", "SAMEORIGIN"),
        ("X-XSS-Protection", "1; mode=block; report=https://travel.report-uri.example/r/d/xss/enforce"),
        ("X-Content-Type-Options", "nosniff"),
        ("Public-Key-Pins", 'pin-sha256="d6qzRu9zOECb90Uez27xWltNsj0e1Md7GkYYkVoZWmM="; pin-sha256="E9CZ9INDbd+2eRQozYqqbQ2yXLVKB9+xcprMF+44U1g="; max-age=2592000; includeSubDomains'),
        ("Strict-Transport-Security", "max-age=31536000, includeSubDomains"),
        ("Referrer-Policy", "unsafe-url"),
        ("Server", "Apache/2.4.29 (Ubuntu)"),
        ("Set-Cookie", "BOOKING_SID=ab12cd34ef56; path=/; secure"),
    ], request_headers=[_UA, _ACCEPT_HTML]),
    # ---- HSTS / CSP / header-syntax variants -----------------------------------------------
    _e("hsts-max-age-zero", "https", "beta.shop.example", "/", 200, [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Strict-Transport-Security", "max-age=0"),
        ("X-Content-Type-Options", "nosniff"),
        ("Server", "Caddy"),
    ]),
    _e("hsts-duplicated-and-malformed", "https", "staging.saas.example", "/status", 200, [
        ("Content-Type", "text/html"),
        ("Strict-Transport-Security", "max-age=\"31536000\"; includeSubDomains; includeSubDomains"),
        ("Strict-Transport-Security", "max-age=600"),
        ("Content-Security-Policy", "default-src 'self'; scirpt-src 'self' https://cdn.saas.example; default-src *; img-src 'self' data:"),
        ("Content-Security-Policy", "frame-ancestors 'self'"),
        ("X-Frame-Options", "SAMEORIGIN, DENY"),
        ("Referrer-Policy", "no-referrer, unknown-policy"),
        ("X-Content-Type-Options", "nosniff, nosniff"),
        ("Set-Cookie", "tracking; Path=/"),
        ("Set-Cookie", "theme=dark; Path=/; SameSite=None"),
        ("Set-Cookie", "__Host-id=1; Path=/app; Secure"),
    ]),
    _e("hsts-over-http", "http", "shop.example", "/", 200, [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Strict-Transport-Security", "max-age=31536000; includeSubDomains; preload"),
        ("Server", "openresty/1.21.4.1"),
        ("Set-Cookie", "sid=31d4d96e407aad42; Path=/; HttpOnly"),
    ], request_headers=[_UA]),
    _e("websocket-101", "https", "live.chat.example", "/socket.io/?EIO=4&transport=websocket", 101, [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        ("Sec-WebSocket-Extensions", "permessage-deflate"),
    ], request_headers=[("Origin", "https://chat.example"), ("Upgrade", "websocket"),
                        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13")]),
]


# --------------------------------------------------------------------------- helpers

def corpus_digest() -> str:
    return hashlib.sha256(json.dumps(CORPUS, sort_keys=True).encode()).hexdigest()


def drheader_headers(entry: dict) -> dict:
    """The headers as drHEADer 2.0.0 wants them when given directly (no URL).

    Its Drheader(headers=...) iterates headers['set-cookie'] as a list (the form its own
    URL fetcher produces); other repeated fields are combined with ", " as RFC 9110 §5.3
    allows.
    """
    out: dict = {}
    lower_to_name: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in entry["headers"]:
        low = name.lower()
        if low == "set-cookie":
            cookies.append(value)
            continue
        if low in lower_to_name:
            out[lower_to_name[low]] += ", " + value
        else:
            lower_to_name[low] = name
            out[name] = value
    if cookies:
        out["Set-Cookie"] = cookies
    return out


# ---- salting: make every audited value unique without changing what it means ------------

_NONCE_RE = re.compile(r"'nonce-([A-Za-z0-9+/_=-]+)'")
_IMG_SRC_RE = re.compile(r"(img-src)([^;]*)", re.IGNORECASE)
_MAX_AGE_RE = re.compile(r"(max-age\s*=\s*\"?)(\d+)", re.IGNORECASE)


def _salt_csp(value: str, salt: int) -> str:
    if _NONCE_RE.search(value):
        return _NONCE_RE.sub(lambda m: f"'nonce-{m.group(1)}{salt:x}'", value)
    if _IMG_SRC_RE.search(value):
        return _IMG_SRC_RE.sub(lambda m: f"{m.group(1)}{m.group(2).rstrip()} https://img{salt}.salt.example", value, count=1)
    return value.rstrip().rstrip(";") + f"; report-uri https://csp.salt.example/r/{salt}"


def _salt_max_age(value: str, salt: int, floor: int) -> str:
    def repl(m: re.Match) -> str:
        n = int(m.group(2))
        return m.group(1) + (str(n + salt % 997 + 1) if n >= floor else m.group(2))
    return _MAX_AGE_RE.sub(repl, value, count=1)


def _salt_cookie(value: str, salt: int) -> str:
    name, sep, rest = value.partition("=")
    if not sep:
        return value
    val, semi, attrs = rest.partition(";")
    if val.startswith('"'):
        return value
    return f"{name}={val}{salt:x}{semi}{attrs}"


def _letters(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 26)
        out += "abcdefghijklmnopqrstuvwxyz"[r]
        if not n:
            return out


def _salt_one(low: str, value: str, salt: int) -> str:
    if low in ("content-security-policy", "content-security-policy-report-only"):
        return _salt_csp(value, salt)
    if low == "set-cookie":
        return _salt_cookie(value, salt)
    if low == "strict-transport-security":
        return _salt_max_age(value, salt, floor=86400)
    if low == "cache-control":
        return _salt_max_age(value, salt, floor=1)
    if low in ("server", "x-powered-by", "x-aspnet-version", "x-aspnetmvc-version", "x-generator"):
        return f"{value} (r{_letters(salt)})"  # no digits: a digit would read as a version
    if low in ("permissions-policy",):
        return value.rstrip(", ") + f', unload=(self "https://u{salt}.salt.example")'
    if low in ("feature-policy",):
        return value.rstrip("; ") + f"; unload 'self' https://u{salt}.salt.example"
    if low in ("vary", "access-control-expose-headers", "access-control-allow-headers"):
        return value + f", X-Salt-{salt}"  # one more list element
    if low == "location":
        return value + ("&" if "?" in value else "?") + f"s={salt}"
    if low in ("etag", "x-request-id"):
        return value + f"-{salt}"
    return value


def salted(entry: dict, salt: int) -> dict:
    """A copy of entry whose audited header values are unique to `salt`.

    CSP: a nonce gets the salt appended, else a salted img-src host or report-uri;
    Set-Cookie: the cookie value; HSTS/Cache-Control: a max-age >= the floor grows by
    1..997 s; Server/X-Powered-By & co: a salted comment; Permissions-Policy: one more
    feature; Vary/Access-Control-*-Headers: one more list element; Location/ETag: a
    suffix. Access-Control-Allow-Origin and the request Origin stay as they are (an
    echoed Origin is judged by a stateful check that no cache serves anyway).
    Enum-like values (X-Frame-Options, nosniff, Referrer-Policy, ...) stay as they are.
    """
    e = copy.deepcopy(entry)
    for pair in e["headers"]:
        pair[1] = _salt_one(pair[0].lower(), pair[1], salt)
    return e


def salt_coverage() -> tuple[int, int]:
    """(header lines whose value salting changes, all header lines) over the corpus."""
    changed = total = 0
    for entry in CORPUS:
        s = salted(entry, 12345)
        for (n, v), (_, v2) in zip(entry["headers"], s["headers"]):
            total += 1
            changed += v != v2
    return changed, total


if __name__ == "__main__":  # a quick look at the corpus
    import collections
    print(f"{len(CORPUS)} entries, digest {corpus_digest()[:16]}")
    ch, tot = salt_coverage()
    print(f"salting changes {ch}/{tot} header lines")
    schemes = collections.Counter(e["scheme"] for e in CORPUS)
    statuses = collections.Counter(e["status"] for e in CORPUS)
    print("schemes:", dict(schemes), "statuses:", dict(sorted(statuses.items())))
    ids = [e["id"] for e in CORPUS]
    assert len(ids) == len(set(ids)), "duplicate ids"
    print("header lines per entry: min %d max %d" % (min(len(e["headers"]) for e in CORPUS),
                                                     max(len(e["headers"]) for e in CORPUS)))
