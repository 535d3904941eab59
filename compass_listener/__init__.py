"""Compass Listener: receive, verify, keep and show HCL Compass webhook deliveries."""

__version__ = "0.1.0"
APP_NAME = "Compass Listener"
# Reverse-DNS application id: the .desktop file, icons, metainfo and Qt's desktop file name.
APP_ID = "io.github.compass_listener.CompassListener"
