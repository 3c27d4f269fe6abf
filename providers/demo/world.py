"""The demo's one shared world: customers, orders, articles and conversations.

``build_world(seed, ...)`` is deterministic: the same seed, sizes and ``now`` give an
identical world (it uses its own ``random.Random``, never the global one). Each demo
account shows the slice of it that its remote system would hold: the mail server the
email threads, the chat server the chat threads, the shop the customers and orders.
"""

from __future__ import annotations

import functools
import random
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from providers.demo import content as C
from providers.demo import names as N
from providers.demo import team
from providers.records import (
    Article,
    Attachment,
    Channel,
    Customer,
    Direction,
    Identity,
    Message,
    Order,
    Status,
    Thread,
)
from providers.text import html_to_text

CONVERSATION_CHANNELS = (Channel.EMAIL, Channel.CHAT, Channel.SOCIAL)
CHANNEL_WEIGHTS = (45, 33, 22)
PREFIX = {Channel.EMAIL: "em", Channel.CHAT: "ch", Channel.SOCIAL: "so"}
WINDOW_DAYS = 60
STILL_WAITING = 0.5  # share of open conversations still waiting on us when the world is built
VIP_SPEND = 700  # customers who spent more are tagged vip (and the demo's rules give them a 30-minute target)
QUOTE_DATE = "\x00date\x00"  # placeholder for the quoted message's date, filled once times are known


@dataclass(eq=True)
class Person:
    key: str
    name: str
    first: str
    email: Identity
    phone: str = ""
    currency: str = "USD"
    chat: Identity | None = None
    social: list[Identity] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    shop_customer: bool = True  # False: only known on social (a prospect)

    def on(self, channel: Channel) -> Identity | None:
        if channel == Channel.EMAIL:
            return self.email if self.shop_customer else None
        if channel == Channel.CHAT:
            return self.chat
        return self.social[0] if self.social else None


@dataclass(eq=True)
class World:
    seed: int
    now: datetime
    people: list[Person]
    customers: list[Customer]
    orders: list[Order]
    articles: list[Article]
    threads: dict[Channel, list[Thread]]
    messages: dict[str, list[Message]]  # by thread remote id

    def thread(self, remote_id: str) -> Thread | None:
        return self._index().get(remote_id)

    def _index(self) -> dict[str, Thread]:
        idx = self.__dict__.get("_thread_index")
        if idx is None:
            idx = {t.remote_id: t for ts in self.threads.values() for t in ts}
            self.__dict__["_thread_index"] = idx
        return idx

    def all_messages(self) -> list[Message]:
        return [m for ms in self.messages.values() for m in ms]


def default_now() -> datetime:
    """The world's "now": the current UTC hour, so restarts within the hour see the same world."""
    return datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)


def build_world(seed: int = 7, customers: int = 320, conversations: int = 1200,
                now: datetime | None = None) -> World:
    """The deterministic demo world. Cached: callers must not mutate what they get."""
    return _cached_world(seed, customers, conversations, now or default_now())


@functools.lru_cache(maxsize=8)
def _cached_world(seed: int, customers: int, conversations: int, now: datetime) -> World:
    return _Builder(seed, customers, conversations, now).build()


# --------------------------------------------------------------------------- helpers


def ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum() or ch in ".-_ ").strip().replace(" ", ".")


def fill(template: str, values: dict) -> str:
    """``str.format_map`` that leaves unknown fields visible instead of failing."""

    class Soft(dict):
        def __missing__(self, key):
            return "{" + key + "}"

    return template.format_map(Soft(values))


def money(amount: float, currency: str) -> str:
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, "")
    return f"{symbol}{amount:,.2f}" if symbol != "€" else f"{amount:,.2f} €"


def chat_line(text: str) -> str:
    """An email-style agent reply squeezed into one chat message (no greeting line, no signature)."""
    paras = [p.strip() for p in text.split("\n\n") if p.strip()]
    if len(paras) > 2:
        paras = paras[1:-1]
    line = " ".join(" ".join(p.split()) for p in paras)
    return line[:1].upper() + line[1:]


def shorten(text: str, limit: int = 280) -> str:
    """Cut at the last sentence end that fits in ``limit`` characters."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
    return cut[: end + 1] if end > 40 else cut.rsplit(" ", 1)[0] + "…"


class _Builder:
    def __init__(self, seed: int, customers: int, conversations: int, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.n_customers = customers
        self.n_conversations = conversations
        self.now = now
        self.used_locals: set[str] = set()
        self.order_no = 104_000 + seed % 1000 * 3

    # -- people

    def unique_local(self, base: str) -> str:
        base = base.strip(".") or "customer"
        local, n = base, 1
        while local in self.used_locals:
            n += 1
            local = f"{base}{n}"
        self.used_locals.add(local)
        return local

    def phone(self, pattern: str) -> str:
        return "".join(str(self.rng.randint(0, 9)) if ch == "#" else ch for ch in pattern)

    def person(self, i: int, shop_customer: bool = True) -> Person:
        rng = self.rng
        firsts, lasts, _country, currency, phone_pattern = rng.choice(N.REGIONS)
        first, last = rng.choice(firsts), rng.choice(lasts)
        name = f"{first} {last}"
        slug_base = ascii_slug(f"{first}.{last}")
        roll = rng.random()
        if roll < 0.05:
            name, slug_base = rng.choice(N.NATIVE_NAMES)
            first = name.split()[0] if " " in name else name
        elif roll < 0.062:
            name = rng.choice(C.HOSTILE_NAMES)
            first, slug_base = "there", "eve.mallory"
        style = rng.random()
        if style < 0.5:
            local_base = slug_base
        elif style < 0.75:
            local_base = slug_base.split(".")[0][:1] + slug_base.split(".")[-1]
        else:
            local_base = f"{slug_base.replace('.', '_')}{rng.randint(1, 99)}"
        local = self.unique_local(local_base)
        email = f"{local}@{rng.choice(N.EMAIL_DOMAINS)}"
        phone = self.phone(phone_pattern) if rng.random() < 0.55 else ""
        p = Person(key=f"c{i:05d}", name=name, first=first, phone=phone, currency=currency,
                   email=Identity(Channel.EMAIL, email, display_name=name, phone=phone),
                   shop_customer=shop_customer)
        if shop_customer and rng.random() < 0.62:
            p.chat = self.chat_identity(p, local)
        if rng.random() < (0.42 if shop_customer else 1.0):
            p.social = self.social_identities(p, local)
        return p

    def chat_identity(self, p: Person, local: str) -> Identity:
        rng = self.rng
        roll = rng.random()
        if roll < 0.38:
            return Identity(Channel.CHAT, f"@{local}:{N.MATRIX_SERVER}", display_name=p.name, network="Matrix")
        if roll < 0.90 and not p.phone:
            p.phone = self.phone("+1 (555) 01#-####")
            p.email.phone = p.phone
        digits = "".join(ch for ch in p.phone if ch.isdigit())
        if roll < 0.68:
            return Identity(Channel.CHAT, f"@whatsapp_{digits}:{N.MATRIX_SERVER}", display_name=p.name,
                            phone=p.phone, network="WhatsApp")
        if roll < 0.80:
            return Identity(Channel.CHAT, f"@telegram_{rng.randint(10**8, 10**9 - 1)}:{N.MATRIX_SERVER}",
                            display_name=p.name, phone=p.phone, network="Telegram")
        if roll < 0.90:
            return Identity(Channel.CHAT, f"@signal_{rng.getrandbits(64):016x}:{N.MATRIX_SERVER}",
                            display_name=p.name, phone=p.phone, network="Signal")
        return Identity(Channel.CHAT, f"webchat-{rng.getrandbits(40):010x}", display_name=p.name, network="Web chat")

    def followers(self) -> tuple[int, bool]:
        rng = self.rng
        if rng.random() < 0.03:
            return rng.randint(20_000, 850_000), True
        return int(10 ** rng.uniform(0.6, 3.7)), rng.random() < 0.04

    def social_identities(self, p: Person, local: str) -> list[Identity]:
        rng = self.rng
        handle = local.replace(".", "_").replace("-", "_")[:24]
        out = []
        kinds = ["mastodon"] if rng.random() < 0.55 else ["bluesky"]
        if rng.random() < 0.12:
            kinds = ["mastodon", "bluesky"]
        for kind in kinds:
            followers, verified = self.followers()
            if kind == "mastodon":
                inst = rng.choice(N.MASTODON_INSTANCES)
                out.append(Identity(Channel.SOCIAL, f"@{handle}@{inst}", display_name=p.name, followers=followers,
                                    verified=verified, url=f"https://{inst}/@{handle}", network=inst))
            else:
                addr = f"{handle.replace('_', '-')}.bsky.social"
                out.append(Identity(Channel.SOCIAL, addr, display_name=p.name, followers=followers,
                                    verified=verified, url=f"https://bsky.app/profile/{addr}", network="Bluesky"))
        return out

    # -- orders

    def orders_for(self, p: Person) -> list[Order]:
        rng = self.rng
        out = []
        count = rng.choice((1, 1, 2, 2, 2, 3, 3, 4, 5))
        for _ in range(count):
            self.order_no += rng.randint(1, 9)
            age = rng.uniform(0.5, 200) if rng.random() < 0.6 else rng.uniform(0.5, 45)
            placed = self.now - timedelta(days=age, minutes=rng.randint(0, 1440))
            products = rng.sample(N.PRODUCTS, rng.choice((1, 1, 1, 2, 2, 3)))
            items, total = [], 0.0
            rate = N.CURRENCY_RATE[p.currency]
            for name, price in products:
                qty = 1 if rng.random() < 0.85 else 2
                items.append(f"{qty} × {name}")
                total += round(price * rate, 2) * qty
            if age < 2:
                status = rng.choice(("processing", "paid"))
            elif age < 6:
                status = rng.choice(("shipped", "shipped", "delivered"))
            else:
                status = rng.choice(N.ORDER_STATUSES[3:])
            number = f"NW-{self.order_no}"
            out.append(Order(remote_id=f"ord-{self.order_no}", number=number, customer=p.email, placed_at=placed,
                             total=round(total, 2), currency=p.currency, status=status, items=items))
        out.sort(key=lambda o: o.placed_at)
        return out

    # -- conversations

    def build(self) -> World:
        rng = self.rng
        people = [self.person(i) for i in range(self.n_customers)]
        prospects = [self.person(self.n_customers + i, shop_customer=False) for i in range(max(8, self.n_customers // 8))]
        orders: list[Order] = []
        customers: list[Customer] = []
        for p in people:
            p.orders = self.orders_for(p)
            orders.extend(p.orders)
            spent = sum(o.total for o in p.orders)
            tags = (["vip"] if spent > VIP_SPEND else []) + (["plus-member"] if rng.random() < 0.15 else [])
            idents = [p.email] + ([p.chat] if p.chat else []) + list(p.social)
            customers.append(Customer(remote_id=f"cus-{p.key[1:]}", name=p.name, identities=idents, tags=tags))
        articles = C.help_centre("https://help.northwind.example")

        pools = {ch: [p for p in people + prospects if p.on(ch)] for ch in CONVERSATION_CHANNELS}
        threads: dict[Channel, list[Thread]] = {ch: [] for ch in CONVERSATION_CHANNELS}
        messages: dict[str, list[Message]] = {}
        counters = {ch: 0 for ch in CONVERSATION_CHANNELS}
        topics, weights = C.TOPICS, [t.weight for t in C.TOPICS]
        hostile_left = list(C.HOSTILE_SNIPPETS)
        specials = {"html": 0, "auto_reply": 0, "bounce": 0}
        for i in range(self.n_conversations):
            channel = rng.choices(CONVERSATION_CHANNELS, CHANNEL_WEIGHTS)[0]
            if not pools[channel]:  # a tiny world may have nobody on chat or social
                channel = Channel.EMAIL
            person = rng.choice(pools[channel])
            topic = rng.choices(topics, weights)[0]
            while topic.needs_order and not person.orders:
                topic = rng.choices(topics, weights)[0]
            counters[channel] += 1
            rid = f"{PREFIX[channel]}-{counters[channel]:05d}"
            hostile = hostile_left.pop() if hostile_left and rng.random() < 0.02 + (i > self.n_conversations * 0.8) else None
            thread, msgs = self.conversation(rid, channel, person, topic, hostile, specials)
            threads[channel].append(thread)
            messages[rid] = msgs
        return World(seed=self.seed, now=self.now, people=people + prospects, customers=customers, orders=orders,
                     articles=articles, threads=threads, messages=messages)

    def values(self, person: Person, topic: C.Topic, agent: str, channel: Channel) -> dict:
        rng = self.rng
        order = rng.choice(person.orders[-3:]) if person.orders else None
        item = order.items[0].split(" × ", 1)[-1] if order else rng.choice(N.PRODUCTS)[0]
        handle = N.SHOP_HANDLE_MASTODON
        if person.social and person.social[0].network == "Bluesky":
            handle = "@" + N.SHOP_HANDLE_BLUESKY
        return {
            "first": person.first, "order": order.number if order else "", "item": item,
            "carrier": rng.choice(N.CARRIERS), "days": rng.randint(6, 19),
            "amount": money(order.total, order.currency) if order else "", "agent": agent, "shop": N.SHOP,
            "support": N.SUPPORT_EMAIL, "handle": handle,
        }

    def status_for(self, age_days: float) -> Status:
        r = self.rng.random()
        # Like a healthy team's queue: old work is mostly done, a little backlog remains.
        if age_days > 14:
            return Status.CLOSED if r < 0.93 else Status.PENDING if r < 0.98 else Status.OPEN
        if age_days > 3:
            return (Status.CLOSED if r < 0.55 else Status.PENDING if r < 0.8 else
                    Status.SNOOZED if r < 0.9 else Status.OPEN)
        return (Status.OPEN if r < 0.55 else Status.PENDING if r < 0.75 else
                Status.SNOOZED if r < 0.85 else Status.CLOSED)

    def conversation(self, rid: str, channel: Channel, person: Person, topic: C.Topic, hostile: str | None,
                     specials: dict) -> tuple[Thread, list[Message]]:
        rng = self.rng
        ident = person.on(channel)
        agent = rng.choice(N.AGENTS)
        v = self.values(person, topic, agent, channel)
        age = max(WINDOW_DAYS * (rng.random() ** 1.7), 0.03)  # at least ~45 minutes ago
        start = self.now - timedelta(days=age)
        status = self.status_for(age)
        visibility = ""
        detail = ""
        if channel == Channel.SOCIAL:
            visibility = "public" if rng.random() < 0.65 else "direct"
            detail = "mention" if visibility == "public" else "direct"
        elif channel == Channel.CHAT:
            detail = ident.network
        support = {Channel.EMAIL: N.SUPPORT_EMAIL, Channel.CHAT: N.SUPPORT_MATRIX,
                   Channel.SOCIAL: N.SHOP_HANDLE_BLUESKY if ident.network == "Bluesky" else N.SHOP_HANDLE_MASTODON}
        agent_ident = Identity(channel, support[channel], display_name=agent)

        # (direction, text, extra meta, attachments, author) in order; times are filled in below.
        turns: list[tuple[Direction, str, dict, list[Attachment], Identity]] = []
        subject = fill(rng.choice(topic.subjects), v)

        def inbound(text: str, meta: dict | None = None, atts: list[Attachment] | None = None) -> None:
            turns.append((Direction.INBOUND, text, dict(meta or {}), atts or [], ident))

        def outbound(text: str, meta: dict | None = None, atts: list[Attachment] | None = None) -> None:
            turns.append((Direction.OUTBOUND, text, dict(meta or {}), atts or [], agent_ident))

        base_meta = {"visibility": visibility} if visibility else {}
        reply = fill(rng.choice(topic.replies), v)
        follow = [fill(f, v) for f in topic.followups]
        last_follow = follow[-1] if len(follow) > 1 else ""  # the "thanks, solved" one
        open_follow = follow[:-1] or follow
        rng.shuffle(open_follow)

        def next_follow() -> str:
            return open_follow.pop() if len(open_follow) > 1 else open_follow[0]

        mention = ident.address if ident.address.startswith("@") else "@" + ident.address
        if channel == Channel.EMAIL:
            opener = fill(rng.choice(topic.openers), v)
            meta: dict = {}
            atts = []
            if topic.key in ("damaged_item", "warranty"):
                atts.append(Attachment("photo.jpg", "image/jpeg", rng.randint(900_000, 4_200_000), ref=f"{rid}/photo"))
            if rng.random() < 0.06 or (specials["html"] == 0 and topic.needs_order):
                html = fill(C.HTML_TEMPLATE, {**v, "greeting": "Hello,",
                                              "body": opener.split("\n\n")[1] if "\n\n" in opener else opener})
                opener, meta = html_to_text(html), {"html": True}
                specials["html"] += 1
            inbound(opener, meta, atts)
            rounds = rng.choice((0, 0, 1, 1, 2))
            for r in range(rounds):
                outbound(reply if r == 0 else fill(rng.choice(C.AGENT_FOLLOWUPS), v))
                quoted = "\n".join("> " + line if line else ">" for line in turns[-1][1].splitlines())
                inbound(f"{next_follow()}\n\nOn {QUOTE_DATE}, {agent} <{N.SUPPORT_EMAIL}> wrote:\n{quoted}")
        elif channel == Channel.CHAT:
            for line in rng.choice(topic.chat):
                inbound(fill(line, v))
            for r in range(rng.choice((0, 1, 1, 2))):
                outbound(chat_line(reply) if r == 0 else "Let me check that for you, one moment please.")
                inbound(next_follow().split("\n")[0])
        else:
            if visibility == "public":
                inbound(fill(rng.choice(topic.social), v), base_meta)
                if rng.random() < 0.5:
                    outbound(f"{mention} Thanks for reaching out! We've sent you a direct message so we can "
                             "sort this out.", base_meta)
                    if rng.random() < 0.4:
                        inbound("thanks, replied there", base_meta)
            else:
                inbound(shorten(chat_line(fill(rng.choice(topic.openers), v))), base_meta)
                if rng.random() < 0.6:
                    outbound(chat_line(reply), base_meta)
                    inbound(next_follow(), base_meta)
            subject = shorten(turns[0][1].split("\n")[0], 80)
        if channel == Channel.CHAT:
            burst = [t[1] for t in turns if t[0] == Direction.INBOUND][:3]
            subject = shorten(next((b for b in burst if len(b) > 14), " · ".join(burst)), 80)

        if hostile:
            d, text, meta, atts, who = turns[0]
            turns[0] = (d, f"{text}\n{hostile}", meta, atts, who)

        # Close the conversation according to its status.
        replied = any(t[0] == Direction.OUTBOUND for t in turns)
        if replied:
            out_text = fill(C.AGENT_FOLLOWUPS[0 if status != Status.CLOSED else 1], v)
        else:
            out_text = reply
        if channel != Channel.EMAIL:
            out_text = chat_line(out_text)
            if visibility == "public":
                out_text = f"{mention} " + shorten(out_text, 200)
        if status == Status.PENDING or status == Status.SNOOZED:
            if turns[-1][0] == Direction.INBOUND:
                outbound(out_text, base_meta)
        elif status == Status.CLOSED:
            if turns[-1][0] == Direction.INBOUND:
                outbound(out_text, base_meta)
            if rng.random() < 0.6:
                inbound(last_follow if last_follow and rng.random() < 0.5 else rng.choice(C.THANKS), base_meta)
                if rng.random() < 0.5:
                    outbound(fill(C.AGENT_FOLLOWUPS[2], v) if channel == Channel.EMAIL else "You're welcome! 😊",
                             base_meta)
        if channel == Channel.EMAIL and status in (Status.PENDING, Status.CLOSED) and turns[-1][0] == Direction.OUTBOUND:
            if specials["auto_reply"] < 6 and rng.random() < 0.05 + (specials["auto_reply"] == 0) * 0.5:
                specials["auto_reply"] += 1
                back = (self.now + timedelta(days=rng.randint(3, 12))).strftime("%d %B")
                turns.append((Direction.INBOUND, fill(C.AUTO_REPLY, {**v, "date": back}), {"auto_reply": True}, [],
                              ident))
            elif specials["bounce"] < 3 and rng.random() < 0.03 + (specials["bounce"] == 0) * 0.5:
                specials["bounce"] += 1
                domain = ident.address.split("@", 1)[1]
                quoted = "\n".join("> " + ln for ln in turns[-1][1].splitlines()[:6])
                daemon = Identity(Channel.EMAIL, f"MAILER-DAEMON@mx.{domain}", display_name="Mail Delivery System")
                turns.append((Direction.INBOUND, fill(C.BOUNCE, {"address": ident.address, "domain": domain,
                                                                 "quoted": quoted}), {"bounce": True}, [], daemon))
        if channel == Channel.EMAIL and topic.key == "invoice_request":
            for k, t in enumerate(turns):
                if t[0] == Direction.OUTBOUND:
                    turns[k] = (t[0], t[1], t[2],
                                [Attachment("invoice.pdf", "application/pdf", rng.randint(40_000, 180_000),
                                            ref=f"{rid}/invoice")], t[4])
                    break

        # Times: conversation starts at ``start``; gaps depend on the channel; all before now.
        gaps = {Channel.EMAIL: (1200, 60_000), Channel.CHAT: (20, 600), Channel.SOCIAL: (600, 20_000)}[channel]
        times = [0.0]
        for k in range(1, len(turns)):
            same_side = turns[k][0] == turns[k - 1][0]
            times.append(times[-1] + (rng.uniform(5, 40) if same_side and channel != Channel.EMAIL
                                      else rng.uniform(*gaps)))
        room = (self.now - start).total_seconds() - 120
        if times[-1] > room:
            times = [t * room / times[-1] for t in times]
        msgs: list[Message] = []
        for k, ((direction, text, meta, atts, who), t) in enumerate(zip(turns, times)):
            if QUOTE_DATE in text and msgs:
                text = text.replace(QUOTE_DATE, msgs[-1].sent_at.strftime("%a, %d %b %Y at %H:%M"))
            msgs.append(Message(remote_id=f"{rid}.{k + 1}", thread_remote_id=rid, direction=direction, author=who,
                                sent_at=start + timedelta(seconds=t), text=text, attachments=atts, meta=meta))
        if status == Status.OPEN and msgs[-1].direction == Direction.INBOUND and not msgs[-1].meta.get("auto_reply"):
            since = waiting_since(msgs)
            vip = sum(o.total for o in person.orders) > VIP_SPEND
            if rng.random() < STILL_WAITING:
                # Still waiting on us: moved to start waiting a moment ago, as a good day's mix has it.
                moved = team.waiting_age(rng, self.now, channel, ident.network, vip) - (msgs[-1].sent_at - since)
                msgs = [replace(m, sent_at=m.sent_at + (moved - since)) for m in msgs]
            else:  # a teammate got to it already: now it waits on the customer
                answered = team.answer_at(self.seed, rid, since, channel, ident.network, vip)
                answered = min(max(answered, msgs[-1].sent_at + timedelta(seconds=30)), self.now)
                text = team.reply_text(channel, person.first, agent)
                msgs.append(Message(remote_id=f"{rid}.{len(msgs) + 1}", thread_remote_id=rid,
                                    direction=Direction.OUTBOUND, author=agent_ident, sent_at=answered,
                                    text=f"{mention} {text}" if visibility == "public" else text, meta=dict(base_meta)))
                status = Status.PENDING
        last = msgs[-1].sent_at
        assignee = None
        if status == Status.CLOSED and rng.random() < 0.7:
            assignee = agent
        elif status != Status.CLOSED and rng.random() < 0.08:
            assignee = agent
        snoozed_until = None
        if status == Status.SNOOZED:
            snoozed_until = self.now + timedelta(hours=rng.randint(2, 96))
        unread = status == Status.OPEN and msgs[-1].direction == Direction.INBOUND and rng.random() < 0.85
        thread = Thread(remote_id=rid, channel=channel, subject=subject, customer=ident, last_message_at=last,
                        channel_detail=detail, status=status, assignee=assignee, unread=unread,
                        snoozed_until=snoozed_until,
                        meta={"network": ident.network} if ident.network else {})
        return thread, msgs


def waiting_since(msgs: list[Message]) -> datetime:
    """When the customer started waiting: their first message after our last answer."""
    start = msgs[-1].sent_at
    for m in reversed(msgs):
        if m.direction != Direction.INBOUND:
            break
        start = m.sent_at
    return start


# --------------------------------------------------------------------------- the live stream


def live_event(world: World, channel: Channel, k: int, at: datetime, tag: str = "") -> tuple[Thread, Message]:
    """The ``k``-th live inbound message on ``channel`` (deterministic content, sent at ``at``).

    ``tag`` goes into the remote ids so the streams of separate in-memory runs never collide.

    Either a follow-up on one of the world's open conversations or a new conversation
    from an existing customer or a new one.
    """
    rng = random.Random(f"{world.seed}/{channel.value}/live/{k}")
    waiting = [t for t in world.threads[channel] if t.status in (Status.OPEN, Status.PENDING)]
    if waiting and rng.random() < 0.55:
        base = rng.choice(waiting)
        thread = Thread(remote_id=base.remote_id, channel=channel, subject=base.subject, customer=base.customer,
                        last_message_at=at, channel_detail=base.channel_detail, meta=dict(base.meta))
        text = rng.choice(C.FOLLOWUP_NUDGES)
        meta = {"visibility": "public" if base.channel_detail == "mention" else "direct"} \
            if channel == Channel.SOCIAL else {}
        msg = Message(remote_id=f"live-{tag}{k}", thread_remote_id=base.remote_id, direction=Direction.INBOUND,
                      author=base.customer, sent_at=at, text=text, meta=meta)
        return thread, msg
    candidates = [p for p in world.people if p.on(channel)]
    if not candidates:
        candidates = [p for p in world.people if p.shop_customer]
        channel = Channel.EMAIL if not candidates[0].on(channel) else channel
    person = rng.choice(candidates)
    ident = person.on(channel)
    topic = rng.choice([t for t in C.TOPICS if person.orders or not t.needs_order])
    order = rng.choice(person.orders) if person.orders else None
    v = {"first": person.first, "order": order.number if order else "", "carrier": rng.choice(N.CARRIERS),
         "item": order.items[0].split(" × ", 1)[-1] if order else rng.choice(N.PRODUCTS)[0],
         "days": rng.randint(5, 15), "amount": money(order.total, order.currency) if order else "",
         "handle": N.SHOP_HANDLE_MASTODON}
    rid = f"live-{PREFIX[channel]}-{tag}{k}"
    meta: dict = {}
    detail = ""
    if channel == Channel.EMAIL:
        text, subject = fill(rng.choice(topic.openers), v), fill(rng.choice(topic.subjects), v)
    elif channel == Channel.CHAT:
        text = " ".join(fill(x, v) for x in rng.choice(topic.chat))
        subject, detail = text[:80], ident.network
    else:
        text = fill(rng.choice(topic.social), v)
        subject, detail, meta = text[:80], "mention", {"visibility": "public"}
    thread = Thread(remote_id=rid, channel=channel, subject=subject, customer=ident, last_message_at=at,
                    channel_detail=detail, status=Status.OPEN, unread=True,
                    meta={"network": ident.network} if ident.network else {})
    msg = Message(remote_id=f"live-{tag}{k}", thread_remote_id=rid, direction=Direction.INBOUND, author=ident,
                  sent_at=at, text=text, meta=meta)
    return thread, msg
