"""PII and secrets: planted positives, and lookalikes that must not be flagged."""

import pytest

from labeldesk.app.workflow.clean.config import CleanConfig
from labeldesk.app.workflow.clean.pii import PiiDetector, iban_valid, luhn_valid, shannon_entropy, verhoeff_valid


@pytest.fixture(scope="module")
def det():
    return PiiDetector(CleanConfig.default())


def _verhoeff_complete(body: str) -> str:
    for d in "0123456789":
        if verhoeff_valid(body + d):
            return body + d
    raise AssertionError


def _nir(body13: str) -> str:
    return f"{body13}{97 - int(body13) % 97:02d}"


def _luhn_complete(body: str) -> str:
    for d in "0123456789":
        if luhn_valid(body + d):
            return body + d
    raise AssertionError


AADHAAR = _verhoeff_complete("23456789012")
SIN = _luhn_complete("13069254")
NIR = _nir("1850578006084")

POSITIVES = [
    ("mail me: john.doe+tag@mail.example.co.uk today", "email", "john.doe+tag@mail.example.co.uk"),
    ("Call +44 20 7946 0958 now", "phone", "+44 20 7946 0958"),
    ("Call +1-415-555-0132.", "phone", "+1-415-555-0132"),
    ("office (212) 555-0123", "phone", "(212) 555-0123"),
    ("office 212-555-0123", "phone", "212-555-0123"),
    ("ring 020 7946 0958 or", "phone", "020 7946 0958"),
    ("mobile 07700 900123", "phone", "07700 900123"),
    ("appelle le 06 12 34 56 78", "phone", "06 12 34 56 78"),
    ("Tel: 030 1234567", "phone", "030 1234567"),
    ("phone: 555-0199", "phone", "555-0199"),
    ("Visa 4111 1111 1111 1111 exp", "card", "4111 1111 1111 1111"),
    ("mc 5555555555554444.", "card", "5555555555554444"),
    ("amex 3782-822463-10005 ok", "card", "3782-822463-10005"),
    ("IBAN DE89 3704 0044 0532 0130 00 thanks", "iban", "DE89 3704 0044 0532 0130 00"),
    ("pay GB82WEST12345698765432 NOW", "iban", "GB82WEST12345698765432"),
    ("FR1420041010050500013M02606", "iban", "FR1420041010050500013M02606"),
    ("server at 192.168.1.20:8080", "ip", "192.168.1.20"),
    ("from 8.8.8.8.", "ip", "8.8.8.8"),
    ("v6 2001:db8:85a3::8a2e:370:7334 here", "ip", "2001:db8:85a3::8a2e:370:7334"),
    ("SSN 123-45-6789", "national_id", "123-45-6789"),
    ("my social security number is 123456789.", "national_id", "123456789"),
    ("NI number AB 12 34 56 C", "national_id", "AB 12 34 56 C"),
    ("NINO JG103759A", "national_id", "JG103759A"),
    (f"SIN: {SIN[:3]}-{SIN[3:6]}-{SIN[6:]}", "national_id", f"{SIN[:3]}-{SIN[3:6]}-{SIN[6:]}"),
    ("DNI 12345678Z", "national_id", "12345678Z"),
    ("NIE X1234567L", "national_id", "X1234567L"),
    ("CF RSSMRA85T10A562S", "national_id", "RSSMRA85T10A562S"),
    (f"NIR {NIR}", "national_id", NIR),
    (f"aadhaar {AADHAAR[:4]} {AADHAAR[4:8]} {AADHAAR[8:]}", "national_id", f"{AADHAAR[:4]} {AADHAAR[4:8]} {AADHAAR[8:]}"),
    ("key AKIAIOSFODNN7EXAMPLE", "secret", "AKIAIOSFODNN7EXAMPLE"),
    ("token ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A", "secret", "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"),
    ("OPENAI_API_KEY=sk-proj-Ab3De5Fg7Hj9Kl1Mn3Pq5Rs7", "secret", "sk-proj-Ab3De5Fg7Hj9Kl1Mn3Pq5Rs7"),
    ("slack xoxb-2402930-5830498-aB3dE5fG7hJ9", "secret", "xoxb-2402930-5830498-aB3dE5fG7hJ9"),
    ("AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe", "secret", "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe"),
    ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "secret", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
     "secret", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
    ("random aZ3kQ9xPw2LmN7vB4tR8yU1e token", "secret_entropy", "aZ3kQ9xPw2LmN7vB4tR8yU1e"),
    ("db postgres://admin:hunter2@db.internal:5432/prod.", "url", "postgres://admin:hunter2@db.internal:5432/prod"),
    ("see https://x.io/cb?code=abc&access_token=ya29.a0Af", "url", "https://x.io/cb?code=abc&access_token=ya29.a0Af"),
]


@pytest.mark.parametrize("text, typ, value", POSITIVES)
def test_planted_pii_found(det, text, typ, value):
    found = det.find(text)
    assert [(f.type, f.value) for f in found] == [(typ, value)], found


def test_private_key_block(det):
    text = "here:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nQyNTUxOQAAACBr\n-----END OPENSSH PRIVATE KEY-----\nbye"
    found = det.find(text)
    assert len(found) == 1 and found[0].type == "secret" and found[0].detail == "private_key"
    assert det.redact(text, found) == "here:\n[SECRET]\nbye"


NEGATIVES = [
    "Order 4111 1111 1111 1112 shipped",  # Luhn fails
    "Your order number is 1234567890123456.",  # Luhn fails
    "tracking 9400111899223817364527",  # not a card prefix / too long
    "IBAN DE89 3704 0044 0532 0130 01 is wrong",  # bad checksum
    "GB82 WEST 1234 5698 7654 33",  # bad checksum
    "upgrade to version 1.2.3.4 today",
    "released as v1.2.3.4",
    "build 10.0.19041.1",  # four numbers but a build string
    "octets 256.1.1.1 and 01.02.03.04 are not valid",
    "dotted 1.2.3.4.5 is an OID",
    "localhost 127.0.0.1 and ::1",
    "dates 2024-01-15, 15.01.2024, 01/15/2024, 2024/01/15 and 15 January 2024",
    "at 12:30:45 on the clock",
    "ISBN 978-3-16-148410-0 and ISBN 0-306-40615-2",
    "isbn 9780306406157",
    "978-0-306-40615-7 is a book",
    "git commit 3f786850e387550fdab836ed7e6dc881de23001b",
    "uuid 123e4567-e89b-12d3-a456-426614174000",
    "identifiers myVariableNameNumber12345 and iPhone15ProMaxCase2023Black",
    "the SHA256withRSAEncryption algorithm and internationalization2024",
    "price $1,234,567.89 for 3 items in 2023",
    "invalid SSNs 000-12-3456, 666-12-3456, 900-12-3456, 123-00-4567",
    "order no. 212-555-0123",  # an order number in phone shape
    "ref #020 7946 0958",
    "call me maybe",
    "NINO QK123456A uses a prefix that is never issued",
    "email at example dot com, not an address: user@localhost",
    "std::vector<int> and a::b::c",
    "https://example.com/page?id=4&lang=en",
    "score 12-34-56 and ratio 3/4",
    "math: 1234 + 5678 = 6912",
    "EAN 4006381333931 and UPC 036000291452",
    "The meeting is on 2024-03-15 at 10:30, population 8,336,817, flight UA 1234 at 17:45.",
    "Windows 10.0.19041.1, python==3.11.4, React 18.2.0, MAC 00:1A:2B:3C:4D:5E, ratio 16:9",
    "price €1.234,56 on 01.02.2023 12:00, serial number 1234-5678-9012-3456, call 911",
    "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s and my_long_variable_name_2023",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_lookalikes_not_flagged(det, text):
    assert det.find(text) == []


def test_redaction_typed_placeholders(det):
    text = "Mail a@b.com, card 4111111111111111, IBAN DE89370400440532013000, ip 10.1.2.3, ssn 123-45-6789."
    assert det.redact(text, det.find(text)) == "Mail [EMAIL], card [CARD], IBAN [IBAN], ip [IP], ssn [NATIONAL_ID]."


def test_overlaps_resolved_by_priority(det):
    # the credentials URL contains an "email-like" user@host: one URL finding, not an e-mail inside it
    text = "clone https://bob:s3cret@git.example.com/repo.git now"
    found = det.find(text)
    assert [f.type for f in found] == ["url"]
    assert det.redact(text, found) == "clone [URL] now"


def test_flag_action_does_not_redact():
    det = PiiDetector(CleanConfig.from_dict({"actions": {"pii.email": "flag", "pii.ip": "off"}}))
    text = "a@b.com from 10.0.0.7"
    found = det.find(text)
    assert [f.type for f in found] == ["email"]
    assert det.redact(text, found) == text


def test_presidio_absent_is_silent(det):
    # presidio_analyzer is not installed in this environment: nothing breaks
    assert det.presidio_active in (True, False)


def test_checksums():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("DE89370400440532013000") and not iban_valid("DE89370400440532013001")
    assert not iban_valid("XX89370400440532013000")
    assert verhoeff_valid(AADHAAR) and not verhoeff_valid(AADHAAR[:-1] + str((int(AADHAAR[-1]) + 1) % 10))
    assert shannon_entropy("aaaa") == 0.0 and shannon_entropy("abcd") == 2.0


def test_many_findings_in_a_big_text_are_all_found_in_order(det):
    pairs = [(f"user{i}@example.com", f"10.0.{i % 250}.{i % 200 + 1}") for i in range(5000)]
    text = " ".join(f"{email} and {ip}" for email, ip in pairs)
    planted = [hit for email, ip in pairs for hit in (("email", email), ("ip", ip))]
    found = det.find(text)
    assert len(found) == 10000
    assert [(f.type, f.value) for f in found] == planted
    assert all(text[f.start:f.end] == f.value for f in found)
    assert all(a.end <= b.start for a, b in zip(found, found[1:]))  # by position, no overlaps
    assert det.redact(text, found) == " ".join(["[EMAIL] and [IP]"] * 5000)
