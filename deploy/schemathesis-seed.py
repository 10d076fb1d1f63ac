"""Data for deploy/schemathesis.sh, made through the api itself, so that the fuzzer's list and detail answers carry
real items (money, nullable fields, nested lists) instead of empty pages.

usage: schemathesis-seed.py BASE_URL ADMIN_EMAIL ADMIN_PASSWORD STRIPE_WEBHOOK_SECRET

As the admin: a paid order (through a signed Stripe webhook: a payment and two purchases), a pending order, a cart
item, a comment, a rating, a reaction, a favorite and a profile. As a second user: a reply to and a like of the
admin's comment (two notifications for the admin). Standard library only.
"""

import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

BASE, ADMIN_EMAIL, ADMIN_PASSWORD, WEBHOOK_SECRET = sys.argv[1:5]
USER_EMAIL = "schemathesis-user@example.com"
USER_PASSWORD = "Seed!Passw0rd"


def call(method, path, body=None, token=None, form=None, headers=None, raw=None):
    headers = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
    except urllib.error.HTTPError as err:
        sys.exit(f"seed: {method} {path} answered {err.code}: {err.read()[:300]!r}")
    return json.loads(text) if text else None


def login(email, password):
    return call("POST", "/accounts/login/", {"email": email, "password": password})["access_token"]


def webhook(event):
    payload = json.dumps(event).encode()
    timestamp = str(int(time.time()))
    mac = hmac.new(WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    call("POST", "/payments/webhook/", raw=payload,
         headers={"Content-Type": "application/json", "Stripe-Signature": f"t={timestamp},v1={mac}"})


admin = login(ADMIN_EMAIL, ADMIN_PASSWORD)
movies = [movie["uuid"] for movie in call("GET", "/movies/?per_page=5&sort=name")["movies"]]

for movie in movies[:2]:
    call("POST", "/cart/add/", {"movie_uuid": movie}, admin)
paid = call("POST", "/orders/create/", token=admin)
cents = round(float(paid["total_amount"]) * 100)
webhook({
    "id": "evt_schemathesis_seed",
    "type": "checkout.session.completed",
    "data": {"object": {"id": "cs_schemathesis_seed", "payment_intent": "pi_schemathesis_seed",
                        "amount_total": cents, "metadata": {"order_id": str(paid["id"])}}},
})
call("POST", "/cart/add/", {"movie_uuid": movies[2]}, admin)
call("POST", "/orders/create/", token=admin)
call("POST", "/cart/add/", {"movie_uuid": movies[3]}, admin)

comment = call("POST", f"/movies/{movies[0]}/comments/", {"body": "Seeded comment."}, admin)
call("PUT", f"/movies/{movies[0]}/rating/", {"score": 8}, admin)
call("PUT", f"/movies/{movies[0]}/reaction/", {"reaction": "like"}, admin)
call("POST", f"/movies/{movies[1]}/favorite/", token=admin)
call("POST", f"/profiles/users/{call('GET', '/accounts/me/', token=admin)['id']}/", token=admin,
     form={"first_name": "Ada", "last_name": "Admin", "gender": "woman", "date_of_birth": "1990-01-01",
           "info": "Seeded profile."})

call("POST", "/accounts/register/", {"email": USER_EMAIL, "password": USER_PASSWORD})
call("POST", "/admin/accounts/activate/", {"email": USER_EMAIL}, admin)
user = login(USER_EMAIL, USER_PASSWORD)
call("POST", f"/movies/{movies[0]}/comments/", {"body": "Seeded reply.", "parent_id": comment["id"]}, user)
call("POST", f"/movies/{movies[0]}/comments/{comment['id']}/like/", token=user)
