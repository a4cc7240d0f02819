"""How a signature is shown on screens, PDFs and exports (21 CFR 11.50, SIG-01).

One line carries the meaning, the printed name, the date and time with the site's UTC offset, the
record number and version, and the start of the record hash, e.g.
``Approved — Li Wei — 2026-12-02 14:05:09 +08:00 — TS-I-26-001 v3 — sha256:3f9a1c2b``.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from gmp_complaints.domain.errors import Msg
from signatures.matrix import Meaning

SEPARATOR = " — "
HASH_PREFIX_LENGTH = 8

# English labels, translated by the web layer like any other Msg.
MEANING_LABELS: dict[Meaning, Msg] = {
    Meaning.authored: Msg("Authored"),
    Meaning.reviewed: Msg("Reviewed"),
    Meaning.approved: Msg("Approved"),
    Meaning.rejected: Msg("Rejected"),
    Meaning.acknowledged: Msg("Acknowledged"),
    Meaning.verified: Msg("Verified"),
    Meaning.responsible: Msg("Responsible"),
}

# The manifestation is part of the signed record (11.50(b)), so its Chinese wording is fixed here
# rather than left to a translation catalogue that can change or be missing (PDFs, exports, CLI).
MEANING_LABELS_ZH: dict[Meaning, str] = {
    Meaning.authored: "编写",
    Meaning.reviewed: "审核",
    Meaning.approved: "批准",
    Meaning.rejected: "拒绝",
    Meaning.acknowledged: "确认知悉",
    Meaning.verified: "核实",
    Meaning.responsible: "负责",
}


def _is_chinese(locale: str) -> bool:
    return str(locale).replace("-", "_").lower().startswith("zh")


def format_utc_offset(moment: datetime) -> str:
    """``+08:00`` style offset (``%z`` gives ``+0800``, and ``%:z`` needs Python 3.12)."""
    minutes = int(moment.utcoffset().total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def local_time_text(signed_at: datetime, site_tz: ZoneInfo) -> str:
    """The signing time in the site zone with its offset, e.g. ``2026-12-02 14:05:09 +08:00``."""
    if signed_at.tzinfo is None:
        raise ValueError("signed_at must be timezone-aware")
    local = signed_at.astimezone(site_tz)
    return f"{local:%Y-%m-%d %H:%M:%S} {format_utc_offset(local)}"


def manifestation(*, meaning: str, printed_name: str, signed_at: datetime, site_tz: ZoneInfo,
                  record_number: str | None, record_version: int, record_hash: str, locale: str) -> str:
    """The human-readable line of one signature in the given locale (``zh…`` or English)."""
    meaning = Meaning(meaning)
    if _is_chinese(locale):
        meaning_text, version_text = MEANING_LABELS_ZH[meaning], f"第{record_version}版"
    else:
        meaning_text, version_text = str(MEANING_LABELS[meaning]), f"v{record_version}"
    # A record without a number yet (before classification) is named by its version alone.
    record_text = f"{record_number} {version_text}" if record_number else version_text
    return SEPARATOR.join([
        meaning_text,
        printed_name,
        local_time_text(signed_at, site_tz),
        record_text,
        f"sha256:{record_hash[:HASH_PREFIX_LENGTH]}",
    ])
