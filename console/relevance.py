"""How well a help article answers a customer's words: the ranking behind suggested answers.

Customers rarely use the article's words ("my delivery is MIA" means tracking, "P&P"
means shipping costs). Both sides are read the same way: phrases customers use are
rewritten to one concept word (``PHRASES``), words are stemmed (Snowball, English),
and stems that mean the same are folded together (``SYNONYMS``). Articles are scored
BM25-style with their own weights for title, tags and body, and for the questions agents
answered with the article (learned from what they inserted); the query's words can carry
weights too (the latest message counts more than the subject or earlier ones).

``Index.rank`` returns each article's score and a *confidence*: the share of the
query's weight (by inverse document frequency) that the article's own words match (what
agents inserted raises an article that fits; it cannot make one fit). Words the
knowledge base has never seen count against it, so "do you sell bikes?" matches
nothing well and is not shown.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

# "asked": the questions of conversations an agent answered with the article (learned from insertions).
FIELD_WEIGHTS = {"title": 5.0, "tags": 2.5, "body": 1.0, "asked": 1.5}
OWN_FIELDS = ("title", "tags", "body")  # only the article's own words count towards its confidence
K1 = 1.2
B = 0.5

# Phrases customers use for one thing, rewritten to a concept word before stemming. Written from how
# people talk about orders, never from one test sentence. Order matters: longer phrases first.
PHRASES: tuple[tuple[str, str], ...] = (
    (r"p ?& ?p|p and p|postage(?: and packing)?|shipping (?:costs?|fees?|charges?|price)|"
     r"delivery (?:costs?|fees?|charges?|price)|cost to (?:ship|deliver)|pay for (?:shipping|delivery)", "shipcost"),
    (r"e-?gift(?: ?cards?| ?codes?)?|gift ?cards?|gift (?:vouchers?|codes?|certificates?)|vouchers?", "giftcard"),
    (r"click (?:and|&|n) collect|pick(?:ing)? (?:it |them )?up in (?:the )?(?:store|shop)|collect in (?:store|shop)|"
     r"opening (?:hours|times)|(?:store|shop) (?:hours|times|close|closes|open|opens)", "storevisit"),
    (r"two[- ]?(?:step|factor)(?: verification| authentication)?|2fa|authenticator(?: app)?|"
     r"(?:login|log-in|sign-in|verification|security) codes?|backup codes?", "twofactor"),
    (r"sign(?:ing)? in|log(?:ging)? ?in|login|pw|passwords?|locked out|reset (?:link|email)", "signin"),
    (r"(?:billed|charged|paid|taken|payments?|charges?)\b[\w ]{0,25}?\b(?:twice|2x|two times|double)|"
     r"double[- ]?(?:charged|charge|payment|billed)|duplicate (?:charge|payment)|two (?:payments|charges)|"
     r"same (?:amount|payment|charge) (?:taken )?twice|pending charge|authori[sz]ation hold", "doublecharge"),
    (r"amex|american express|visa|mastercard|paypal|apple ?pay|google ?pay|klarna|bank transfer|"
     r"pay (?:with|by|using)|payment (?:methods?|options?)|(?:cards?|payment) (?:do you|can i) (?:take|accept|use)|"
     r"what cards", "paymethod"),
    (r"money back|(?:my|the) money|reimburs\w*|refunds?|refunded", "refund"),
    (r"(?:send|sent|sending) (?:it |them |something |this |that )?back|post(?:ing)? (?:it |them )?back|returns?|returning|"
     r"returned", "return"),
    (r"swap\w*|exchang\w*|(?:next|bigger|smaller|larger|different|wrong) size|size (?:up|down)|half a size|"
     r"too (?:small|big|large|tight|loose|short|long)|(?:doesn'?t|does not|don'?t|do not) fit|"
     r"(?:different|another) colou?r", "exchange"),
    (r"size (?:chart|guide)|(?:come|comes|run|runs|fit|fits) (?:up )?(?:small|large|big|true)|true to size|"
     r"what size|which size", "sizeguide"),
    (r"abort\w*|call(?:ed|ing)? off|stop (?:my|the) order|changed? my mind|cancel\w*", "cancel"),
    (r"never (?:worn|used|opened)|unworn|unused|unopened|(?:with |still has )?(?:the )?tags (?:still )?on", "unused"),
    (r"\bmia\b|missing in action|lost in (?:transit|the post|the mail)|where(?:'s| is|s)? (?:my|the|it)|"
     r"hasn'?t (?:arrived|come|moved|updated)|not (?:arrived|turned up|moved|updated)|still (?:nothing|not here)|"
     r"(?:supposed|meant|due) to (?:arrive|come|be delivered)|"
     r"no sign|on its way|in transit|tracking", "track"),
    (r"(?:weren'?t|wasn'?t|were not|was not|not) in the (?:box|parcel|package)|half (?:my|the) order|"
     r"only got (?:one|1|part)|missing (?:items?|from)|items? (?:is |are )?missing", "missingitem"),
    (r"add(?:ing)? (?:\w+ ){0,3}to (?:my|the|an|your) order|forgot to (?:add|order)|change the (?:quantity|items?)|"
     r"edit\w* (?:my |the |an |your )?orders?|orders? (?:cannot|can't) be edited|amend\w*", "amendorder"),
    (r"on sale|price (?:drop\w*|went down|match\w*)|dropped in price|got cheaper|the difference|"
     r"promo(?:tion)?s?(?:al)?(?: codes?)?|discounts?(?: codes?)?|coupons?", "promotion"),
    (r"gdpr|(?:personal|my) (?:data|details|info\w*)|get rid of my account|erase\w*|delete\w*", "privacy"),
    (r"phone number|call you|(?:talk|speak) to (?:a |an )?(?:real )?(?:person|human|someone|agent)|"
     r"get hold of|customer service|reply to emails|reach you", "contact"),
    (r"recall\w*|safety (?:issue|notice|problem|warning)s?|unsafe", "recall"),
    (r"smashed|cracked|crushed|damag\w*|faulty|doesn'?t turn on|dead on arrival|scratch\w*|dented|leaked", "damaged"),
    (r"guarantee\w*|warrant\w*|wear and tear", "warranty"),
    (r"moved (?:house|home)?|new (?:place|address|flat|house)|wrong (?:street|address|postcode)|"
     r"work address|address", "address"),
    (r"receipts?|bills?|invoic\w*|vat", "invoice"),
    (r"memberships?|subscriptions?|renew\w*|outfitters plus|plus", "membership"),
    (r"overseas|abroad|internationa\w*|import (?:duty|tax|fees?)|duties|customs", "international"),
    (r"wash\w*|dryer|tumble|reproof\w*|beading|rain jacket|shell", "garmentcare"),
)
# Stems that mean the same thing here (after stemming; the first of each group stands for all).
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("parcel", "packag", "shipment"),
    ("deliveri", "ship", "postag", "despatch", "dispatch"),
    ("broken", "broke", "break"),
    ("jacket", "coat"),
    ("shoe", "boot", "trainer", "sneaker"),
    ("store", "shop"),
    ("quick", "fast", "speedi", "soon"),
)
STOP_WORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below between both
but by can cannot could did do does doing down during each few for from further get got had has have having he her
here hers him his how i if in into is it its itself just me more most my myself no nor not now of off on once only
or other our ours out over own same she should so some such than that the their theirs them then there these they
this those through to too under until up very was we were what when where which while who whom why will with would
you your yours yourself hi hello hey dear thanks thank please regards cheers team help im ive dont cant wont didnt
doesnt isnt wasnt youre thats whats still yet already like want need know think really one way thing things
anything something ok okay yes yeah sure via ago since tell told say ask asked lot much many even ever every
order ordered orders item items stuff two three four five six ten instead possible actually usually just forgot maybe
somehow anyway also ago soon asap today tomorrow yesterday week weeks month months see placed place
""".split())
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
# Addresses, links and codes (order numbers, tracking numbers) name no topic.
_NOISE = re.compile(r"\S+@\S+|@[\w.-]+|\bhttps?://\S+|\bwww\.\S+|\b[\w-]*\d{3,}[\w-]*\b")
CONCEPT = "x0"  # concept words start with this, so no real word stems into one
_PHRASES = tuple((re.compile(rf"(?<![\w']){pattern}(?![\w'])", re.I), CONCEPT + word) for pattern, word in PHRASES)
_CONCEPTS = frozenset(word for _, word in _PHRASES)
_FOLD = {stem: group[0] for group in SYNONYMS for stem in group}


@lru_cache(maxsize=1)
def _stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=50_000)
def _stem(word: str) -> str:
    if word in _CONCEPTS:
        return word
    stem = _stemmer().stemWord(word)
    return _FOLD.get(stem, stem)


def analyse(text: str, keep_words: bool = False) -> list[tuple[str, str]]:
    """(term, the word it came from) for each meaningful word of ``text``, in order.

    A phrase becomes its concept; an article (``keep_words``) keeps the phrase's own words
    as well, so "Size guide" is found by "size" and by "does it run small".
    """
    out = []
    text = _NOISE.sub(" ", text)
    said: dict[str, str] = {}  # concept -> the customer's first phrase for it
    for pattern, concept in _PHRASES:
        def swap(m: re.Match, c: str = concept) -> str:
            said.setdefault(c, m.group(0))
            return f" {m.group(0)} {c} " if keep_words else f" {c} "
        text = pattern.sub(swap, text)
    for raw in _WORD.findall(text.lower()):
        word = raw.replace("'", "")
        if len(word) < 2 or word in STOP_WORDS or raw in STOP_WORDS or word.isdigit():
            continue
        out.append((_stem(word), said.get(raw, raw)))
    return out


@dataclass
class Doc:
    key: int
    fields: dict[str, Counter]
    length: dict[str, int]


@dataclass
class Match:
    key: int
    score: float
    confidence: float  # 0 … 1: share of the query's weight this article matches
    terms: tuple[str, ...]  # the customer's words that matched


@dataclass
class Index:
    docs: list[Doc] = field(default_factory=list)
    df: Counter = field(default_factory=Counter)
    avg: dict[str, float] = field(default_factory=dict)

    @classmethod
    def build(cls, articles: list[tuple[int, str, str, list[str]]], asked: dict[int, list[str]] | None = None) -> Index:
        """From (key, title, body, tags) rows, and per key the questions it was inserted for."""
        index = cls()
        asked = asked or {}
        for key, title, body, tags in articles:
            fields = {"title": Counter(t for t, _ in analyse(title, keep_words=True)),
                      "tags": Counter(t for t, _ in analyse(" . ".join(tags), keep_words=True)),
                      "body": Counter(t for t, _ in analyse(body, keep_words=True)),
                      "asked": Counter(t for q in asked.get(key, ()) for t in {t for t, _ in analyse(q)})}
            doc = Doc(key, fields, {f: sum(c.values()) for f, c in fields.items()})
            index.docs.append(doc)
            index.df.update(set().union(*fields.values()))
        n = max(1, len(index.docs))
        index.avg = {f: sum(d.length[f] for d in index.docs) / n or 1.0 for f in FIELD_WEIGHTS}
        return index

    def idf(self, term: str) -> float:
        n, df = len(self.docs), self.df.get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def rank(self, query: list[tuple[str, str, float]], limit: int) -> list[Match]:
        """Best articles for weighted query terms (term, customer's word, weight), best first."""
        weights: dict[str, float] = {}
        words: dict[str, str] = {}
        for term, word, w in query:
            if w > weights.get(term, 0.0):
                weights[term] = w
            words.setdefault(term, word)
        if not weights or not self.docs:
            return []
        idf = {t: self.idf(t) for t in weights}
        total = sum(idf[t] * w for t, w in weights.items())
        out = []
        for doc in self.docs:
            score, matched, hit = 0.0, 0.0, []
            for term, w in weights.items():
                tf = sum(FIELD_WEIGHTS[f] * doc.fields[f][term] /
                         (1 - B + B * doc.length[f] / self.avg[f]) for f in FIELD_WEIGHTS if doc.fields[f][term])
                if tf:
                    score += w * idf[term] * tf * (K1 + 1) / (tf + K1)
                    if any(doc.fields[f][term] for f in OWN_FIELDS):  # learning reorders, it never vouches
                        matched += w * idf[term]
                        hit.append(words[term])
            if score > 0:
                out.append(Match(doc.key, round(score, 4), round(matched / total, 4) if total else 0.0, tuple(hit)))
        out.sort(key=lambda m: (-m.score, m.key))
        return out[:limit]
