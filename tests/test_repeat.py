"""Issue 22.5: repeat doses of a single-dose course, and clocks that add elapsed time.

The counts and the spacing are content's (DoseRule.additional_doses_max, min_hours_apart, from
the reference's repeat-dose section: CRS up to 3 more, COVID-19 one more, at least 8 hours apart).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from django.core.cache import cache
from django.test import override_settings

from dosing import engine
from tests.conftest import inputs

NY = "America/New_York"


def calc(rules: engine.Rules, *args: Any, **kwargs: Any) -> engine.Result:
    return engine.calculate(inputs(*args, **kwargs), rules)


@pytest.fixture(autouse=True)
def fresh_rate_limit() -> None:
    cache.clear()


def test_the_second_covid_infusion_allows_no_further_dose(rules: engine.Rules) -> None:
    # Before: "single dose; ..., up to 1 additional dose" on the second infusion too.
    result = calc(
        rules, "covid-19", "iv", "80", dose_number=2, previous_dose_start="2026-07-01T09:00"
    )
    assert result.action == engine.Action.GIVE
    interval = result.display["interval"]
    assert interval.startswith("2nd of up to 2 doses; not before 17:00 on Wednesday 1 July 2026")
    assert interval.endswith("the label allows no further dose")
    assert "additional" not in interval
    assert result.next_dose is None
    assert "2nd of up to 2 doses" in result.chart_note


def test_the_fourth_crs_dose_offers_no_more(rules: engine.Rules) -> None:
    result = calc(rules, "crs", "iv", "70", dose_number=4, previous_dose_start="2026-06-11T06:15")
    assert result.display["interval"].startswith("4th of up to 4 doses; not before 14:15")
    assert "the label allows no further dose" in result.display["interval"]
    assert result.next_dose is None
    assert result.repeat is not None
    assert result.repeat.not_before == "2026-06-11T14:15+00:00"


def test_the_second_crs_dose_says_its_place_and_its_earliest_start(rules: engine.Rules) -> None:
    result = calc(
        rules, "crs", "iv", "25", dose_number=2, previous_dose_start="2026-03-09T06:30",
        time_zone=NY, confirmed=True,  # 25 kg without an age is a check to confirm
    )  # fmt: skip
    assert result.display["interval"].startswith("2nd of up to 4 doses; not before 14:30")
    assert "up to 2 more at least 8 hours apart" in result.display["interval"]
    assert result.next_dose == engine.NextDose(
        kind="no_sooner", hours=8, not_before="2026-03-09T14:30-04:00"
    )


def test_eight_hours_across_the_spring_change_are_elapsed_hours(rules: engine.Rules) -> None:
    # 01:30 EST + 8 elapsed hours = 10:30 EDT; wall-clock arithmetic said 09:30 (7 hours: too soon).
    result = calc(
        rules, "crs", "iv", "70", dose_number=2, previous_dose_start="2026-03-08T01:30",
        time_zone=NY,
    )  # fmt: skip
    assert result.repeat is not None
    assert result.repeat.not_before == "2026-03-08T10:30-04:00"
    assert "not before 10:30 on Sunday 8 March 2026" in result.display["interval"]


def test_a_time_the_clocks_skip_is_refused_and_one_they_repeat_is_read_late() -> None:
    zone = engine.time_zone(NY)
    with pytest.raises(engine.InputError) as error:
        engine.read_moment("previous_dose_start", "2026-03-08T02:30", zone)
    assert "does not exist in America/New_York" in error.value.message
    twice = engine.read_moment("previous_dose_start", "2026-11-01T01:30", zone)
    assert engine.iso_minute(twice) == "2026-11-01T01:30-05:00"  # the later 01:30 (EST)


def test_use_by_and_next_dose_add_elapsed_hours() -> None:
    london = engine.time_zone("Europe/London")
    now = datetime.fromisoformat("2026-03-28T20:00+00:00").astimezone(london)
    storage = engine.StorageRule(diluent="0.9% NaCl", temperature="2 to 8 °C", max_hours=24)
    # 24 elapsed hours across the change to summer time: 21:00 on the wall clock, not 20:00.
    assert "use by 21:00 on Sunday 29 March 2026" in engine.use_by_text(storage, now)
    ny = datetime.fromisoformat("2026-03-08T01:30-05:00").astimezone(engine.time_zone(NY))
    further = engine.next_dose_text(engine.NextDose(kind="no_sooner", hours=8), ny)
    assert "if it starts now (01:30), not before 10:30 on Sunday 8 March 2026" in further


def test_a_repeat_dose_that_may_not_start_yet_says_when() -> None:
    repeat = engine.Repeat(
        additional_doses_max=3, min_hours_apart=8, condition="", dose_number=2, doses_max=4,
        previous_dose_start="2026-03-08T01:30-05:00", not_before="2026-03-08T10:30-04:00",
    )  # fmt: skip
    zone = engine.time_zone(NY)
    early = datetime.fromisoformat("2026-03-08T09:29-04:00").astimezone(zone)
    assert engine.start_text(repeat, early).startswith(
        "Not yet: do not start before 10:30 on Sunday 8 March 2026 (1 h 1 min from now)"
    )
    late = datetime.fromisoformat("2026-03-08T10:30-04:00").astimezone(zone)
    assert "have passed: this dose may start now" in engine.start_text(repeat, late)
    before = datetime.fromisoformat("2026-03-08T00:45-05:00").astimezone(zone)
    assert "check the date and time" in engine.start_text(repeat, before)


def test_the_count_and_the_spacing_are_content(rules: engine.Rules) -> None:
    # A content edit to the count and the spacing moves the answer: no figure lives in code.
    edited = replace(
        rules,
        dose_rules=tuple(
            replace(d, additional_doses_max=2, min_hours_apart=12) if d.indication == "crs" else d
            for d in rules.dose_rules
        ),
    )
    result = calc(edited, "crs", "iv", "70", dose_number=2, previous_dose_start="2026-06-11T06:15")
    assert result.display["interval"].startswith("2nd of up to 3 doses; not before 18:15")
    with pytest.raises(engine.InputError) as error:
        calc(edited, "crs", "iv", "70", dose_number=4, previous_dose_start="2026-06-11T06:15")
    assert error.value.field == "dose_number"
    assert "up to 3 doses in all" in error.value.message


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dose_number": 3, "previous_dose_start": "2026-07-01T09:00"}, "dose_number"),
        ({"dose_number": 0}, "dose_number"),
        ({"dose_number": "2"}, "dose_number"),
        ({"dose_number": 2}, "previous_dose_start"),
        ({"dose_number": 2, "previous_dose_start": "1 July 9am"}, "previous_dose_start"),
        (
            {"dose_number": 2, "previous_dose_start": "2026-07-01T09:00", "time_zone": "Nowhere"},
            "time_zone",
        ),
    ],
)
@pytest.mark.django_db
def test_the_api_names_the_field_of_a_bad_dose_number_or_time(
    client: Any, body: dict[str, Any], field: str
) -> None:
    payload = {"indication": "covid-19", "route": "iv", "weight": 80, **body}
    response = client.post(
        "/api/v1/calculate", json.dumps(payload), content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == field


@pytest.mark.django_db
@override_settings(TIME_ZONE=NY)
def test_the_api_reads_and_writes_times_in_the_site_zone(client: Any) -> None:
    payload = {
        "indication": "crs", "route": "iv", "weight": 70, "dose_number": 2,
        "previous_dose_start": "2026-03-08T01:30",
    }  # fmt: skip
    response = client.post(
        "/api/v1/calculate", json.dumps(payload), content_type="application/json"
    )
    assert response.status_code == 200
    repeat = response.json()["repeat"]
    assert repeat["dose_number"] == 2
    assert repeat["doses_max"] == 4
    assert repeat["not_before"] == "2026-03-08T10:30-04:00"


@pytest.mark.django_db
def test_the_repeat_fields_appear_only_for_a_course(client: Any) -> None:
    first = client.get("/").content.decode()
    assert 'name="dose_number"' not in first  # not in the first load (its 30 KB budget)
    ra = client.post("/", {"indication": "ra", "route": "iv", "weight": "70"}).content.decode()
    assert 'name="dose_number"' not in ra
    crs = client.post("/", {"indication": "crs", "route": "iv", "weight": "70"}).content.decode()
    assert re.findall(r'name="dose_number" value="(\d)"', crs) == ["1", "2", "3", "4"]
    assert re.search(r'name="dose_number" value="1"[^>]* checked', crs)  # the first, chosen
    assert '<label for="id_previous_dose_start">Previous dose started' in crs
    covid = client.post("/", {"indication": "covid-19", "route": "iv", "weight": "80"})
    assert re.findall(r'name="dose_number" value="(\d)"', covid.content.decode()) == ["1", "2"]


@pytest.mark.django_db
def test_htmx_brings_and_takes_the_repeat_fields(client: Any) -> None:
    htmx = {"HTTP_HX_REQUEST": "true"}
    brought = client.post("/", {"indication": "crs", "route": "iv", "weight": "70"}, **htmx)
    text = brought.content.decode()
    assert 'hx-swap-oob="beforeend:#calc .course"' in text
    assert "delete:#repeat" not in text
    kept = client.post(
        "/", {"indication": "crs", "route": "iv", "weight": "70", "course_max": "4"}, **htmx
    )
    assert "hx-swap-oob" not in kept.content.decode()  # typing in the fields never replaces them
    other = client.post(
        "/", {"indication": "covid-19", "route": "iv", "weight": "70", "course_max": "4"}, **htmx
    ).content.decode()
    assert 'hx-swap-oob="delete:#repeat"' in other
    assert re.findall(r'name="dose_number" value="(\d)"', other) == ["1", "2"]
    taken = client.post(
        "/", {"indication": "ra", "route": "iv", "weight": "70", "course_max": "2"}, **htmx
    ).content.decode()
    assert 'hx-swap-oob="delete:#repeat"' in taken
    assert "beforeend" not in taken


@pytest.mark.django_db
@override_settings(TIME_ZONE=NY)
def test_the_page_without_javascript_uses_the_site_zone(client: Any) -> None:
    body = {
        "indication": "crs", "route": "iv", "weight": "70", "weight_unit": "kg",
        "step": "starting", "therapy": "starting", "course_max": "4",
        "dose_number": "2", "previous_dose_start": "2026-03-08T01:30",
    }  # fmt: skip
    page = client.post("/", body).content.decode()
    assert "2nd of up to 4 doses; not before 10:30 on Sunday 8 March 2026" in page
    assert 'data-time-zone="America/New_York"' in page
    assert 'data-clock="start"' in page
    missing = client.post("/", {**body, "previous_dose_start": ""}).content.decode()
    assert 'data-field="previous_dose_start"' in missing
    assert "Enter when the previous dose started" in missing


# ---- round 3: a repeat dose started too early is a check, not a give -------------------------


def test_a_repeat_dose_before_its_earliest_start_is_a_check_naming_it(rules: engine.Rules) -> None:
    # Reference, repeat doses: "consecutive doses at least 8 hours apart" (elapsed time).
    kwargs = {
        "age_years": "40", "dose_number": 2, "previous_dose_start": "2026-03-09T06:30",
        "time_zone": NY,
    }  # fmt: skip
    early = calc(rules, "crs", "iv", "70", now="2026-03-09T10:00", **kwargs)
    assert early.action == engine.Action.CHECK
    assert early.display["headline"] == "Check before giving"
    assert [c.code for c in early.checks] == ["early_start"]
    assert "may not start before 14:30 on Monday 9 March 2026" in early.checks[0].message
    assert "(4 h 30 min to wait)" in early.checks[0].message
    assert early.chart_note == ""  # nothing charted until confirmed
    confirmed = calc(rules, "crs", "iv", "70", now="2026-03-09T10:00", confirmed=True, **kwargs)
    assert confirmed.action == engine.Action.GIVE
    assert "Confirmed before giving: the earliest start time." in confirmed.chart_note
    on_time = calc(rules, "crs", "iv", "70", now="2026-03-09T14:30", **kwargs)
    assert (on_time.action, on_time.checks) == (engine.Action.GIVE, ())
    # Without a time the engine makes no such check (and the words say the earliest start).
    untimed = calc(rules, "crs", "iv", "70", **kwargs)
    assert untimed.action == engine.Action.GIVE
    assert "not before 14:30 on Monday 9 March 2026" in untimed.display["interval"]


def test_now_is_read_on_its_early_side() -> None:
    zone = engine.time_zone(NY)
    # Seconds dropped, not rounded up; a repeated hour's first (EDT) reading, not the later.
    assert (
        engine.iso_minute(engine.read_moment("now", "2026-03-09T14:29:59", zone, earliest=True))
        == "2026-03-09T14:29-04:00"
    )
    assert (
        engine.iso_minute(engine.read_moment("now", "2026-11-01T01:45", zone, earliest=True))
        == "2026-11-01T01:45-04:00"
    )


class _Clock:
    """timezone.localtime at a fixed moment in the site's zone (the request's time)."""

    def __init__(self, text: str) -> None:
        self.moment = datetime.fromisoformat(text)

    def __call__(self, value: Any = None, timezone: Any = None) -> datetime:
        from django.utils import timezone as django_timezone

        return self.moment.astimezone(timezone or django_timezone.get_current_timezone())


@pytest.mark.django_db
@override_settings(TIME_ZONE=NY)
def test_the_form_and_the_api_pass_the_requests_time(client: Any, monkeypatch: Any) -> None:
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localtime", _Clock("2026-03-09T10:00-04:00"))
    body = {
        "indication": "crs", "route": "iv", "weight": "70", "weight_unit": "kg", "age_years": "40",
        "step": "starting", "therapy": "starting", "course_max": "4",
        "dose_number": "2", "previous_dose_start": "2026-03-09T06:30",
    }  # fmt: skip
    page = client.post("/", body).content.decode()
    assert "Check before giving" in page
    assert "may not start before 14:30 on Monday 9 March 2026" in page
    payload = {**body, "weight": 70, "age_years": 40, "dose_number": 2}
    for key in ("weight_unit", "step", "therapy", "course_max"):
        payload.pop(key)
    api = client.post("/api/v1/calculate", json.dumps(payload), content_type="application/json")
    assert api.status_code == 200
    assert api.json()["action"] == "check"
    assert [c["code"] for c in api.json()["checks"]] == ["early_start"]
    # A client's own time is the one judged: a planned start at 15:00 gives.
    planned = client.post(
        "/api/v1/calculate",
        json.dumps({**payload, "now": "2026-03-09T15:00"}),
        content_type="application/json",
    )
    assert planned.json()["action"] == "give"
