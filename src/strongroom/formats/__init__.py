"""Date formats per language (FORMAT_MODULE_PATH): templates name them, never spell them out.

English keeps the ISO-like dates the site has always shown; French and German use their
day-first conventions. Numbers (decimal separators, file sizes) come from Django's own
locale formats.
"""
