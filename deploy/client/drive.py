"""A customer's first purchase through the client that openapi-python-client generated from the api's own
/openapi.json (deploy/client.sh generates it as the package `cinema_client` and runs this):

    register -> activate (the link from the mail) -> login -> catalog search -> cart -> order

Every call to the api goes through the generated functions and models; only MailDev, the inbox, is read by hand.
Each answer must have the documented status and parse into the documented model, so a change of the document
that breaks generated clients (a renamed or removed field, a changed type or status) fails here.

Usage: drive.py API_BASE_URL MAILDEV_URL
"""

import importlib
import json
import pkgutil
import sys
import time
import urllib.parse
import urllib.request
import uuid

import cinema_client
from cinema_client import AuthenticatedClient, Client
from cinema_client.api.accounts import activate, login, me, register
from cinema_client.api.cart import add as cart_add
from cinema_client.api.cart import list_ as cart_list
from cinema_client.api.movies import list_movies
from cinema_client.api.orders import create as order_create
from cinema_client.api.orders import list_ as order_list
from cinema_client.models import (
    AddToCart,
    CartResponse,
    CreatedOrder,
    LoginRequest,
    MeResponse,
    MessageResponse,
    MovieListResponse,
    OrderList,
    OrderStatus,
    RegisterRequest,
    RegisterResponse,
    TokenPair,
)

PASSWORD = "Typed!Cl1ent"
# A title of data/movies.json, searched for by a word of it.
SEARCH = "godfather"


def step(name):
    print(f"client: {name}", flush=True)


def expect(response, status, model):
    """The answer's status and its parsed model, or the end of the run with what came instead."""
    if response.status_code != status or not isinstance(response.parsed, model):
        sys.exit(
            f"expected {status} {model.__name__}, got {int(response.status_code)}: {response.content[:500]!r}"
        )
    return response.parsed


def activation_link(maildev, address, seconds=30):
    """The activation link of the newest mail to ADDRESS in MailDev (its REST API), once the worker sent it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{maildev}/email", timeout=5) as answer:
            mails = json.load(answer)
        for mail in reversed(mails):
            if any(to.get("address") == address for to in mail.get("to", [])):
                for word in mail.get("text", "").split():
                    if "/accounts/activate/" in word:
                        return word
                sys.exit(f"the mail to {address} has no activation link: {mail.get('text')!r}")
        time.sleep(0.2)
    sys.exit(f"no mail to {address} within {seconds} s")


def main(base, maildev):
    # Every module of the generated package imports: the generator wrote valid code for every operation.
    for module in pkgutil.walk_packages(cinema_client.__path__, "cinema_client."):
        importlib.import_module(module.name)

    anonymous = Client(base_url=base, raise_on_unexpected_status=True, timeout=30)
    email = f"typed-client-{uuid.uuid4().hex[:12]}@example.com"

    step(f"register {email}")
    registered = expect(
        register.sync_detailed(client=anonymous, body=RegisterRequest(email=email, password=PASSWORD)),
        201,
        RegisterResponse,
    )
    assert registered.email == email, registered

    step("activate with the link from the mail")
    link = urllib.parse.urlsplit(activation_link(maildev, email))
    query = dict(urllib.parse.parse_qsl(link.query))
    expect(activate.sync_detailed(client=anonymous, email=query["email"], token=query["token"]), 200, MessageResponse)

    step("log in")
    tokens = expect(login.sync_detailed(client=anonymous, body=LoginRequest(email=email, password=PASSWORD)), 200, TokenPair)
    client = AuthenticatedClient(
        base_url=base, token=tokens.access_token, raise_on_unexpected_status=True, timeout=30
    )
    caller = expect(me.sync_detailed(client=client), 200, MeResponse)
    assert caller.id == registered.id and caller.email == email, caller

    step(f"search the catalog for {SEARCH!r}")
    found = expect(list_movies.sync_detailed(client=anonymous, search=SEARCH, per_page=5), 200, MovieListResponse)
    assert found.movies and all(SEARCH in m.name for m in found.movies[:1]), found
    movie = found.movies[0]

    step(f"add {movie.name!r} ({movie.price}) to the cart")
    expect(cart_add.sync_detailed(client=client, body=AddToCart(movie_uuid=movie.uuid)), 200, MessageResponse)
    cart = expect(cart_list.sync_detailed(client=client), 200, CartResponse)
    assert [item.movie_uuid for item in cart.cart_items] == [movie.uuid], cart

    step("order the cart")
    order = expect(order_create.sync_detailed(client=client), 201, CreatedOrder)
    assert order.status == OrderStatus.PENDING, order
    assert order.total_amount == movie.price, order
    assert [m.uuid for m in order.movies] == [movie.uuid], order
    orders = expect(order_list.sync_detailed(client=client), 200, OrderList)
    assert [o.id for o in orders.orders] == [order.id], orders

    step(f"done: order {order.id}, {order.total_amount}, {order.status}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
