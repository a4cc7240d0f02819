"""Translation of messages that come from the rules (``domain.errors.Msg``)."""
from __future__ import annotations

from flask_babel import gettext

from gmp_complaints.domain.errors import Msg


def translate(message) -> str:
    if isinstance(message, Msg):
        params = {k: translate(v) if isinstance(v, Msg) else v for k, v in message.params.items()}
        return gettext(message.template, **params)
    return gettext(str(message))


def add_field_errors(form, fields: dict) -> None:
    """Put rule violations next to the form fields they name; others go to the form as a whole."""
    for name, messages in fields.items():
        target = getattr(form, name, None)
        texts = [translate(m) for m in messages]
        if target is not None and hasattr(target, "errors"):
            target.errors = list(target.errors) + texts
        else:
            form.form_errors.extend(texts)


def signature_labels() -> dict:
    """Step and meaning labels of electronic signatures, in the page language (every signed record)."""
    from signatures.manifestation import MEANING_LABELS
    from signatures.matrix import SIGNING_MATRIX

    return {"step": {k.value: translate(v.label) for k, v in SIGNING_MATRIX.items()},
            "meaning": {k.value: translate(v) for k, v in MEANING_LABELS.items()}}
