"""The adversary's model (tests/adversary/model.py) on histories written by hand."""

from .model import DELETE, INSERT, UPDATE, RowChange, Transaction, anonymity_sets


def _history(first_claim: RowChange) -> list[Transaction]:
    return [
        Transaction("t0", 0, (RowChange("invitation", INSERT, 1, {"responded": False}),)),
        Transaction("t1", 1, (first_claim, RowChange("waiting_answer", INSERT, 10))),
        Transaction("t2", 2, (RowChange("waiting_answer", DELETE, 10), RowChange("response", INSERT, "r"))),
    ]


def test_a_claim_carries_its_invitation_to_the_response():
    claim = RowChange("invitation", UPDATE, 1, {"responded": True}, {"responded": False})
    assert anonymity_sets(_history(claim)).response_sets["r"] == {("invitation", 1)}


def test_a_claim_whose_earlier_state_was_lost_still_carries_its_invitation():
    # SQLite: the page's older frames were overwritten, so the reader shows the
    # claimed row as first appearing - answered. The app never inserts an
    # answered invitation: this is the claim (before the fix: a bare submission).
    history = _history(RowChange("invitation", INSERT, 2, {"responded": True}))
    assert anonymity_sets(history).response_sets["r"] == {("invitation", 2)}


def test_an_unanswered_invitation_appearing_is_no_claim():
    history = _history(RowChange("invitation", INSERT, 3, {"responded": False}))
    assert anonymity_sets(history).response_sets["r"] == {("submission", "t1")}
