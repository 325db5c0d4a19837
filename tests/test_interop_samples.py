"""The order check on what real EHR software sends (../shared/ehr-samples: the HL7 CDS Hooks
sandbox, the specification's own example requests, Synthea records): every file answers 200
with cards, or with a card naming what is missing; never a 400 or a 500."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.test_interop import SELECT, SIGN, call, cards, key  # noqa: F401 (fixtures)

# A copy of ../shared/ehr-samples, in the repository so a clean checkout tests the same files.
SAMPLES = Path(__file__).resolve().parent / "ehr-samples"
FILES = sorted([*SAMPLES.glob("*.json"), *SAMPLES.glob("synthea/*.json")])

pytestmark = pytest.mark.django_db


def request_of(path: Path) -> tuple[str, dict[str, Any]]:
    """The body as the file holds it; the specification's examples hold the context alone, so
    the hook (from the file name) and a hookInstance are added, as a client would send them."""
    body = json.loads(path.read_text())
    hook = "order-select" if "order-select" in path.name else "order-sign"
    body.setdefault("hook", hook)
    body.setdefault("hookInstance", str(uuid.uuid4()))
    return (SELECT if hook == "order-select" else SIGN), body


def test_the_samples_are_there() -> None:
    assert len(FILES) >= 18  # 2 sandbox, 4 specification examples, 12 Synthea patients


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_sample_gets_cards_or_none_for_other_drugs(
    call: Callable[..., Any],  # noqa: F811
    path: Path,
) -> None:
    url, body = request_of(path)
    found = cards(call(url, body))
    orders = [e["resource"] for e in body["context"]["draftOrders"].get("entry", [])]
    tocilizumab = [o for o in orders if "612865" in json.dumps(o.get("medicationCodeableConcept"))]
    named = [o for o in orders if o.get("resourceType") == "MedicationRequest" and not o.get("medicationCodeableConcept") and not o.get("medicationReference")]  # fmt: skip
    if tocilizumab:
        # The first card is the dose (or what stops it), never silence.
        assert found
        assert found[0]["summary"].startswith(("Tocilizumab", "Hold", "Discontinue", "Not recommended", "Weight", "No body weight"))  # fmt: skip
    elif named:  # the sandbox's order names no medication: a card says so
        assert [c["summary"] for c in found] == ["Medication order not checked: it names no medication code"]  # fmt: skip
    else:  # amoxicillin and a diet order: not ours
        assert found == []


def test_synthea_alt_without_a_reference_range_is_named_not_passed(
    call: Callable[..., Any],  # noqa: F811
) -> None:
    url, body = request_of(SAMPLES / "synthea" / "jordan-cruickshank-order-sign.json")
    found = cards(call(url, body))
    assert any(c["summary"].startswith("ALT") and "no reference range" in c["summary"] for c in found)  # fmt: skip
    assert any(c["summary"].startswith("AST") and "no reference range" in c["summary"] for c in found)  # fmt: skip
    # Platelets in K/uL (thousands per µL) are read: no card says the unit is not understood.
    assert not any("unit not understood" in c["summary"] for c in found)
