#!/usr/bin/python3
"""Generates the zero-leak prompt corpus: prompts.jsonl (deterministic, fixed seed).

Each line: {"id", "model", "prompt", "sensitive": [strings that must never reach a cloud]}.
Every prompt wraps personal data or a secret, in a varied form, inside a task that is hard enough
for the default policy to escalate it if the data were not detected (the leak test checks that
too, on the same prompt with the sensitive strings removed). A third of the prompts name a cloud
model, which the default policy must refuse rather than send.

Usage: /usr/bin/python3 tests/router/leak_corpus/generate.py
"""
import base64
import json
import os
import random
import string

R = random.Random(3)
HERE = os.path.dirname(os.path.abspath(__file__))
ALNUM = string.ascii_letters + string.digits


def rand(alphabet, n):
    return "".join(R.choice(alphabet) for _ in range(n))


def luhn_complete(partial):
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return partial + str((10 - total % 10) % 10)


def card():
    prefix, n = R.choice([("4", 16), ("5", 16), ("37", 15), ("6011", 16)])
    if prefix == "5":
        prefix = "5" + str(R.randint(1, 5))
    num = luhn_complete(prefix + rand(string.digits, n - len(prefix) - 1))
    style = R.choice(["", " ", "-"])
    if not style:
        return num
    if n == 15:
        return style.join([num[:4], num[4:10], num[10:]])
    return style.join(num[i:i + 4] for i in range(0, n, 4))


def iban():
    cc, n = R.choice([("DE", 18), ("FR", 23), ("ES", 20), ("BE", 12), ("NL", 14)])
    bban = rand(string.digits, n) if cc != "NL" else rand(string.ascii_uppercase, 4) + rand(string.digits, 10)
    value = int("".join(str(int(c, 36)) for c in bban + cc + "00"))
    compact = f"{cc}{98 - value % 97:02d}{bban}"
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4)) if R.random() < 0.5 else compact


def email():
    user = R.choice(["maria.k", "t.nguyen", "dr_okafor", "billing+eu", "Jane.Doe", "r.schmidt77"])
    dom = R.choice(["Example.COM", "mail.example.org", "clinic.example.net", "corp.example.co.uk"])
    return f"{user}@{dom}"


def phone():
    d = lambda n: rand(string.digits, n)
    a, e = str(R.randint(201, 989)), str(R.randint(201, 989))
    return R.choice([f"+1-{a}-{e}-{d(4)}", f"({a}) {e} {d(4)}", f"{a}.{e}.{d(4)}",
                     f"+44 (0)20 {d(4)} {d(4)}", f"+49 171 {d(7)}", f"+33 6 {d(2)} {d(2)} {d(2)} {d(2)}",
                     f"+61 2 {d(4)} {d(4)}", f"+91-98{d(3)}-{d(5)}", f"+1{a}{e}{d(4)}"])


def ssn():
    area = R.choice([R.randint(1, 665), R.randint(667, 899)])
    return R.choice([f"{area:03d}-{R.randint(1, 99):02d}-{R.randint(1, 9999):04d}",
                     f"{area:03d} {R.randint(1, 99):02d} {R.randint(1, 9999):04d}"])


def dob():
    y, m, d = R.randint(1940, 2005), R.randint(1, 12), R.randint(1, 28)
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return R.choice([f"{y}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y}", f"{months[m - 1]} {d}, {y}", f"{d} {months[m - 1]} {y}"])


def ipv4():
    return f"{R.randint(11, 223)}.{R.randint(0, 255)}.{R.randint(0, 255)}.{R.randint(1, 254)}"


def ipv6():
    return "2001:db8:" + ":".join(f"{R.randint(1, 0xffff):x}" for _ in range(6))


def mac():
    return ":".join(f"{R.randint(0, 255):02X}" for _ in range(6))


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt():
    return (b64url(b'{"alg":"HS256","typ":"JWT"}') + "." +
            b64url(json.dumps({"sub": rand(string.digits, 8), "role": "admin"}).encode()) + "." + rand(ALNUM + "-_", 43))


def api_key():
    return R.choice(["sk-proj-" + rand(ALNUM, 48), "sk-ant-api03-" + rand(ALNUM + "-_", 90) + "AA",
                     "ghp_" + rand(ALNUM, 36), "xoxp-" + rand(string.digits, 11) + "-" + rand(string.digits, 12) + "-" + rand(ALNUM, 32),
                     "AIza" + rand(ALNUM + "-_", 35), "sk_live_" + rand(ALNUM, 28), "rk_test_" + rand(ALNUM, 24)])


def aws_pair():
    return "AKIA" + rand(string.ascii_uppercase + "234567", 16), rand(ALNUM + "/+", 40)


def pem():
    body = "\n".join(rand(ALNUM + "+/", 64) for _ in range(4))
    return f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----"


def password():
    return rand(ALNUM, R.randint(8, 14)) + rand("!#%&*?", 1) + rand(string.digits, 2)


HARD = [
    "Analyze step by step, in detail, {task}. Justify each conclusion and compare at least two alternatives.",
    "Write a comprehensive Python function and unit tests for {task}; explain the complexity and edge cases thoroughly.",
    "First {task}, then derive the general formula, and finally evaluate the trade-offs rigorously.",
    "Design a detailed architecture for {task}. Prove why it is correct and optimise it step by step.",
]

TASKS = [
    ("the refund dispute for the customer with card {v}", card),
    ("the payroll error for the employee with SSN {v}", ssn),
    ("the failed SEPA transfer to IBAN {v}", iban),
    ("a follow-up email plan for {v} after the missed appointment", email),
    ("the call schedule for the on-call nurse reachable at {v}", phone),
    ("the medication history of the patient born on {v}", dob),
    ("the intrusion from address {v} seen in last night's logs", ipv4),
    ("the outage of host {v} in the eu-west subnet", ipv6),
    ("why the laptop with MAC {v} is quarantined by the NAC", mac),
    ("why this request fails: curl -H 'Authorization: Bearer {v}' https://api.internal/v1/users", jwt),
    ("why my client fails with the key {v} set in the environment", api_key),
    ("this config where the db password: {v} is rejected", password),
    ("this ssh login failure; the key is\n{v}\n", pem),
]


def prompts():
    out = []
    i = 0
    while len(out) < 330:
        template, gen = TASKS[i % len(TASKS)]
        sensitive = []
        if gen is api_key and R.random() < 0.3:
            akid, secret = aws_pair()
            task = f"this boto3 failure with aws_access_key_id={akid} and aws_secret_access_key={secret}"
            sensitive = [akid, secret]
        else:
            v = gen()
            task = template.format(v=v)
            sensitive = [v]
        if R.random() < 0.25:  # a second, different kind of data
            extra = email() if gen is not email else phone()
            task += f" (cc {extra})"
            sensitive.append(extra)
        prompt = R.choice(HARD).format(task=task)
        model = R.choice(["auto", "auto", "gpt-4o", "claude-sonnet-4", "gemini-2.0-flash", "auto"])
        out.append({"id": f"leak-{i}", "model": model, "prompt": prompt, "sensitive": sensitive})
        i += 1
    return out


if __name__ == "__main__":
    with open(os.path.join(HERE, "prompts.jsonl"), "w") as f:
        for row in prompts():
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
