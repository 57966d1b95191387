"""The staff console (our own pages at STRONGROOM_ADMIN_PATH) and account recovery."""
