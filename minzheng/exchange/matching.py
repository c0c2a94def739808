"""Matching departments' answers to people without keeping their ID numbers in clear.

`person_key` is the keyed digest the registry already stores for every person (Person.id_digest,
core.protect.lookup_digest of the 18-character number): a finding, a log line or a report can carry
it and be joined to the person, while a copy of the table shows no ID number. Old 15-digit numbers
(issued before 1999, still met in departments' records) are converted to 18 characters first, so
both forms of one person's number give the same key.
"""

from __future__ import annotations

from minzheng.core import protect
from minzheng.core.identifiers import parse_resident_id


def person_key(id_number: str) -> str:
    """The matching key of a resident ID number (18 characters or 15 digits); raises InvalidIdentifier."""
    return protect.lookup_digest(parse_resident_id(id_number).number)
