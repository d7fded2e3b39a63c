"""Reading English numbers ("twenty-seven", "one hundred and five", "1.2 million", "2k").

The reader works on a token stream produced by :mod:`reliability.figures`; a token is either
a lower-case word or a digit string already converted to an exact :class:`Fraction`. Exact
fractions keep "1.2 million" equal to 1200000 rather than 1200000.0000000002.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

_UNIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TEEN_WORDS = (
    *("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen"),
    *("seventeen", "eighteen", "nineteen"),
)
_TENS_WORDS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
UNITS = {word: value for value, word in enumerate(_UNIT_WORDS)}
TEENS = {word: value + 10 for value, word in enumerate(_TEEN_WORDS)}
TENS = {word: 10 * (value + 2) for value, word in enumerate(_TENS_WORDS)}
BIG_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9}
#: Abbreviations accepted only after digits ("2k", "1.5 mln", "3bn").
SUFFIX_SCALES = {"k": 10**3, "m": 10**6, "mn": 10**6, "mln": 10**6, "bn": 10**9}
ARTICLES = frozenset({"a", "an"})
NUMBER_WORDS = frozenset({*UNITS, *TEENS, *TENS, *BIG_SCALES, "hundred", "dozen", "half"})

_SMALL_SCALES = frozenset({"hundred", "dozen", *BIG_SCALES})
# What may precede each kind of word inside one number ("" = the number's start).
_AFTER_GROUP_START = frozenset({"", "hundred", "and", "big"})
_AFTER_COUNTABLE = frozenset({"unit", "teen", "tens", "digits", "article"})
_GROUP_WORDS = frozenset({*UNITS, *TEENS, *TENS} - {"zero"})


@dataclass(frozen=True, slots=True)
class Token:
    """One word, symbol or digit string of a figure text."""

    text: str
    #: The value of a digit string, including a glued suffix ("2k" -> 2000).
    number: Fraction | None = None
    #: The multiplier of a glued suffix, e.g. 1000 for "2k".
    scale: int | None = None


@dataclass(frozen=True, slots=True)
class Number:
    """A number read from the text, with the words it was read from."""

    value: Fraction
    text: str
    #: The multiplier of a closing scale word that applies to the whole number (1000 in
    #: "20 thousand", not in "1 million 20 thousand"), so "15 to 20 thousand" can scale 15.
    scale: int | None


def read_number(
    tokens: Sequence[object], start: int, *, allow_and: bool = True
) -> tuple[Number, int] | None:
    """Read the longest number starting at ``tokens[start]``; return it and the index after it.

    Non-:class:`Token` items end a number. ``None`` when no number starts there. With
    ``allow_and=False`` an "and" ends the number, as in "between one hundred and five thousand".

    >>> words = [Token(w) for w in "one hundred and five killed".split()]
    >>> number, end = read_number(words, 0)
    >>> number.value, end
    (Fraction(105, 1), 4)
    """
    stop = len(tokens)
    while True:
        found = _read_until(tokens, start, stop, allow_and)
        if found is None:
            return None
        number, end, last_and = found
        # "between two thousand and three thousand": an "and" swallowed into the first number
        # leaves a stray scale word; give the "and" back so it can join a range.
        if last_and is not None and end < len(tokens) and _is_number_word(tokens[end]):
            stop = last_and
            continue
        return number, end


def _is_number_word(item: object) -> bool:
    return isinstance(item, Token) and item.text in NUMBER_WORDS


def _word_at(tokens: Sequence[object], index: int, stop: int) -> str | None:
    if index < stop:
        item = tokens[index]
        if isinstance(item, Token) and item.number is None:
            return item.text
    return None


def _read_until(
    tokens: Sequence[object], start: int, stop: int, allow_and: bool
) -> tuple[Number, int, int | None] | None:
    total = Fraction(0)
    group: Fraction | None = None  # the part after the last big scale, e.g. 205 in "1 million 205"
    last = ""
    big_limit: int | None = None
    whole_scale: int | None = None  # the last scale word's multiplier, if it scaled everything
    last_and: int | None = None
    i = start
    while i < stop:
        item = tokens[i]
        if not isinstance(item, Token):
            break
        word = item.text
        if item.number is not None:
            if last:
                break
            if item.scale is not None:
                total, big_limit, last = item.number, item.scale, "big"
                whole_scale = item.scale
            else:
                group, last = item.number, "digits"
        elif word == "half" and not last:
            if _word_at(tokens, i + 1, stop) not in ARTICLES:
                break
            if _word_at(tokens, i + 2, stop) not in _SMALL_SCALES:
                break
            group, last = Fraction(1, 2), "article"
            i += 1
        elif word in ARTICLES and not last:
            if _word_at(tokens, i + 1, stop) not in _SMALL_SCALES:
                break
            group, last = Fraction(1), "article"
        elif word in UNITS:
            value = UNITS[word]
            if value == 0 and last:
                break
            if last not in _AFTER_GROUP_START and last != "tens":
                break
            group, last = (group or Fraction(0)) + value, "unit"
        elif word in TEENS or word in TENS:
            if last not in _AFTER_GROUP_START:
                break
            value = TEENS.get(word) or TENS[word]
            group, last = (group or Fraction(0)) + value, ("teen" if word in TEENS else "tens")
        elif word == "hundred":
            if last not in _AFTER_COUNTABLE or group is None or not 0 < group < 100:
                break
            group, last = group * 100, "hundred"
            whole_scale = 100 if total == 0 else None
        elif word == "dozen":
            if last not in _AFTER_COUNTABLE or group is None or group <= 0:
                break
            group, last = group * 12, "dozen"
            whole_scale = 12 if total == 0 else None
        elif word in BIG_SCALES or (word in SUFFIX_SCALES and last == "digits"):
            scale = BIG_SCALES.get(word) or SUFFIX_SCALES[word]
            if last not in _AFTER_COUNTABLE | {"hundred", "dozen"} or group is None or group <= 0:
                break
            if big_limit is not None and scale >= big_limit:
                break
            whole_scale = scale if total == 0 else None
            total, group, big_limit, last = total + group * scale, None, scale, "big"
        elif word == "and":
            following = _word_at(tokens, i + 1, stop)
            if not allow_and or last not in {"hundred", "big"} or following not in _GROUP_WORDS:
                break
            last, last_and = "and", i
        else:
            break
        i += 1
    if i == start:
        return None
    text = " ".join(item.text for item in tokens[start:i] if isinstance(item, Token))
    closing_scale = whole_scale if last in {"hundred", "dozen", "big"} else None
    return Number(total + (group or 0), text, closing_scale), i, last_and
