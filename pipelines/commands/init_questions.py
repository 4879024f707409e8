"""``roi init --interactive``: the few questions a register needs, asked with ``input()`` — what
was automated, where, when it went live, what it cost, which metric it should move, what must not
get worse. Each answer is checked as it is given; an answer that cannot be used is asked again
with the reason. Enter keeps the value shown in brackets (chosen from the data)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date

from pipelines.commands.init_register import Draft
from roi_ledger.register import MAX_MONEY

DEFAULT_MARGIN_PCT = 5.0


def ask(question: str, parse: Callable[[str], object], default: str | None = None):
    """Ask until ``parse`` takes the answer (it raises ``ValueError`` with the reason otherwise).
    Enter gives ``default``."""
    shown = f" [{default}]" if default not in (None, "") else ""
    while True:
        answer = input(f"{question}{shown}: ").strip()  # builtins.input, looked up now: tests replace it
        if not answer and default is not None:
            answer = default
        try:
            return parse(answer)
        except ValueError as exc:
            print(f"  {exc}; try again")


def _choices(answer: str, options: list[str]) -> list[str]:
    """Numbers of ``options`` or the options themselves, separated by commas."""
    chosen = []
    for part in filter(None, (p.strip() for p in answer.split(","))):
        if part.isdigit() and 1 <= int(part) <= len(options):
            chosen.append(options[int(part) - 1])
        elif part in options:
            chosen.append(part)
        else:
            raise ValueError(f"{part!r} is not one of the {len(options)} listed (give its number or its name)")
    if not chosen:
        raise ValueError("give at least one")
    return list(dict.fromkeys(chosen))


def _name(answer: str) -> str:
    """A name the register takes (no invisible characters, at most 1,000 characters)."""
    from pydantic import TypeAdapter, ValidationError

    from roi_ledger.register import Text

    if not answer:
        raise ValueError("give it a name, e.g. Automatic shipping labels")
    try:
        return TypeAdapter(Text).validate_python(answer)
    except ValidationError as exc:
        raise ValueError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None


def _go_live(first: date, last: date) -> Callable[[str], date]:
    latest = min(last, date.today())

    def parse(answer: str) -> date:
        try:
            day = date.fromisoformat(answer)
        except ValueError:
            raise ValueError(f"{answer!r} is not a date written YYYY-MM-DD") from None
        if not first < day <= latest:
            raise ValueError(
                f"the data runs {first} to {last}: a go-live after {first} (some data before it, to compare with) "
                f"and no later than {latest} is needed"
            )
        return day

    return parse


def _amount(answer: str) -> float:
    try:
        value = float(answer.replace(",", ""))
    except ValueError:
        raise ValueError(f"{answer!r} is not an amount (write it as 1200 or 1200.50)") from None
    if not 0 <= value <= MAX_MONEY:
        raise ValueError(f"an amount from 0 to {MAX_MONEY:,.0f}")
    return value


def _margin(answer: str) -> float:
    try:
        value = float(answer.rstrip("%"))
    except ValueError:
        raise ValueError(f"{answer!r} is not a percentage") from None
    if not 0 < value <= 100:
        raise ValueError("a percentage above 0 and at most 100")
    return value


def _numbered(options: list[str], notes: list[str]) -> None:
    for n, (option, note) in enumerate(zip(options, notes, strict=True), start=1):
        print(f"  {n}) {note or option}")


def interview(draft: Draft, units: list[str], metric_notes: list[str]) -> Draft:
    """The draft with the owner's answers; ``units`` and ``draft.computable`` are what is offered
    (``metric_notes`` describes each computable metric)."""
    first, last = draft.data_range or (draft.go_live, draft.go_live)
    name = ask("What was automated (its name)", _name)
    print("Where did it go live? The units in the data:")
    _numbered(units, draft.unit_notes)
    chosen_units = ask("Its units (numbers or names, separated by commas)", lambda a: _choices(a, units), "1")
    go_live = ask(
        f"When did it go live (YYYY-MM-DD, the data runs {first} to {last})", _go_live(first, last), str(draft.go_live)
    )
    one_off = ask(f"What did it cost once, in {draft.currency} (set-up, hardware; 0 if nothing)", _amount, "0")
    monthly = ask(f"What does it cost each month, in {draft.currency} (0 if nothing)", _amount, "0")
    metrics = draft.computable
    print("Which metric should it move? The data can compute:")
    _numbered(metrics, metric_notes)
    default = str(metrics.index(draft.metric) + 1)
    metric = ask("Its metric (a number or a name)", lambda a: _choices(a, metrics)[0], default)
    guardrail = None
    others = [m for m in metrics if m != metric]
    print("What must not get worse meanwhile? (optional: Enter for nothing)")
    _numbered(others, [metric_notes[metrics.index(m)] for m in others])
    kept = ask("A metric that must not get worse (a number or a name)", lambda a: _choices(a, others)[0] if a else "")
    if kept:
        margin = ask("By how many percent may it get worse at most", _margin, f"{DEFAULT_MARGIN_PCT:g}")
        guardrail = (kept, margin)
    return replace(
        draft,
        name=name,
        units=chosen_units,
        go_live=go_live,
        one_off=one_off,
        one_off_date=go_live,
        monthly=monthly,
        metric=metric,
        guardrail=guardrail,
        answered=True,
    )
