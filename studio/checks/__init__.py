"""Consistency and coverage checks over a project's examples.

- `kinds`: the one typed list of the kinds of check (name, title, what it finds, settings, severity).
- `findings`: what a check reads (CheckInput), how it is tuned (CheckConfig), what it reports (Finding).
- `duplicates`: exact duplicates, near duplicates, and train / held-out leakage.
- `contradictions`: the same input with different answers.
- `label_noise`: answers that disagree with what similar examples say (likely wrong labels).
- `shapes`: format breaks, length outliers, token budget, thin labels.
- `pii`: e-mail addresses, phone numbers, card numbers and IBANs.
- `runner`: running every check on a project and storing its findings.
- `adjudication`: resolving or dismissing a finding, in one transaction.
- `coverage`: which kinds of input are thin or missing, against real production inputs.
"""
