"""Every user-facing string is translatable, and the Chinese catalog is complete and compiled."""
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "gmp_complaints" / "translations"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None, "Msg": None}


def _extracted_ids() -> set[str]:
    method_map = [("gmp_complaints/**.py", "python"), ("signatures/**.py", "python"), ("audit/**.py", "python"), ("templates/**.html", "jinja2")]
    ids = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, keywords=KEYWORDS):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def _catalog(locale):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle)


def test_every_extracted_message_has_a_chinese_translation():
    catalog = _catalog("zh_Hans_CN")
    missing = sorted(m for m in _extracted_ids() if not (catalog.get(m) and catalog.get(m).string))
    assert missing == []
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert fuzzy == []


@pytest.mark.parametrize("locale", ["zh_Hans_CN", "en"])
def test_the_compiled_catalogs_match_their_sources(locale):
    source = {m.id: m.string for m in _catalog(locale) if m.id}
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo", "rb") as handle:
        compiled = {m.id: m.string for m in read_mo(handle) if m.id}
    assert {k: v for k, v in source.items() if v} == {k: v for k, v in compiled.items() if v}


def test_role_labels_are_translated_in_the_page_language(client, make_user):
    from tests.conftest import login

    _, password = make_user("li.na", "qa_officer", "investigator")
    login(client, "li.na", password)
    page = client.get("/").get_data(as_text=True)
    assert "调查人员" in page
