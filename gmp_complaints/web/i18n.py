"""Rule violations on the page's forms (WTForms); the translation itself is ``gmp_complaints.i18n``."""
from __future__ import annotations

from gmp_complaints.i18n import translate


def add_field_errors(form, fields: dict) -> None:
    """Put rule violations next to the form fields they name; others go to the form as a whole."""
    for name, messages in fields.items():
        target = getattr(form, name, None)
        texts = [translate(m) for m in messages]
        if target is not None and hasattr(target, "errors"):
            target.errors = list(target.errors) + texts
        else:
            form.form_errors.extend(texts)
