#!/usr/bin/python3
"""Generates the labelled detector corpus: positives.jsonl and negatives.jsonl.

Deterministic (fixed seed): rerunning it rewrites the same files. Each line is
  {"id": "...", "text": "...", "entities": [{"type": "email", "value": "..."}]}
where every value occurs in the text. Negatives carry no entities: they are the look-alikes a
detector must leave alone (Luhn-failing numbers, order ids, version strings, ISBNs, timestamps,
base64 images, hashes, UUIDs, low-entropy "passwords", ...). hard_cases.jsonl (hand-written, same
format) is read by the test as well.

Usage: /usr/bin/python3 tests/router/corpus/generate.py
"""
import base64
import json
import os
import random
import string

R = random.Random(20261125)
HERE = os.path.dirname(os.path.abspath(__file__))

FIRST = ["jane", "omar", "li", "maria", "ahmed", "sofia", "kenji", "emma", "lucas", "aisha",
         "noah", "chloe", "ivan", "fatima", "pierre", "anna", "diego", "yuki", "sam", "grace"]
LAST = ["doe", "haddad", "wei", "garcia", "khan", "rossi", "tanaka", "smith", "martin", "okafor",
        "brown", "dubois", "petrov", "ali", "moreau", "schmidt", "lopez", "sato", "lee", "nguyen"]
DOMAINS = ["example.com", "mail.example.org", "clinic-north.example.net", "acme.co.uk",
           "uni-heidelberg.example.de", "startup.io", "hospital.example.fr", "bank.example"]


def luhn_digit(partial):
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_ok(num):
    return luhn_digit(num[:-1]) == num[-1]


def card_number():
    prefix, length = R.choice([("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("37", 15),
                               ("34", 15), ("6011", 16), ("3530", 16), ("4", 13)])
    body = prefix + "".join(R.choice(string.digits) for _ in range(length - len(prefix) - 1))
    return body + luhn_digit(body)


def format_card(num):
    style = R.choice(["plain", "space", "dash"])
    if style == "plain":
        return num
    sep = " " if style == "space" else "-"
    if len(num) == 15:
        return sep.join([num[:4], num[4:10], num[10:]])
    return sep.join(num[i:i + 4] for i in range(0, len(num), 4))


IBAN_LAYOUT = {"DE": (22, "n"), "GB": (22, "gb"), "FR": (27, "n"), "NL": (18, "nl"),
               "ES": (24, "n"), "IT": (27, "it"), "BE": (16, "n"), "CH": (21, "n")}


def iban():
    cc = R.choice(sorted(IBAN_LAYOUT))
    length, kind = IBAN_LAYOUT[cc]
    n = length - 4
    if kind == "gb":
        bban = "".join(R.choice(string.ascii_uppercase) for _ in range(4)) + \
            "".join(R.choice(string.digits) for _ in range(n - 4))
    elif kind == "nl":
        bban = "".join(R.choice(string.ascii_uppercase) for _ in range(4)) + \
            "".join(R.choice(string.digits) for _ in range(n - 4))
    elif kind == "it":
        bban = R.choice(string.ascii_uppercase) + "".join(R.choice(string.digits) for _ in range(n - 1))
    else:
        bban = "".join(R.choice(string.digits) for _ in range(n))
    rearranged = bban + cc + "00"
    value = int("".join(str(int(c, 36)) for c in rearranged))
    check = 98 - value % 97
    compact = f"{cc}{check:02d}{bban}"
    if R.random() < 0.5:
        return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))
    return compact


def ssn():
    while True:
        area = R.randint(1, 899)
        if area != 666:
            break
    return f"{area:03d}-{R.randint(1, 99):02d}-{R.randint(1, 9999):04d}"


def email():
    f, l = R.choice(FIRST), R.choice(LAST)
    local = R.choice([f"{f}.{l}", f"{f}{l}", f"{f[0]}{l}", f"{f}_{l}{R.randint(1, 99)}",
                      f"{f}+billing", f"{l}.{f}"])
    return f"{local}@{R.choice(DOMAINS)}"


def phone():
    d = lambda n: "".join(R.choice(string.digits) for _ in range(n))
    area = str(R.randint(201, 989))
    exch = str(R.randint(201, 989))
    return R.choice([
        f"+1 ({area}) {exch}-{d(4)}", f"({area}) {exch}-{d(4)}", f"{area}-{exch}-{d(4)}",
        f"+1{area}{exch}{d(4)}", f"+44 20 {d(4)} {d(4)}", f"+44 7700 {d(6)}",
        f"+49 30 {d(8)}", f"+33 1 {d(2)} {d(2)} {d(2)} {d(2)}", f"+81 3-{d(4)}-{d(4)}",
        f"+91 98{d(3)} {d(5)}", f"020 7946 {d(4)}", f"01 {d(2)} {d(2)} {d(2)} {d(2)}",
        f"0044 20 {d(4)} {d(4)}", f"+353 1 {d(3)} {d(4)}", f"{area}.{exch}.{d(4)}",
    ])


def ipv4():
    while True:
        a = R.choice([R.randint(11, 126), 192, 172, 10, R.randint(128, 223)])
        if a == 192:
            addr = f"192.168.{R.randint(0, 255)}.{R.randint(1, 254)}"
        elif a == 172:
            addr = f"172.{R.randint(16, 31)}.{R.randint(0, 255)}.{R.randint(1, 254)}"
        else:
            addr = f"{a}.{R.randint(0, 255)}.{R.randint(0, 255)}.{R.randint(1, 254)}"
        return addr


def ipv6():
    groups = [f"{R.randint(0, 0xffff):x}" for _ in range(8)]
    groups[0] = R.choice(["2001", "2a02", "2600", "fd12", "fe80"])
    style = R.choice(["full", "compressed"])
    if style == "full":
        return ":".join(groups)
    return ":".join(groups[:3]) + "::" + ":".join(groups[6:])


def mac():
    octets = [f"{R.randint(0, 255):02x}" for _ in range(6)]
    if R.random() < 0.5:
        octets = [o.upper() for o in octets]
    return R.choice([":", "-"]).join(octets)


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]


def dob():
    y, m, day = R.randint(1935, 2008), R.randint(1, 12), R.randint(1, 28)
    return R.choice([f"{m:02d}/{day:02d}/{y}", f"{y}-{m:02d}-{day:02d}", f"{day} {MONTHS[m - 1]} {y}",
                     f"{MONTHS[m - 1]} {day}, {y}", f"{day:02d}.{m:02d}.{y}"])


def rand(alphabet, n):
    return "".join(R.choice(alphabet) for _ in range(n))


ALNUM = string.ascii_letters + string.digits


def api_key():
    kind = R.choice(["openai", "anthropic", "github", "slack", "google", "stripe"])
    if kind == "openai":
        return "sk-proj-" + rand(ALNUM, 40)
    if kind == "anthropic":
        return "sk-ant-api03-" + rand(ALNUM + "-_", 80) + "AA"
    if kind == "github":
        return R.choice(["ghp_", "gho_", "ghs_"]) + rand(ALNUM, 36)
    if kind == "slack":
        return "xoxb-" + rand(string.digits, 12) + "-" + rand(string.digits, 12) + "-" + rand(ALNUM, 24)
    if kind == "google":
        return "AIza" + rand(ALNUM + "_-", 35)
    return "sk_live_" + rand(ALNUM, 24)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt():
    header = b64url(json.dumps({"alg": R.choice(["HS256", "RS256"]), "typ": "JWT"}).encode())
    payload = b64url(json.dumps({"sub": str(R.randint(1, 10**9)), "iat": R.randint(1.6e9, 1.8e9)}).encode())
    return f"{header}.{payload}.{rand(ALNUM + '-_', 43)}"


def pem():
    kind = R.choice(["RSA ", "EC ", "OPENSSH ", ""])
    lines = [rand(string.ascii_letters + string.digits + "+/", 64) for _ in range(R.randint(2, 5))]
    return f"-----BEGIN {kind}PRIVATE KEY-----\n" + "\n".join(lines) + f"\n-----END {kind}PRIVATE KEY-----"


def password():
    return rand(ALNUM + "!#$%^&*", R.randint(8, 18)) + rand(string.digits, 1) + rand("!#$%&*", 1)


def aws_secret():
    return rand(ALNUM + "/+", 40)


POSITIVE_TEMPLATES = {
    "credit_card": ["Please charge my card {v} for the renewal.",
                    "Visa ending soon: {v}, exp 04/27, cvv on the back.",
                    "Customer paid with credit card {v} but the payment bounced.",
                    "Card number: {v}", "Can you check why debit card {v} was declined?"],
    "iban": ["Wire the deposit to IBAN {v} by Friday.", "Bank details: {v} (Sparkasse).",
             "My account is {v}, reference INV-2291.", "Refund to {v} please."],
    "us_ssn": ["SSN: {v}", "Employee social security number {v} needs updating in payroll.",
               "Applicant's SSN is {v}; DOB on file.", "ss# {v} flagged by the bank"],
    "email": ["Send the report to {v} before noon.", "Contact: {v}", "cc {v} on the thread",
              "The patient's daughter ({v}) asked for an update.", "Reply-To: {v}"],
    "phone": ["Call me at {v} after 6pm.", "Mobile: {v}", "You can reach the ward on {v}.",
              "Her phone number is {v}, leave a message.", "Tel. {v} (reception)"],
    "ip_address": ["The attacker came from {v} at midnight.", "SSH into {v} and restart nginx.",
                   "Allowlist {v} in the firewall.", "Client IP {v} hit the rate limit."],
    "mac_address": ["Device MAC {v} keeps dropping off wifi.", "Whitelist hardware address {v}.",
                    "The printer's MAC is {v}."],
    "date_of_birth": ["Patient born on {v}, admitted with chest pain.", "DOB: {v}",
                      "Date of birth: {v}. Allergies: penicillin.",
                      "Name: J. Smith, birthday {v}"],
    "api_key": ["Here is my key {v}, why does the request fail?", "export API_KEY={v}",
                "client = Client(api_key=\"{v}\")", "the token {v} stopped working"],
    "aws_access_key": ["aws_access_key_id = {v}", "Our AWS key {v} shows in the logs",
                       "AccessKeyId: {v}"],
    "aws_secret_key": ["aws_secret_access_key = {v}", "AWS secret: {v}",
                       "set AWS_SECRET_ACCESS_KEY={v} in CI"],
    "jwt": ["Authorization: Bearer {v}", "The session cookie holds {v}; decode it?",
            "jwt={v}"],
    "private_key": ["Why does ssh reject this key?\n{v}\nthanks", "{v}"],
    "secret": ["db password: {v}", "The admin password is {v}", "client_secret = \"{v}\"",
               "token: {v}", "wifi passphrase {v}"],
}

GENERATORS = {"credit_card": lambda: format_card(card_number()), "iban": iban, "us_ssn": ssn,
              "email": email, "phone": phone, "ip_address": lambda: ipv6() if R.random() < 0.3 else ipv4(),
              "mac_address": mac, "date_of_birth": dob, "api_key": api_key,
              "aws_access_key": lambda: R.choice(["AKIA", "ASIA"]) + rand(string.ascii_uppercase + "234567", 16),
              "aws_secret_key": aws_secret, "jwt": jwt, "private_key": pem, "secret": password}

COUNTS = {"credit_card": 50, "iban": 40, "us_ssn": 40, "email": 50, "phone": 60, "ip_address": 45,
          "mac_address": 25, "date_of_birth": 40, "api_key": 50, "aws_access_key": 20,
          "aws_secret_key": 20, "jwt": 20, "private_key": 15, "secret": 40}


def positives():
    out = []
    for etype, count in COUNTS.items():
        for i in range(count):
            value = GENERATORS[etype]()
            text = R.choice(POSITIVE_TEMPLATES[etype]).format(v=value)
            entities = [{"type": etype, "value": value}]
            if R.random() < 0.2:  # a second entity of another type in the same snippet
                other = R.choice([t for t in ("email", "phone", "us_ssn", "iban") if t != etype])
                v2 = GENERATORS[other]()
                text += " " + R.choice(POSITIVE_TEMPLATES[other]).format(v=v2)
                entities.append({"type": other, "value": v2})
            out.append({"id": f"pos-{etype}-{i}", "text": text, "entities": entities})
    return out


def not_luhn():
    while True:
        n = card_number()
        bad = n[:-1] + str((int(n[-1]) + R.randint(1, 9)) % 10)
        if not luhn_ok(bad):
            return format_card(bad)


def isbn13():
    body = "978" + rand(string.digits, 9)
    total = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(body))
    check = (10 - total % 10) % 10
    s = body + str(check)
    return f"{s[:3]}-{s[3]}-{s[4:6]}-{s[6:12]}-{s[12]}"


NEGATIVE_MAKERS = [
    lambda: f"Card {not_luhn()} was rejected by the gateway (fails the checksum).",
    lambda: f"Order #{rand(string.digits, 16)} shipped yesterday via DHL.",
    lambda: f"Invoice id {rand(string.digits, 12)} is overdue.",
    lambda: f"We upgraded to version {R.randint(1, 9)}.{R.randint(0, 20)}.{R.randint(0, 20)}.{R.randint(0, 99)} last night.",
    lambda: f"See section {R.randint(1, 9)}.{R.randint(1, 9)}.{R.randint(1, 9)}.{R.randint(1, 9)} of the spec.",
    lambda: f"The book (ISBN {isbn13()}) is out of print.",
    lambda: f"Job finished at {R.randint(2019, 2026)}-{R.randint(1, 12):02d}-{R.randint(1, 28):02d} {R.randint(0, 23):02d}:{R.randint(0, 59):02d}:{R.randint(0, 59):02d} with code 0.",
    lambda: f"Timestamp {R.randint(1600000000, 1800000000)} marks the first event.",
    lambda: f"<img src=\"data:image/png;base64,{base64.b64encode(bytes(R.randint(0, 255) for _ in range(60))).decode()}\">",
    lambda: f"commit {rand('0123456789abcdef', 40)} fixed the flaky test",
    lambda: f"sha256: {rand('0123456789abcdef', 64)}",
    lambda: f"Request {rand('0123456789abcdef', 8)}-{rand('0123456789abcdef', 4)}-4{rand('0123456789abcdef', 3)}-a{rand('0123456789abcdef', 3)}-{rand('0123456789abcdef', 12)} timed out.",
    lambda: f"password: {R.choice(['********', 'changeme', 'password', 'hunter', 'letmein', 'REDACTED', '<your password>', '${DB_PASSWORD}'])}",
    lambda: f"The {R.choice(['password', 'token', 'secret'])} {R.choice(['must be rotated every 90 days', 'field is required', 'expired yesterday', 'limit was reached', 'manager crashed'])}.",
    lambda: f"Remember to set the API key via the environment, never inline it.",
    lambda: f"The total was ${R.randint(1, 9)},{R.randint(100, 999)},{R.randint(100, 999)}.{R.randint(10, 99)} for Q{R.randint(1, 4)}.",
    lambda: f"Listen on 127.0.0.1:{R.randint(1024, 65535)} for local testing.",
    lambda: f"Bind to 0.0.0.0 and set the netmask to 255.255.255.0.",
    lambda: f"Use std::vector<int> and std::map<std::string, int> here.",
    lambda: f"The meeting is on {R.randint(1, 12):02d}/{R.randint(1, 28):02d}/{R.randint(2020, 2027)} at {R.randint(1, 12)}pm.",
    lambda: f"He was born in {R.randint(1950, 2005)} and moved to Lyon as a child.",
    lambda: f"The patient reports {R.choice(['mild headache', 'chest tightness', 'fatigue'])} for {R.randint(2, 14)} days.",
    lambda: f"Summarise the attached quarterly report in {R.randint(3, 8)} bullet points.",
    lambda: f"Translate 'good morning' into {R.choice(['French', 'German', 'Japanese', 'Swahili'])}.",
    lambda: f"Write a Python function that returns the {R.randint(2, 50)}th Fibonacci number.",
    lambda: f"Zip code {R.randint(10000, 99999)} covers the north side of town.",
    lambda: f"Model {R.choice(['gemma-3-4b', 'llama-3.1-8b', 'gpt-4o'])} scored {R.randint(50, 90)}.{R.randint(0, 9)} on MMLU.",
    lambda: f"Call the function at line {R.randint(10, 999)} with x = {R.randint(1, 100)}.",
    lambda: f"Ping me on Slack when the build #{R.randint(1000, 9999)} is green.",
    lambda: f"Use icon@2x.png and logo@3x.png for high-density screens.",
    lambda: f"Run `git clone git@github.com:org/repo.git` and then make.",
    lambda: f"Our support line is open {R.randint(8, 10)}am to {R.randint(4, 8)}pm, Monday to Friday.",
    lambda: f"Coordinates {R.randint(10, 80)}.{rand(string.digits, 4)}, -{R.randint(10, 120)}.{rand(string.digits, 4)} mark the depot.",
    lambda: f"The ratio was {R.randint(1, 9)}:{R.randint(1, 9)}:{R.randint(1, 9)} in the final mix.",
    lambda: f"Package foo-{R.randint(1, 9)}.{R.randint(0, 9)}.{R.randint(0, 9)}-rc{R.randint(1, 3)}.tar.gz is on the mirror.",
    lambda: f"Error code 0x{rand('0123456789ABCDEF', 8)} from the driver.",
    lambda: f"Tracking number 1Z{rand(string.ascii_uppercase + string.digits, 16)} is out for delivery.",
    lambda: f"The token count was {R.randint(1000, 99999)} for that prompt.",
    lambda: f"Set timeout=30s, retries=3, backoff=2.5 in the config.",
    lambda: f"Product SKU {R.choice(['AB', 'XK', 'ZT'])}-{rand(string.digits, 6)}-{rand(string.digits, 2)} is back in stock.",
]


def negatives():
    out = []
    for i in range(560):
        maker = NEGATIVE_MAKERS[i % len(NEGATIVE_MAKERS)]
        out.append({"id": f"neg-{i}", "text": maker(), "entities": []})
    return out


def write(name, rows):
    with open(os.path.join(HERE, name), "w") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    write("positives.jsonl", positives())
    write("negatives.jsonl", negatives())
