"""GMP customer quality complaint and CAPA module."""
from __future__ import annotations

#: what ``from gmp_complaints import ...`` offers, defined in ``gmp_complaints.app``
_FROM_APP = frozenset({"create_app", "unit_of_work", "resource_dir", "restrict_new_files", "PROJECT_ROOT"})


def __getattr__(name: str):
    # Loaded on first use, so that a process needing one light module (a PDF layout worker, which imports
    # gmp_complaints.documents) does not load Flask and SQLAlchemy: 40 MB and half a second per worker.
    if name in _FROM_APP:
        from gmp_complaints import app

        return getattr(app, name)
    raise AttributeError(f"module 'gmp_complaints' has no attribute {name!r}")
