"""The clinical domain: pure Python, no I/O, no Qt."""
