"""The peer (django-helpdesk) for ``bench_steps``: the same two operations as the peer's own driver
(``shared/peers/helpdesk/peer_bench.py``: ticket form save, ``update_ticket``), on PostgreSQL or SQLite.

The peer's own driver speaks SQLite only and sets ``synchronous=NORMAL``, which syncs the write-ahead log
less often than our FULL; the peer's README asks for the same settings on both sides (WAL,
synchronous=FULL), so on SQLite this driver sets those.

Runs in the peer's venv (``../peer-venv``), never in the product's: ``PEER_DATABASE_URL`` names the database
(``postgresql://…`` or ``sqlite:////path/file``).
"""
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

PEER_DIR = Path(__file__).resolve().parents[3] / "shared" / "peers" / "helpdesk"
sys.path.insert(0, str(PEER_DIR))
url = urlsplit(os.environ["PEER_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://"))

import settings as peer_settings  # noqa: E402  (the peer's own settings, with PostgreSQL instead of SQLite)

SQLITE = url.scheme == "sqlite"
if SQLITE:
    peer_settings.DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": url.path}}
else:
    peer_settings.DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": url.path.lstrip("/"),
                                           "USER": url.username or "postgres", "HOST": url.hostname or "127.0.0.1",
                                           "PORT": url.port or 5432}}
os.environ["DJANGO_SETTINGS_MODULE"] = "settings"

import django  # noqa: E402

django.setup()
from django.core.management import call_command  # noqa: E402

call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from helpdesk.forms import TicketForm  # noqa: E402
from helpdesk.models import Queue, Ticket  # noqa: E402
from helpdesk.update_ticket import update_ticket  # noqa: E402

if SQLITE:
    with connection.cursor() as cursor:  # our settings: WAL, and every commit synced to disk
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
N = int(os.environ.get("N", "300"))
user = get_user_model().objects.create_user("qa", "qa@example.com", "pw", is_staff=True)
queue = Queue.objects.create(title="Complaints", slug="cmp", email_address="c@example.com")
ids = []
started = time.perf_counter()
for i in range(N):
    with transaction.atomic():
        form = TicketForm(data={"queue": queue.id, "title": f"Tablet chipped lot B{i:05d}",
                                "body": "Customer reports chipped tablets in blister", "priority": 3,
                                "submitter_email": "cust@example.com", "assigned_to": ""},
                          queue_choices=[(queue.id, queue.title)])
        assert form.is_valid(), form.errors
        ids.append(form.save(user=user).id)
created = time.perf_counter()
for i, ticket_id in enumerate(ids):
    with transaction.atomic():
        ticket = Ticket.objects.get(id=ticket_id)
        update_ticket(user, ticket, comment=f"Graded class {'I' if i % 10 == 0 else 'II'}",
                      priority=1 if i % 10 == 0 else 2, new_status=ticket.status)
updated = time.perf_counter()
print(f"N={N} register: {N / (created - started):.0f}/s | classify(update_ticket): {N / (updated - created):.0f}/s")
