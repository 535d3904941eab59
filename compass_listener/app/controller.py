"""The GUI's composition root: builds store, listener, window and tray, wires them, and owns
the one quit path (stop the listener, flush the store, close sessions, leave the loop)."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
import time
from dataclasses import replace

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from compass_listener.core.routes import Route, secret_key
from compass_listener.net.listener import Listener, ListenerError
from compass_listener.store import paths
from compass_listener.store.events import EventStore
from compass_listener.store.retention import Retention, RetentionKeeper
from compass_listener.store.secrets import SecretStore
from compass_listener.store.settings import Settings, load_settings, save_settings
from compass_listener.ui.bridge import ListenerBridge
from compass_listener.ui.compass_pages import install_compass_pages
from compass_listener.ui.main_window import MainWindow
from compass_listener.ui.settings_dialog import KEEP_FROM, SettingsDialog
from compass_listener.ui.tray import TrayController

log = logging.getLogger(__name__)

TEST_HEADER = "X-Compass-Signature"


class AppController(QObject):
    def __init__(self, app: QApplication, args, parent=None):
        super().__init__(parent)
        self.app = app
        self.args = args
        self.settings: Settings = load_settings()
        self.session_host = args.host or self.settings.host
        self.session_port = args.port if args.port is not None else self.settings.port
        self.secrets = SecretStore()
        self._secret_cache: dict[str, str] = {}
        self._env_secret = os.environ.get(args.secret_env, "") if args.secret_env else ""
        self._reload_secret_cache()
        self.store = EventStore(paths.database_file())
        report = self.store.open()
        self.listener = Listener(self.store, self.settings.routes, self._secret_for,
                                 self.settings.body_limit, limits=self._limits())
        self.retention = RetentionKeeper(self.store, lambda: self.settings.retention)
        self.retention_change = None      # app.retention_change.RetentionChange while asking
        self.bridge = ListenerBridge(self.listener, self)
        self.tray = TrayController(self)
        self.tray.notifications_enabled = self.settings.notifications
        self.window = MainWindow(self.store, self.tray.available, self._base_url)
        self._settings_dialog: SettingsDialog | None = None
        self._about = None
        self._export_dialog = None
        self._tasks: set[asyncio.Task] = set()
        self._quit = asyncio.Event()
        self._closing = False
        self.error_reporter = None         # app.error_report.ErrorReporter, set by gui.py
        self.extra_shutdown: list = []     # coroutine functions run on quit (REST sessions…)

        self.bridge.delivery_received.connect(self._delivery)
        self.bridge.problem_changed.connect(self._store_problem)
        self.bridge.scheme_learned.connect(self._scheme_learned)
        self.bridge.delivery_refused.connect(
            lambda text: self.tray.raise_problem("Delivery refused: too large", text))
        self.tray.show_window_requested.connect(self.window.show_delivery_id)
        self.tray.toggle_listener_requested.connect(lambda: self.spawn(self.toggle_listener()))
        self.tray.send_test_requested.connect(lambda: self.spawn(self.send_test()))
        self.tray.quit_requested.connect(self.request_quit)
        self.tray.notice_raised.connect(self.window.add_notice)
        self.window.toggle_listener_requested.connect(lambda: self.spawn(self.toggle_listener()))
        self.window.send_test_requested.connect(lambda: self.spawn(self.send_test()))
        self.window.settings_requested.connect(self.open_settings)
        self.window.export_requested.connect(self.open_export)
        self.window.about_requested.connect(self.open_about)
        self.window.quit_requested.connect(self.request_quit)
        self.window.shown.connect(self.tray.clear_unread)
        app.focusWindowChanged.connect(lambda w: w is not None and self.tray.clear_unread())

        notes = []
        if report.moved_aside:
            notes.append(f"The history file could not be read and was moved to "
                         f"{report.moved_aside}; a fresh history was started.")
        if self.settings.load_problem:
            notes.append(self.settings.load_problem[0].upper() + self.settings.load_problem[1:] + ".")
        if args.secret_env and not self._env_secret:
            notes.append(f"The environment variable {args.secret_env} named by --secret-env is "
                         f"not set or empty, so no secret was taken from it.")
        self._startup_notes = notes + self._lost_secret_notes()
        # The Compass REST side's pages (a failure there must not keep the listener down).
        try:
            install_compass_pages(self.window, controller=self)
        except Exception:
            log.exception("could not add the Compass pages")

    # ---- secrets -------------------------------------------------------------------------
    def _reload_secret_cache(self) -> None:
        # Looked up once here, not per delivery: a keyring call can take milliseconds.
        self._secret_cache = {}
        for route in self.settings.routes:
            value = self.secrets.get(secret_key(route.path)) or self._env_secret
            if value:
                self._secret_cache[route.path] = value

    def _lost_secret_notes(self) -> list[str]:
        lost = [r.path for r in self.settings.routes
                if r.secret_required and not self._secret_for(r.path)]
        if not lost:
            return []
        where = ("it was kept in memory only: " + self.secrets.problem
                 if not self.secrets.backend_usable else "the keyring has no entry for it")
        return [f"{', '.join(lost)} needs its secret again ({where}). Enter it in Settings; "
                f"until then deliveries there are answered 503 and Compass retries them."]

    def _secret_for(self, path: str) -> str | None:
        return self._secret_cache.get(path)

    def _limits(self):
        from compass_listener.net.http_guard import ConnectionLimits

        return ConnectionLimits(header_timeout=self.settings.header_timeout,
                                body_timeout=self.settings.body_timeout)

    def _tls(self) -> dict:
        """Listener.start's HTTPS arguments from the settings (empty for plain HTTP);
        raises TlsSetupError with a sentence naming the file and the fix."""
        cert, key = self.settings.tls_cert_file, self.settings.tls_key_file
        if not cert and not key:
            return {}
        from compass_listener.net.tls_server import TlsSetupError, server_context, url_host

        if not (cert and key):
            raise TlsSetupError("HTTPS needs both a certificate file and its key file; give "
                                "the missing one in Settings, or clear both for plain HTTP")
        return {"ssl_context": server_context(cert, key),
                "url_host": url_host(cert, self.session_host)}

    def _base_url(self) -> str:
        host = self.listener.url_host or self.listener.host or self.session_host
        host = f"[{host}]" if ":" in host else host
        return f"{self.listener.scheme}://{host}:{self.listener.port or self.session_port}"

    # ---- lifecycle -----------------------------------------------------------------------
    def spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            if self.error_reporter is not None:
                self.error_reporter.report(task.exception(), "a background task")
            else:
                log.error("background task failed", exc_info=task.exception())

    def show_for_second_launch(self) -> None:
        log.info("another launch asked for the window; bringing it forward")
        self.window.show_and_raise()

    def show_internal_error(self, text: str) -> None:
        self.window.show_problem(text)
        self.tray.raise_problem("Compass Listener: internal error", text)

    async def run(self) -> int:
        if not (self.args.minimized and self.tray.available):   # no tray: the window is the app
            self.window.show()
        for note in self._startup_notes:
            self.window.show_problem(note)
            self.tray.raise_problem("Compass Listener", note)
        await self.start_listener()
        # What start-up built lives as long as the app (Qt wrappers, modules, the window):
        # out of the collector's sight, a full collection during a burst walks only what
        # the burst made. With it in view one took 322 ms in the middle of a burst.
        gc.freeze()
        self.retention.start()
        if self.args.quit_after:
            QTimer.singleShot(int(self.args.quit_after * 1000), self.request_quit)
        await self._quit.wait()
        return 0

    def _unsafe_remote_binding(self) -> str:
        """A sentence when listening beyond loopback would accept unsigned deliveries without
        the user's explicit confirmation; "" when it is fine."""
        host = self.session_host
        if host in ("127.0.0.1", "localhost", "::1") or host.startswith("127."):
            return ""
        if self.settings.allow_unsigned_remote or self.args.allow_unsigned:
            return ""
        unsigned = [r.path for r in self.settings.routes if not self._secret_for(r.path)]
        if not unsigned:
            return ""
        return (f"Not listening on {host}: {', '.join(unsigned)} has no secret, so anyone who "
                f"can reach this machine could post fake Compass records. Set a secret in "
                f"Settings, confirm 'Accept unsigned deliveries from other machines' there, "
                f"or start with --allow-unsigned.")

    async def start_listener(self) -> bool:
        refusal = self._unsafe_remote_binding()
        if refusal:
            log.warning("%s", refusal)
            self._set_state("error", refusal)
            return False
        from compass_listener.net.tls_server import TlsSetupError

        try:
            self.listener.set_routes(self.settings.routes)
            self.listener.body_limit = self.settings.body_limit
            self.listener.limits = self._limits()
            await self.listener.start(self.session_host, self.session_port, **self._tls())
        except (ListenerError, TlsSetupError) as exc:
            log.warning("listener not started: %s", exc)
            self._set_state("error", str(exc))
            self.tray.raise_problem("The listener could not start", str(exc))
            return False
        self._set_state("listening")
        return True

    async def toggle_listener(self) -> None:
        if self.listener.running:
            await self.listener.stop()
            self._set_state("stopped")
        else:
            await self.start_listener()

    def _set_state(self, state: str, problem: str = "") -> None:
        urls = self.listener.urls if state == "listening" else []
        self.tray.set_listener_state(state, urls, problem)
        # Start-up notes (the history moved aside, the settings file unreadable) stay in the
        # banner while nothing worse is shown: "listening" used to wipe them at once.
        self.window.set_listener_state(state, urls, problem or " ".join(self._startup_notes))
        title = "Compass Listener"
        if state == "listening":
            title += f" — {self._base_url()}"
        self.window.setWindowTitle(title)

    def request_quit(self) -> None:
        if not self._closing:
            self._closing = True
            self.spawn(self.shutdown())

    async def shutdown(self) -> None:
        """The one quit path: nothing queued is lost, no session is left open."""
        try:
            await self.listener.stop()
            await self.retention.stop()
            self.window.stop_updates()
            for hook in self.extra_shutdown:
                try:
                    await asyncio.wait_for(hook(), timeout=5)
                except Exception:
                    log.exception("a shutdown step failed")
            await asyncio.get_running_loop().run_in_executor(None, self.store.close)
        finally:
            self.tray.hide()
            self.window.hide()
            self._quit.set()

    def close_now(self) -> None:
        """Without a running loop: commit what is queued and close the history."""
        self.window.stop_updates()
        self.store.close()

    # ---- deliveries ----------------------------------------------------------------------
    def _delivery(self, delivery) -> None:
        self.window.delivery_received(delivery)
        visible = self.window.isVisible() and self.window.isActiveWindow()
        self.tray.delivery_received(delivery, window_visible=visible)

    def _store_problem(self, text: str) -> None:
        if text:
            self._set_state("error", text)
            self.tray.raise_problem("Deliveries cannot be stored", text)
        elif self.listener.running:
            self._set_state("listening")

    def _scheme_learned(self, route: Route) -> None:
        self.settings.routes = [route if r.path == route.path else r for r in self.settings.routes]
        try:
            save_settings(self.settings)
        except OSError as exc:
            log.warning("could not save the learned signature scheme: %s", exc)
        self.window.statusBar().showMessage(
            f"Route {route.path} learned its signature: {route.scheme.describe()}", 10000)

    async def send_test(self) -> None:
        from compass_listener.net.sender import send_deliveries

        if not self.listener.running:
            self.window.statusBar().showMessage(
                "The listener is stopped; start it before sending a test delivery.", 8000)
            return
        route = self.settings.routes[0]
        url = self._base_url() + route.path
        header = route.scheme.effective_header or TEST_HEADER
        self.window.statusBar().showMessage(f"Sending a test delivery to {url}…")
        session = None
        if self.listener.scheme == "https":
            import aiohttp

            from compass_listener.net.tls_server import client_context_trusting

            # Our own listener: trust its certificate (it may well be self-signed).
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(
                ssl=client_context_trusting(self.settings.tls_cert_file)))
        try:
            results = await send_deliveries(url, secret=self._secret_for(route.path),
                                            header=header, record_type=route.label or "Defect",
                                            session=session)
        finally:
            if session is not None:
                await session.close()
        result = results[0]
        text = (f"Test delivery to {url}: {result.status} {result.message}" if not result.error
                else f"Test delivery failed: {result.error}")
        self.window.statusBar().showMessage(text, 10000)

    # ---- dialogs -------------------------------------------------------------------------
    def open_settings(self) -> None:
        if self._settings_dialog is not None and self._settings_dialog.isVisible():
            self._settings_dialog.raise_()
            self._settings_dialog.activateWindow()
            return
        note = "" if self.secrets.backend_usable else (
            f"Secrets are kept in memory for this session only: {self.secrets.problem}. "
            f"They are never written to a file; enter them again after a restart.")
        try:
            from compass_listener.store import autostart
            login = autostart.is_start_at_login()
        except Exception:
            login = None
        current = Settings(**{**self.settings.__dict__})
        current.host = self.session_host
        current.port = self.listener.port if self.listener.running else self.session_port
        dialog = SettingsDialog(current, lambda p: bool(self._secret_cache.get(p)),
                                keyring_note=note, start_at_login=login, parent=self.window)
        dialog.applied.connect(lambda s, c, l: self.spawn(self.apply_settings(s, c, l, dialog)))
        self._settings_dialog = dialog
        dialog.open()

    async def apply_settings(self, new: Settings, secret_changes: dict, start_at_login,
                             dialog: SettingsDialog | None = None) -> None:
        # A route given a secret keeps asking for one (secret_required) until the user
        # explicitly removes it; the flag, never the secret, goes to the settings file.
        given = {p for p, v in secret_changes.items() if v}
        removed = {p for p, v in secret_changes.items() if not v}
        new.routes = [replace(r, secret_required=(r.path in given)
                              or (r.secret_required and r.path not in removed))
                      for r in new.routes]
        for path, value in secret_changes.items():
            key = secret_key(path)
            if isinstance(value, KEEP_FROM):
                old = self.secrets.get(secret_key(value)) or self._secret_cache.get(value)
                if old:
                    self.secrets.set(key, old)
            elif value:
                self.secrets.set(key, value)
            else:
                self.secrets.delete(key)
        binding = ("host", "port", "tls_cert_file", "tls_key_file", "header_timeout",
                   "body_timeout")
        was_running = self.listener.running
        previous = {name: getattr(self.settings, name) for name in binding}
        if was_running:
            previous.update(host=self.listener.host, port=self.listener.port)
        rebind = (new.host, new.port) != (self.listener.host, self.listener.port) \
            or not self.listener.running \
            or (new.tls_cert_file, new.tls_key_file, new.header_timeout, new.body_timeout) != (
                self.settings.tls_cert_file, self.settings.tls_key_file,
                self.settings.header_timeout, self.settings.body_timeout)
        # One Settings object lives as long as the app (the Compass pages hold it too):
        # copy the listener's part in, keep the rest (the `compass` table) as it is now.
        for name in ("host", "port", "body_limit", "allow_unsigned_remote", "notifications",
                     "routes", "header_timeout", "body_timeout", "tls_cert_file",
                     "tls_key_file"):
            setattr(self.settings, name, getattr(new, name))
        self.settings.load_problem = ""
        # Saving new settings answers the "settings file cannot be read" note.
        self._change_retention(new.retention)
        new = self.settings
        self.session_host, self.session_port = new.host, new.port
        self._reload_secret_cache()
        self._startup_notes = ((self._startup_notes[:1] if self.store.report.moved_aside else [])
                               + self._lost_secret_notes())
        self.tray.notifications_enabled = new.notifications
        try:
            save_settings(new)
        except OSError as exc:
            if dialog:
                dialog.show_error(f"The settings could not be saved ({exc}); they apply until "
                                  f"you quit.")
        if start_at_login is not None:
            try:
                from compass_listener.store import autostart
                autostart.set_start_at_login(start_at_login)
            except Exception as exc:
                log.exception("start at login")
                if dialog:
                    dialog.show_error(f"Start at login could not be changed: {exc}")
        self.listener.set_routes(new.routes)
        self.listener.body_limit = new.body_limit
        if rebind:
            await self.listener.stop()
            ok = await self.start_listener()
            if not ok and was_running:
                # Keep the app receiving: go back to the address that worked, and keep the
                # broken one out of the settings file so the next start is not broken too.
                problem = self.window.banner.text()
                for name, value in previous.items():
                    setattr(self.settings, name, value)
                self.session_host, self.session_port = previous["host"], previous["port"]
                try:
                    save_settings(self.settings)
                except OSError:
                    log.warning("could not save the restored listener address")
                if await self.start_listener():
                    problem = (problem.rstrip(". ") + f". The listener stays on "
                               f"{previous['host']}:{previous['port']}.")
                    self.window.statusBar().showMessage(problem, 15000)
                if dialog:
                    dialog.show_error(problem)
            elif not ok and dialog:
                dialog.show_error(self.window.banner.text())
        else:
            self._set_state("listening")

    def _change_retention(self, wanted: Retention) -> None:
        """A looser limit (or none) applies now; a stricter one that would delete stored
        deliveries waits for the user's choice (export first, delete, or keep the old)."""
        from compass_listener.app.retention_change import RetentionChange

        pending = self.retention_change
        if wanted == self.settings.retention or (pending is not None and pending.new == wanted):
            return
        if not wanted.stricter_than(self.settings.retention):
            self._set_retention(wanted)
            return
        change = RetentionChange(self.store, wanted, self._set_retention, self.window)
        self.retention_change = change
        change.done.connect(lambda applied: self._retention_answered(change, applied))
        change.start()

    def _set_retention(self, wanted: Retention) -> None:
        self.settings.history_keep_days = wanted.keep_days
        self.settings.history_keep_count = wanted.keep_count
        try:
            save_settings(self.settings)
        except OSError as exc:
            log.warning("could not save the history limit: %s", exc)
        if wanted.active:
            self.retention.trim_soon()

    def _retention_answered(self, change, applied: bool) -> None:
        if self.retention_change is change:
            self.retention_change = None
        self.window.statusBar().showMessage(
            f"History limit set: keeping {change.new.describe()}." if applied else
            "History limit not changed; nothing was deleted.", 10000)

    def open_export(self) -> None:
        """File → Export deliveries…: the whole history, off the GUI thread."""
        from compass_listener.ui.export_dialog import ExportDialog

        if self._export_dialog is not None and self._export_dialog.isVisible():
            self._export_dialog.raise_()
            return
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self._export_dialog = ExportDialog(
            self.store.path, paths.data_dir() / f"compass-deliveries-{stamp}.jsonl",
            parent=self.window)
        self._export_dialog.exported.connect(lambda count, path: self.window.statusBar(
            ).showMessage(f"Exported {count} deliveries to {path}", 10000))
        self._export_dialog.open()

    def open_about(self) -> None:
        from compass_listener.ui.about_dialog import AboutDialog

        if self._about is None:
            self._about = AboutDialog(self.window)
        self._about.open()
