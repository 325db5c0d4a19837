"""CDS Hooks 2.0 JSON (https://cds-hooks.hl7.org/2.0/) as pydantic models: what we send is built
from these, what we receive is checked by them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Indicator = Literal["info", "warning", "critical"]


class _Out(BaseModel):
    # Optional fields that are not set are left out of the JSON, as the specification shows them.
    model_config = ConfigDict(extra="forbid")


class Service(_Out):
    hook: str
    title: str
    description: str
    id: str
    prefetch: dict[str, str]


class Discovery(_Out):
    services: list[Service]


class Source(_Out):
    label: str
    url: str | None = None


class Link(_Out):
    label: str
    url: str
    type: Literal["absolute", "smart"]


class Action(_Out):
    type: Literal["create", "update", "delete"]
    description: str
    resource: dict[str, Any] | None = None
    resourceId: str | None = None  # noqa: N815 (the specification's name)


class Suggestion(_Out):
    label: str
    uuid: str
    isRecommended: bool | None = None  # noqa: N815
    actions: list[Action]


class Coding(_Out):
    system: str
    code: str
    display: str | None = None


class OverrideReason(_Out):
    code: str
    system: str
    display: str


class Card(_Out):
    uuid: str
    summary: str = Field(max_length=139)  # the specification: less than 140 characters
    detail: str | None = None
    indicator: Indicator
    source: Source
    suggestions: list[Suggestion] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None  # noqa: N815
    overrideReasons: list[OverrideReason] | None = None  # noqa: N815
    links: list[Link] | None = None


class CdsResponse(_Out):
    cards: list[Card]


class CdsRequest(BaseModel):
    """What a CDS client posts; unknown members are allowed (the specification lets them grow)."""

    hook: str
    hookInstance: str  # noqa: N815
    fhirServer: str | None = None  # noqa: N815
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None


class AcceptedSuggestion(BaseModel):
    id: str


class FeedbackReason(BaseModel):
    reason: Coding | None = None
    userComment: str | None = Field(default=None, max_length=2000)  # noqa: N815


class FeedbackItem(BaseModel):
    card: str = Field(min_length=1, max_length=100)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = Field(default=None, max_length=50)  # noqa: N815
    overrideReason: FeedbackReason | None = None  # noqa: N815
    outcomeTimestamp: datetime  # noqa: N815

    @model_validator(mode="after")
    def _outcome_fits(self) -> FeedbackItem:
        # The specification: acceptedSuggestions for an accepted card, overrideReason only for
        # an overridden one.
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions: required when the outcome is accepted.")
        if self.outcome == "accepted" and self.overrideReason is not None:
            raise ValueError("overrideReason: only for an overridden card.")
        return self


class Feedback(BaseModel):
    feedback: list[FeedbackItem] = Field(min_length=1, max_length=100)
