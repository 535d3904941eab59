"""`compass-listener install-desktop [--uninstall]`: the application-menu entry for this user."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "install-desktop",
        help="add Compass Listener to your application menu (Linux desktops)",
        description="Put the menu entry and icons under $XDG_DATA_HOME (~/.local/share); "
        "the entry starts this installation. --uninstall removes them again.",
    )
    parser.add_argument("--uninstall", action="store_true",
                        help="remove the menu entry and icons instead")
    parser.add_argument("--print", action="store_true", dest="print_only",
                        help="print the desktop entry that would be written, and stop")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from compass_listener.cli import CommandError
    from compass_listener.store import desktop_entry, desktop_install, launcher

    argv = launcher.launch_command()
    if args.print_only:
        print(desktop_entry.desktop_entry(argv), end="")
        return 0
    try:
        if args.uninstall:
            result = desktop_install.uninstall()
            if not result.removed:
                print("Compass Listener was not in the application menu; nothing to remove.")
            else:
                print(f"Removed the menu entry and icons ({len(result.removed)} files) "
                      f"from {desktop_install.data_home()}.")
            return 0
        result = desktop_install.install(argv)
    except OSError as exc:
        raise CommandError(f"could not write the menu entry ({exc.strerror or exc}: "
                           f"{exc.filename}); check that the folder is writable") from exc
    print(f"Added Compass Listener to the application menu: {result.written[0]}")
    print(f"It starts: {desktop_entry.exec_line(argv)}")
    return 0
