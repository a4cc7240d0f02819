"""Everything in the page language (issue 16): every main page, for every role, on the demo data, crawled in
zh-CN and in English. A zh-CN page fails on English words of the interface; an English page fails on
Chinese text of the interface. What people entered (the demo's bilingual names and texts) is data, not
interface; codes in brackets, acronyms and identifiers are allowed."""
from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import csrf_token

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("/", "/notices", "/complaints/", "/complaints/new", "/complaints/dashboard", "/complaints/dashboard?scope=all",
         "/complaints/waiting-for-signature", "/capas/", "/capas/1", "/capas/new", "/recalls/", "/returns/", "/returns/1", "/returns/2", "/returns/new",
         "/recalls/notifications", "/complaints/ledger", "/trends/", "/trends/reviews", "/audit/",
         "/audit/?entity=complaint:4", "/master-data/import", "/account/esignature-statement",
         *(f"/complaints/{n}" for n in range(1, 8)), "/complaints/4/audit-review", "/batches/1", "/batches/2",
         "/admin/users", "/admin/users/new", "/admin/users/2", "/admin/calendar", "/admin/time-limits",
         "/admin/adr-clocks", "/complaints/due-dates", "/admin/responsible-officials", "/notices/delivery", "/recalls/1",
         "/complaints/disposal-due")
#: the spreadsheets people take away: the ledger (its own language switch) and the audit trail (page language)
EXPORTS = {"zh_CN": ("/complaints/ledger.csv", "/audit/events.csv?entity=complaint:4"),
           "en": ("/complaints/ledger.csv?lang=en", "/audit/events.csv?entity=complaint:4")}
#: acronyms, units and names that read the same in both languages
INTERNATIONAL = {"CAPA", "QA", "QP", "ADR", "SOP", "PDF", "CSV", "XLSX", "SHA", "GMP", "FDA", "NMPA", "EU", "US", "CN",
                 "E2B", "R3", "XML", "JSON", "ID", "API", "MAH", "UTC", "Asia", "Shanghai", "English", "ZIP", "EMA",
                 "HTML", "URL", "IQ", "OQ", "CFR", "GSP", "ERP", "UUID", "PV", "RC", "TS", "Ed25519", "RFC", "OK",
                 "Argon2id", "CNY", "USD", "EUR", "MedDRA", "ICH", "ISO", "WHO", "u-chart"}
WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*[a-z][A-Za-z'\-]*")  # a word with a lower-case letter: not a code
CJK = re.compile(r"[\u3400-\u9fff\uff08-\uff1f\u3001-\u3011]+")


def _data_text() -> str:
    """Every string the demo and the seed data put in (names, product texts, SOP criteria): data, not UI."""
    texts = []
    for module in ("gmp_complaints/demo.py", "gmp_complaints/domain/criteria.py", "gmp_complaints/calendar_seed.py",
                   "signatures/statement.py"):
        tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
        texts += [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    return "\n".join(texts)


class _Text(HTMLParser):
    """The visible text of a page, without scripts, styles, codes (<code>, <kbd>) and what is marked as data
    in the other language (``lang`` attribute)."""

    SKIP = {"script", "style", "code", "kbd", "pre", "title"}

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0
        self._stack: list[bool] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "img", "input", "meta", "link", "hr"):
            return
        skipped = tag in self.SKIP
        self._stack.append(skipped)
        self._skip += skipped

    def handle_endtag(self, tag):
        if tag in ("br", "img", "input", "meta", "link", "hr") or not self._stack:
            return
        self._skip -= self._stack.pop()

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _visible(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    text = " ".join(parser.parts)
    return re.sub(r"\([^()]*\)|\[[^\[\]]*\]", " ", text)  # codes shown in brackets


TOKEN = re.compile(r"[A-Za-z0-9_'\-./:@+=#%]+")


def _english_words(text: str, data: str) -> set[str]:
    """Words of English among the text's tokens; a token with a digit, an underscore, a dot, a slash or an @
    is a code, a number, a hash, a path or an address, not a word."""
    words = set()
    for token in TOKEN.findall(text):
        if re.search(r"[0-9_/@.:=#%+]", token.strip(".:")):
            continue
        word = token.strip("'-.:")
        if not WORD.fullmatch(word) or word in INTERNATIONAL or word.upper() in INTERNATIONAL or len(word) < 3 \
                or word in data:
            continue
        words.add(word)
    return words


def _chinese_runs(text: str, data: str) -> set[str]:
    return {run for run in CJK.findall(text) if run not in data and run not in ("中文",) and not
            set(run) <= set("（）：，。、；？！「」【】〔〕")}


def test_no_interface_text_of_the_other_language_on_any_main_page(app, uow_factory):
    from gmp_complaints.demo import DEMO_USERS, demo_password, load_demo

    load_demo(uow_factory)
    data = _data_text() + "\n".join(_database_text(app))
    found: dict[tuple[str, str, str], set[str]] = {}
    for username, _name, role in DEMO_USERS:
        client = app.test_client()
        response = client.post("/login", data={"csrf_token": csrf_token(client, "/login"), "username": username,
                                               "password": demo_password(role)})
        assert response.status_code == 302, username
        for language in ("zh_CN", "en"):
            client.post("/language", data={"csrf_token": csrf_token(client, "/"), "lang": language, "next": "/"})
            for path in PAGES:
                page = client.get(path)
                if page.status_code != 200:
                    continue  # not this role's page (403) or not there (404): nothing of it is shown
                text = _visible(page.get_data(as_text=True))
                wrong = _english_words(text, data) if language == "zh_CN" else _chinese_runs(text, data)
                if wrong:
                    found.setdefault((language, path, username), set()).update(wrong)
            for path in EXPORTS[language]:
                export = client.get(path)
                if export.status_code != 200:
                    continue
                text = re.sub(r"\([^()]*\)", " ", export.get_data(as_text=True))
                wrong = _english_words(text, data) if language == "zh_CN" else _chinese_runs(text, data)
                if wrong:
                    found.setdefault((language, path, username), set()).update(wrong)
    assert not found, "\n".join(f"{lang} {path} ({who}): {sorted(words)}" for (lang, path, who), words in
                                sorted(found.items()))


def _database_text(app) -> list[str]:
    """What the database holds as text that master data brought in (products, consignees, calendar day
    names): data shown as entered."""
    import sqlalchemy as sa

    queries = ("SELECT name || ' ' || strength || ' ' || dosage_form FROM products", "SELECT consignee FROM distributions",
               "SELECT coalesce(name, '') FROM calendar_days")
    with app.extensions["gmp_engine"].connect() as connection:
        return [row[0] for query in queries for row in connection.execute(sa.text(query)) if row[0]]
