"""The console: a web place for the people in the loop (CONTRACT.md v1.1 "Console").

Server-rendered HTML (Jinja2, autoescaped), one small script served from the
gateway itself, plain ``POST`` forms with CSRF tokens. ``router.build_console_router``
is what the app factory mounts; ``accounts`` is what ``gateway users`` drives.
"""
