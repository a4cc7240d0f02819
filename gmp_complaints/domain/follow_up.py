"""The follow-up call (回访) after closure: the company's customer-service rules ask that the customer be
called back and the result recorded; the quarterly review counts the results (SOP §7, DESIGN §4). It is
a record of its own linked to the closed complaint, which does not change."""
from __future__ import annotations

from enum import StrEnum

from gmp_complaints.domain.errors import ConflictError, Msg


class CallResult(StrEnum):
    satisfied = "satisfied"
    partly = "partly"
    not_satisfied = "not_satisfied"


CALL_RESULT_LABELS = {
    CallResult.satisfied: Msg("Satisfied"),
    CallResult.partly: Msg("Partly satisfied"),
    CallResult.not_satisfied: Msg("Not satisfied"),
}


def check_may_call(status: str) -> None:
    """The customer is called back once the complaint is closed (a void complaint has no customer to ask)."""
    if status != "closed":
        raise ConflictError(Msg("The customer is called back after the complaint is closed."))
