"""Headless sub-commands of `compass-listener`, one module each.

Each module exposes `register(subparsers)`, which adds its sub-parser and sets
`func=<coroutine or function taking args, returning an exit code>` on it. cli.py lists
the modules in COMMANDS; nothing else needs to know about a new command.
"""
