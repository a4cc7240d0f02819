"""The start page: what the signed-in user needs to know first."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, render_template
from flask_login import current_user

from gmp_complaints.clock import business_today
from gmp_complaints.services import accounts
from gmp_complaints.web import settings, uow

bp = Blueprint("main", __name__)


@bp.route("/")
def dashboard():
    me = accounts.get_user(uow(), current_user.id)
    policy = settings().password_policy
    password_expires_on = None if me.is_demo else (me.password_changed_at + timedelta(days=policy.max_age_days))
    return render_template(
        "main/dashboard.html",
        me=me,
        today=business_today(settings()),
        password_expires_on=password_expires_on,
    )
