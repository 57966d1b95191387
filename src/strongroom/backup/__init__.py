"""Backups of the embedded shape (database, files, key material) and storage checks.

``take.py`` writes a backup while the server runs, ``restore.py`` puts one back into a data
directory, ``verify.py`` compares the database's file rows with the objects in storage.
``manifest.py`` is the format they share.
"""
