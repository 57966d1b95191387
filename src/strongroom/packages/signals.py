"""Signals the packages app sends; receivers run inside the sender's transaction."""

from django.dispatch import Signal

# Sent by bump_serial() with ``project=``, after the project's serial was bumped and saved.
project_changed = Signal()
# Sent by remove_project() with ``normalized_name=``, after the project was deleted.
project_removed = Signal()
