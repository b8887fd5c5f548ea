"""Safe Connections Tool 4, step 7: "Contact client and write a letter confirming who their
support will be in local area and what to do in event of any issues and crises".

The letter names the case's own support (recorded by the caseworker at step 7, carried on
CaseClosed) first; the organisation's general text (its notification settings) follows as the
frame, never in its place. A case with nothing of its own recorded gets the organisation's.
"""

from __future__ import annotations


def support_in_letter(case_text: str | None, organisation_text: str) -> str:
    own = (case_text or "").strip()
    general = organisation_text.strip()
    if not own:
        return organisation_text
    if not general or own == general:
        return own
    return f"{own}\n\n{general}"
