"""Database backends: Django's, with the timeouts an outage needs."""
