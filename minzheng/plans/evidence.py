"""Evidence files of entered figures: a scan or photo of the source document (PDF, JPEG, PNG),
checked by the shared minzheng.core.uploads.check_document — declared type, first bytes, size — and
stored in the database with the entry."""

from __future__ import annotations

from minzheng.core.uploads import Upload, check_document

EVIDENCE_MAX_BYTES = 10 * 1024 * 1024


def check_evidence(upload: Upload) -> str:
    """What is wrong with an evidence file (for the form), or "" when it is fine."""
    return check_document(upload, max_bytes=EVIDENCE_MAX_BYTES)
