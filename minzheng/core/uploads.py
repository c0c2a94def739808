"""Uploaded files checked the same way everywhere: photos taken on a phone (JPEG, PNG, WebP) and
documents (PDF, JPEG, PNG), by their declared type, their first bytes and their size. The content is
stored in PostgreSQL by the app that owns it, never on a host's disk."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

PHOTO_MAX_BYTES = 5 * 1024 * 1024
# The first bytes of each type (WebP: "RIFF", then the size, then "WEBP" at byte 8).
PHOTO_MAGIC = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n", "image/webp": b"RIFF"}


@dataclass(frozen=True)
class Upload:
    file_name: str
    content_type: str
    content: bytes


def check_photo(upload: Upload) -> str:
    """What is wrong with a photo (Chinese, for the form), or "" when it is fine."""
    magic = PHOTO_MAGIC.get(upload.content_type)
    if magic is None:
        return "只接受 JPEG、PNG、WebP 照片"
    if not upload.content:
        return "照片为空"
    if len(upload.content) > PHOTO_MAX_BYTES:
        return "每张照片不超过5MB"
    if not upload.content.startswith(magic) or (
        upload.content_type == "image/webp" and upload.content[8:12] != b"WEBP"
    ):
        return "照片内容与类型不符"
    return ""


DOCUMENT_MAGIC = {
    "application/pdf": b"%PDF",
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG\r\n\x1a\n",
}


def check_document(upload: Upload, *, max_bytes: int) -> str:
    """What is wrong with a document (a scan or photo of a certificate: PDF, JPEG, PNG), in Chinese
    for the form, or "" when it is fine."""
    magic = DOCUMENT_MAGIC.get(upload.content_type)
    if magic is None:
        return _("只接受 PDF、JPG、PNG 文件")
    if not upload.content:
        return _("文件为空")
    if len(upload.content) > max_bytes:
        return _("每个文件不超过%(mb)sMB") % {"mb": max_bytes // (1024 * 1024)}
    if not upload.content.startswith(magic):
        return _("文件内容与类型不符")
    return ""
