"""headeraudit: judge HTTP security headers against YAML rules, live in mitmproxy."""

__version__ = "0.1.0"
