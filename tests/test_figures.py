"""Figure parsing: known answers for every rule, round trips, and invariants on any input."""

from __future__ import annotations

import math

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reliability.figures import (
    DEFAULT_VAGUE,
    FigureError,
    Qualifiers,
    VagueQuantities,
    format_figure,
    parse_figure,
    resolve_figure,
)
from reliability.records import Figure, FigureKind

INF = math.inf
EXACT, AT_LEAST, AT_MOST = FigureKind.EXACT, FigureKind.AT_LEAST, FigureKind.AT_MOST
RANGE, APPROXIMATE = FigureKind.RANGE, FigureKind.APPROXIMATE

KNOWN_ANSWERS: list[tuple[str, tuple[float, float, FigureKind]]] = [
    # digits, separators, decimals, scale words and suffixes
    ("27", (27, 27, EXACT)),
    ("27 people were killed", (27, 27, EXACT)),
    ("Killed: 27 soldiers.", (27, 27, EXACT)),
    ("1,200", (1200, 1200, EXACT)),
    ("1 200", (1200, 1200, EXACT)),
    ("2 500 000", (2_500_000, 2_500_000, EXACT)),
    ("12.5", (12.5, 12.5, EXACT)),
    ("1.2 million", (1_200_000, 1_200_000, EXACT)),
    ("3 thousand", (3000, 3000, EXACT)),
    ("2k", (2000, 2000, EXACT)),
    ("1.5m dead", (1_500_000, 1_500_000, EXACT)),
    ("1.5 mln", (1_500_000, 1_500_000, EXACT)),
    ("2 k", (2000, 2000, EXACT)),
    ("0", (0, 0, EXACT)),
    # number words
    ("twenty-seven", (27, 27, EXACT)),
    ("Twenty Seven", (27, 27, EXACT)),
    ("one hundred and five", (105, 105, EXACT)),
    ("one hundred five", (105, 105, EXACT)),
    ("a hundred", (100, 100, EXACT)),
    ("a dozen", (12, 12, EXACT)),
    ("two dozen", (24, 24, EXACT)),
    ("half a dozen", (6, 6, EXACT)),
    ("a thousand", (1000, 1000, EXACT)),
    ("twelve hundred", (1200, 1200, EXACT)),
    ("half a million", (500_000, 500_000, EXACT)),
    ("one hundred and five thousand", (105_000, 105_000, EXACT)),
    ("two thousand and twenty", (2020, 2020, EXACT)),
    # strictly more / fewer move a whole number by one
    ("more than 50", (51, INF, AT_LEAST)),
    ("over 50 civilians", (51, INF, AT_LEAST)),
    ("upwards of 50", (51, INF, AT_LEAST)),
    ("in excess of 50", (51, INF, AT_LEAST)),
    ("more than 12.5", (12.5, INF, AT_LEAST)),
    ("at least 50", (50, INF, AT_LEAST)),
    ("no fewer than 50", (50, INF, AT_LEAST)),
    ("50 or more", (50, INF, AT_LEAST)),
    ("50+", (50, INF, AT_LEAST)),
    ("more than a dozen", (13, INF, AT_LEAST)),
    ("fewer than 50", (0, 49, AT_MOST)),
    ("less than 50", (0, 49, AT_MOST)),
    ("under 50", (0, 49, AT_MOST)),
    ("up to 50", (0, 50, AT_MOST)),
    ("at most 50", (0, 50, AT_MOST)),
    ("no more than 50", (0, 50, AT_MOST)),
    ("50 or fewer", (0, 50, AT_MOST)),
    # nearly: [floor(0.85 N), N]
    ("nearly 100", (85, 100, RANGE)),
    ("almost 100", (85, 100, RANGE)),
    ("close to 100", (85, 100, RANGE)),
    ("nearly 7", (5, 7, RANGE)),
    # about: [N(1 - 0.1), N(1 + 0.1)] rounded outward
    ("about 100", (90, 110, APPROXIMATE)),
    ("around 100", (90, 110, APPROXIMATE)),
    ("some 100", (90, 110, APPROXIMATE)),
    ("approximately 100", (90, 110, APPROXIMATE)),
    ("roughly 100", (90, 110, APPROXIMATE)),
    ("an estimated 100", (90, 110, APPROXIMATE)),
    ("~100", (90, 110, APPROXIMATE)),
    ("about 10", (9, 11, APPROXIMATE)),
    ("about 3", (2, 4, APPROXIMATE)),
    ("about 0", (0, 0, APPROXIMATE)),
    ("27 or so", (24, 30, APPROXIMATE)),
    ("approximately 90 to 110", (90, 110, APPROXIMATE)),
    # ranges
    ("between 15 and 20", (15, 20, RANGE)),
    ("15 to 20", (15, 20, RANGE)),
    ("15-20", (15, 20, RANGE)),
    ("15–20", (15, 20, RANGE)),
    ("from 15 to 20", (15, 20, RANGE)),
    ("15 or 20", (15, 20, RANGE)),
    ("between 20 and 20", (20, 20, EXACT)),
    ("15 to 20 thousand", (15_000, 20_000, RANGE)),
    ("500 to 2 thousand", (500, 2000, RANGE)),
    ("between one hundred and five thousand", (100, 5000, RANGE)),
    ("between two thousand and three thousand", (2000, 3000, RANGE)),
    ("3 to 5 dozen", (36, 60, RANGE)),
    ("2 to 300 thousand", (2000, 300_000, RANGE)),
    ("15-20k", (15_000, 20_000, RANGE)),
    ("1 to one thousand two hundred", (1, 1200, RANGE)),
    # vague quantities
    ("dozens", (24, 99, RANGE)),
    ("dozens of people", (24, 99, RANGE)),
    ("scores", (40, 199, RANGE)),
    ("hundreds", (200, 999, RANGE)),
    ("thousands", (2000, 9999, RANGE)),
    ("tens", (20, 99, RANGE)),
    ("several", (3, 9, RANGE)),
    ("a few", (2, 5, RANGE)),
    ("a handful", (3, 7, RANGE)),
    ("a couple", (2, 3, RANGE)),
    ("several dozen", (36, 99, RANGE)),
    ("a few hundred", (200, 500, RANGE)),
    ("hundreds of thousands", (200_000, 999_999, RANGE)),
    ("tens of thousands", (20_000, 99_999, RANGE)),
    ("some hundreds", (200, 999, RANGE)),
    # zero
    ("no one", (0, 0, EXACT)),
    ("none", (0, 0, EXACT)),
    ("zero", (0, 0, EXACT)),
    ("nobody was hurt", (0, 0, EXACT)),
    ("no deaths", (0, 0, EXACT)),
]


@pytest.mark.parametrize(("text", "expected"), KNOWN_ANSWERS)
def test_known_answers(text: str, expected: tuple[float, float, FigureKind]) -> None:
    assert parse_figure(text) == Figure(*expected)


REJECTED: list[tuple[str, str]] = [
    ("lots and lots", "no number or known quantity word"),
    ("", "the text is empty"),
    ("27 and 35 in two attacks", "more than one figure (27, 35, two)"),
    ("27 killed, 35 injured", "more than one figure (27, 35)"),
    ("more than", "'more than' has no number to qualify"),
    ("or more", "'or more' has no number to qualify"),
    ("9" * 350, "number is too large"),
    ("27 over", "'over' must come before the number"),
    ("at least 5 or more", "more than one qualifier ('at least', 'or more')"),
    ("over hundreds", "'over' cannot qualify 'hundreds'"),
    ("up to 15-20", "'up to' cannot qualify a range"),
    ("20 to 15", "range 20 to 15 runs backwards"),
    ("-3", "negative count -3"),
    ("fewer than 0", "fewer than 0 is impossible for a count"),
    ("27%", "unexpected character '%'"),
    ("27/35", "unexpected character '/'"),
    ("27½", "unexpected character '½'"),
    ("27 per cent", "'cent' does not go with a count"),
    ("the 27th victim", "'27th' is an ordinal, not a count"),
    ("twenty k", "'k' cannot follow 'twenty'"),
    ("1,2000", "more than one figure (1, 2000)"),
    ("hundred", "cannot read the number words around 'hundred'"),
    ("9" * 500, "is too long"),
]


@pytest.mark.parametrize(("text", "reason"), REJECTED)
def test_rejected_text_names_the_problem(text: str, reason: str) -> None:
    with pytest.raises(FigureError) as caught:
        parse_figure(text)
    assert caught.value.reason == str(caught.value)
    assert caught.value.reason.startswith(f"cannot parse figure text {text[:20]!r}"[:-1])
    assert reason in caught.value.reason
    assert "\n" not in caught.value.reason


def test_long_text_is_shortened_in_the_reason() -> None:
    with pytest.raises(FigureError, match=r"'killed killed .*\.\.\.': no number"):
        parse_figure("killed " * 100)


def test_qualifier_factors_are_configurable() -> None:
    wide = Qualifiers(approximate_spread=0.25, nearly_low_factor=0.5)
    assert parse_figure("about 100", qualifiers=wide) == Figure(75, 125, APPROXIMATE)
    assert parse_figure("nearly 100", qualifiers=wide) == Figure(50, 100, RANGE)


def test_vague_table_is_configurable() -> None:
    vague = VagueQuantities(phrases={**DEFAULT_VAGUE.phrases, "a large number of": (50, 500)})
    assert parse_figure("a large number of people", vague=vague) == Figure(50, 500, RANGE)
    assert parse_figure("large number", vague=vague) == Figure(50, 500, RANGE)
    with pytest.raises(FigureError, match="no number or known quantity word"):
        parse_figure("a large number of people")
    fewer = VagueQuantities(phrases={"dozens": (13, 60)})
    assert parse_figure("dozens", vague=fewer) == Figure(13, 60, RANGE)
    with pytest.raises(FigureError):
        parse_figure("hundreds", vague=fewer)


@pytest.mark.parametrize(
    ("phrases", "problem"),
    [
        ({"many": (5, 5)}, "0 <= low < high"),
        ({"many": (-1, 5)}, "0 <= low < high"),
        ({"many": (1, INF)}, "0 <= low < high"),
        ({"over": (1, 5)}, "clashes with a built-in qualifier"),
        ({"few": (1, 5), "a few": (2, 5)}, "are the same"),
        ({"27 people": (1, 5)}, "words made of letters"),
        ({"": (1, 5)}, "words made of letters"),
    ],
)
def test_bad_vague_table_is_rejected(phrases: dict[str, tuple[float, float]], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        VagueQuantities(phrases=phrases)


def test_configuration_decodes_with_validation() -> None:
    assert msgspec.convert({"approximate_spread": 0.2}, Qualifiers) == Qualifiers(0.2, 0.85)
    with pytest.raises(msgspec.ValidationError, match="approximate_spread"):
        msgspec.convert({"approximate_spread": 1.5}, Qualifiers)
    with pytest.raises(msgspec.ValidationError, match="nearly_low_factor"):
        msgspec.convert({"nearly_low_factor": 0}, Qualifiers)
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.convert({"spread": 0.2}, Qualifiers)
    table = msgspec.json.decode(b'{"phrases": {"many": [10, 99]}}', type=VagueQuantities)
    assert parse_figure("many", vague=table) == Figure(10, 99, RANGE)
    with pytest.raises(msgspec.ValidationError, match="0 <= low < high"):
        msgspec.json.decode(b'{"phrases": {"many": [99, 10]}}', type=VagueQuantities)


# -- number words ---------------------------------------------------------------------------

SMALL = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def below_thousand(n: int, *, british: bool, hyphen: bool) -> list[str]:
    hundreds, rest = divmod(n, 100)
    words = [SMALL[hundreds], "hundred"] if hundreds else []
    if rest and hundreds and british:
        words.append("and")
    if rest >= 20:
        tens, unit = divmod(rest, 10)
        joiner = "-" if hyphen else " "
        words.append(TENS[tens] + (joiner + SMALL[unit] if unit else ""))
    elif rest:
        words.append(SMALL[rest])
    return words


def number_to_words(n: int, *, british: bool = False, hyphen: bool = True) -> str:
    """English words for 0 <= n < 10**12, in British ("and") or American style."""
    if n == 0:
        return "zero"
    words: list[str] = []
    for scale, name in ((10**9, "billion"), (10**6, "million"), (10**3, "thousand")):
        if n >= scale:
            words += [*below_thousand(n // scale, british=british, hyphen=hyphen), name]
            n %= scale
    if n and words and british and n < 100:
        words.append("and")
    if n:
        words += below_thousand(n, british=british, hyphen=hyphen)
    return " ".join(words)


def test_number_to_words_helper() -> None:
    assert number_to_words(105, british=True) == "one hundred and five"
    assert number_to_words(2_000_027, british=True) == "two million and twenty-seven"
    assert number_to_words(9_999_999, hyphen=False) == (
        "nine million nine hundred ninety nine thousand nine hundred ninety nine"
    )


@given(st.integers(0, 10**7), st.booleans(), st.booleans())
def test_number_words_round_trip(n: int, british: bool, hyphen: bool) -> None:
    words = number_to_words(n, british=british, hyphen=hyphen)
    assert parse_figure(words) == Figure(n, n, EXACT)
    assert parse_figure(f"{words} people were killed") == Figure(n, n, EXACT)


# -- round trip through the canonical text --------------------------------------------------

whole = st.integers(0, 10**15).map(float)


@st.composite
def count_figures(draw: st.DrawFn) -> Figure:
    kind = draw(st.sampled_from(FigureKind))
    if kind is EXACT:
        any_value = st.floats(0, allow_nan=False, allow_infinity=False)
        value = draw(whole | any_value)
        return Figure(value, value, kind)
    if kind is AT_LEAST:
        return Figure(draw(whole), INF, kind)
    if kind is AT_MOST:
        return Figure(0.0, draw(whole), kind)
    low, high = sorted(draw(st.lists(whole, min_size=2, max_size=2, unique=kind is RANGE)))
    return Figure(low, high, kind)


@given(count_figures())
def test_format_then_parse_is_identity(figure: Figure) -> None:
    text = format_figure(figure)
    assert parse_figure(text) == figure
    assert resolve_figure(value=None, low=None, high=None, text=text, count=True) == figure


@given(
    st.integers(-(10**9), 10**9).map(float),
    st.integers(0, 10**9).map(float),
    st.sampled_from([RANGE, APPROXIMATE, AT_LEAST, AT_MOST]),
)
def test_linear_figures_round_trip(low: float, width: float, kind: FigureKind) -> None:
    if kind is AT_LEAST:
        figure = Figure(low, INF, kind)
    elif kind is AT_MOST:
        figure = Figure(-INF, low, kind)
    elif kind is RANGE and width == 0:
        figure = Figure(low, low, EXACT)
    else:
        figure = Figure(low, low + width, kind)
    text = format_figure(figure)
    assert resolve_figure(value=None, low=None, high=None, text=text, count=False) == figure


@pytest.mark.parametrize(
    "figure",
    [
        Figure(1, 2, EXACT),
        Figure(5, 5, RANGE),
        Figure(5, INF, RANGE),
        Figure(3, 7, AT_MOST),
        Figure(3, 7, AT_LEAST),
        Figure(7, 3, RANGE),
        Figure(math.nan, 3, RANGE),
    ],
)
def test_figures_without_a_text_form_are_rejected(figure: Figure) -> None:
    with pytest.raises(FigureError):
        format_figure(figure)


# -- invariants on any input ----------------------------------------------------------------

PIECES = [
    *[
        "about",
        "nearly",
        "over",
        "under",
        "at",
        "least",
        "up",
        "to",
        "or",
        "more",
        "+",
        "~",
        "-",
        "to",
        "and",
        "or",
        "between",
        "from",
    ],
    *[
        "dozens",
        "a",
        "few",
        "hundred",
        "thousand",
        "million",
        "half",
        "a",
        "dozen",
        "twenty",
        "seven",
        "killed",
    ],
    *["12", "1,200", "3.5", "2k", "-4", "0", "1 500", "no one", "%", "½", "–", "of"],
]
phrase_like = st.lists(st.sampled_from(PIECES), max_size=8).map(" ".join)


def outcome(text: str, *, count: bool) -> Figure | FigureError:
    try:
        return resolve_figure(value=None, low=None, high=None, text=text, count=count)
    except FigureError as err:
        return err


@given(phrase_like | st.text())
def test_any_text_parses_to_an_interval_or_raises_figure_error(text: str) -> None:
    try:
        figure = parse_figure(text)
    except FigureError as err:
        reason = err.reason
    else:
        assert not math.isnan(figure.low)
        assert not math.isnan(figure.high)
        assert 0 <= figure.low <= figure.high
        assert isinstance(figure.kind, FigureKind)
        return
    assert reason.startswith("cannot parse figure text")
    assert "\n" not in reason


@given(phrase_like)
def test_linear_parse_gives_an_interval_or_raises_figure_error(text: str) -> None:
    figure = outcome(text, count=False)
    if isinstance(figure, Figure):
        assert figure.low <= figure.high


# -- resolve_figure -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "count", "expected"),
    [
        ({"value": 27}, True, Figure(27, 27, EXACT)),
        ({"value": 27, "low": 27, "high": 27}, True, Figure(27, 27, EXACT)),
        ({"low": 15, "high": 20}, True, Figure(15, 20, RANGE)),
        ({"low": 15, "high": 15}, True, Figure(15, 15, EXACT)),
        ({"low": 15}, True, Figure(15, INF, AT_LEAST)),
        ({"high": 15}, True, Figure(0, 15, AT_MOST)),
        ({"high": 15}, False, Figure(-INF, 15, AT_MOST)),
        ({"low": -5, "high": 3.5}, False, Figure(-5, 3.5, RANGE)),
        ({"text": "more than 50"}, True, Figure(51, INF, AT_LEAST)),
        ({"text": "more than 50"}, False, Figure(50, INF, AT_LEAST)),
        ({"text": "fewer than 50"}, False, Figure(-INF, 50, AT_MOST)),
        ({"text": "about -10"}, False, Figure(-11, -9, APPROXIMATE)),
        ({"text": "about 12.5"}, False, Figure(11.25, 13.75, APPROXIMATE)),
        ({"text": "about 12.5"}, True, Figure(11, 14, APPROXIMATE)),
        ({"text": "-5 to -3"}, False, Figure(-5, -3, RANGE)),
        ({"text": "about 5 percent"}, False, Figure(4.5, 5.5, APPROXIMATE)),
        ({"value": 27, "text": "dozens"}, True, Figure(27, 27, EXACT)),
    ],
)
def test_resolve_figure(row: dict[str, object], count: bool, expected: Figure) -> None:
    arguments: dict[str, object] = {"value": None, "low": None, "high": None, "text": None}
    assert resolve_figure(**{**arguments, **row}, count=count) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("row", "count", "reason"),
    [
        ({}, True, "no figure: give value, low/high or figure text"),
        ({"text": "  "}, True, "no figure: give value, low/high or figure text"),
        ({"value": math.nan}, True, "value is NaN"),
        ({"low": math.nan, "high": 3}, False, "low is NaN"),
        ({"high": INF}, False, "high is infinite"),
        ({"low": 20, "high": 15}, True, "low 20 is greater than high 15"),
        ({"value": -3}, True, "negative count -3"),
        ({"low": -3.5}, True, "negative count -3.5"),
        ({"value": 5, "low": 4}, True, "low 4 disagrees with value 5"),
        ({"text": "27 and 35"}, True, "more than one figure"),
        ({"text": "-3"}, True, "negative count -3"),
    ],
)
def test_resolve_figure_rejects(row: dict[str, object], count: bool, reason: str) -> None:
    arguments: dict[str, object] = {"value": None, "low": None, "high": None, "text": None}
    with pytest.raises(FigureError) as caught:
        resolve_figure(**{**arguments, **row}, count=count)  # type: ignore[arg-type]
    assert reason in caught.value.reason


number = st.none() | st.floats() | st.integers(-100, 100).map(float)


@given(number, number, number, st.booleans())
def test_resolve_figure_invariants(
    value: float | None, low: float | None, high: float | None, count: bool
) -> None:
    given_numbers = [x for x in (value, low, high) if x is not None]
    must_fail = (
        not given_numbers
        or any(not math.isfinite(x) for x in given_numbers)
        or (count and any(x < 0 for x in given_numbers))
        or (value is not None and any(b is not None and b != value for b in (low, high)))
        or (value is None and low is not None and high is not None and low > high)
    )
    try:
        figure = resolve_figure(value=value, low=low, high=high, text=None, count=count)
    except FigureError:
        assert must_fail
        return
    assert not must_fail
    assert figure.low <= figure.high
    if count:
        assert figure.low >= 0


@given(number, st.booleans())
def test_a_value_alone_resolves_as_the_value_with_equal_bounds(
    value: float | None, count: bool
) -> None:
    def outcome(**bounds: float | None) -> Figure | str:
        try:
            return resolve_figure(value=value, text=None, count=count, **bounds)
        except FigureError as error:
            return error.reason

    assert outcome(low=None, high=None) == outcome(low=value, high=value)
