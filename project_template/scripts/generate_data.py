"""Generate the example shop's source data under data/ (customers, products, orders, ...).

Deterministic: a single random.Random(42) drives everything and no clock is read, so
running this twice writes byte-identical CSV files. Standard library only.

    python scripts/generate_data.py            # writes ../data/*.csv next to this script
    python scripts/generate_data.py --out DIR  # somewhere else

The data is clean enough to be useful and messy enough to need a staging layer:
- a few order statuses are upper/mixed case or carry trailing spaces;
- a handful of orders were exported twice (duplicate rows) by the upstream system;
- some customer emails have stray capitals and surrounding whitespace;
- a few orders were charged twice by mistake (paid more than the order total).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
from pathlib import Path

SEED = 42
YEAR_START = dt.date(2024, 1, 1)
YEAR_END = dt.date(2024, 12, 31)

N_CUSTOMERS = 500
N_ORDERS = 4000

FIRST_NAMES = [
    "Alice", "Bruno", "Chloe", "Daniel", "Emma", "Felix", "Grace", "Hugo", "Ines", "Jonas",
    "Karin", "Liam", "Maya", "Noah", "Olivia", "Pablo", "Quinn", "Rosa", "Samir", "Tara",
    "Umar", "Vera", "Wei", "Ximena", "Yusuf", "Zoe", "Aiko", "Ben", "Clara", "Diego",
    "Elif", "Farah", "Gustav", "Hana", "Ivan", "Julia", "Kofi", "Lena", "Mateo", "Nina",
]
LAST_NAMES = [
    "Andersen", "Bauer", "Costa", "Dubois", "Eriksson", "Fischer", "Garcia", "Hansen",
    "Ito", "Jensen", "Kowalski", "Lopez", "Martin", "Nakamura", "Okafor", "Petrov",
    "Rossi", "Schmidt", "Silva", "Tanaka", "Usman", "Varga", "Weber", "Yilmaz", "Zhang",
]
# (country code, weight)
COUNTRIES = [
    ("DE", 22), ("FR", 16), ("GB", 15), ("NL", 9), ("ES", 9), ("IT", 8), ("SE", 6),
    ("PL", 5), ("US", 5), ("DK", 3), ("PT", 2),
]

# category -> (price range, product nouns)
CATALOG = {
    "electronics": ((19.0, 349.0), ["Headphones", "Speaker", "Charger", "Keyboard", "Mouse",
                                    "Webcam", "Power Bank", "Smart Plug", "E-Reader", "Router"]),
    "home": ((9.0, 129.0), ["Throw Blanket", "Cushion", "Desk Lamp", "Wall Clock", "Vase",
                            "Picture Frame", "Doormat", "Candle Set", "Storage Box", "Mirror"]),
    "kitchen": ((6.0, 159.0), ["Chef Knife", "Cutting Board", "French Press", "Kettle",
                               "Mixing Bowls", "Frying Pan", "Spice Rack", "Toaster",
                               "Water Bottle", "Tea Infuser"]),
    "books": ((8.0, 45.0), ["Cookbook", "Travel Guide", "Novel", "Poetry Collection",
                            "Field Guide", "Atlas", "Sketchbook", "Journal", "Biography",
                            "Puzzle Book"]),
    "outdoor": ((12.0, 249.0), ["Backpack", "Tent", "Sleeping Bag", "Camping Stove",
                                "Headlamp", "Hiking Poles", "Hammock", "Cooler",
                                "Rain Jacket", "Picnic Set"]),
    "beauty": ((5.0, 79.0), ["Face Cream", "Shampoo", "Lip Balm", "Sunscreen", "Hand Soap",
                             "Body Lotion", "Hair Brush", "Bath Salts", "Perfume",
                             "Nail Kit"]),
}
ADJECTIVES = ["Classic", "Compact", "Deluxe", "Eco", "Everyday", "Pro", "Nordic", "Urban"]

PAYMENT_METHODS = [("credit_card", 55), ("paypal", 25), ("bank_transfer", 12), ("gift_card", 8)]


def weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def make_customers(rng: random.Random) -> list[dict]:
    rows = []
    first_day = dt.date(2021, 3, 1)
    span = (dt.date(2024, 11, 30) - first_day).days
    for customer_id in range(1, N_CUSTOMERS + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}{customer_id}@example.com".lower()
        if rng.random() < 0.04:  # typed by hand at signup
            email = f" {first}.{last}{customer_id}@Example.com "
        # skew signups towards recent years: the shop is growing
        signup = first_day + dt.timedelta(days=int(span * rng.random() ** 0.7))
        rows.append({
            "customer_id": customer_id,
            "name": f"{first} {last}",
            "email": email,
            "country": weighted(rng, COUNTRIES),
            "signup_date": signup.isoformat(),
        })
    return rows


def make_products(rng: random.Random) -> list[dict]:
    rows = []
    product_id = 100
    for category, ((low, high), nouns) in CATALOG.items():
        for noun in nouns:
            product_id += 1
            price = round(rng.uniform(low, high)) - 0.01  # charm pricing: 24.99
            rows.append({
                "product_id": product_id,
                "name": f"{rng.choice(ADJECTIVES)} {noun}",
                "category": category,
                "unit_price": f"{max(price, 2.99):.2f}",
            })
    return rows


def order_day(rng: random.Random) -> dt.date:
    """A day in 2024, busier on weekends and in November/December."""
    days = (YEAR_END - YEAR_START).days + 1
    while True:
        day = YEAR_START + dt.timedelta(days=rng.randrange(days))
        weight = 1.0
        if day.weekday() >= 5:
            weight *= 1.3
        if day.month in (11, 12):
            weight *= 1.6
        if rng.random() * 2.1 < weight:
            return day


def order_status(rng: random.Random, day: dt.date) -> str:
    age = (YEAR_END - day).days
    if age <= 3:
        pairs = [("placed", 50), ("shipped", 35), ("cancelled", 15)]
    elif age <= 10:
        pairs = [("placed", 5), ("shipped", 45), ("delivered", 40), ("cancelled", 10)]
    else:
        pairs = [("delivered", 83), ("cancelled", 9), ("returned", 8)]
    return weighted(rng, pairs)


def messy(rng: random.Random, status: str) -> str:
    """How the order system sometimes exports a status."""
    r = rng.random()
    if r < 0.03:
        return status.upper()
    if r < 0.06:
        return status.capitalize()
    if r < 0.09:
        return status + " "
    return status


def make_orders(rng: random.Random, customers: list[dict]) -> list[dict]:
    signups = {c["customer_id"]: dt.date.fromisoformat(c["signup_date"]) for c in customers}
    # a few loyal customers order a lot, most order now and then
    loyalty = {cid: rng.lognormvariate(0, 0.9) for cid in signups}
    ids, weights = list(loyalty), list(loyalty.values())
    drafts = []
    for _ in range(N_ORDERS):
        day = order_day(rng)
        while True:
            customer_id = rng.choices(ids, weights=weights)[0]
            if signups[customer_id] <= day:
                break
        drafts.append((day, customer_id))
    drafts.sort()
    rows = []
    for order_id, (day, customer_id) in enumerate(drafts, start=1):
        rows.append({
            "order_id": order_id,
            "customer_id": customer_id,
            "order_date": day.isoformat(),
            "status": order_status(rng, day),
        })
    return rows


def make_order_items(rng: random.Random, orders: list[dict], products: list[dict]) -> list[dict]:
    popularity = [rng.paretovariate(1.2) for _ in products]
    rows = []
    for order in orders:
        n_lines = rng.choices([1, 2, 3, 4, 5], weights=[32, 32, 19, 11, 6])[0]
        chosen: list[dict] = []
        while len(chosen) < n_lines:
            product = rng.choices(products, weights=popularity)[0]
            if product not in chosen:
                chosen.append(product)
        for product in chosen:
            rows.append({
                "order_id": order["order_id"],
                "product_id": product["product_id"],
                "quantity": rng.choices([1, 2, 3, 4], weights=[70, 20, 7, 3])[0],
            })
    return rows


def make_payments(rng: random.Random, orders: list[dict], items: list[dict],
                  products: list[dict]) -> list[dict]:
    price = {p["product_id"]: round(float(p["unit_price"]) * 100) for p in products}
    total_cents: dict[int, int] = {}
    for item in items:
        cents = price[item["product_id"]] * item["quantity"]
        total_cents[item["order_id"]] = total_cents.get(item["order_id"], 0) + cents

    rows = []
    for order in orders:
        status = order["status"]
        if status == "cancelled" and rng.random() < 0.85:
            continue  # cancelled before payment
        if status == "placed" and rng.random() < 0.6:
            continue  # awaiting payment
        total = total_cents[order["order_id"]]
        day = dt.date.fromisoformat(order["order_date"])
        paid_at = dt.datetime.combine(day, dt.time(rng.randrange(7, 23), rng.randrange(60),
                                                   rng.randrange(60)))
        paid_at += dt.timedelta(minutes=rng.choice([0, 0, 0, 5, 30, 240, 1440]))
        if rng.random() < 0.16 and total > 2000:
            # part paid with a gift card, the rest with another method
            gift = rng.randrange(500, min(total, 5000) // 100 * 100 + 1, 500)
            gift = min(gift, total - 100)
            parts = [("gift_card", gift),
                     (weighted(rng, PAYMENT_METHODS[:3]), total - gift)]
        else:
            parts = [(weighted(rng, PAYMENT_METHODS), total)]
        if rng.random() < 0.0025:
            parts.append((parts[-1][0], parts[-1][1]))  # charged twice by mistake
        for i, (method, cents) in enumerate(parts):
            rows.append({
                "order_id": order["order_id"],
                "method": method,
                "amount": f"{cents / 100:.2f}",
                "paid_at": (paid_at + dt.timedelta(seconds=37 * i)).isoformat(sep=" "),
            })
    rows.sort(key=lambda r: (r["paid_at"], r["order_id"]))
    return [{"payment_id": n, **row} for n, row in enumerate(rows, start=1)]


def export_orders(rng: random.Random, orders: list[dict]) -> list[dict]:
    """The order system's export: messy statuses and a few rows exported twice."""
    out = []
    for order in orders:
        row = dict(order, status=messy(rng, order["status"]))
        out.append(row)
        if rng.random() < 0.003:
            out.append(dict(row))
    return out


def write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "data")
    args = parser.parse_args()

    rng = random.Random(SEED)
    customers = make_customers(rng)
    products = make_products(rng)
    orders = make_orders(rng, customers)
    items = make_order_items(rng, orders, products)
    payments = make_payments(rng, orders, items, products)
    exported_orders = export_orders(rng, orders)

    args.out.mkdir(parents=True, exist_ok=True)
    for name, rows in [
        ("customers", customers),
        ("products", products),
        ("orders", exported_orders),
        ("order_items", items),
        ("payments", payments),
    ]:
        write_csv(args.out / f"{name}.csv", rows)
        print(f"{name + '.csv':16} {len(rows):5} rows")


if __name__ == "__main__":
    main()
