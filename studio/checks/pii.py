"""The PII check: e-mail addresses, phone numbers, card numbers and IBANs in examples.

Candidates are found with patterns and then validated with libraries made for the job
(phonenumbers for phone numbers, python-stdnum for the Luhn checksum of card numbers
and the IBAN checksum), so an order number is not mistaken for a card.
"""

from __future__ import annotations

import re

from studio.checks.findings import CheckInput, Finding

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
DIGIT = re.compile(r"\d")
PHONE_REGION = "US"


def find_personal_data(text: str) -> list[tuple[str, str]]:
    """(kind, masked value) for every e-mail, phone number, card number and IBAN in `text`."""
    import phonenumbers
    from stdnum import iban, luhn

    found = [("e-mail", m.group()) for m in EMAIL.finditer(text)]
    found += [("card number", m.group()) for m in CARD.finditer(text) if luhn.is_valid(re.sub(r"\D", "", m.group()))]
    found += [("IBAN", m.group()) for m in IBAN.finditer(text) if iban.is_valid(m.group())]
    cards = {value for kind, value in found if kind == "card number"}
    matches = (
        phonenumbers.PhoneNumberMatcher(text, PHONE_REGION, leniency=phonenumbers.Leniency.VALID)
        if len(DIGIT.findall(text)) >= 7
        else []
    )  # no phone number has fewer digits; skip the slow matcher
    for match in matches:
        if not any(match.raw_string in card for card in cards):
            found.append(("phone number", match.raw_string))
    return [(kind, _mask(value)) for kind, value in found]


def _mask(value: str) -> str:
    """Enough of a value to find it again, not enough to leak it further."""
    return value[:2] + "…" + value[-2:] if len(value) > 6 else "…"


def find_pii(data: CheckInput) -> list[Finding]:
    """PII: e-mail addresses, phone numbers, card numbers (Luhn-valid) and IBANs in inputs or outputs.

    Personal data in a training set can come back out of the model; remove or mask it.
    """
    findings = []
    for position, (question, answer) in enumerate(zip(data.inputs, data.answers)):
        hits = [
            (where, kind, value)
            for where, text in (("input", question), ("answer", answer))
            for kind, value in find_personal_data(text)
        ]
        if hits:
            listed = "; ".join(f"{kind} {value} in the {where}" for where, kind, value in hits)
            findings.append(Finding("pii", "warning", (position,), 1.0, f"Personal data: {listed}. Remove or mask it."))
    return findings
