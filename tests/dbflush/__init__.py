"""Test-run helpers installed as a Django app (see tests/settings.py)."""
