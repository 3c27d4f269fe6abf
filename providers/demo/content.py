"""What the demo's customers and agents say, and the help-centre articles.

Templates use ``str.format`` fields: {first} (customer's first name), {order}
(an order number of that customer), {item}, {carrier}, {days}, {amount},
{agent}, {shop}. Every topic has a matching help-centre article, so suggested
answers find something.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from providers.records import Article


@dataclass(frozen=True)
class Topic:
    key: str
    tone: str  # neutral | angry | happy — only used to pick wording, never sent as a field
    subjects: tuple[str, ...]
    openers: tuple[str, ...]
    followups: tuple[str, ...]
    replies: tuple[str, ...]
    chat: tuple[tuple[str, ...], ...]  # short bursts for chat
    social: tuple[str, ...]  # public mentions
    needs_order: bool = True
    weight: int = 10
    tags: tuple[str, ...] = field(default=())


TOPICS: tuple[Topic, ...] = (
    Topic(
        "where_is_order", "neutral",
        ("Where is my order {order}?", "Order {order} not arrived yet", "Tracking for {order} hasn't updated",
         "Delivery status of order {order}"),
        ("Hi,\n\nI ordered the {item} on order {order} {days} days ago and it still hasn't arrived. The tracking "
         "page from {carrier} hasn't updated since Tuesday. Can you tell me where it is?\n\nThanks,\n{first}",
         "Hello, my order {order} was supposed to arrive last week. Could you check with {carrier} what's going "
         "on? I need the {item} for a trip on Saturday.\n\n{first}",
         "Hi there — quick question: has order {order} shipped yet? I haven't received a tracking number.\n\n"
         "Best,\n{first}"),
        ("Any news on this? Still nothing from {carrier}.", "The tracking now says 'exception'. What does that mean?",
         "It arrived today, thank you!", "Still waiting… it's been {days} days now."),
        ("Hi {first},\n\nthanks for your patience. I checked with {carrier}: your parcel for order {order} is at "
         "the regional depot and should be delivered within 2 working days. You can follow it with the tracking "
         "link in your shipping confirmation.\n\nBest regards,\n{agent}",
         "Hi {first}, I'm sorry for the wait. Order {order} left our warehouse on time but {carrier} reports a "
         "delay in their network. If it hasn't arrived by Friday, I'll send a replacement free of charge.\n\n{agent}"),
        (("hi", "where is my order {order}??", "tracking hasn't moved in 4 days"),
         ("hello! quick question", "did {order} ship already?"),
         ("hey, my parcel from you is late", "order {order}", "need it before the weekend")),
        ("{handle} my order {order} still hasn't arrived after {days} days. Anyone there? 📦",
         "{handle} is there a problem with {carrier} deliveries? Order {order} stuck for a week"),
        weight=18, tags=("shipping",),
    ),
    Topic(
        "damaged_item", "neutral",
        ("Damaged item in order {order}", "{item} arrived broken", "Order {order}: item damaged in transit"),
        ("Hello,\n\nthe {item} from order {order} arrived today but the box was crushed and the item is damaged "
         "(photo attached). I'd like a replacement please.\n\nRegards,\n{first}",
         "Hi, unfortunately the {item} I received (order {order}) is broken — one of the parts snapped when I "
         "took it out of the packaging. What can I do?\n\n{first}"),
        ("I've attached another photo of the damage.", "Do I need to send the broken one back?",
         "Replacement received, all good now. Thanks!"),
        ("Hi {first},\n\nI'm so sorry the {item} arrived damaged. I've sent a replacement today at no cost; you'll "
         "receive a tracking number by email. No need to return the damaged one.\n\nBest,\n{agent}",),
        (("hi, my {item} came broken 😞", "order {order}", "can I get a new one?"),),
        ("{handle} my {item} arrived smashed. Great packaging… order {order}",),
        weight=8, tags=("damaged",),
    ),
    Topic(
        "return_request", "neutral",
        ("Return for order {order}", "How do I return the {item}?", "Returning part of order {order}"),
        ("Hi,\n\nthe {item} (order {order}) doesn't fit well. How do I return it and get my money back?\n\n"
         "Thanks,\n{first}",
         "Hello, I'd like to return the {item} from order {order}. It's unused and still in its box. Is there a "
         "return label I can print?\n\n{first}"),
        ("I've sent it back, tracking number attached.", "How long does the refund take once you have it?"),
        ("Hi {first},\n\nno problem — you can return unused items within 30 days. I've emailed you a prepaid "
         "return label for order {order}. Once the parcel reaches us, the refund takes 3–5 working days.\n\n"
         "Kind regards,\n{agent}",),
        (("hi, how do returns work?", "want to send back the {item}"),),
        ("{handle} how do I return something? Can't find the form on your site",),
        weight=10, tags=("returns",),
    ),
    Topic(
        "refund_request", "neutral",
        ("Refund for order {order}", "Still no refund for {order}", "Refund not received"),
        ("Hello,\n\nI returned the {item} from order {order} two weeks ago and your warehouse confirmed receipt, "
         "but I still haven't received the refund of {amount}. Can you check?\n\n{first}",
         "Hi, I cancelled order {order} on the same day but was charged {amount} anyway. Please refund it.\n\n"
         "Thanks, {first}"),
        ("Nothing on my card yet.", "Got it, thanks for sorting this out."),
        ("Hi {first},\n\nthe refund of {amount} for order {order} was issued today. Depending on your bank it can "
         "take 5–10 days to show on your statement.\n\nBest,\n{agent}",),
        (("hi", "where's my refund for {order}?", "returned it ages ago"),),
        ("{handle} still waiting on a refund for order {order}. 3 weeks now.",),
        weight=10, tags=("refund",),
    ),
    Topic(
        "cancel_order", "neutral",
        ("Cancel order {order}", "Please cancel my order {order}", "Cancellation request"),
        ("Hi,\n\nI placed order {order} by mistake this morning. Please cancel it before it ships.\n\n{first}",
         "Hello, can I still cancel order {order}? I ordered the wrong size of the {item}.\n\n{first}"),
        ("Has it been cancelled?", "Thank you for the quick help."),
        ("Hi {first},\n\norder {order} hadn't been packed yet, so I've cancelled it. The payment hold of {amount} "
         "will be released by your bank within a few days.\n\n{agent}",),
        (("can you cancel {order}?", "ordered the wrong size"),),
        ("{handle} how do I cancel an order? Need to cancel {order} asap",),
        weight=7, tags=("cancellation",),
    ),
    Topic(
        "password_reset", "neutral",
        ("Can't log in", "Password reset email never arrives", "Locked out of my account"),
        ("Hi,\n\nI've tried to reset my password three times but the reset email never arrives (checked spam too). "
         "Can you help me get back into my account?\n\n{first}",
         "Hello, I can't log into my account anymore. It says my password is wrong but I'm sure it's right.\n\n"
         "{first}"),
        ("Still no email.", "That worked, I'm in. Thanks!"),
        ("Hi {first},\n\nI've sent a fresh password reset link to the address on your account. It's valid for 60 "
         "minutes. If it doesn't show up, check the Promotions tab or add {support} to your contacts.\n\n{agent}",),
        (("can't log in", "reset email doesn't come"), ("hi! forgot my password", "reset link expired already")),
        ("{handle} your password reset emails never arrive. Anyone else?",),
        needs_order=False, weight=7, tags=("account",),
    ),
    Topic(
        "two_factor", "neutral",
        ("Lost my phone — 2FA", "Two-factor code not working", "Can't get past two-step verification"),
        ("Hi,\n\nI got a new phone and now I can't log in because the authenticator app codes are gone. I don't "
         "have my backup codes. How do I get back in?\n\n{first}",
         "Hello, the 2FA codes from my app are always rejected. I've checked the time on my phone.\n\n{first}"),
        ("I've sent the ID photo you asked for.", "Works now, thanks."),
        ("Hi {first},\n\nfor your security we need to confirm it's you before turning off two-factor "
         "authentication. Please reply with the last four digits of the card used on your most recent order. Once "
         "confirmed, you can set up 2FA again on your new phone.\n\n{agent}",),
        (("2fa codes don't work", "new phone"),),
        ("{handle} locked out by 2FA after changing phones. Help?",),
        needs_order=False, weight=4, tags=("account", "2fa"),
    ),
    Topic(
        "double_charge", "angry",
        ("Charged twice for {order}", "Double charge on my card!", "Billing error on order {order}"),
        ("Hello,\n\nI was charged TWICE for order {order} ({amount} each). Please refund the duplicate charge "
         "immediately.\n\n{first}",
         "Hi, my bank statement shows two payments of {amount} for one order ({order}). What happened?\n\n{first}"),
        ("I need this money back before the end of the month.", "I see the refund now. Thanks."),
        ("Hi {first},\n\nI'm sorry about this. The second payment for order {order} was only an authorisation "
         "hold; it has been released and will disappear from your statement within 3–5 days. You were only "
         "charged once.\n\n{agent}",),
        (("you charged me twice!!", "order {order}", "{amount} x2"),),
        ("{handle} charged me twice for one order. Not cool.",),
        weight=6, tags=("billing",),
    ),
    Topic(
        "address_change", "neutral",
        ("Change delivery address for {order}", "Wrong address on order {order}", "Address change"),
        ("Hi,\n\nI just noticed order {order} will go to my old address. Can you change it to my new one? "
         "I'll reply with the details.\n\n{first}",),
        ("New address: 12 Example Street, Flat 3.", "Perfect, thanks."),
        ("Hi {first},\n\nI've updated the delivery address on order {order}; the parcel hasn't shipped yet, so it "
         "will go to the new address.\n\n{agent}",),
        (("can I change the address on {order}?", "I moved last week"),),
        ("{handle} how do I change my delivery address after ordering?",),
        weight=5, tags=("shipping",),
    ),
    Topic(
        "invoice_request", "neutral",
        ("Invoice for order {order}", "VAT invoice needed", "Need a company invoice"),
        ("Hello,\n\ncould you send me an invoice for order {order} with my company name on it? I need it for "
         "my expenses.\n\nThanks,\n{first}",),
        ("The company name is Example Ltd.", "Received, thank you."),
        ("Hi {first},\n\nI've attached the invoice for order {order}. You can also download invoices any time "
         "under Account → Orders.\n\n{agent}",),
        (("can I get an invoice for {order}?",),),
        ("{handle} where do I download invoices?",),
        weight=5, tags=("billing",),
    ),
    Topic(
        "gift_card", "neutral",
        ("Gift card not working", "Gift card balance", "Problem redeeming gift card"),
        ("Hi,\n\nI got a gift card for my birthday but the code is rejected at checkout ('invalid code'). "
         "Can you check it?\n\n{first}",),
        ("I've double-checked the code, it's the right one.", "It works now, thanks."),
        ("Hi {first},\n\nthe gift card had not been activated by the store it was bought in. I've activated it "
         "now; the full balance is available.\n\n{agent}",),
        (("gift card code says invalid", "help"),),
        ("{handle} gift card says invalid code. Bought it in your store!",),
        needs_order=False, weight=4, tags=("gift-card",),
    ),
    Topic(
        "warranty", "neutral",
        ("Warranty claim: {item}", "{item} stopped working", "Broken after 6 months"),
        ("Hello,\n\nmy {item} (order {order}) stopped working after six months of normal use. Is it covered by "
         "the warranty?\n\n{first}",),
        ("Here is the serial number from the label.", "Thanks for the replacement."),
        ("Hi {first},\n\nyes, the {item} has a 2-year warranty. Please send us a photo of the product label and "
         "I'll arrange a replacement.\n\n{agent}",),
        (("my {item} broke", "is that warranty?"),),
        ("{handle} my {item} died after 6 months. Warranty?",),
        weight=5, tags=("warranty",),
    ),
    Topic(
        "exchange_size", "neutral",
        ("Exchange for a different size", "Wrong size — exchange?", "Size exchange on {order}"),
        ("Hi,\n\nthe {item} from order {order} is too small. Can I exchange it for one size larger?\n\n{first}",),
        ("Do I pay for the return shipping?", "Got the new size, fits perfectly."),
        ("Hi {first},\n\nexchanges are free. I've reserved the larger size for you and emailed a return label; "
         "we ship the new one as soon as yours is scanned by the carrier.\n\n{agent}",),
        (("can I swap the size?", "{item} too small"),),
        ("{handle} do you do free size exchanges?",),
        weight=6, tags=("returns",),
    ),
    Topic(
        "product_question", "neutral",
        ("Question about the {item}", "Is the {item} waterproof?", "{item}: compatibility"),
        ("Hi,\n\nbefore I order: is the {item} suitable for winter use? And do you ship to Norway?\n\n{first}",
         "Hello, what are the exact dimensions of the {item} when packed?\n\n{first}"),
        ("Great, I'll order it then.",),
        ("Hi {first},\n\ngood question! The {item} is rated for three seasons; for winter we recommend pairing it "
         "with a thermal layer. We ship to all EU and EEA countries, Norway included.\n\n{agent}",),
        (("is the {item} any good in the rain?",), ("quick q", "do you ship to Canada?")),
        ("{handle} is the {item} worth it? Thinking of buying one",),
        needs_order=False, weight=7, tags=("pre-sales",),
    ),
    Topic(
        "angry_repeat", "angry",
        ("THIRD time asking about {order}", "Unacceptable service — order {order}", "Nobody answers!!!"),
        ("This is the THIRD time I'm writing about order {order}. Nobody has answered my previous emails. "
         "I paid {amount} and have received NOTHING. If I don't hear back today I'm disputing the charge with "
         "my bank.\n\n{first}",
         "I am extremely disappointed. Order {order} is two weeks late, your chat bot is useless and your phone "
         "line just rings out. I want a refund NOW.\n\n{first}"),
        ("Still waiting. This is ridiculous.", "Fine. Thanks for finally answering."),
        ("Hi {first},\n\nI'm very sorry — you should have had an answer long ago. I've checked order {order} "
         "personally: it was stuck at {carrier}. I've sent a replacement by express and refunded the shipping "
         "cost.\n\n{agent}",),
        (("this is the THIRD time I ask", "where is {order}", "nobody answers here either??"),),
        ("{handle} THIRD time asking about my order {order}. Worst customer service ever. Avoid.",
         "{handle} 2 weeks, 3 emails, 0 answers. Order {order}. Seriously?"),
        weight=6, tags=("complaint",),
    ),
    Topic(
        "praise", "happy",
        ("Thank you!", "Great service", "Just wanted to say thanks"),
        ("Hi,\n\njust wanted to say thank you — the {item} arrived a day early and it's perfect. Your team was "
         "super helpful on the phone too.\n\nCheers,\n{first}",
         "Hello! Used the {item} on a week-long hike, it was fantastic. Thanks for the great product.\n\n{first}"),
        ("Will definitely order again!",),
        ("Hi {first},\n\nthank you so much for the kind words — I've passed them on to the team. Enjoy your "
         "next adventure!\n\n{agent}",),
        (("just wanted to say", "the {item} is amazing 🙌"),),
        ("Huge thanks to {handle} — the {item} arrived early and it's brilliant 🙌",
         "Shout-out to {handle} for the fastest support I've ever had. Replacement arrived in 2 days!"),
        needs_order=False, weight=6, tags=("praise",),
    ),
    Topic(
        "cancel_subscription", "neutral",
        ("Cancel my membership", "Stop my subscription", "How do I cancel Outfitters Plus?"),
        ("Hi,\n\nplease cancel my Outfitters Plus membership at the end of this billing period. I'm not using "
         "the free shipping enough.\n\n{first}",),
        ("Will I still get free shipping until then?", "Thanks for confirming."),
        ("Hi {first},\n\nI've set your Outfitters Plus membership to end on your next renewal date. You keep "
         "free shipping until then and won't be charged again.\n\n{agent}",),
        (("how do I cancel plus?",),),
        ("{handle} how do I cancel the Plus subscription? The button doesn't work",),
        needs_order=False, weight=4, tags=("cancellation", "billing"),
    ),
)

TOPIC_BY_KEY = {t.key: t for t in TOPICS}

THANKS = ("Thanks!", "Thank you, that's great.", "Perfect, thanks a lot.", "Brilliant, cheers.",
          "OK, thank you for your help.")
AGENT_FOLLOWUPS = (
    "Hi {first}, just checking in — did this solve it for you?\n\n{agent}",
    "Hi {first}, I'm closing this conversation for now; just reply if you need anything else.\n\n{agent}",
    "Thanks {first}! I've added a note to your account. Have a great day.\n\n{agent}",
)
FOLLOWUP_NUDGES = ("Any update on this?", "Hello? Still waiting for an answer.", "Just following up on my message.",
                   "Could someone please get back to me?", "Is anyone looking at this?")

# Hostile payloads carried by a few messages and names (the cache must neutralise them).
HOSTILE_SNIPPETS = (
    "copy this code: \x1b]52;c;ZXZpbA==\x07 thanks",
    "\x1b]0;pwned\x07my order is late",
    "\x1b[2J\x1b[Hclear screen? order problem",
    "[bold red]URGENT[/bold red] please read",
    "[@click=app.quit]click me[/] to see the photo",
    "see [link=https://evil.example]my receipt[/link]",
)
HOSTILE_NAMES = ("[bold red]Admin[/]", "Eve\x1b]0;pwned\x07 Mallory", "[@click=app.quit]Mallory[/]",
                 "Trent\x1b[2J\x1b[H Oscar")

HTML_TEMPLATE = (
    "<html><head><style>p{{margin:0}} .sig{{color:#888}}</style></head><body>"
    "<div dir=\"ltr\"><p>{greeting}</p><p>{body}</p>"
    "<p>Order: <b>{order}</b> &middot; <a href=\"https://shop.example/orders/{order}\">view order</a></p>"
    "<table><tr><td>Item</td><td>{item}</td></tr><tr><td>Total</td><td>{amount}</td></tr></table>"
    "<p class=\"sig\">{first}<br>Sent from my phone</p></div>"
    "<script>document.location='https://evil.example/'</script></body></html>"
)

AUTO_REPLY = ("Thank you for your email. I am out of the office until {date} with limited access to email. "
              "For urgent matters please call the front desk.\n\n{first}")
BOUNCE = ("This is the mail system at host mx.example.\n\nI'm sorry to have to inform you that your message could "
          "not be delivered to one or more recipients.\n\n<{address}>: host mx.{domain} said: 550 5.1.1 "
          "mailbox unavailable (in reply to RCPT TO command)\n\n--- Original message follows ---\n\n{quoted}")

# --------------------------------------------------------------------------- help centre

ARTICLES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Where is my order? Tracking your parcel",
     "Every order gets a shipping confirmation with a tracking link as soon as it leaves our warehouse, usually "
     "within one working day. If the tracking page has not updated for three days, or your order has not "
     "arrived by the estimated delivery date, contact us with your order number and we'll chase the carrier. "
     "If a parcel is lost we send a replacement free of charge.", ("shipping", "tracking", "late delivery")),
    ("Delivery times and shipping costs",
     "Standard delivery takes 2–4 working days in the US, UK and EU, express 1–2. Shipping is free on orders "
     "over $75 and always free for Outfitters Plus members. Remote areas can take two extra days.",
     ("shipping", "delivery", "costs")),
    ("Returning an item",
     "You can return unused items within 30 days of delivery. Start a return under Account → Orders → Return, "
     "print the prepaid return label and drop the parcel at any carrier point. Once we receive it, the refund "
     "takes 3–5 working days.", ("returns", "return label")),
    ("When will I get my refund?",
     "Refunds are issued to the original payment method within 3–5 working days after your return reaches us, "
     "or on the day a cancellation is confirmed. Banks can take another 5–10 days to show the refund on your "
     "statement. If it has been longer, send us your order number.", ("refund", "billing")),
    ("Cancelling an order",
     "Orders can be cancelled until they are packed, usually within two hours of ordering. Go to Account → "
     "Orders → Cancel, or contact us with the order number. Once shipped, an order can be returned instead.",
     ("cancellation", "orders")),
    ("Damaged or faulty items",
     "If an item arrives damaged, send us a photo of the item and the packaging with your order number within "
     "14 days. We send a replacement or refund at once; you do not need to return the damaged item.",
     ("damaged", "broken", "replacement")),
    ("Warranty: what is covered",
     "All our own-brand products have a 2-year warranty against manufacturing faults; tents and sleeping bags "
     "have 5 years. Wear and tear, and damage from misuse, are not covered. For a claim, send a photo of the "
     "product label and describe the fault.", ("warranty", "repair")),
    ("Exchanging for a different size or colour",
     "Exchanges are free within 30 days. Start an exchange under Account → Orders; we reserve the new size and "
     "ship it as soon as the carrier scans your return parcel.", ("returns", "exchange", "size")),
    ("I can't log in / resetting your password",
     "Use 'Forgot password' on the sign-in page; the reset email arrives within a few minutes and the link is "
     "valid for 60 minutes. Check your spam and promotions folders. If the email never arrives, contact us "
     "from the address on your account and we'll send a new link.", ("account", "password", "login")),
    ("Two-factor authentication (2FA) and lost phones",
     "Two-factor authentication protects your account with a code from an authenticator app. When you change "
     "phones, move your codes first or use a backup code. If you lost both, contact us: after we verify your "
     "identity we turn 2FA off so you can set it up again.", ("account", "2fa", "security")),
    ("Charged twice? Authorisation holds explained",
     "When you place an order your bank may show a temporary authorisation hold as well as the final charge. "
     "The hold disappears within 3–5 days. If two final charges appear for one order, send us your order "
     "number and we refund the duplicate at once.", ("billing", "double charge", "payment")),
    ("Payment methods we accept",
     "We accept Visa, Mastercard, American Express, PayPal, Apple Pay, Google Pay and gift cards. Orders are "
     "charged when they ship.", ("billing", "payment")),
    ("Changing your delivery address",
     "You can change the delivery address of an order until it ships. Contact us with the order number and "
     "the new address. After shipping, the carrier's own redirect service may still be able to help.",
     ("shipping", "address")),
    ("Downloading invoices and VAT receipts",
     "Invoices for every order are under Account → Orders → Invoice. For a company invoice with your VAT "
     "number, contact us with the order number and company details and we'll issue a corrected invoice.",
     ("billing", "invoice", "vat")),
    ("Gift cards: buying, redeeming and balance",
     "Gift cards are valid for 3 years and can be used online and in stores. Enter the code at checkout. If a "
     "code shows as invalid, it may not have been activated at purchase — contact us with the code and the "
     "receipt.", ("gift card", "billing")),
    ("Outfitters Plus membership and cancelling it",
     "Outfitters Plus gives free express shipping and early access to sales for $49 a year. You can cancel "
     "any time under Account → Membership; you keep the benefits until the end of the paid period and are not "
     "charged again.", ("membership", "subscription", "cancellation")),
    ("International shipping and customs",
     "We ship to the US, UK, EU, EEA and Switzerland. Orders outside the EU may be subject to customs duties, "
     "which are shown at checkout and collected by the carrier.", ("shipping", "international", "customs")),
    ("Size guide for clothing and shoes",
     "Our clothing runs true to size; shoes run half a size small. Measure your foot in the evening and compare "
     "with the size chart on each product page. Exchanges are free if the fit is wrong.", ("size", "fit")),
    ("Caring for waterproof jackets",
     "Wash waterproof shells at 30°C with a technical cleaner, no fabric softener, and tumble dry on low to "
     "reactivate the water-repellent finish. Reproof once a season.", ("product care", "waterproof")),
    ("Missing item in my parcel",
     "Large orders sometimes ship in several parcels; check your shipping confirmation for more than one "
     "tracking number. If an item is missing from a parcel marked complete, contact us within 14 days.",
     ("shipping", "missing item")),
    ("Changing or adding to an order",
     "Orders cannot be edited once placed, but until they are packed we can cancel and you can order again. "
     "Contact us quickly with the order number.", ("orders", "change")),
    ("Price match and promotions",
     "If a product drops in price within 14 days of your order, we refund the difference. Promotion codes "
     "cannot be combined and cannot be applied after ordering.", ("billing", "promotions")),
    ("Deleting your account and your data",
     "You can ask us to delete your account and personal data at any time. Order records we must keep for tax "
     "purposes are kept for the legal period and then deleted.", ("account", "privacy")),
    ("Store opening hours and click & collect",
     "Click & collect orders are ready in 2 hours during opening hours. Bring your order confirmation and ID. "
     "Uncollected orders are returned and refunded after 14 days.", ("stores", "collect")),
    ("How to contact customer service",
     "Write to us by email, chat on our website or WhatsApp, or message us on social media. We answer within "
     "one working day, usually much sooner.", ("contact", "support")),
    ("Product recalls and safety notices",
     "If a product is recalled we contact every customer who bought it and offer a full refund or free repair. "
     "Current notices are listed on our safety page.", ("safety", "recall")),
)



def help_centre(url: str = "") -> list[Article]:
    """The help centre's articles (``kb-001`` …), each with its questions (``questions.tsv``); ``url`` is
    the address its article numbers follow (``…/articles/001``), none when empty."""
    asked: dict[str, list[str]] = {}
    for line in (Path(__file__).parent / "questions.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            article, _, question = line.partition("\t")
            asked.setdefault(article, []).append(question)
    return [Article(remote_id=f"kb-{i + 1:03d}", title=title, body=body, tags=list(tags),
                    url=f"{url}/articles/{i + 1:03d}" if url else "", questions=asked.get(f"kb-{i + 1:03d}", []))
            for i, (title, body, tags) in enumerate(ARTICLES)]
