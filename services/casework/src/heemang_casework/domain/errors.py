"""Casework's domain errors (rendered as problem+json by the app factory)."""

from __future__ import annotations

from heemang_common.errors import Conflict, Invalid


class IllegalTransition(Conflict):
    """The case cannot move to the requested stage from where it is (409).

    ``extensions`` carry ``current`` and ``allowed`` so the problem+json names the stages the
    caller may move to instead."""

    problem = "illegal-transition"
    title = "Illegal stage transition"

    def __init__(self, current: str, requested: str, allowed: list[str]) -> None:
        super().__init__(
            f"a case at stage {current!r} cannot move to {requested!r}",
            current=current,
            requested=requested,
            allowed=allowed,
        )


class InvalidTransition(Invalid):
    """The stage move is legal but the command lacks what it needs (422): a selection outcome
    when leaving selection, a reason for 미선정, a closure reason when closing."""

    problem = "invalid-transition"
    title = "Invalid stage transition"


class AlertAlreadyAcknowledged(Conflict):
    """The alert was acknowledged before (409); ``acknowledged_at`` says when."""

    problem = "alert-already-acknowledged"
    title = "Alert already acknowledged"

    def __init__(self, alert_id: str, acknowledged_at: str) -> None:
        super().__init__(
            f"alert {alert_id} was already acknowledged", alert_id=alert_id, acknowledged_at=acknowledged_at
        )


class InvalidAssessment(Invalid):
    problem = "invalid-assessment"
    title = "Invalid needs assessment"


class InvalidPlan(Invalid):
    problem = "invalid-plan"
    title = "Invalid service plan entry"


class InvalidConference(Invalid):
    problem = "invalid-conference"
    title = "Invalid case conference"


class InvalidFollowUp(Invalid):
    problem = "invalid-follow-up"
    title = "Invalid follow-up"
