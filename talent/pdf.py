"""The certificate as a PDF (reportlab): both languages, the code, and a QR code to the verification page."""

import io

from django.conf import settings
from django.urls import reverse
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

CJK_FONT = "STSong-Light"
QR_SIZE = 120


def verification_url(certificate) -> str:
    return settings.SITE_URL + reverse("certificate_verify", args=[certificate.code])


def _font() -> str:
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    return CJK_FONT


def certificate_pdf(certificate, *, holder: str) -> bytes:
    font = _font()
    buffer = io.BytesIO()
    width, height = landscape(A4)
    pdf = canvas.Canvas(buffer, pagesize=(width, height))
    pdf.setTitle(f"Certificate {certificate.code}")
    pdf.setAuthor("AI Computing Center")
    pdf.setStrokeColor(HexColor("#0b4f8a"))
    pdf.setLineWidth(4)
    pdf.rect(30, 30, width - 60, height - 60)
    pdf.setFillColor(HexColor("#083a66"))
    pdf.setFont(font, 34)
    pdf.drawCentredString(width / 2, height - 110, "结业证书")
    pdf.setFont(font, 18)
    pdf.drawCentredString(width / 2, height - 140, "Certificate of completion")
    pdf.setFillColor(HexColor("#000000"))
    pdf.setFont(font, 28)
    pdf.drawCentredString(width / 2, height - 210, holder)
    pdf.setFont(font, 15)
    pdf.drawCentredString(width / 2, height - 250, "已完成课程 / has completed the course")
    pdf.setFont(font, 22)
    pdf.drawCentredString(width / 2, height - 290, certificate.course_title_zh)
    pdf.setFont(font, 16)
    pdf.drawCentredString(width / 2, height - 315, certificate.course_title_en)
    pdf.setFont(font, 13)
    pdf.drawCentredString(width / 2, height - 345, certificate.cohort_name)
    issued = certificate.issued_on.isoformat()
    pdf.drawString(70, 110, f"颁发日期 / Issued on: {issued}")
    pdf.drawString(70, 88, f"证书编号 / Certificate code: {certificate.code}")
    url = verification_url(certificate)
    pdf.setFont(font, 10)
    pdf.drawString(70, 66, f"验证 / Verify: {url}")
    widget = QrCodeWidget(url)
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(QR_SIZE, QR_SIZE, transform=[QR_SIZE / (x1 - x0), 0, 0, QR_SIZE / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, pdf, width - 70 - QR_SIZE, 55)
    if certificate.status != "valid":
        pdf.setFillColor(HexColor("#b02a37"))
        pdf.setFont(font, 30)
        pdf.drawCentredString(width / 2, 150, "已撤销 / REVOKED")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
