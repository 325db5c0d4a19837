"""Sibling weight bands as a set: the one check that they tile the weights, in words.

A band is half-open, [lower, upper): 30.0 kg belongs to the band from 30 kg. An empty lower edge
means 0 kg, an empty upper edge means no limit. The bands of one indication, route and step (or
the bags of one indication) must tile the weights exactly once: no overlap, no gap, the last
band open-ended. `check_bands` is the only implementation; its callers are the dose-rule and
bag inline formsets and single-row forms (dosing/admin.py, dosing/models.py) and the publishing
integrity check (dosing/publishing.py). Standard library and the engine's wording only.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from .engine import band_label, format_number

# (lower kg, upper kg, identity): the identity is the caller's (a pk, a form, a row index).
Band = tuple[Decimal | None, Decimal | None, Hashable]


class Edge(StrEnum):
    LOWER = "lower"
    UPPER = "upper"


@dataclass(frozen=True, slots=True)
class Fault:
    """One edge of one band that a problem is about (the identity the caller passed)."""

    band: Hashable
    edge: Edge


class BandProblem(str):
    """A problem in words (the string itself) that also names the band edges at fault.

    A `str`, so callers that only show words (a formset's errors, a publishing finding) use it
    as one; a form that puts each problem on the field at fault reads `faults`.
    """

    faults: tuple[Fault, ...]

    def __new__(cls, message: str, faults: Iterable[Fault] = ()) -> BandProblem:
        problem = super().__new__(cls, message)
        problem.faults = tuple(faults)
        return problem

    def edges_of(self, band: Hashable) -> set[Edge]:
        return {fault.edge for fault in self.faults if fault.band == band}


def _start(band: Band) -> Decimal:
    return band[0] if band[0] is not None else Decimal(0)


def check_bands(
    bands: Iterable[Band], *, accepted: tuple[Decimal, Decimal] | None = None
) -> list[BandProblem]:
    """What is wrong with a set of sibling bands, in words, each naming the edges at fault.

    Without `accepted`, the bands must tile 0 kg upwards exactly once (what an admin may save).
    With `accepted` (the smallest and the largest weight the calculator takes, inclusive), only
    overlaps and the accepted weights no band covers are problems (what may go live). An empty
    set has no problems: whether a set may be missing is the caller's question.
    """
    ordered = sorted(bands, key=_start)  # stable: bands starting together keep their order
    problems: list[BandProblem] = []
    # Weights from the start up to `covered` have a band (None: every weight from there up).
    covered: Decimal | None = accepted[0] if accepted else Decimal(0)
    furthest: Band | None = None  # the band reaching furthest so far
    for band in ordered:
        low, high, who = band
        start = _start(band)
        ahead = [Fault(furthest[2], Edge.UPPER)] if furthest is not None else []
        if furthest is not None and (furthest[1] is None or start < furthest[1]):
            problems.append(
                BandProblem(
                    f"The bands overlap: {band_label(low, high)} overlaps another band.",
                    [*ahead, Fault(who, Edge.LOWER)],
                )
            )
        elif covered is not None and start > covered:
            gap = _gap_words(covered, start, accepted)
            if gap:
                problems.append(BandProblem(gap, [*ahead, Fault(who, Edge.LOWER)]))
        if covered is not None:
            covered = None if high is None else max(high, covered)
        if furthest is None or (furthest[1] is not None and (high is None or high > furthest[1])):
            furthest = band
    if furthest is not None and covered is not None:
        end = _end_words(covered, accepted)
        if end:
            problems.append(BandProblem(end, [Fault(furthest[2], Edge.UPPER)]))
    return problems


def check_band_sets(
    sets: Mapping[str, Iterable[Band]], *, accepted: tuple[Decimal, Decimal] | None = None
) -> list[BandProblem]:
    """`check_bands` on each named set, each problem led by its set's name ("iv starting: ...")."""
    return [
        BandProblem(f"{name}: {problem}" if name else problem, problem.faults)
        for name, bands in sets.items()
        for problem in check_bands(bands, accepted=accepted)
    ]


def _gap_words(covered: Decimal, start: Decimal, accepted: tuple[Decimal, Decimal] | None) -> str:
    if accepted is None:
        return (
            f"The bands leave a gap from {format_number(covered)} kg to {format_number(start)} kg."
        )
    largest = accepted[1]
    if covered > largest:
        return ""
    if start > largest:
        return _end_words(covered, accepted)
    return f"no band covers {format_number(covered)} kg to below {format_number(start)} kg."


def _end_words(covered: Decimal, accepted: tuple[Decimal, Decimal] | None) -> str:
    if accepted is None:
        return f"No band covers {format_number(covered)} kg and above."
    largest = accepted[1]
    if covered > largest:
        return ""
    return (
        f"no band covers {format_number(covered)} kg up to {format_number(largest)} kg "
        "(the largest weight accepted)."
    )
