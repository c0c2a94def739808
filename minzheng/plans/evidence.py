"""Evidence files of entered figures: a scan or photo of the source document (PDF, JPEG, PNG),
checked as minzheng.core.uploads checks photos — declared type, first bytes, size — and stored in the
database with the entry."""

from __future__ import annotations

from minzheng.core.uploads import PHOTO_MAGIC, Upload

EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
EVIDENCE_MAGIC = {
    "application/pdf": b"%PDF",
    "image/jpeg": PHOTO_MAGIC["image/jpeg"],
    "image/png": PHOTO_MAGIC["image/png"],
}


def check_evidence(upload: Upload) -> str:
    """What is wrong with an evidence file (Chinese, for the form), or "" when it is fine."""
    magic = EVIDENCE_MAGIC.get(upload.content_type)
    if magic is None:
        return "佐证材料只接受 PDF、JPG、PNG 文件"
    if not upload.content:
        return "佐证材料为空"
    if len(upload.content) > EVIDENCE_MAX_BYTES:
        return "佐证材料不能超过10MB"
    if not upload.content.startswith(magic):
        return "佐证材料内容与类型不符"
    return ""
