"""Production WSGI serving with gunicorn (several workers; nothing assumes a single process)."""
from __future__ import annotations

import gunicorn.http.wsgi
from gunicorn.app.base import BaseApplication

from gmp_complaints.config import Settings


class GmpApplication(BaseApplication):
    def __init__(self, settings: Settings, options: dict):
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from gmp_complaints import create_app

        return create_app(self.settings)


def hide_server_banner() -> None:
    """No ``Server: gunicorn`` in the answers: the name and version of the server help only an attacker. gunicorn has
    no setting for it; its responses take the name from ``gunicorn.http.wsgi.SERVER``, so it is emptied there (the
    header stays, with no value)."""
    gunicorn.http.wsgi.SERVER = ""


def run_gunicorn(settings: Settings, *, host: str, port: int, workers: int) -> None:
    hide_server_banner()
    GmpApplication(settings, {
        "bind": f"{host}:{port}",
        "workers": workers,
        "accesslog": "-",
        "errorlog": "-",
        # Each worker builds its own app and connection pool after the fork.
        "preload_app": False,
        # Files the workers create (uploads, exports) are the owner's alone, as at the command line.
        "umask": 0o077,
    }).run()
