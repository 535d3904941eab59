"""PySide6 widgets, models, tray and dialogs: the only layer besides app/ that imports Qt."""
