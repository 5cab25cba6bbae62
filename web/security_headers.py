"""The headers every answer carries: what the browser may load, frame and remember.

The pages load scripts, styles and images only from the gateway itself (the gateway is often
on a network with no internet, and a page that pulls a script from elsewhere is a page someone
else controls). No inline script is allowed, so an injected <script> would not run even if
escaping failed. HSTS only under TLS: over plain HTTP it would be ignored, and wrong.
"""

from __future__ import annotations

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000"


def add_security_headers(response, *, tls: bool):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        headers.setdefault("Cache-Control", "no-store")
    if tls:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response
