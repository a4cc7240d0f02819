"""How a signature is shown (21 CFR 11.50): meaning, printed name, time with offset, record."""
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from signatures.manifestation import MEANING_LABELS, MEANING_LABELS_ZH, manifestation
from signatures.matrix import Meaning

SHANGHAI = ZoneInfo("Asia/Shanghai")
SIGNED_AT = datetime(2026, 12, 2, 6, 5, 9, 412000, tzinfo=UTC)
HASH = "3f9a1c2b" + "0" * 56


def show(**changes):
    arguments = {"meaning": "approved", "printed_name": "Li Wei", "signed_at": SIGNED_AT, "site_tz": SHANGHAI,
                 "record_number": "TS-I-26-001", "record_version": 3, "record_hash": HASH, "locale": "en"}
    arguments.update(changes)
    return manifestation(**arguments)


@pytest.mark.req("SIG-01")
def test_english_line_shows_meaning_name_local_time_with_offset_record_and_hash():
    assert show() == "Approved — Li Wei — 2026-12-02 14:05:09 +08:00 — TS-I-26-001 v3 — sha256:3f9a1c2b"


@pytest.mark.req("SIG-01")
@pytest.mark.parametrize("locale", ["zh", "zh_Hans_CN", "zh-CN"])
def test_chinese_line_uses_chinese_meaning_and_version_words(locale):
    line = show(printed_name="李伟", locale=locale)
    assert line == "批准 — 李伟 — 2026-12-02 14:05:09 +08:00 — TS-I-26-001 第3版 — sha256:3f9a1c2b"


@pytest.mark.req("SIG-01")
@pytest.mark.parametrize("meaning, english, chinese", [
    ("authored", "Authored", "编写"),
    ("reviewed", "Reviewed", "审核"),
    ("approved", "Approved", "批准"),
    ("rejected", "Rejected", "拒绝"),
    ("acknowledged", "Acknowledged", "确认知悉"),
    ("verified", "Verified", "核实"),
    ("responsible", "Responsible", "负责"),
])
def test_every_meaning_is_shown_in_words_in_both_languages(meaning, english, chinese):
    assert show(meaning=meaning).startswith(f"{english} — ")
    assert show(meaning=meaning, locale="zh_Hans_CN").startswith(f"{chinese} — ")
    assert MEANING_LABELS[Meaning(meaning)] == english
    assert MEANING_LABELS_ZH[Meaning(meaning)] == chinese


@pytest.mark.req("SIG-01")
def test_every_meaning_has_a_label():
    assert set(MEANING_LABELS) == set(MEANING_LABELS_ZH) == set(Meaning)


@pytest.mark.req("SIG-01")
def test_an_unknown_meaning_is_not_shown():
    with pytest.raises(ValueError):
        show(meaning="witnessed")


@pytest.mark.req("SIG-01")
@pytest.mark.parametrize("zone, expected", [
    ("America/New_York", "2026-12-02 01:05:09 -05:00"),  # winter time
    ("Asia/Kolkata", "2026-12-02 11:35:09 +05:30"),
    ("UTC", "2026-12-02 06:05:09 +00:00"),
])
def test_time_is_shown_in_the_site_zone_with_its_offset(zone, expected):
    assert f" — {expected} — " in show(site_tz=ZoneInfo(zone))


@pytest.mark.req("SIG-01")
def test_daylight_saving_offset_follows_the_signing_date():
    summer = datetime(2026, 7, 1, 12, 0, 0, tzinfo=UTC)
    assert " — 2026-07-01 08:00:00 -04:00 — " in show(signed_at=summer, site_tz=ZoneInfo("America/New_York"))


@pytest.mark.req("SIG-01")
def test_a_time_without_zone_is_refused_rather_than_guessed():
    with pytest.raises(ValueError):
        show(signed_at=datetime(2026, 12, 2, 6, 5, 9))


@pytest.mark.req("SIG-01", "SIG-02")
def test_a_record_without_number_is_named_by_its_version():
    assert show(record_number=None).endswith(" — 2026-12-02 14:05:09 +08:00 — v3 — sha256:3f9a1c2b")
    assert show(record_number=None, locale="zh").endswith(" — 第3版 — sha256:3f9a1c2b")


@pytest.mark.req("SIG-02")
def test_the_line_shows_the_version_and_hash_prefix_the_signature_is_bound_to():
    other = "ab12cd34" + "f" * 56
    line = show(record_version=4, record_hash=other)
    assert line.endswith(" — TS-I-26-001 v4 — sha256:ab12cd34")
