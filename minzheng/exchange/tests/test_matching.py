"""Matching keys: a keyed digest of the ID number, the same for the old 15-digit form."""

from __future__ import annotations

import pytest

from minzheng.core import protect
from minzheng.core.identifiers import InvalidIdentifier
from minzheng.exchange.matching import person_key

NEW = "11010519491231002X"  # GB 11643 example
OLD = "110105491231002"  # the same person's number before 1999


def test_the_key_is_the_registry_lookup_digest_and_never_the_number() -> None:
    key = person_key(NEW)
    assert key == protect.lookup_digest(NEW)
    assert NEW not in key
    assert len(key) == 64


def test_an_old_15_digit_number_gives_the_same_key() -> None:
    assert person_key(OLD) == person_key(NEW)


def test_typed_forms_give_the_same_key() -> None:
    assert person_key(" 11010519491231002x ") == person_key(NEW)


def test_another_person_has_another_key() -> None:
    assert person_key("110105194912310038") != person_key(NEW)


@pytest.mark.parametrize("number", ["110105194912310021", "12345", "1101051949123100XX"])
def test_an_invalid_number_has_no_key(number: str) -> None:
    with pytest.raises(InvalidIdentifier):
        person_key(number)
