"""Command line entry point: the GUI by default, headless sub-commands otherwise.

Exit codes: 0 success, 1 failure, 2 usage error. Errors are printed as one sentence on
stderr; tracebacks only go to the log file.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import logging
import os
import sys

from compass_listener import APP_NAME, __version__

# Sub-command modules under compass_listener/commands/, in the order `--help` lists them.
COMMANDS = [
    "listen",
    "send_test",
    "events",
    "export",
    "hooksetup",
    "deliveries",
    "configs",
    "demo",
    "install_desktop",
]


class UsageError(Exception):
    """A command line that cannot be carried out as written (exit code 2)."""


class CommandError(Exception):
    """A command that failed for a reason the user can act on (exit code 1)."""


def port_number(text: str) -> int:
    """argparse type for --port: a whole number from 0 (any free port) to 65535."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a port; give a number from 1 to 65535 (or 0 for any free port)")
    return value


def folder_problem(exc: OSError) -> str:
    """One sentence for a data, settings or log folder that cannot be made or used."""
    folder = exc.filename or "the data folder"
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        return (f"{folder} (or a folder above it) is a file, not a folder; give --data-dir "
                f"a folder, or move the file away")
    if isinstance(exc, FileNotFoundError):
        return (f"the folder {folder} cannot be created there; give --data-dir a folder "
                f"you can write to")
    return (f"the folder {folder} cannot be used ({exc.strerror or exc}); make it writable, "
            f"or give --data-dir a folder you can write to")


def _remembered(base: type[argparse.Action]) -> type[argparse.Action]:
    """An action that also notes its option in namespace.gui_options: the GUI-only options
    given before a sub-command are refused, not silently ignored."""

    class Action(base):  # type: ignore[misc, valid-type]
        def __call__(self, parser, namespace, values, option_string=None):
            super().__call__(parser, namespace, values, option_string)
            namespace.gui_options = [*getattr(namespace, "gui_options", []), option_string]

    return Action


_GuiValue = _remembered(argparse._StoreAction)
_GuiFlag = _remembered(argparse._StoreTrueAction)


def gui_options_problem(parser: argparse.ArgumentParser, args) -> str | None:
    """The sentence refusing a GUI-only option given with a sub-command, or None."""
    given = getattr(args, "gui_options", [])
    if not args.command or not given:
        return None
    option = given[0]
    own = parser.sub_commands[args.command]._option_string_actions  # type: ignore[attr-defined]
    if option in own:
        return (f"{option} before `{args.command}` is the window's option; put it after the "
                f"sub-command: compass-listener {args.command} {option} ...")
    return (f"{option} is an option of the window only; `compass-listener {args.command}` "
            f"does not take it, leave it out")


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        # No abbreviations: `--secret VALUE` would pass as `--secret-env VALUE`, and the
        # "variable VALUE is not set" error would then print the secret itself.
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # argparse's default exits 2 with usage; keep that
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="compass-listener",
        description=f"{APP_NAME}: receive, verify, keep and show HCL Compass webhook deliveries.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="keep the history, settings and logs in DIR "
        "(default: the platform's user directories, or $COMPASS_LISTENER_HOME)",
    )
    parser.add_argument("--minimized", action=_GuiFlag, help="start the GUI in the tray")
    # The options below are the window's; a sub-command given with them is a usage error.
    parser.add_argument(
        "--secret-env",
        action=_GuiValue,
        metavar="VAR",
        help="GUI: use the secret in environment variable VAR for routes that have none stored",
    )
    parser.add_argument("--port", type=port_number, action=_GuiValue,
                        help="GUI: listen on this port for this session")
    parser.add_argument("--host", action=_GuiValue,
                        help="GUI: listen on this address for this session")
    parser.add_argument(
        "--quit-after",
        action=_GuiValue,
        type=float,
        metavar="SECONDS",
        help=argparse.SUPPRESS,  # for smoke tests of the GUI and the frozen bundle
    )
    parser.add_argument("--allow-unsigned", action=_GuiFlag,
                        help="GUI: allow binding beyond loopback while a route has no secret")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"compass_listener.commands.{name}").register(sub)
    parser.sub_commands = sub.choices  # type: ignore[attr-defined]
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    problem = gui_options_problem(parser, args)
    if problem:
        print(f"compass-listener: {problem}", file=sys.stderr)
        return 2
    from compass_listener.store import paths

    if args.data_dir:
        os.environ[paths.HOME_ENV] = os.path.abspath(args.data_dir)
    func = getattr(args, "func", None)
    if func is None:
        from compass_listener.app.gui import run_gui

        func = run_gui
    try:
        # The folders first: a file given as --data-dir, or a folder that cannot be made,
        # is one sentence here rather than a traceback from wherever it is first used.
        paths.data_dir()
        paths.config_dir()
        paths.setup_logging(console=func is not None and args.command is not None)
    except OSError as exc:
        print(f"compass-listener: {folder_problem(exc)}", file=sys.stderr)
        return 1
    try:
        result = func(args)
        if inspect.iscoroutine(result):
            result = asyncio.run(result)
        return int(result or 0)
    except UsageError as exc:
        print(f"compass-listener: {exc}", file=sys.stderr)
        return 2
    except CommandError as exc:
        print(f"compass-listener: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: one sentence for the user, the traceback for the log
        log = paths.active_log_file()
        if log is not None:
            logging.getLogger("compass_listener").exception("unhandled error")
        where = (f"the traceback is in {log}" if log is not None else
                 "no log file could be written, so the traceback was not kept")
        print(f"compass-listener: unexpected error ({type(exc).__name__}: {exc}); {where}",
              file=sys.stderr)
        return 1
