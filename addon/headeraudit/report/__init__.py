"""Reporters: plain data in, bytes out, written atomically."""
