"""Free-text casualty figures ("more than 50", "dozens", "between 15 and 20") as intervals.

:func:`parse_figure` resolves English text to a :class:`reliability.records.Figure`;
:func:`format_figure` writes the canonical text back; :func:`resolve_figure` turns one row's
``value``/``low``/``high``/``figure_text`` into a Figure and is what loaders and the API call.
Every rule is listed in ``docs/figures.md``.

>>> parse_figure("more than 50 people were killed")
Figure(low=51.0, high=inf, kind=<FigureKind.AT_LEAST: 'at_least'>)
>>> format_figure(parse_figure("between 15 and 20"))
'15 to 20'
"""

from __future__ import annotations

import enum
import math
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

import msgspec

from reliability.number_words import (
    ARTICLES,
    NUMBER_WORDS,
    SUFFIX_SCALES,
    Number,
    Token,
    read_number,
)
from reliability.records import Figure, FigureKind

__all__ = [
    "DEFAULT_QUALIFIERS",
    "DEFAULT_VAGUE",
    "FigureError",
    "Qualifiers",
    "VagueQuantities",
    "format_figure",
    "parse_figure",
    "resolve_figure",
]


class FigureError(ValueError):
    """Raised for a figure that cannot be resolved; ``str(err)`` is a one-line human reason.

    >>> try:
    ...     parse_figure("lots and lots")
    ... except FigureError as err:
    ...     print(err.reason)
    cannot parse figure text 'lots and lots': no number or known quantity word
    """

    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


DEFAULT_VAGUE_PHRASES: dict[str, tuple[float, float]] = {
    "a couple": (2, 3),
    "a few": (2, 5),
    "a handful": (3, 7),
    "several": (3, 9),
    "tens": (20, 99),
    "dozens": (24, 99),
    "scores": (40, 199),
    "hundreds": (200, 999),
    "thousands": (2000, 9999),
    "millions": (2_000_000, 9_999_999),
    "a few dozen": (24, 60),
    "several dozen": (36, 99),
    "a couple of hundred": (200, 300),
    "a few hundred": (200, 500),
    "several hundred": (300, 900),
    "a few thousand": (2000, 5000),
    "several thousand": (3000, 9000),
    "tens of thousands": (20_000, 99_999),
    "hundreds of thousands": (200_000, 999_999),
}


class VagueQuantities(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The table of vague quantity phrases and the interval ``(low, high)`` each one means.

    Phrases match case-insensitively; "of" and a leading "a"/"an" are ignored, so "a few" also
    matches "few" and "hundreds of thousands" matches "hundreds thousands". Intervals must be
    finite, non-negative and wider than a point.

    >>> extra = VagueQuantities(phrases={**DEFAULT_VAGUE.phrases, "many": (10, 99)})
    >>> parse_figure("many were killed", vague=extra)
    Figure(low=10.0, high=99.0, kind=<FigureKind.RANGE: 'range'>)
    """

    phrases: dict[str, tuple[float, float]] = msgspec.field(
        default_factory=lambda: dict(DEFAULT_VAGUE_PHRASES)
    )

    def __post_init__(self) -> None:
        seen: dict[tuple[str, ...], str] = {}
        for phrase, (low, high) in self.phrases.items():
            key = _phrase_key(phrase)
            if not key or not all(word.isalpha() for word in key):
                raise ValueError(f"vague phrase {phrase!r} must be words made of letters")
            if key in _BUILTIN_PHRASES:
                raise ValueError(f"vague phrase {phrase!r} clashes with a built-in qualifier")
            if key in seen:
                raise ValueError(f"vague phrases {seen[key]!r} and {phrase!r} are the same")
            seen[key] = phrase
            if not (math.isfinite(low) and math.isfinite(high) and 0 <= low < high):
                raise ValueError(
                    f"vague phrase {phrase!r} needs finite bounds 0 <= low < high, "
                    f"got ({low}, {high})"
                )


class Qualifiers(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Factors for qualifiers that do not name their bounds.

    ``approximate_spread`` a: "about N" is ``[N(1-a), N(1+a)]`` (0 <= a < 1).
    ``nearly_low_factor`` f: "nearly N" is ``[f*N, N]`` (0 < f <= 1).

    >>> parse_figure("about 100", qualifiers=Qualifiers(approximate_spread=0.2))
    Figure(low=80.0, high=120.0, kind=<FigureKind.APPROXIMATE: 'approximate'>)
    """

    approximate_spread: float = 0.1
    nearly_low_factor: float = 0.85

    def __post_init__(self) -> None:
        if not 0 <= self.approximate_spread < 1:
            raise ValueError(f"approximate_spread must be in [0, 1), got {self.approximate_spread}")
        if not 0 < self.nearly_low_factor <= 1:
            raise ValueError(f"nearly_low_factor must be in (0, 1], got {self.nearly_low_factor}")


class _Rule(enum.Enum):
    MORE_THAN = "more than"
    AT_LEAST = "at least"
    FEWER_THAN = "fewer than"
    AT_MOST = "at most"
    NEARLY = "nearly"
    ABOUT = "about"


_PREFIX_PHRASES: dict[_Rule, tuple[str, ...]] = {
    _Rule.MORE_THAN: (
        "more than",
        "over",
        "upwards of",
        "in excess of",
        "above",
        "greater than",
        ">",
    ),
    _Rule.AT_LEAST: (
        *("at least", "no fewer than", "no less than", "not fewer than", "not less than"),
        *("a minimum of", ">=", "≥"),
    ),
    _Rule.FEWER_THAN: ("fewer than", "less than", "under", "below", "<"),
    _Rule.AT_MOST: (
        *("up to", "at most", "no more than", "not more than", "a maximum of", "as many as"),
        *("<=", "≤"),
    ),
    _Rule.NEARLY: ("nearly", "almost", "close to"),
    _Rule.ABOUT: (
        *("about", "around", "some", "approximately", "approx", "roughly", "an estimated"),
        *("circa", "~", "≈"),
    ),
}
_PREFIXES = {phrase: rule for rule, phrases in _PREFIX_PHRASES.items() for phrase in phrases}
_POSTFIXES: dict[str, _Rule] = {
    "or more": _Rule.AT_LEAST,
    "or above": _Rule.AT_LEAST,
    "+": _Rule.AT_LEAST,
    "or fewer": _Rule.AT_MOST,
    "or less": _Rule.AT_MOST,
    "or so": _Rule.ABOUT,
}
_ZEROS = ("no one", "nobody", "none", "no")
_CONNECTORS = frozenset({"to", "and", "or", "-", "−", "–", "—"})
# Words that make a number something other than a count: "27 per cent".
_NOT_COUNTS = frozenset({"percent", "percentage", "pct", "cent", "cents"})
_ORDINAL_ENDINGS = frozenset({"st", "nd", "rd", "th"})


@dataclass(frozen=True, slots=True)
class _Qualifier:
    phrase: str
    rule: _Rule
    postfix: bool


@dataclass(frozen=True, slots=True)
class _Vague:
    phrase: str
    low: Fraction
    high: Fraction


@dataclass(frozen=True, slots=True)
class _Zero:
    phrase: str


@dataclass(frozen=True, slots=True)
class _Range:
    low: Number
    high: Number


_Phrase = _Qualifier | _Vague | _Zero
_Item = Token | Number | _Range | _Phrase
_Quantity = Number | _Range | _Vague | _Zero

# A figure text is split into numbers (with "," or space thousands separators, decimals, and
# glued k/m/bn suffixes), words, the symbols that carry meaning, and separators.
_TOKEN = re.compile(
    r"""
    (?P<sign>(?<![^\s(\[])[-−](?=\.?[0-9]))?
    (?P<digits>[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])
        |[0-9]{1,3}(?:[ \u00a0\u2009\u202f][0-9]{3})+(?![0-9])
        |[0-9]+
        |(?=\.[0-9]))
    (?P<decimals>\.[0-9]+)?
    (?:(?P<suffix>k|mn|mln|m|bn)(?![^\W\d_]))?
    |(?P<word>[^\W\d_]+)
    |(?P<symbol>>=|<=|[~≈+><≥≤\-−–—])
    |(?P<space>\s+)
    |(?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_HYPHENATED = re.compile(r"(?<=[^\W\d_])-(?=[^\W\d_])")
# Punctuation that would change a figure's meaning if dropped ("27%", "27/35").
_MEANINGFUL_PUNCTUATION = frozenset("%‰‱/#*&@\\")
_MAX_DIGITS = 400  # enough for any float written out in full, far below int-parsing limits


def _tokenize(text: str) -> Iterator[Token]:
    for match in _TOKEN.finditer(_HYPHENATED.sub(" ", text.lower())):
        kind = match.lastgroup
        if match.group("digits") is not None:
            yield _number_token(match)
        elif kind == "word":
            yield _word_token(match.group())
        elif kind == "symbol":
            yield Token(match.group())
        elif kind == "other":
            char = match.group()
            if char in _MEANINGFUL_PUNCTUATION or _is_meaningful_symbol(char):
                raise FigureError(f"unexpected character {char!r}")


def _is_meaningful_symbol(char: str) -> bool:
    """Digits of other scripts, fractions, maths and currency signs; emoji and marks are not."""
    category = unicodedata.category(char)
    return category[0] == "N" or category in ("Sm", "Sc")


def _number_token(match: re.Match[str]) -> Token:
    written = match.group()
    digits = re.sub(r"[, \u00a0\u2009\u202f]", "", match.group("digits") or "")
    decimals = match.group("decimals") or ""
    if len(digits) + len(decimals) > _MAX_DIGITS:
        raise FigureError(f"number {written[:20]}... is too long")
    sign = "-" if match.group("sign") else ""
    value = Fraction(f"{sign}{digits or '0'}{decimals}")
    suffix = match.group("suffix")
    if suffix is None:
        return Token(written, value)
    scale = SUFFIX_SCALES[suffix]
    return Token(written, value * scale, scale)


def _word_token(word: str) -> Token:
    # \w also admits numeric characters such as "½" or "²"; treat them as unknown symbols.
    odd = next((char for char in word if not char.isalpha()), None)
    if odd is not None:
        raise FigureError(f"unexpected character {odd!r}")
    return Token(word)


@lru_cache(maxsize=1024)
def _phrase_key(phrase: str) -> tuple[str, ...]:
    words = [token.text for token in _tokenize(phrase) if token.text != "of"]
    if words and words[0] in ARTICLES:
        del words[0]
    return tuple(words)


_BUILTIN_PHRASES: dict[tuple[str, ...], _Phrase] = {
    **{_phrase_key(p): _Qualifier(p, rule, postfix=False) for p, rule in _PREFIXES.items()},
    **{_phrase_key(p): _Qualifier(p, rule, postfix=True) for p, rule in _POSTFIXES.items()},
    **{_phrase_key(p): _Zero(p) for p in _ZEROS},
}


@lru_cache(maxsize=32)
def _lexicon(
    vague: tuple[tuple[str, tuple[float, float]], ...],
) -> tuple[dict[tuple[str, ...], _Phrase], int]:
    phrases: dict[tuple[str, ...], _Phrase] = dict(_BUILTIN_PHRASES)
    for phrase, (low, high) in vague:
        phrases[_phrase_key(phrase)] = _Vague(phrase, Fraction(low), Fraction(high))
    return phrases, max(len(key) for key in phrases)


DEFAULT_VAGUE = VagueQuantities()
DEFAULT_QUALIFIERS = Qualifiers()


def parse_figure(
    text: str,
    *,
    vague: VagueQuantities = DEFAULT_VAGUE,
    qualifiers: Qualifiers = DEFAULT_QUALIFIERS,
) -> Figure:
    """Resolve an English casualty figure to an interval of a count.

    Surrounding words ("killed", "people", "were") are ignored; anything ambiguous, such as
    two separate numbers, raises :class:`FigureError` rather than being guessed.

    >>> parse_figure("twenty-seven soldiers killed")
    Figure(low=27.0, high=27.0, kind=<FigureKind.EXACT: 'exact'>)
    >>> parse_figure("dozens")
    Figure(low=24.0, high=99.0, kind=<FigureKind.RANGE: 'range'>)
    >>> parse_figure("about 50")
    Figure(low=45.0, high=55.0, kind=<FigureKind.APPROXIMATE: 'approximate'>)
    """
    return _parse(text, vague, qualifiers, count=True)


def _parse(text: str, vague: VagueQuantities, qualifiers: Qualifiers, *, count: bool) -> Figure:
    try:
        if not text.strip():
            raise FigureError("the text is empty")
        quantity, qualifier = _structure(_join_ranges(_lex(text, vague)), count=count)
        return _figure(quantity, qualifier, qualifiers, count=count)
    except FigureError as err:
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise FigureError(f"cannot parse figure text {shown!r}: {err.reason}") from None


def _lex(text: str, vague: VagueQuantities) -> list[_Item]:
    tokens = [token for token in _tokenize(text) if token.text != "of"]
    phrases, longest = _lexicon(tuple((p, (lo, hi)) for p, (lo, hi) in vague.phrases.items()))
    words = tuple(token.text for token in tokens)
    matched: list[_Item] = []
    i = 0
    while i < len(tokens):
        for length in range(min(longest, len(tokens) - i), 0, -1):
            phrase = phrases.get(words[i : i + length])
            if phrase is not None:
                matched.append(phrase)
                i += length
                break
        else:
            matched.append(tokens[i])
            i += 1
    items: list[_Item] = []
    i = 0
    while i < len(matched):
        after_between = bool(items) and items[-1] == Token("between")
        found = read_number(matched, i, allow_and=not after_between)
        if found is None:
            items.append(matched[i])
            i += 1
        else:
            items.append(found[0])
            i = found[1]
    return items


def _join_ranges(items: Sequence[_Item]) -> list[_Item]:
    """Join ``N to M``, ``N-M``, ``N or M`` and ``between N and M`` into ranges."""
    joined: list[_Item] = []
    i = 0
    while i < len(items):
        low, connector, high = [*items[i : i + 3], None, None][:3]
        if (
            isinstance(low, Number)
            and isinstance(connector, Token)
            and connector.text in _CONNECTORS
            and isinstance(high, Number)
        ):
            opener = joined[-1] if joined else None
            if connector.text != "and" or (isinstance(opener, Token) and opener.text == "between"):
                joined.append(_Range(_share_scale(low, high), high))
                i += 3
                continue
        joined.append(items[i])
        i += 1
    return joined


def _share_scale(low: Number, high: Number) -> Number:
    """ "15 to 20 thousand" means 15000 to 20000, but "500 to 2 thousand" means 500 to 2000."""
    if low.scale is None and high.scale is not None and low.value * high.scale < high.value:
        return Number(low.value * high.scale, low.text, high.scale)
    return low


def _structure(items: Sequence[_Item], *, count: bool) -> tuple[_Quantity, _Qualifier | None]:
    quantities: list[tuple[int, _Quantity]] = []
    qualifiers: list[tuple[int, _Qualifier]] = []
    for position, item in enumerate(items):
        if isinstance(item, Token):
            _check_ignorable(item, items[position - 1] if position else None, count=count)
        elif isinstance(item, _Qualifier):
            qualifiers.append((position, item))
        else:
            quantities.append((position, item))
    if not quantities:
        if qualifiers:
            raise FigureError(f"{qualifiers[0][1].phrase!r} has no number to qualify")
        raise FigureError("no number or known quantity word")
    if len(quantities) > 1:
        listed = ", ".join(_describe(quantity) for _, quantity in quantities)
        raise FigureError(f"more than one figure ({listed}); give one number or a range")
    if len(qualifiers) > 1:
        listed = ", ".join(repr(qualifier.phrase) for _, qualifier in qualifiers)
        raise FigureError(f"more than one qualifier ({listed})")
    where, quantity = quantities[0]
    if not qualifiers:
        return quantity, None
    position, qualifier = qualifiers[0]
    if qualifier.postfix and position < where:
        raise FigureError(f"{qualifier.phrase!r} must follow the number")
    if not qualifier.postfix and position > where:
        raise FigureError(f"{qualifier.phrase!r} must come before the number")
    return quantity, qualifier


def _check_ignorable(word: Token, previous: _Item | None, *, count: bool) -> None:
    """Refuse to skip words that would change the figure had they been understood."""
    if word.text in NUMBER_WORDS:
        raise FigureError(f"cannot read the number words around {word.text!r}")
    if count and word.text in _NOT_COUNTS:
        raise FigureError(f"{word.text!r} does not go with a count")
    if isinstance(previous, Number) and word.text in SUFFIX_SCALES:
        raise FigureError(f"{word.text!r} cannot follow {previous.text!r}")
    if isinstance(previous, Number) and word.text in _ORDINAL_ENDINGS:
        raise FigureError(f"'{previous.text}{word.text}' is an ordinal, not a count")


def _describe(quantity: _Quantity) -> str:
    if isinstance(quantity, Number):
        return quantity.text
    if isinstance(quantity, _Range):
        return f"{quantity.low.text} to {quantity.high.text}"
    return quantity.phrase


def _figure(
    quantity: _Quantity, qualifier: _Qualifier | None, qualifiers: Qualifiers, *, count: bool
) -> Figure:
    rule = qualifier.rule if qualifier is not None else None
    if isinstance(quantity, _Zero | _Vague):
        # A vague phrase is already an interval: "some hundreds" adds nothing, "over
        # hundreds" would need a guess.
        if qualifier is not None and not (isinstance(quantity, _Vague) and rule is _Rule.ABOUT):
            raise FigureError(f"{qualifier.phrase!r} cannot qualify {quantity.phrase!r}")
        if isinstance(quantity, _Zero):
            return _interval(Fraction(0), Fraction(0), FigureKind.EXACT)
        return _interval(quantity.low, quantity.high, FigureKind.RANGE)
    if isinstance(quantity, _Range):
        low, high = quantity.low.value, quantity.high.value
        _check_sign(quantity.low, count)
        _check_sign(quantity.high, count)
        if low > high:
            raise FigureError(f"range {_describe(quantity)} runs backwards")
        if rule is _Rule.ABOUT:
            return _interval(low, high, FigureKind.APPROXIMATE)
        if qualifier is not None:
            raise FigureError(f"{qualifier.phrase!r} cannot qualify a range")
        return _interval(low, high, FigureKind.EXACT if low == high else FigureKind.RANGE)
    _check_sign(quantity, count)
    return _qualified(quantity.value, rule, qualifiers, count=count)


def _qualified(n: Fraction, rule: _Rule | None, qualifiers: Qualifiers, *, count: bool) -> Figure:
    whole = count and n.denominator == 1
    if rule is None:
        return _interval(n, n, FigureKind.EXACT)
    if rule is _Rule.MORE_THAN:
        return _at_least(n + 1 if whole else n)
    if rule is _Rule.AT_LEAST:
        return _at_least(n)
    if rule is _Rule.FEWER_THAN:
        if whole and n == 0:
            raise FigureError("fewer than 0 is impossible for a count")
        return _at_most(n - 1 if whole else n, count=count)
    if rule is _Rule.AT_MOST:
        return _at_most(n, count=count)
    if rule is _Rule.NEARLY:
        low, high = sorted((n * _exact(qualifiers.nearly_low_factor), n))
        if count:
            low = Fraction(math.floor(low))
        return _interval(low, high, FigureKind.EXACT if low == high else FigureKind.RANGE)
    spread = _exact(qualifiers.approximate_spread)
    low, high = sorted((n * (1 - spread), n * (1 + spread)))
    if count:
        low, high = Fraction(math.floor(low)), Fraction(math.ceil(high))
    return _interval(low, high, FigureKind.APPROXIMATE)


def _exact(factor: float) -> Fraction:
    """The decimal a factor was written as (0.1, not the binary float nearest to it)."""
    return Fraction(repr(factor))


def _at_least(low: Fraction) -> Figure:
    return Figure(_to_float(low), math.inf, FigureKind.AT_LEAST)


def _at_most(high: Fraction, *, count: bool) -> Figure:
    return Figure(0.0 if count else -math.inf, _to_float(high), FigureKind.AT_MOST)


def _interval(low: Fraction, high: Fraction, kind: FigureKind) -> Figure:
    return Figure(_to_float(low), _to_float(high), kind)


def _to_float(value: Fraction) -> float:
    try:
        return float(value)
    except OverflowError:
        raise FigureError("number is too large") from None


def _check_sign(number: Number, count: bool) -> None:
    if count and number.value < 0:
        raise FigureError(f"negative count {number.text}")


def format_figure(figure: Figure) -> str:
    """Write a figure as the canonical text that :func:`parse_figure` maps back to it.

    Round trip holds for every figure ``parse_figure`` or ``resolve_figure`` can produce
    (for linear metrics, parse with ``resolve_figure(..., count=False)``); other shapes, such as
    an exact figure with two different bounds, raise :class:`FigureError`.

    >>> format_figure(Figure(51.0, math.inf, FigureKind.AT_LEAST))
    'at least 51'
    >>> format_figure(Figure(45.0, 55.0, FigureKind.APPROXIMATE))
    'approximately 45 to 55'
    """
    low, high, kind = figure.low, figure.high, figure.kind
    if math.isnan(low) or math.isnan(high) or low > high:
        raise FigureError(f"figure {low} to {high} is not an interval")
    finite = math.isfinite(low) and math.isfinite(high)
    if kind is FigureKind.EXACT and finite and low == high:
        return _number_text(low)
    if kind is FigureKind.RANGE and finite and low < high:
        return f"{_number_text(low)} to {_number_text(high)}"
    if kind is FigureKind.APPROXIMATE and finite:
        return f"approximately {_number_text(low)} to {_number_text(high)}"
    if kind is FigureKind.AT_LEAST and math.isfinite(low) and high == math.inf:
        return f"at least {_number_text(low)}"
    if kind is FigureKind.AT_MOST and math.isfinite(high) and low in (0.0, -math.inf):
        return f"at most {_number_text(high)}"
    raise FigureError(f"a {kind.value} figure from {low} to {high} has no text form")


def _number_text(value: float) -> str:
    if value.is_integer():
        return str(int(value))
    # The shortest repr, written out without an exponent, parses back to the same float.
    return format(Decimal(repr(value)), "f")


def resolve_figure(
    *,
    value: float | None,
    low: float | None,
    high: float | None,
    text: str | None,
    count: bool,
) -> Figure:
    """Resolve one report or consensus row to a Figure.

    ``value`` gives an exact figure (``low``/``high``, if also given, must equal it); ``low``
    and ``high`` give a range, either alone an open bound; with no numbers ``text`` is
    parsed. ``count`` metrics reject negatives and bound "at most" below by 0; linear metrics
    accept negatives, are unbounded below, and take "more than N" to mean at least N.

    >>> resolve_figure(value=None, low=10, high=None, text=None, count=True)
    Figure(low=10.0, high=inf, kind=<FigureKind.AT_LEAST: 'at_least'>)
    >>> resolve_figure(value=None, low=None, high=None, text="up to 3", count=False)
    Figure(low=-inf, high=3.0, kind=<FigureKind.AT_MOST: 'at_most'>)
    """
    if (
        value is not None
        and low is None
        and high is None
        and math.isfinite(value)
        and (value >= 0 or not count)
    ):
        # the usual report, answered without the general checks below (a fusion resolves dozens)
        return Figure(float(value), float(value), FigureKind.EXACT)
    numbers = {"value": value, "low": low, "high": high}
    for name, number in numbers.items():
        if number is None:
            continue
        if math.isnan(number):
            raise FigureError(f"{name} is NaN")
        if math.isinf(number):
            raise FigureError(f"{name} is infinite")
        if count and number < 0:
            raise FigureError(f"negative count {_number_text(float(number))}")
    if value is not None:
        for name in ("low", "high"):
            bound = numbers[name]
            if bound is not None and bound != value:
                raise FigureError(
                    f"{name} {_number_text(float(bound))} disagrees with "
                    f"value {_number_text(float(value))}"
                )
        return Figure(float(value), float(value), FigureKind.EXACT)
    if low is not None and high is not None:
        if low > high:
            raise FigureError(
                f"low {_number_text(float(low))} is greater than high {_number_text(float(high))}"
            )
        kind = FigureKind.EXACT if low == high else FigureKind.RANGE
        return Figure(float(low), float(high), kind)
    if low is not None:
        return Figure(float(low), math.inf, FigureKind.AT_LEAST)
    if high is not None:
        return Figure(0.0 if count else -math.inf, float(high), FigureKind.AT_MOST)
    if text is None or not text.strip():
        raise FigureError("no figure: give value, low/high or figure text")
    return _parse(text, DEFAULT_VAGUE, DEFAULT_QUALIFIERS, count=count)
