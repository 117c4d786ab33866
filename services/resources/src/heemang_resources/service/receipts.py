"""Donation receipts (기부금 영수증) as PDF.

fpdf2's built-in fonts are Latin-1 only, and the machines here have no CJK font. With no
`RESOURCES_RECEIPT_FONT` (a TTF with Hangul, e.g. NanumGothic) the receipt is in English and
any text that is not Latin-1 (a Korean donor name) is replaced by a reference to the donor
record; with the font set, the Korean labels and names are printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fpdf import FPDF


@dataclass(frozen=True)
class ReceiptData:
    serial: str
    donor_ref: str
    donor_name: str
    donor_kind: str
    form: str
    amount: int
    received_on: date
    issued_on: date
    issuer: str = "Heemang district welfare department"


def _latin(text: str, fallback: str) -> str:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return fallback
    return text


def render(data: ReceiptData, font_path: str = "") -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(f"Donation receipt {data.serial}")
    pdf.add_page()
    korean = bool(font_path)
    if korean:
        pdf.add_font("receipt", fname=font_path)
        pdf.set_font("receipt", size=12)
    else:
        pdf.set_font("Helvetica", size=12)
    name = data.donor_name if korean else _latin(data.donor_name, f"(see donor record {data.donor_ref})")
    title = "기부금 영수증 / Donation receipt" if korean else "Donation receipt (official)"
    pdf.cell(0, 12, title, new_x="LMARGIN", new_y="NEXT", align="C")
    rows = [
        ("Serial number", data.serial),
        ("Donor", name),
        ("Donor type", data.donor_kind),
        ("Donor reference", data.donor_ref),
        ("Form", "cash (monetary)" if data.form == "cash" else "goods (appraised value)"),
        ("Amount (KRW)", f"{data.amount:,}"),
        ("Received on", data.received_on.isoformat()),
        ("Issued on", data.issued_on.isoformat()),
        ("Issued by", data.issuer),
    ]
    for label, value in rows:
        pdf.cell(60, 9, label, border=1)
        pdf.cell(0, 9, value, border=1, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
