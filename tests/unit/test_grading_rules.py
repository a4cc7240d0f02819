"""The grading beside the class (REC-08) and the decision to extend the investigation to other batches or
products (REC-11), as plain rules; and what the signatures cover of them. No database, no Flask."""
import copy

import pytest

from gmp_complaints.domain.complaints import ComplaintClass
from gmp_complaints.domain.errors import ValidationError
from gmp_complaints.domain.grading import (
    UNKNOWN,
    Severity,
    check_count_or_unknown,
    check_extension_decision,
    check_severity,
    default_extent,
    extension_decision_missing,
)
from signatures.binding import canonical_snapshot_hash
from signatures.scopes import complaint_snapshot
from tests.unit.test_signature_scopes import CASES, VIEW, signed_so_far


def fields_of(call) -> set[str]:
    with pytest.raises(ValidationError) as refused:
        call()
    return set(refused.value.fields)


class TestSeverityAgainstTheClass:
    @pytest.mark.req("REC-08")
    @pytest.mark.parametrize("klass,severity", [("I", "critical"), ("I", "major"), ("II", "major"), ("II", "minor"),
                                                ("III", "minor")])
    def test_the_class_is_the_severitys_own_or_one_above_it(self, klass, severity):
        check_severity(ComplaintClass(klass), Severity(severity))

    @pytest.mark.req("REC-08")
    @pytest.mark.parametrize("klass,severity,says", [
        ("II", "critical", "under-grade"), ("III", "critical", "under-grade"), ("III", "major", "under-grade"),
        ("I", "minor", "not two")])
    def test_a_class_below_the_severity_or_two_above_it_is_refused_naming_the_severity(self, klass, severity, says):
        with pytest.raises(ValidationError) as refused:
            check_severity(ComplaintClass(klass), Severity(severity))
        assert set(refused.value.fields) == {"severity"}
        assert says in refused.value.fields["severity"][0]

    def test_no_severity_recorded_weighs_nothing(self):
        for klass in ComplaintClass:
            check_severity(klass, None)


class TestExtent:
    @pytest.mark.req("REC-08")
    def test_the_defaults_are_the_linked_batches_and_the_products_markets_never_the_units(self):
        assert default_extent(2, ("US", "CN", "US")) == default_extent(2, ("CN", "US"))
        offered = default_extent(2, ("US", "CN"))
        assert (offered.units_affected, offered.batches_affected, offered.markets_affected) == (None, 2, ("CN", "US"))
        unknown_batch = default_extent(0, ())
        assert (unknown_batch.batches_affected, unknown_batch.markets_affected) == (None, ("CN",))

    @pytest.mark.req("REC-08")
    def test_a_count_is_a_number_or_unknown_never_both(self):
        assert check_count_or_unknown("units_affected", 12, None) == 12
        assert check_count_or_unknown("units_affected", None, True) == UNKNOWN
        assert check_count_or_unknown("units_affected", None, None) is None
        assert fields_of(lambda: check_count_or_unknown("units_affected", 12, True)) == {"units_affected"}


class TestExtensionDecision:
    @pytest.mark.req("REC-11")
    def test_yes_names_the_batches_or_products_and_every_decision_has_its_rationale(self):
        decision = check_extension_decision(True, "同一批原料", [" B2601 ", "B2601", "B2603"], [], required=True)
        assert (decision.extend, decision.batch_nos, decision.product_codes) == (True, ("B2601", "B2603"), ())
        assert check_extension_decision(True, "同一原料批", None, ["P-002"]).product_codes == ("P-002",)
        assert check_extension_decision(False, "仅本批", None, None).extend is False
        assert fields_of(lambda: check_extension_decision(True, "r", [], [])) == {"extension_batch_nos"}
        assert fields_of(lambda: check_extension_decision(False, "r", ["B2601"], [])) == {"extension_batch_nos"}
        assert fields_of(lambda: check_extension_decision(True, None, ["B2601"], [])) == {"extension_rationale"}
        assert fields_of(lambda: check_extension_decision(None, "r", [], [])) == {"extend_to_other_batches"}

    @pytest.mark.req("REC-11")
    def test_the_contract_body_may_leave_it_out_the_page_and_its_own_step_may_not(self):
        assert check_extension_decision(None, None, None, None) is None
        assert fields_of(lambda: check_extension_decision(None, None, None, None, required=True)) == {
            "extend_to_other_batches", "extension_rationale"}

    @pytest.mark.req("REC-11")
    def test_a_complaint_assessed_reasonable_needs_the_decision_to_close(self):
        assert extension_decision_missing(reasonable=True, investigated=True, decided=False)
        assert not extension_decision_missing(reasonable=True, investigated=True, decided=True)
        # Found not reasonable (no defect to extend; the DESIGN §6 walk to closure), or never investigated.
        assert not extension_decision_missing(reasonable=False, investigated=True, decided=False)
        assert not extension_decision_missing(reasonable=None, investigated=False, decided=False)


GRADED = {"severity": "major", "units_affected": 240, "batches_affected": UNKNOWN, "markets_affected": ["CN", "US"]}
DECIDED = {"extend_to_other_batches": True, "extension_rationale": "同一批胶囊壳", "extension_batch_nos": ["B2601"],
           "extension_product_codes": []}
NOT_RECORDED = ({key: None for key in GRADED}, {"extend_to_other_batches": None, "extension_rationale": None,
                                                "extension_batch_nos": [], "extension_product_codes": []})


@pytest.mark.req("REC-08", "REC-11", "SIG-02")
@pytest.mark.parametrize("scope,subject", CASES)
def test_signatures_made_before_the_grading_and_the_decision_keep_their_hash(scope, subject):
    """A complaint classified and investigated before these fields existed shows them null: every scope hashes
    exactly what it hashed before."""
    view = copy.deepcopy(VIEW)
    grading, decision = NOT_RECORDED
    view["classification"].update(grading)
    view["investigation"].update(decision)
    assert canonical_snapshot_hash(complaint_snapshot(view, scope, subject)) == \
        canonical_snapshot_hash(signed_so_far(VIEW, scope, subject))


@pytest.mark.req("REC-08", "SIG-02")
def test_the_classifications_signatures_cover_the_grading_where_recorded():
    graded = copy.deepcopy(VIEW)
    graded["classification"].update(GRADED)
    changed = copy.deepcopy(graded)
    changed["classification"]["severity"] = "critical"
    for scope in ("registration+classification", "classification+decision", "regrading", "assessment", "complaint"):
        assert complaint_snapshot(graded, scope)["grading"] == GRADED
        assert complaint_snapshot(changed, scope) != complaint_snapshot(graded, scope)


@pytest.mark.req("REC-11", "SIG-02")
def test_the_investigations_signatures_cover_the_decision_where_recorded():
    decided = copy.deepcopy(VIEW)
    decided["investigation"].update(DECIDED)
    changed = copy.deepcopy(decided)
    changed["investigation"]["extension_batch_nos"] = ["B2601", "B2603"]
    assert complaint_snapshot(decided, "assessment")["investigation"]["other_batches_decision"] == DECIDED
    for scope, subject in (("assessment", None), ("complaint", None), ("registration+classification", "investigation")):
        assert complaint_snapshot(changed, scope, subject) != complaint_snapshot(decided, scope, subject)
    # The QP's acknowledgement of the registration and classification does not cover the investigation.
    assert complaint_snapshot(changed, "registration+classification") == \
        complaint_snapshot(decided, "registration+classification")
