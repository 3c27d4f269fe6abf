"""The MIME corpus (tests/support/mime_corpus/, hand-written tricky mail): every file parses,
gives the text a person would read, hostile content is inert; and the whole corpus
synced from a real dovecot never breaks the sync."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from providers.imap.parse import attachment_bytes, parse_mail
from providers.imap.send import reply_subject
from tests.support.contract import messages_of, pull_all
from tests.support.servers.mail import ImapHarness, dovecot, smtp_server  # noqa: F401

CORPUS = Path(__file__).resolve().parents[2] / "support" / "mime_corpus"
FILES = sorted(CORPUS.glob("*.eml"))

# What a person must see in each message's text.
EXPECTED_TEXT = {
    "alternative.eml": "Plain version: where is order 1234?",
    "auto_reply.eml": "out of office until Monday",
    "bad_charset.eml": "order 6060",
    "bounce.eml": "could not be delivered",
    "broken_boundary.eml": "account number 8080",
    "control_chars.eml": "order 7070",
    "hostile_html.eml": "my parcel 5555 is late",
    "html_entities_iso.eml": "20 € & nicht 25 €. Straße",
    "html_only.eml": "Your invoice INV-99 is attached.",
    "raw_utf8_headers.eml": "Meine Bestellung 4711 ist noch nicht da. Schöne Grüße",
    "huge_line.eml": "START abcdefghij",
    "latin1_qp.eml": "le colis n'est pas arrivé. Merci d'avance, à bientôt.",
    "mixed_attachment.eml": "The lamp arrived broken",
    "nested_rfc822.eml": "Tracking number: ZX-778899",
    "no_headers.eml": "order 3030",
    "plain_utf8.eml": "meine Bestellung 4711 ist überfällig",
    "windows1252.eml": "I paid €50 and got “nothing” – please refund.",
}
TERMINAL_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_every_corpus_file_has_an_expectation():
    assert {f.name for f in FILES} == set(EXPECTED_TEXT)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_message_parses_to_readable_inert_text(path):
    parsed = parse_mail(path.read_bytes())
    assert EXPECTED_TEXT[path.name] in parsed.text
    assert parsed.message_id
    for value in (parsed.text, parsed.subject, parsed.sender.name if parsed.sender else ""):
        assert not TERMINAL_CONTROL.search(value), f"terminal control characters survived in {value[:60]!r}"


def test_hostile_html_is_inert():
    parsed = parse_mail((CORPUS / "hostile_html.eml").read_bytes())
    text = parsed.text
    assert "alert('x')" not in text and "display:none" not in text, "script and style bodies are dropped"
    assert "<" not in text and "iframe" not in text
    assert parsed.subject == "Hi [@click=app.quit]"  # the title-setting escape is gone with its payload
    # Markup-looking text stays literal text: rendering it safely is the UI's job, but it must not be lost.
    assert "[@click=app.quit]" in text


def test_headers_in_many_charsets_are_decoded():
    subjects = {f.name: parse_mail(f.read_bytes()).subject for f in FILES}
    assert subjects["plain_utf8.eml"] == "Bestellung überfällig"
    assert subjects["latin1_qp.eml"] == "Problème de livraison"
    assert subjects["windows1252.eml"] == "Refund “please”"
    assert subjects["html_entities_iso.eml"] == "Preis €"
    assert parse_mail((CORPUS / "plain_utf8.eml").read_bytes()).sender.name == "Jürgen Müller"


def test_raw_8bit_utf8_headers_read_as_utf8_not_replacement_characters():
    mail = parse_mail((CORPUS / "raw_utf8_headers.eml").read_bytes())
    assert mail.subject == "Grüße aus Köln"
    assert (mail.sender.name, mail.sender.address) == ("Jürgen Müller", "juergen@example.de")
    latin1 = parse_mail(b"Subject: M\xfcnchen =?utf-8?q?caf=C3=A9?=\r\nFrom: \"M\xfcller, Anna\" <a@x.de>\r\n\r\nx")
    assert latin1.subject == "München café", "not UTF-8: Windows-1252; encoded words still decoded"
    assert latin1.sender.name == "Müller, Anna"


def test_attachments_recorded_with_names_types_sizes_and_fetchable_parts():
    raw = (CORPUS / "mixed_attachment.eml").read_bytes()
    parsed = parse_mail(raw)
    got = {(a.name, a.content_type) for a in parsed.attachments}
    assert got == {("receipt.pdf", "application/pdf"), ("Foto kaputt ü.png", "image/png")}
    pdf = next(a for a in parsed.attachments if a.name == "receipt.pdf")
    data = attachment_bytes(raw, pdf.part)
    assert data.startswith(b"%PDF-1.4") and len(data) == pdf.size


def test_auto_replies_and_bounces_are_recognised():
    assert parse_mail((CORPUS / "auto_reply.eml").read_bytes()).auto_reply
    bounce = parse_mail((CORPUS / "bounce.eml").read_bytes())
    assert bounce.bounce
    assert not parse_mail((CORPUS / "plain_utf8.eml").read_bytes()).bounce
    assert not parse_mail((CORPUS / "plain_utf8.eml").read_bytes()).auto_reply


def test_malformed_mail_is_kept_with_a_warning():
    broken = parse_mail((CORPUS / "broken_boundary.eml").read_bytes())
    assert broken.warnings and "8080" in broken.text
    bare = parse_mail((CORPUS / "no_headers.eml").read_bytes())
    assert bare.synthetic_id and bare.sender is None
    assert parse_mail((CORPUS / "no_headers.eml").read_bytes()).message_id == bare.message_id, "synthetic ids are stable"
    huge = parse_mail((CORPUS / "huge_line.eml").read_bytes())
    assert any("cut" in w for w in huge.warnings)
    assert parse_mail(b"").text == "" and parse_mail(b"\xff\xfe\x00garbage").message_id


def test_reply_subject_has_exactly_one_re():
    assert reply_subject("Help") == "Re: Help"
    assert reply_subject("Re: RE: re: Help") == "Re: Help"
    assert reply_subject("AW: Hilfe") == "Re: Hilfe"
    assert reply_subject("") == "Re: your message"


@pytest.mark.server
async def test_whole_corpus_synced_from_dovecot_never_breaks_the_sync(dovecot, smtp_server):  # noqa: F811
    h = ImapHarness(dovecot, smtp_server)
    for path in FILES:
        h.append(path.read_bytes())
    p = await h.make()
    await p.open(read_only=True)
    try:
        batches, _ = await pull_all(p, None)
    finally:
        await p.close()
    msgs = messages_of(batches)
    assert len(msgs) == len(FILES)
    by_id = {m.meta["message_id"]: m for m in msgs}
    assert by_id["broken@example.com"].meta.get("parse_warning")
    assert by_id["bounce-1@mx.example.test"].meta.get("bounce") is True
    assert by_id["ooo@example.com"].meta.get("auto_reply") is True
    for m in msgs:
        assert m.sent_at.tzinfo is not None
        assert not TERMINAL_CONTROL.search(m.text)
    texts = "\n".join(m.text for m in msgs)
    for expected in EXPECTED_TEXT.values():
        assert expected in texts
