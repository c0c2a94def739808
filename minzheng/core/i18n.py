"""Texts written into records are written in the system's language (zh-Hans), whatever language the
request that writes them is read in: a choice label (translatable since the pages are offered in
English) copied into an audit reason, a case event, a calculation's explanation or a report would
otherwise be stored in English when an English-speaking user did the work, and the record would
change language with its writer. Pages translate such texts when they show them."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.functional import Promise


def as_stored(text: str | Promise) -> str:
    """A (possibly lazy) label as it is stored: in the system's default language."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(text)
