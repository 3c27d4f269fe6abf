"""Pools the demo world draws people from: names in several scripts, places, products.

Everything here is invented. Domains are the reserved ``example`` ones, phone numbers
use ranges set aside for fiction (555-01xx, 07700 900xxx), so nothing in the demo
can reach a real person.
"""

from __future__ import annotations

# (first names, last names, country, currency, phone pattern) — '#' is a digit.
REGIONS = [
    (["Emma", "Olivia", "Liam", "Noah", "Ava", "Mason", "Harper", "Ethan", "Chloe", "Jacob", "Madison", "Tyler",
      "Grace", "Brandon", "Hannah", "Marcus", "Jasmine", "Derek", "Kayla", "Trevor"],
     ["Johnson", "Miller", "Davis", "Garcia", "Wilson", "Anderson", "Thompson", "Moore", "Jackson", "White",
      "Harris", "Clark", "Lewis", "Walker", "Young", "Allen", "King", "Wright", "Hill", "Green"],
     "US", "USD", "+1 (555) 01#-####"),
    (["Oliver", "Amelia", "George", "Isla", "Harry", "Poppy", "Jack", "Freya", "Alfie", "Imogen", "Rhys", "Niamh"],
     ["Smith", "Taylor", "Brown", "Evans", "Roberts", "Hughes", "Edwards", "Patel", "Khan", "Murphy", "Price",
      "Fletcher"],
     "GB", "GBP", "+44 7700 900###"),
    (["Lukas", "Anna", "Jonas", "Lea", "Felix", "Marie", "Jürgen", "Sophie", "Tobias", "Johanna", "Björn",
      "Grete"],
     ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Wagner", "Becker", "Hoffmann", "Schäfer", "Koch",
      "Krüger", "Lehmann"],
     "DE", "EUR", "+49 1577 ###-####"),
    (["Léa", "Hugo", "Chloé", "Louis", "Inès", "Gabriel", "Zoé", "Raphaël", "Camille", "Théo", "Maëlle",
      "Jérôme"],
     ["Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Laurent", "Girard", "Fontaine", "Rousseau", "Chevalier",
      "Lambert", "Faure"],
     "FR", "EUR", "+33 6 ## ## ## ##"),
    (["Sofía", "Mateo", "Lucía", "Santiago", "Valentina", "Diego", "Camila", "Joaquín", "Martina", "Andrés"],
     ["González", "Rodríguez", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Núñez", "Ibáñez"],
     "ES", "EUR", "+34 6## ### ###"),
    (["Aarav", "Ananya", "Rohan", "Priya", "Vikram", "Isha", "Arjun", "Kavya", "Nikhil", "Meera"],
     ["Sharma", "Iyer", "Reddy", "Nair", "Gupta", "Menon", "Kapoor", "Desai", "Rao", "Bhatt"],
     "IN", "USD", "+1 (555) 01#-####"),
    (["Yuki", "Haruto", "Sakura", "Ren", "Aoi", "Sota"],
     ["Tanaka", "Suzuki", "Watanabe", "Kobayashi", "Yamamoto", "Nakamura"],
     "JP", "USD", "+1 (555) 01#-####"),
    (["Wei", "Mei", "Jun", "Xiu", "Hao", "Lan"],
     ["Chen", "Wang", "Li", "Zhang", "Liu", "Zhao"],
     "US", "USD", "+1 (555) 01#-####"),
    (["Omar", "Layla", "Karim", "Nour", "Yusuf", "Rania"],
     ["Haddad", "Mansour", "Khalil", "Saleh", "Nasser", "Aziz"],
     "GB", "GBP", "+44 7700 900###"),
    (["Kwame", "Ama", "Chidi", "Ngozi", "Tendai", "Zola"],
     ["Mensah", "Okafor", "Adeyemi", "Moyo", "Nkosi", "Boateng"],
     "GB", "GBP", "+44 7700 900###"),
]

# Names written in their own script (shown as the display name; the address stays ASCII).
NATIVE_NAMES = [
    ("田中 ゆき", "yuki.tanaka"), ("山本 蓮", "ren.yamamoto"), ("陈伟", "wei.chen"), ("王美", "mei.wang"),
    ("김민준", "minjun.kim"), ("이서연", "seoyeon.lee"), ("ليلى حداد", "layla.haddad"), ("عمر منصور", "omar.mansour"),
    ("Αθηνά Παππά", "athina.pappa"), ("Дмитрий Соколов", "dmitri.sokolov"), ("Ζωή Νικολάου", "zoi.nikolaou"),
    ("Łukasz Wójcik", "lukasz.wojcik"), ("Ştefan Ionescu", "stefan.ionescu"), ("Søren Kierkegård", "soren.k"),
]

EMAIL_DOMAINS = ["example.com", "example.net", "example.org", "mail.example", "inbox.example", "post.example"]
MASTODON_INSTANCES = ["mastodon.example", "social.example", "fosstodon.example", "mstdn.example", "toot.example"]
MATRIX_SERVER = "example.org"

AGENTS = ["Sam Rivera", "Priya Natarajan", "Tom Becker"]
SHOP = "Northwind Outfitters"
SHOP_HANDLE_MASTODON = "@northwind@social.example"
SHOP_HANDLE_BLUESKY = "northwind.bsky.social"
SUPPORT_EMAIL = "support@northwind.example"
SUPPORT_MATRIX = "@support:example.org"

# name, price in the shop's base unit (USD), weight class
PRODUCTS = [
    ("Merino wool socks (3-pack)", 24.00), ("Trail running shoes", 129.00), ("Waterproof shell jacket", 219.00),
    ("Insulated water bottle 750 ml", 32.00), ("Down sleeping bag -5°C", 289.00), ("Ultralight tent 2P", 399.00),
    ("Headlamp 400 lm", 45.00), ("Hiking backpack 38 L", 159.00), ("Fleece pullover", 79.00),
    ("Rain trousers", 89.00), ("Camping stove", 64.00), ("Titanium mug", 29.00), ("Trekking poles (pair)", 99.00),
    ("Wool beanie", 28.00), ("Cycling gloves", 35.00), ("Packable daypack", 49.00), ("Thermal base layer top", 59.00),
("Dry bag set", 39.00), ("Compact binoculars", 149.00), ("Solar power bank", 69.00),
    ("Softshell trousers", 109.00), ("Camp chair", 74.00), ("First-aid kit", 34.00),
]

CURRENCY_RATE = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79}

ORDER_STATUSES = ["processing", "paid", "shipped", "shipped", "delivered", "delivered", "delivered", "delivered",
                  "refunded", "cancelled", "partially refunded"]

CARRIERS = ["UPS", "DHL", "FedEx", "Royal Mail", "La Poste", "USPS", "GLS"]
