"""The one sibling-band check (dosing/bands.py): words and the edge at fault, no database."""

from __future__ import annotations

from decimal import Decimal

from dosing.bands import BandProblem, Edge, Fault, check_band_sets, check_bands

D = Decimal
ACCEPTED = (D(1), D(250))  # the smallest and largest weight the calculator takes, inclusive


def test_bands_whose_edges_touch_tile_the_weights() -> None:
    # Half-open: 30 kg ends the first band and starts the second, once.
    assert check_bands([(None, D(30), "under"), (D(30), D(60), "mid"), (D(60), None, "over")]) == []


def test_the_order_given_does_not_matter() -> None:
    assert check_bands([(D(60), None, "over"), (D(30), D(60), "mid"), (None, D(30), "under")]) == []


def test_a_single_open_band_covers_every_weight() -> None:
    assert check_bands([(None, None, "all")]) == []
    assert check_bands([(D(0), None, "all")]) == []  # 0 kg written out is the same band


def test_a_single_closed_band_leaves_the_weights_above_it() -> None:
    [problem] = check_bands([(None, D(30), "under")])
    assert problem == "No band covers 30 kg and above."
    assert problem.faults == (Fault("under", Edge.UPPER),)


def test_the_last_band_must_be_open_ended() -> None:
    [problem] = check_bands([(None, D(30), "under"), (D(30), D(100), "over")])
    assert problem == "No band covers 100 kg and above."
    assert problem.edges_of("over") == {Edge.UPPER}
    assert problem.edges_of("under") == set()


def test_a_gap_names_both_edges_that_should_meet() -> None:
    [problem] = check_bands([(None, D(30), "under"), (D(35), None, "over")])
    assert problem == "The bands leave a gap from 30 kg to 35 kg."
    assert set(problem.faults) == {Fault("under", Edge.UPPER), Fault("over", Edge.LOWER)}


def test_a_first_band_that_starts_above_0_kg_leaves_a_gap_at_its_lower_edge() -> None:
    [problem] = check_bands([(D(10), None, "only")])
    assert problem == "The bands leave a gap from 0 kg to 10 kg."
    assert problem.faults == (Fault("only", Edge.LOWER),)


def test_an_overlap_names_the_upper_edge_run_into_and_the_lower_edge_inside() -> None:
    [problem] = check_bands([(None, D(30), "under"), (D(25), None, "over")])
    assert problem == "The bands overlap: 25 kg and above overlaps another band."
    assert problem.edges_of("under") == {Edge.UPPER}
    assert problem.edges_of("over") == {Edge.LOWER}


def test_a_band_after_an_open_ended_one_overlaps_it() -> None:
    [problem] = check_bands([(None, None, "all"), (D(40), D(50), "extra")])
    assert problem == "The bands overlap: 40 kg to below 50 kg overlaps another band."
    assert set(problem.faults) == {Fault("all", Edge.UPPER), Fault("extra", Edge.LOWER)}


def test_two_bands_for_every_weight_overlap() -> None:
    [problem] = check_bands([(None, None, 1), (None, None, 2)])
    assert problem == "The bands overlap: any weight overlaps another band."


def test_an_overlap_is_measured_against_the_band_reaching_furthest() -> None:
    # "wide" reaches 60 kg; "short" ends at 30: the band from 40 kg runs into "wide", not "short".
    problems = check_bands([(None, D(60), "wide"), (D(20), D(30), "short"), (D(40), None, "top")])
    assert [p.edges_of("wide") for p in problems] == [{Edge.UPPER}, {Edge.UPPER}]
    assert problems[1].edges_of("top") == {Edge.LOWER}


def test_no_bands_is_not_a_band_problem() -> None:
    assert check_bands([]) == []


def test_every_problem_is_a_sentence_a_content_admin_reads() -> None:
    problems = check_bands([(None, D(30), 1), (D(25), D(40), 2), (D(50), D(60), 3)])
    assert problems == [
        "The bands overlap: 25 kg to below 40 kg overlaps another band.",
        "The bands leave a gap from 40 kg to 50 kg.",
        "No band covers 60 kg and above.",
    ]
    assert all(isinstance(p, BandProblem) and p.endswith(".") for p in problems)


def test_for_publishing_only_the_accepted_weights_need_a_band() -> None:
    # Below the smallest accepted weight and above the largest, a gap harms nobody.
    assert check_bands([(D(1), D(30), "a"), (D(30), D(260), "b")], accepted=ACCEPTED) == []
    [problem] = check_bands([(D(30), None, "over")], accepted=ACCEPTED)
    assert problem == "no band covers 1 kg to below 30 kg."
    assert problem.faults == (Fault("over", Edge.LOWER),)


def test_for_publishing_the_top_of_the_accepted_weights_needs_a_band() -> None:
    [problem] = check_bands([(None, D(200), "a")], accepted=ACCEPTED)
    assert problem == "no band covers 200 kg up to 250 kg (the largest weight accepted)."
    assert problem.faults == (Fault("a", Edge.UPPER),)
    # A band that starts above the largest weight leaves the top uncovered: said once.
    [problem] = check_bands([(None, D(200), "a"), (D(300), None, "b")], accepted=ACCEPTED)
    assert problem == "no band covers 200 kg up to 250 kg (the largest weight accepted)."


def test_for_publishing_an_overlap_is_still_an_overlap() -> None:
    # A band starting below the smallest accepted weight is not an overlap on its own.
    assert check_bands([(None, D("0.5"), "a"), (D("0.5"), None, "b")], accepted=ACCEPTED) == []
    [problem] = check_bands([(None, D(30), "a"), (D(20), None, "b")], accepted=ACCEPTED)
    assert problem == "The bands overlap: 20 kg and above overlaps another band."


def test_named_sets_lead_each_problem_with_the_name_and_keep_the_faults() -> None:
    problems = check_band_sets(
        {"iv starting": [(None, D(30), 1), (D(35), None, 2)], "sc starting": [(None, None, 3)]}
    )
    assert problems == ["iv starting: The bands leave a gap from 30 kg to 35 kg."]
    assert problems[0].edges_of(1) == {Edge.UPPER}
