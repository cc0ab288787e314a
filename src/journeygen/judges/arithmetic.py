"""Arithmetic judge: find explicit `a op b = c` claims in a step and check them exactly.

Nothing from model text is `eval`ed: a small tokenizer and recursive-descent parser work on
`Fraction`s. Text that only looks like arithmetic (dates, times, ratios, ranges, phone
numbers, versions, units inside an expression, algebra) is left alone: a claim is checked
only when both sides of its `=` are whole expressions, so the judge misses some claims
rather than accuse a right step.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

from journeygen.models import Node, Problem, Verdict

if TYPE_CHECKING:
    from journeygen.backends.base import Backend
    from journeygen.config import RunConfig
    from journeygen.prompts import ChatTemplate

__all__ = ["ArithmeticJudge", "Claim", "check_claims"]

TokenKind = Literal["num", "op", "open", "close", "frac", "eq", "other"]

_TOKENS = re.compile(
    r"""
    (?P<blocker>                                  # looks like numbers, is not arithmetic
        \d{4}-\d{1,2}-\d{1,2}                     # ISO date 2024-01-05
      | \d{1,2}/\d{1,2}/\d{4}                     # US date 01/05/2024
      | \d+(?:\.\d+){2,}                          # version or address 1.2.3
      | \d+(?::\d+)+                              # time 3:30, ratio 2:3
      | \d+(?:[-\u2013]\d+)+                      # range 3-5, phone 555-1234
      | [<>!]=|=>|==|\u2260|\u2264|\u2265         # comparisons, implications
    )
  | (?P<num>
        (?:\\?[$\u00a3\u20ac])?                    # currency: $ £ € (or LaTeX \$)
        (?:\d+\s+\d+/\d+(?![\d/])                 # mixed number 1 1/2
          | \d{1,3}(?:,(?:\\!)?\d{3})+(?![\d,])(?:\.\d+)?  # 1,200, 1,200.50, LaTeX 1,\!200
          | \d+(?:\.\d+)?|\.\d+)
        (?:\s*%)?
    )
  | (?P<frac>\\[dt]?frac)
  | (?P<skip>\s+|\\boxed|\\[,!;]|\*\*)          # space, LaTeX spacing, markdown bold
  | (?P<op>[-+*/^\u00d7\u00f7\u00b7\u2212\u22c5]|\\times|\\cdot|\\div
      | (?:(?<=\d)|(?<=\d\s))[xX](?=\s*[\d$(])    # 3 x 4: an x between numbers
      | (?:(?<=%)|(?<=%\s))of(?=\s*[\d$(])        # 20% of 50
    )
  | (?P<open>[({\[]|\\left[(\[])
  | (?P<close>[)}\]]|\\right[)\]])
  | (?P<eq>=|\u2248|\\approx)
  | (?P<other>\\?[A-Za-z]+|.)
    """,
    re.VERBOSE | re.DOTALL,
)
_EQUALS_SIGNS = ("=", "\u2248", "\\approx")  # the text of every `eq` token above
# A word right before a claim that changes what its first number means ("half of 10 = 5").
_OPERATOR_WORDS = {
    "of", "times", "plus", "minus", "by", "over", "per", "half", "twice", "double", "triple",
    "less", "than", "percent", "divided", "multiplied", "sqrt", "\\sqrt", "log", "ln",
}  # fmt: skip
_GLUE_BEFORE = set("(<[{\"'*$ \t\n")  # what may touch a claim's first token
_GLUE_AFTER = set(".,;:!?)]}>\"'*$ \t\n")  # what may touch a claim's last token
_OPS = {"\u00d7": "*", "\u00b7": "*", "\u22c5": "*", "\\times": "*", "\\cdot": "*", "of": "*",
        "x": "*", "X": "*", "\u00f7": "/", "\\div": "/", "\u2212": "-"}  # fmt: skip
_MAX_EXPONENT = 64
_MAX_DIGITS = 400


@dataclass(frozen=True)
class _Token:
    kind: TokenKind
    text: str
    start: int
    end: int


class _Unreadable(ValueError):
    """A side that is not one whole expression, or whose meaning is ambiguous: not checked."""


@dataclass(frozen=True)
class _Value:
    number: Fraction
    percent: bool = False  # a bare percentage literal such as `20%`


@dataclass(frozen=True)
class Claim:
    """One checked `left = right` link: the text of both sides and whether it holds."""

    left: str
    right: str
    holds: bool
    reason: str


def _number(text: str) -> _Value:
    body = text.lstrip("\\$\u00a3\u20ac").replace("\\!", "").replace(",", "")
    if len(body) > _MAX_DIGITS:
        raise _Unreadable("number too long")
    percent = body.rstrip().endswith("%")
    body = body.rstrip().rstrip("%").strip()
    if " " in body:  # mixed number
        whole, part = body.split(None, 1)
        value = Fraction(whole) + Fraction(part)
    else:
        value = Fraction(body)
    return _Value(value / 100 if percent else value, percent)


class _Parser:
    """expr := term (+|- term)*; term := unary (*|/ unary)*; unary := -unary | power;
    power := primary (^ unary)?; primary := NUM | (expr) | \\frac{expr}{expr}"""

    def __init__(self, tokens: Sequence[_Token]) -> None:
        self.tokens = tokens
        self.at = 0

    def parse(self) -> _Value:
        if not self.tokens:
            raise _Unreadable("empty")
        value = self._expr()
        if self.at != len(self.tokens):
            raise _Unreadable("trailing tokens")
        return value

    def _peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _op(self, *ops: str) -> str | None:
        token = self._peek()
        if token is not None and token.kind == "op":
            op = _OPS.get(token.text.strip(), token.text.strip())
            if op in ops:
                self.at += 1
                return op
        return None

    def _expr(self) -> _Value:
        value = self._term()
        while (op := self._op("+", "-")) is not None:
            right = self._term()
            if value.percent != right.percent:  # 50 + 10%: of what? ambiguous
                raise _Unreadable("percentage added to a number")
            total = value.number + right.number if op == "+" else value.number - right.number
            value = _Value(total)
        return value

    def _term(self) -> _Value:
        value = self._unary()
        while (op := self._op("*", "/")) is not None:
            right = self._unary()
            if op == "/" and right.number == 0:
                raise ZeroDivisionError
            number = value.number * right.number if op == "*" else value.number / right.number
            value = _Value(number)
        return value

    def _unary(self) -> _Value:
        if self._op("-") is not None:
            inner = self._unary()
            return _Value(-inner.number, inner.percent)
        return self._power()

    def _power(self) -> _Value:
        base = self._primary()
        if self._op("^") is None:
            return base
        exponent = self._unary().number
        if exponent.denominator != 1 or abs(exponent) > _MAX_EXPONENT:
            raise _Unreadable("exponent too large or not whole")
        if base.number == 0 and exponent < 0:
            raise ZeroDivisionError
        return _Value(base.number ** int(exponent))

    def _primary(self) -> _Value:
        token = self._peek()
        if token is None:
            raise _Unreadable("missing operand")
        self.at += 1
        if token.kind == "num":
            return _number(token.text)
        if token.kind == "frac":
            numerator, denominator = self._group().number, self._group().number
            if denominator == 0:
                raise ZeroDivisionError
            return _Value(numerator / denominator)
        if token.kind == "open":
            self.at -= 1
            return self._group()
        raise _Unreadable(f"unexpected {token.text!r}")

    def _group(self) -> _Value:
        token = self._peek()
        if token is None or token.kind != "open":
            raise _Unreadable("expected a bracket")
        self.at += 1
        value = self._expr()
        token = self._peek()
        if token is None or token.kind != "close":
            raise _Unreadable("unclosed bracket")
        self.at += 1
        return value


def _show(value: Fraction) -> str:
    """A value as a person writes it: 240, 2.5, or 10/3 (about 3.3333)."""
    if value.denominator == 1:
        return str(value.numerator)
    decimal = Decimal(value.numerator) / Decimal(value.denominator)
    if len(f"{decimal.normalize():f}") <= 12 and Fraction(decimal) == value:
        return f"{decimal.normalize():f}"
    return f"{value} (about {decimal.quantize(Decimal('0.0001'), ROUND_HALF_UP).normalize():f})"


def _decimals(tokens: Sequence[_Token]) -> int | None:
    """Decimal places of a side that is one plain number, else None."""
    if len(tokens) != 1 or tokens[0].kind != "num":
        return None
    body = tokens[0].text.rstrip().rstrip("%")
    return len(body.split(".", 1)[1]) if "." in body else 0


def _matches(true: Fraction, claimed: _Value, places: int | None, approx: bool) -> bool:
    """Exact equality; a claim written with d decimals may round or truncate to d places;
    `≈` allows one unit in the claim's last place; a bare `25%` may also mean 25."""
    candidates = [claimed.number, claimed.number * 100] if claimed.percent else [claimed.number]
    for number in candidates:
        if true == number:
            return True
        if places is None:
            continue
        if approx and abs(true - number) < Fraction(1, 10**places):
            return True
        if places > 0:
            exact = Decimal(true.numerator) / Decimal(true.denominator)
            quantum = Decimal(1).scaleb(-places)
            rounded = {exact.quantize(quantum, mode) for mode in (ROUND_HALF_UP, ROUND_DOWN)}
            if Fraction(number) in {Fraction(r) for r in rounded}:
                return True
    return False


def _runs(tokens: Sequence[_Token]) -> list[list[_Token]]:
    """Maximal stretches of expression tokens (numbers, operators, brackets, `=`)."""
    runs: list[list[_Token]] = [[]]
    for token in tokens:
        if token.kind == "other":
            runs.append([])
        else:
            runs[-1].append(token)
    return [run for run in runs if any(t.kind == "eq" for t in run)]


def _sides(run: list[_Token]) -> tuple[list[list[_Token]], list[_Token]]:
    parts: list[list[_Token]] = [[]]
    signs: list[_Token] = []
    for token in run:
        if token.kind == "eq":
            signs.append(token)
            parts.append([])
        else:
            parts[-1].append(token)
    return parts, signs


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for match in _TOKENS.finditer(text):
        kind = match.lastgroup
        if kind == "skip" or kind is None:
            continue
        token_kind: TokenKind = "other" if kind == "blocker" else kind  # type: ignore[assignment]
        tokens.append(_Token(token_kind, match.group(), match.start(), match.end()))
    return tokens


def _word_before(tokens: Sequence[_Token], first: _Token) -> str | None:
    index = tokens.index(first)
    return tokens[index - 1].text.lower() if index > 0 else None


def _word_after(tokens: Sequence[_Token], last: _Token) -> str | None:
    index = tokens.index(last)
    return tokens[index + 1].text.lower() if index + 1 < len(tokens) else None


def _side_text(text: str, side: Sequence[_Token]) -> str:
    return " ".join(text[side[0].start : side[-1].end].split())


def check_claims(text: str) -> list[Claim]:
    """Every checkable `left = right` link in `text`, in order, each with whether it holds.

    A chain `3 + 5 = 8 + 2 = 10` is read as running work: a right side that starts with the
    value of its left side (`8 + 2` after `3 + 5`) continues the calculation.
    """
    if not any(sign in text for sign in _EQUALS_SIGNS):
        return []  # no `=`, no claim: most prose steps skip the tokenizer
    tokens = _tokenize(text)
    claims: list[Claim] = []
    for run in _runs(tokens):
        parts, signs = _sides(run)
        first, last = parts[0], parts[-1]
        if first and (
            (first[0].start > 0 and text[first[0].start - 1] not in _GLUE_BEFORE)
            or _word_before(tokens, first[0]) in _OPERATOR_WORDS
        ):
            parts[0] = []  # `v2 = 5`, `half of 10 = 5`: the claim starts before the run
        if last and (
            (last[-1].end < len(text) and text[last[-1].end] not in _GLUE_AFTER)
            or _word_after(tokens, last[-1]) in _OPERATOR_WORDS
        ):
            parts[-1] = []  # `= 5x`, `= 5 times 3`: the claim goes on after the run
        for index, sign in enumerate(signs):
            chained = index + 1 < len(signs)  # the right side is also the next left side
            left, right = parts[index], parts[index + 1]
            if not chained and _decimals(left) is not None and _decimals(right) is None:
                left, right = right, left  # `24 = 48 / 2`: the single number is the claim
            if not any(t.kind in ("op", "frac") for t in run):
                break  # nothing computed: `12 = 1 dozen`, `x = 5`
            claim = _link(text, left, right, approx=sign.text != "=", chained=chained)
            if claim is not None:
                claims.append(claim)
    return claims


def _link(
    text: str, left: list[_Token], right: list[_Token], *, approx: bool, chained: bool
) -> Claim | None:
    if not left or not right:
        return None
    try:
        true = _Parser(left).parse()
        claimed = _Parser(right).parse()
    except ZeroDivisionError:
        shown = _side_text(text, left)
        return Claim(shown, _side_text(text, right), False, f"{shown} divides by zero")
    except _Unreadable:
        return None
    left_text, right_text = _side_text(text, left), _side_text(text, right)
    if true.percent and not claimed.percent:  # `25% = 0.25`-style: compare the other way
        true, claimed = claimed, true
    if _matches(true.number, claimed, _decimals(right), approx):
        return Claim(left_text, right_text, True, f"{left_text} = {right_text}")
    head = right[0]
    if chained and head.kind == "num" and len(right) > 1:  # running work: `3 + 5 = 8 + 2 = 10`
        started = _number(head.text)
        if _matches(true.number, started, _decimals([head]), approx):
            return Claim(left_text, right_text, True, f"{left_text} = {head.text.strip()}")
        reason = f"{left_text} is {_show(true.number)}, not {head.text.strip()}"
        return Claim(left_text, right_text, False, reason)
    if len(right) == 1:
        reason = f"{left_text} is {_show(true.number)}, not {right_text}"
    else:
        reason = f"{left_text} is {_show(true.number)}, but {right_text} is {_show(claimed.number)}"
    return Claim(left_text, right_text, False, reason)


class ArithmeticJudge:
    """Marks a step `incorrect` when one of its explicit calculations is wrong.

    A step whose claims all hold gets an `unknown` verdict without a score that lists them:
    right arithmetic is evidence, not proof that the step is right. No claims, no verdict.
    """

    name = "arithmetic"

    @classmethod
    def from_config(
        cls, config: RunConfig, backend: Backend | None, template: ChatTemplate | None
    ) -> ArithmeticJudge:
        """The judge has no settings."""
        return cls()

    async def judge(self, problem: Problem, path: Sequence[Node], node: Node) -> list[Verdict]:
        claims = check_claims(node.text)
        if not claims:
            return []
        wrong = [claim for claim in claims if not claim.holds]
        if wrong:
            reason = "; ".join(claim.reason for claim in wrong)
            return [Verdict(judge=self.name, label="incorrect", score=0.0, reason=reason)]
        checked = "; ".join(claim.reason for claim in claims)
        return [Verdict(judge=self.name, label="unknown", reason=f"checked {checked}")]
