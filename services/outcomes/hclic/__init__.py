"""The statutory-return extract: an H-CLIC-shaped quarterly extract of what Hearth holds, per
council, with a per-case error list a caseworker can fix before submission (issue 18). Pure:
it reads folded `CaseHistory` objects and writes CSV text; the caller reads the store.

    fields.py      the sections, their columns and how Hearth's codes map to H-CLIC's
    quarter.py     the financial quarters H-CLIC is sent for
    case_ref.py    the stable case identifier (a keyed hash of the case id)
    extract.py     extract(cases, council, quarter_start, key=...) -> Extract, and its CSV
    validation.py  validate(extract) -> list[CaseError]

docs/HCLIC.md says what each column holds and which H-CLIC fields Hearth cannot know.
"""
