"""EHR standards on the same engine and the same content snapshot.

- `schemas.py`: CDS Hooks 2.0 JSON shapes (discovery, request, cards, feedback) as pydantic models;
- `fhir_in.py`: the CDS request read once into typed facts (orders, the record), element by element;
- `service.py`: draft tocilizumab orders -> engine.calculate -> cards;
- `fhir_out.py`: the live content as an R5 MedicationKnowledge;
- `auth.py`: the CDS client's signed JWT, checked against locally configured keys;
- `api.py`: the routes. Leans on dosing.engine and dosing.content.current_rules() only.
"""
