"""The reconnection pages' pure parts: the phases as steps, a refused advance in words, the
local-connection evidence form both ways, the presentation pack's changes and Tool 4's
branches laid over the path the API walked."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.reconnection.closure_checklist import ClosureAnswers, assess_closure
from services.web.backend import ApiError
from services.web.pages.reconnection import (
    advance_reasons,
    api_field_errors,
    closure_steps,
    evidence_from_form,
    evidence_values,
    learning_themes,
    pack_updates,
    phase_steps,
    refusal,
    row_count,
    theme_options,
)
from services.web.rendering import environment
from shared.codes import LearningTheme


def test_phases_before_the_current_one_are_completed() -> None:
    steps = phase_steps("engage", closed=False)
    assert [s.status for s in steps] == ["completed"] * 2 + ["current"] + ["not_started"] * 5
    assert [s.number for s in steps] == list(range(1, 9))
    assert phase_steps("case_closure_and_review", closed=True)[-1].status == "closed"


def test_a_refused_advance_names_the_open_items_by_their_text() -> None:
    exc = ApiError(
        "reconnection",
        409,
        {
            "type": "https://hearth.example/problems/conflict",
            "status": 409,
            "detail": "phase: engage cannot be completed: checklist item open: consent_recorded; "
            "eligibility not confirmed at engagement",
            "errors": [{"field": "phase", "message": "engage cannot be completed: ..."}],
        },
    )
    field, message = refusal(exc)
    assert field == "phase" and message.startswith("engage cannot be completed")
    assert advance_reasons(message, {"consent_recorded": "Consent to record information"}) == [
        "Checklist item not done: Consent to record information",
        "Eligibility not confirmed at engagement",
    ]


def test_evidence_rows_become_the_apis_evidence_and_blank_rows_are_left_out() -> None:
    form = {
        "residence-0-area": "Leeds",
        "residence-0-start-day": "1",
        "residence-0-start-month": "3",
        "residence-0-start-year": "2021",
        "residence-0-end-day": "",
        "residence-0-end-month": "",
        "residence-0-end-year": "",
        "residence-1-area": "",
        "family-0-area": "Leeds",
        "family-0-relationship": "mother",
        "family-0-years-in-area": "30",
        "special-circumstances-0-area": "",
    }
    evidence, errors = evidence_from_form(form)
    assert errors == {}
    assert evidence["residence"] == [{"area": "Leeds", "start": "2021-03-01"}]
    assert evidence["family"] == [
        {"area": "Leeds", "relationship": "mother", "years_in_area": 30.0}
    ]
    assert evidence["employment"] == evidence["special_circumstances"] == []


def test_evidence_errors_name_the_row_and_the_field() -> None:
    form = {
        "residence-0-area": "Leeds",
        "residence-0-start-day": "31",
        "residence-0-start-month": "2",
        "residence-0-start-year": "2024",
        "residence-1-area": "Hackney",
        "residence-2-start-day": "1",
        "residence-2-start-month": "1",
        "residence-2-start-year": "2024",
        "residence-2-end-day": "1",
        "residence-2-end-month": "1",
        "residence-2-end-year": "2023",
        "family-0-area": "Leeds",
        "family-0-years-in-area": "many",
    }
    _, errors = evidence_from_form(form)
    assert errors == {
        "residence-0-start": "First address: enter a real date",
        "residence-1-start": "Second address: enter the date they started living in the area",
        "residence-2-area": "Enter the area of the address",
        "residence-2-end": "Third address: the end date must be after the start date",
        "family-0-relationship": "First family member: enter how the family member is related "
        "to them",
        "family-0-years-in-area": "First family member: years must be a number, like 12",
    }


def test_saved_evidence_fills_the_form_and_adds_a_blank_row() -> None:
    saved = {
        "residence": [{"area": "Leeds", "start": "2021-03-01", "end": None}],
        "family": [{"area": "Leeds", "relationship": "mother", "years_in_area": 30.0}],
    }
    values = evidence_values(saved)
    assert values["residence-0-start-day"] == "1" and values["residence-0-start-year"] == "2021"
    assert "residence-0-end-day" not in values
    assert values["family-0-years-in-area"] == "30"
    assert row_count("residence", values, saved=1) == 3  # at least three addresses shown
    assert row_count("family", values, saved=1) == 2
    sent = {"special-circumstances-3-area": "Leeds"}
    assert row_count("special_circumstances", sent) == 4


def test_a_422_location_is_the_forms_field() -> None:
    problem = {
        "type": "https://hearth.example/problems/validation",
        "status": 422,
        "detail": "family.0.years_in_area: too many; residence.1.end: is before start",
        "errors": [
            {"field": "family.0.years_in_area", "message": "too many"},
            {"field": "residence.1.end", "message": "is before start"},
        ],
    }
    exc = ApiError("reconnection", 422, problem)
    assert api_field_errors(exc) == {
        "family-0-years-in-area": "too many",
        "residence-1-end": "The end date must be after the start date",
    }


PACK = [
    {
        "item": "id",
        "description": "birth certificate or other ID",
        "status": "open",
        "always_needed": True,
        "reason": None,
    },
    {
        "item": "medical_information",
        "description": "medical information",
        "status": "open",
        "always_needed": False,
        "reason": None,
    },
]


def test_the_pack_sends_only_what_changed_and_asks_why_an_item_does_not_apply() -> None:
    updates, errors = pack_updates(
        {"id-status": "done", "medical_information-status": "not_applicable"}, PACK
    )
    assert updates == [("id", {"status": "done", "reason": None})]
    assert errors == {
        "medical_information-reason": "Enter why the medical information does not apply"
    }
    updates, errors = pack_updates(
        {
            "id-status": "open",
            "medical_information-status": "not_applicable",
            "medical_information-reason": "none disclosed",
        },
        PACK,
    )
    assert errors == {}
    assert updates == [
        ("medical_information", {"status": "not_applicable", "reason": "none disclosed"})
    ]


def test_closure_steps_show_the_branch_taken_and_the_steps_it_went_round() -> None:
    answers = ClosureAnswers(
        sufficient_local_support=True, low_risk_of_return=True, in_temporary_accommodation=False
    )
    assessment = assess_closure(answers, date(2026, 1, 5), date(2026, 4, 6)).model_dump()
    rows = {r.step: r for r in closure_steps(assessment)}
    assert (rows[3].answer, rows[3].went_to, rows[3].status) == ("no", 6, "done")
    assert rows[4].status == rows[5].status == "skipped"  # not on the "no" branch
    assert rows[7].status == "current" and rows[7].answer == "pending"
    assert rows[8].status == "not_reached"
    assert "restart at Step 1" in rows[1].branches


def test_before_three_months_the_walk_stays_at_step_one() -> None:
    assessment = assess_closure(ClosureAnswers(), date(2026, 1, 5), date(2026, 2, 1)).model_dump()
    rows = closure_steps(assessment)
    assert rows[0].status == "current" and rows[0].answer == "no" and rows[0].went_to == 1
    assert {r.status for r in rows[1:]} == {"not_reached"}
    assert [r.status for r in closure_steps(None)] == ["not_reached"] * 11


def test_a_complete_walk_is_all_done() -> None:
    answers = ClosureAnswers(
        sufficient_local_support=True,
        low_risk_of_return=True,
        in_temporary_accommodation=False,
        client_informed=True,
        agencies_notified=True,
        records_closed=True,
        case_reviewed=True,
        learning_points_logged=True,
    )
    now = datetime(2026, 5, 1, tzinfo=UTC)
    assessment = assess_closure(answers, date(2026, 1, 5), now.date()).model_dump()
    assert {r.status for r in closure_steps(assessment)} == {"done"}


# --- Step 11: the learning points' themes ------------------------------------------------------


def test_every_learning_theme_the_api_takes_is_offered_with_a_label() -> None:
    offered = theme_options()
    assert [value for value, _ in offered] == [t.value for t in LearningTheme]
    assert all(label and label != value for value, label in offered)
    assert dict(offered)["other"] == "Something else"


def test_learning_themes_are_refused_unless_chosen_from_the_codes() -> None:
    """A form can be sent with any value: the themes are checked against the codes before the
    API is called, and the error is shown against the field."""
    assert learning_themes([]) == ([], {"themes": "Select what the learning points are about"})
    assert learning_themes(["health", "not_a_theme"]) == (
        [],
        {"themes": "Select themes from the list"},
    )
    assert learning_themes(["HEALTH"])[1] == {"themes": "Select themes from the list"}
    chosen, errors = learning_themes(["safety", "health", "health"])
    assert (chosen, errors) == (["health", "safety"], {})  # the codes' order, each once


def test_step_11_offers_the_themes_as_checkboxes_and_names_the_field_in_errors() -> None:
    class _User:
        name, organisation, roles = "Kim", "derby-council", frozenset({"caseworker"})

    answers = ClosureAnswers(
        sufficient_local_support=True,
        low_risk_of_return=True,
        in_temporary_accommodation=False,
        client_informed=True,
        agencies_notified=True,
        records_closed=True,
        case_reviewed=True,
    )
    assessment = assess_closure(answers, date(2026, 1, 5), date(2026, 5, 1)).model_dump()
    assert assessment["current_step"] == 11
    case = {
        "case_id": "r-1",
        "phase": "case_closure_and_review",
        "closed": {"reason": "settled"},
        "closure": {"answers": {}},
        "part_vii": {"status": "decided"},
    }
    page = environment.get_template("reconnection/closure.html").render(
        request=None,
        path="/reconnection/r-1/closure",
        user=_User(),
        nav_items=[],
        nav_current=None,
        csrf_field="csrf_token",
        csrf_token="t",
        form_key="k",
        flash=[],
        may=lambda _: True,
        view={},
        case=case,
        assessment=assessment,
        steps=closure_steps(assessment),
        values={"points": "Book travel on the day", "themes": ["health"]},
        errors={"themes": "Select themes from the list"},
        form="learning",
        theme_options=theme_options(),
    )
    assert page.count('type="checkbox"') == len(LearningTheme)
    assert page.count('name="themes"') == len(LearningTheme)
    assert 'value="health" checked' in page and 'value="safety" checked' not in page
    assert 'href="#themes"' in page and "<title>Error: " in page
    assert "Select themes from the list" in page
