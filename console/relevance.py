"""How well a help article answers a customer's words: the ranking behind suggested answers.

Customers rarely use the article's words ("my delivery is MIA" means tracking, "P&P"
means shipping costs). An article brings its title, tags and body, and the other ways
customers ask what it answers (its questions); what agents inserted it for is learned
beside them. Words: both sides are read the same way — common misspellings are read as
the word meant (``SPELLINGS``: "adress", "recieved"), phrases customers use are rewritten
to one concept word (``PHRASES``), words are stemmed (Snowball, English), and stems that
mean the same are folded together (``SYNONYMS``). Articles are scored BM25-style with
their own weights for title, tags, body, questions and learned questions; the query's
words can carry weights too (the latest message counts more than the subject or earlier
ones). Meaning: the question is compared with each of the article's questions as
sentence vectors (``console.meaning``), and the nearest one's likeness adds to the score.

A concept is what the customer asks about, so it counts more than the things named
beside it ("exchange" over "jacket"), and counts fully in an article's title and tags
but little in its body (a passing mention). Where a question names a specific need
beside a general one (a refund beside a return), the general one counts half
(``NARROWS``).

``Index.rank`` returns each article's score and what of the question its own words carry
(``Evidence``: the share of the query's weight, by inverse document frequency, that they
match). Words the knowledge base has never seen count against it, so "do you sell bikes?"
matches nothing well and is not shown; one shared noun, or words the article only
mentions in passing, are no evidence either ("are your jackets vegan?", "is your website
down?"); words found only in the article's questions are evidence when the meaning agrees
(``Match.fits``). A long message needs less likeness than a short one: greetings and background
spread its meaning. What agents inserted raises an article that fits; it never makes one fit.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from console import meaning

# "questions": the other ways customers ask what the article answers, written with it (the article's own
# words); "asked": the questions of conversations an agent answered with the article (learned from insertions).
FIELD_WEIGHTS = {"title": 5.0, "tags": 2.5, "body": 1.0, "questions": 1.5, "asked": 1.5}
# A concept in an article's title, tags or questions is what it is about; in its body it is often a passing
# mention ("…contact us with the code and the receipt" in the gift-card article).
CONCEPT_FIELD_WEIGHTS = {"title": 5.0, "tags": 2.5, "body": 0.4, "questions": 1.5, "asked": 1.5}
# A word in this share of an article's questions is what it answers, as a word of its title is.
QUESTION_SHARE = 0.1
# A word the questions of more articles than this use names the situation, not the need ("my boots").
SPREAD = 12
# A concept is what the customer asks about ("exchange"); the things named beside it ("jacket") count for less.
CONCEPT_WEIGHT = 2.5
# Where a question names a specific need beside a general one, the specific one is the question ("I sent my
# return back, when is my refund?" asks about the refund): the general concept then counts half.
NARROWS = {"refund": ("return", "shipcost"), "return": ("cancel",), "exchange": ("return", "sizeguide", "cancel"), "warranty": ("damaged",),
           "address": ("track",), "missingitem": ("track",), "doublecharge": ("refund", "paymethod"),
           "twofactor": ("signin", "damaged"), "membership": ("cancel",), "international": ("shipcost",),
           # a code or a login that "isn't working" is no damaged item
           "promotion": ("damaged", "warranty"), "giftcard": ("damaged",), "signin": ("damaged",)}
SURE = 0.45  # a share of the question's weight that shows an article on one matching word of its title or tags
PASSING = 0.3  # the share two words found only in an article's body must reach ("best time of year" is no answer)
# Meaning (``console.meaning``): the likeness to an article's nearest question adds this much to its score
# (words give the best article 1); a likeness of NEAR shows the article whatever its words, and one of AGREE
# lets words found only in its questions show it.
MEANING_WEIGHT = 3.0
NEAR = 0.7
AGREE = 0.4
# A long message's meaning is spread over greetings and background, so its likeness to any one short question
# is lower: the likeness an article needs falls with the message's length (natural log of its words) and with
# what its words show. Shown when near + HEARD_SHARE·share + LENGTH·ln(words) + ENOUGH·(words are evidence)
# reaches LIKELY; fitted (logistic) on the labelled questions that were read while tuning.
LIKELY, HEARD_SHARE, LENGTH, ENOUGH = 1.5, 0.65, 0.25, 0.3
# From this many words on, words found only in an article's questions count in that rule without the meaning
# agreeing (a long message's likeness says too little); in a shorter one they count only where it agrees.
LONG = 12
LEARNED_WEIGHT = 1.0  # the likeness to the nearest question an agent answered with the article (it never shows one)
K1 = 1.2
B = 0.5

# Phrases customers use for one thing, rewritten to a concept word before stemming. Written from how
# people talk about orders, never from one test sentence. Order matters: longer phrases first, and a specific
# need before the general one it contains ("one item didn't come" is a missing item, not a late parcel).
PHRASES: tuple[tuple[str, str], ...] = (
    (r"p ?& ?p|p and p|postage(?: and packing)?(?: costs?)?|shipping (?:costs?|fees?|charges?|price|rates?)|"
     r"delivery (?:costs?|fees?|charges?|price|rates?|times?|options?)|cost to (?:ship|deliver|post)|"
     r"pay (?:for |extra for )?(?:shipping|delivery|postage)|(?:delivery|shipping|postage) (?:is |be )?free|minimum spend|"
     r"(?:spend|orders?) over|(?:get|have) (?:it |them )?(?:shipped|posted|delivered)|charge (?:\w+ )?to (?:deliver|ship|post|send)|charge (?:\w+ )?for (?:delivery|shipping|postage)|"
     r"(?:quickest|fastest|cheapest|earliest|speediest) (?:delivery|shipping|postage|option|service|way to get)|"
     r"(?:how much|price|cost) (?:is|are|for|of) (?:the )?(?:express|next[- ]day|standard|tracked|signed[- ]for)\b|cost of (?:delivery|shipping|postage)|(?:if|when) i order (?:today|tonight|now)|"
     r"(?:get|arrive|be) (?:to me |here |with me )?(?:by|before) (?:the weekend|\w+day|christmas|tomorrow|next week)|free (?:shipping|delivery|postage)|express (?:shipping|delivery)|"
     r"next[- ]day(?: delivery)?|how (?:long|quick|quickly|fast|soon|many days)\b[^.?!]{0,30}\b(?:deliver\w*|ship\w*|post|"
     r"dispatch\w*|arrive|take to come|get here|get (?:it |them |\w+ |an? \w+ )?to me|reach me|be with me)|standard (?:shipping|delivery)|"
     r"(?:extra|additional) (?:charges?|fees?|costs?) (?:for|on) (?:delivery|shipping|postage)", "shipcost"),
    (r"e-?gift(?: ?cards?| ?codes?)?|gift ?cards?|gift (?:vouchers?|codes?|certificates?)|vouchers?", "giftcard"),
    (r"click (?:and|&|n) collect|pick(?:ing)? (?:it |them |my order |\w+ )?up (?:in|at|from) (?:the |a |your )?(?:store|shop)|"
     r"collect (?:it |them |my order )?(?:in|at|from) (?:the |a |your )?(?:store|shop)|"
     r"pick(?:ing)? up (?:\w+ ){0,3}(?:in|at|from) (?:the |a |your )?(?:\w+ )?(?:store|shop)|"
     r"opening (?:hours|times)|(?:store|shop) (?:hours|times|close|closes|open|opens)|"
     r"(?:what time|when) (?:do|does) (?:you|the (?:store|shop)|your (?:store|shop)) (?:open|close|shut)|open (?:late |early )?(?:on )?(?:\w+days?|weekends?|bank holidays?)|(?:open|close|shut) (?:late|early)", "storevisit"),
    (r"two[- ]?(?:step|factor)(?: verification| authentication)?|2fa|authenticator(?: app)?|"
     r"(?:login|log-in|sign-in|verification|security|6[- ]digit) codes?|backup codes?|new phone|lost my phone|changed? (?:my )?phones?", "twofactor"),
    (r"sign(?:ing)? (?:in|on)(?:to)?|log(?:ging)? ?(?:in|on)(?:to)?|login|pw|passwords?|locked out|reset (?:link|email)|"
     r"(?:can'?t|cannot|unable to) (?:get into|access) my account|logg?(?:ed|ing)? (?:me )?out|can'?t get (?:back )?in\b|account (?:is |got |has been |was )?locked|too many (?:attempts|tries)", "signin"),
    (r"(?:billed|charged|paid|taken|payments?|charges?)\b[\w ]{0,25}?\b(?:twice|2x|two times|double)|"
     r"double[- ]?(?:charged|charge|payment|billed)|duplicate (?:charge|payment|transaction)s?|two (?:\w+ )?(?:payments|charges|transactions)|identical (?:payments|charges|transactions)|"
     r"same (?:amount|payment|charge) (?:taken )?twice|pending (?:charge|payment)|temporary (?:charge|hold|payment)|pre-?authori[sz]ation|authori[sz]ation hold|"
     r"(?:charged|billed) (?:me )?(?:again|two|2)", "doublecharge"),
    (r"amex|american express|visa|mastercard|maestro|discover|diners club|jcb|union ?pay|buy now,? pay later|paypal|apple ?pay|google ?pay|klarna|bank transfer|debit cards?|credit cards?|"
     r"pay (?:with|by|using|in instalments)|payment (?:methods?|options?)|(?:cards?|payment) (?:do you|can i) (?:take|accept|use)|"
     r"what cards|ways to pay|instalments", "paymethod"),
    (r"money back|(?:my|the|your|our|no|see|get) money|reimburs\w*|refunds?|refunded|paid back|credited back|credit (?:it )?back|"
     r"(?:back|come through|arrive|appear\w*|show up|hit|reach) (?:on|in|to) my (?:card|account|bank|statement)|store credit", "refund"),
    (r"(?:send|sent|sending|ship|post|posting|take|bring) (?:\w+ ){0,3}back|returns?|returning|"
     r"returned|return label|drop (?:it |them )?off|return window|time limit", "return"),
    (r"swap\w*|exchang\w*|(?:change|trade) (?:it|them|these|this|those)(?: in)? for|(?:change|trade) (?:\w+ ){0,3}for (?:a |an |the )?(?:\w+ )?(?:size|colou?r)\b|trade (?:\w+ ){0,2}in|(?:next|bigger|smaller|larger|different|wrong|another|other) sizes?|size (?:up|down|bigger|smaller|larger)|"
     r"half (?:a )?size (?:up|down|bigger|smaller|larger)|"
     r"(?:too|a bit|a little|slightly|very|quite|far too|way too|really) (?:small|big|large|tight|loose|short|long|narrow|wide)|"
     r"(?:doesn'?t|does not|don'?t|do not|didn'?t) fit|"
     r"(?:different|another|other) colou?rs?|(?:a|the) (?:smaller|bigger|larger) one", "exchange"),
    (r"size (?:chart|guide)|(?:come|comes|run|runs|fit|fits|sized) (?:up )?(?:small|large|big|true|narrow|wide|long|short|tight|loose)|true to size|"
     r"what size|which size|between (?:two )?sizes|measure\w*|sizing|"
     r"(?:small|medium|large|xs|xl|xxl|s|m|l|\d+) (?:and|or) (?:a |an )?(?:small|medium|large|xs|xl|xxl|s|m|l|\d+)\b", "sizeguide"),
    (r"abort\w*|call(?:ed|ing)? off|stop (?:my|the|this) (?:order|purchase)|changed? my mind|cancel\w*|"
     r"(?:don'?t|do not|no longer) (?:want|need) (?:it|them|the order|this order)(?: any ?more)?|"
     r"ordered (?:it |this |them )?(?:twice|by (?:mistake|accident))|"
     r"(?:ordered|placed|made|bought|purchased|clicked \w+) (?:\w+ ){0,3}by (?:mistake|accident)|"
     r"stop (?:it|my order|the order|this order|the purchase)\b", "cancel"),
    (r"never (?:worn|used|opened)|unworn|unused|unopened|(?:with |still has )?(?:the )?tags (?:still )?on", "unused"),
    (r"moved (?:house|home|flat|address)|(?:i|we)(?:'ve| have)? (?:just )?moved|new (?:place|address|flat|house)|wrong (?:street|address|postcode|house number)|"
     r"(?:my|delivery|shipping|postal|home|new|old|wrong|different|billing|work|correct|right|full) address|"
     r"address (?:on|for|of) (?:my|the|this) (?:order|parcel|delivery)|(?:change|update|correct|fix)\w* (?:\w+ ){0,2}address|postcode|post code|zip code|house number|flat number|"
     r"(?:deliver|send|ship|redirect|post)\w* (?:\w+ ){0,2}to (?:a |my |the )?(?:different|another|new(?! zealand| york| jersey)|other|work|office|neighbour|friend|"
     r"parents'?|mum|dad)|instead of (?:my )?(?:home|house)|"
     r"where (?:my |the )?(?:\w+ )?(?:is|gets|will be) (?:being )?(?:sent|going|delivered|shipped)|redirect\w*", "address"),
    (r"(?:weren'?t|wasn'?t|were not|was not|not|isn'?t|aren'?t) (?:in|inside) (?:it|the (?:box|parcel|package|bag))|half (?:my|the) order|"
     r"only (?:got|received|came with) (?:\d+|one|two|three|part|some|half)(?: of (?:the|my)? ?\d*)?|missing (?:items?|from)|items? (?:is |are |was |were )?missing|(?<!parcel )(?<!package )(?<!order )(?<!delivery )(?<!it )(?:are|were) missing|"
     r"(?:something|one thing|part of (?:my|the) order) (?:is |was )?missing|incomplete|(?:came|arrived|turned up) without|"
     r"(?:wasn'?t|weren'?t|was not|were not) included|(?:didn'?t|did not) include|left out|"
     r"only (?:half|part|some|one|1|two|2)(?: of)?(?: my| the)?(?: order| items?| parcel| things)? (?:came|arrived|turned up|was delivered)|"
     r"the rest (?:of (?:my|the) order)?|not (?:everything|all of it|all (?:of )?(?:my|the) (?:items|order|things))|"
     r"(?:one|two|some|part|half) of (?:the|my) (?:\w+ )?(?:items|things|products) (?:in (?:my|the) (?:order|parcel|box) )?"
     r"(?:didn'?t|did not|never|hasn'?t|has not|"
     r"wasn'?t|weren'?t|is|are|was|were) (?:arrive|come|missing|turn up|there|in)|separately|separate parcels?|several parcels|more than one parcel", "missingitem"),
    (r"\bmia\b|missing in action|lost in (?:transit|the post|the mail)|where(?:'s| is|s)? (?:my|it(?:'s)?|the (?:\w+ )?(?:parcel|package|order|delivery|stuff|things|rest|box))|"
     r"(?:hasn'?t|hasnt|has not|haven'?t|havent|have not|didn'?t|didnt|not|never) (?:yet )?(?:arrived|come|moved|updated|turned up|"
     r"received|got it|shown up|showed up|been delivered|come through)|status of (?:my|the) (?:order|parcel|package|delivery)|"
     r"still (?:nothing|not here|waiting for (?:my|the) (?:order|parcel|package|delivery))|"
     r"(?:supposed|meant|due|expected) to (?:arrive|come|be delivered|be here)|"
     r"(?:when|what day) (?:will|does|is|should) (?:my|it|the) ?\w* ?(?:arrive|come|get here|be delivered|turn up|show up|be here|land)|"
     r"when (?:my|the|it) ?\w* ?(?:will|is going to|should|is due to) (?:arrive|come|get here|be delivered|turn up|show up|be here|land)|"
     r"no sign|on its way|(?:isn'?t|is not|aren'?t|are not|not) (?:here|with me)(?: yet)?|who (?:is|will be|are) (?:delivering|bringing)|which (?:courier|carrier)|follow (?:it|my (?:parcel|order|package|delivery))|in transit|tracking|track (?:my|the|it)|out for delivery|courier|order status|delivery status|\beta\b", "track"),
    (r"add(?:ing)? (?:\w+ ){0,5}to (?:my|the|an|your|this) (?:\w+ )?order|(?:forgot|meant|wanted) to (?:add|order|include|put|get|buy)|change the (?:quantity|items?)|"
     r"edit\w* (?:my |the |an |your )?orders?|orders? (?:cannot|can't) be edited|amend\w*|modify\w*|"
     r"change (?:what'?s in|something in|an item in|the \w+ (?:in|on)|the \w+ of (?:\w+ )?(?:in|on)) (?:my|the) order|"
     r"change (?:one|some|an?|two) (?:of )?(?:the )?(?:items?|products?|things?) (?:in|on) (?:my|the) order|"
     r"changes? to (?:my|the|an|your) order|change (?:my|the|an) order\b", "amendorder"),
    (r"on sale|price (?:drop\w*|went down|match\w*|cut|reduction)|dropped in price|(?:got|is now|now|seen it|saw it|is) cheaper|cheaper (?:in|on|at|now)|in (?:the|your|a) sale|the difference|"
     r"price (?:guarantee|promise|protection)|reduced|promo(?:tion)?s?(?:al)?(?: codes?)?|discounts?(?: codes?)?|coupons?|offer codes?|sales? (?:started|price)", "promotion"),
    (r"(?:what|which) (?:data|information|info|details) (?:do you |you )?(?:hold|have|keep|store)|gdpr|"
     r"(?:account|details|data|info\w*)\b[\w ]{0,20}\b(?:removed|deleted|erased|wiped)|(?:personal|my) (?:data|details|info\w*)|get rid of my account|erase\w*|delete\w*|remove my (?:account|details|data)|"
     r"close my account|forget me", "privacy"),
    (r"(?:talk|speak|chat) with (?:a |an )?(?:real |actual )?(?:person|human|someone|agent|somebody)|phone number|(?:call|ring|phone) (?:you|someone|somebody|support|the team)|number (?:to|i can|we can) (?:call|ring|phone)|"
     r"telephone|phone line|call you|ring you|(?:talk|speak|chat) to (?:a |an )?(?:real |actual )?(?:person|human|someone|agent|somebody)|"
     r"get hold of|get in touch|contact you|talk to you|customer (?:service|support|care)|reply to emails|reach (?:you|your \w+)|contact (?:you|details)|email address for|"
     r"live chat|whatsapp", "contact"),
    (r"(?:is|are) (?:it|they|the \w+|my \w+)[\w ]{0,30} safe\b|safe to use|recall\w*|safety (?:issue|notice|problem|warning|alert)s?|unsafe|dangerous|fire (?:risk|hazard)|overheat\w*", "recall"),
    (r"smashed|cracked|crushed|damag\w*|faulty|defective|broken|broke|(?:doesn'?t|won'?t|does not|will not) (?:turn|switch|power) on|"
     r"dead on arrival|scratch\w*|dented|leak\w*|shattered|(?:arrived|came) broken|broken (?:on|when) (?:arrival|delivery)|"
     r"(?:doesn'?t|does not|isn'?t|not) working|stopped working|snapped|torn|ripped|soaked|soggy|ruined|wet|water[- ]damaged|"
     r"(?:has|have|with|there'?s|there is|got) (?:a |an )?(?:\w+ )?(?:rip|tear|hole|crack|dent|scratch|stain)s?\b|squashed|bent|warped|chipped|burst|punctured?|deflat\w*|(?:won'?t|doesn'?t|will not|does not) (?:inflate|light|charge)|"
     r"(?:arrived|came) (?:in pieces|open)|(?:came|arrived) with (?:a |an )?(?:\w+ )?(?:tear|hole|rip|stain|mark|scratch|dent|crack)s?", "damaged"),
    (r"guarantee\w*|warrant\w*|wear and tear|after (?:a|one|two|three|\d+|a couple of|several|only a few) (?:years?|months?|seasons?)|"
     r"(?:years?|months?) old|repair\w*", "warranty"),
    (r"receipts?|bills?|invoic\w*|vat|proof of purchase", "invoice"),
    (r"memberships?|subscriptions?|renew\w*|outfitters plus|plus members?(?:hip)?|annual fee|yearly fee", "membership"),
    (r"overseas|abroad|internationa\w*|import (?:duty|tax|fees?)|duties|customs|outside (?:the )?(?:eu|uk|us|europe)|"
     r"other countries|which countries|worldwide|canada|australia|new zealand|norway|switzerland|japan|china|india|brazil|"
     r"mexico|usa|united states|america|the states|south africa|iceland|singapore|hong kong|dubai|uae|israel|turkey|korea", "international"),
    (r"wash\w*|dryer|tumble|reproof\w*|re-?waterproof\w*|beading|wetting out|rain jacket|shell|softener|"
     r"care (?:instructions|label)|clean(?:ing)? (?:my |the )?(?:jacket|coat|shell)", "garmentcare"),
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
# Misspellings and shorthand of service words that people commonly type, read as the word meant (before phrases).
SPELLINGS = {
    "recieve": "receive", "recieved": "received", "recieving": "receiving", "reciept": "receipt", "reciepts": "receipts",
    "adress": "address", "addres": "address", "addy": "address", "cancle": "cancel", "cancelation": "cancellation",
    "gaurantee": "guarantee", "garantee": "guarantee", "warrenty": "warranty", "warrantee": "warranty",
    "pasword": "password", "passwrd": "password", "delivary": "delivery", "deliverd": "delivered", "refnd": "refund",
    "refundd": "refund", "seperate": "separate", "seperately": "separately", "exchage": "exchange", "excange": "exchange",
    "invoce": "invoice", "packge": "package", "pkg": "package", "parcle": "parcel", "accout": "account",
    "acount": "account", "acct": "account", "subscribtion": "subscription", "membeship": "membership",
    "damged": "damaged", "dammaged": "damaged", "trackng": "tracking", "tracing": "tracking",
}
_SPELLING = re.compile(r"(?<![\w'])(?:" + "|".join(SPELLINGS) + r")(?![\w'])", re.I)
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
# Addresses, links and codes (order numbers, tracking numbers) name no topic.
_NOISE = re.compile(r"\S+@\S+|@[\w.-]+|\bhttps?://\S+|\bwww\.\S+|\b[\w-]*\d{3,}[\w-]*\b")
CONCEPT = "x0"  # concept words start with this, so no real word stems into one
_PHRASES = tuple((re.compile(rf"(?<![\w'])(?:{pattern})(?![\w'])", re.I), CONCEPT + word) for pattern, word in PHRASES)
_CONCEPTS = frozenset(word for _, word in _PHRASES)
_FOLD = {stem: group[0] for group in SYNONYMS for stem in group}


@lru_cache(maxsize=1)
def _stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def preload() -> None:
    """Load the stemmer and the meaning model now, off the screen's loop (~40 ms and ~0.45 s): a stall
    if the first conversation to open (often mid-sync) had to wait for them."""
    _stemmer()
    meaning.preload()


def words(text: str) -> list[str]:
    """The words of ``text`` as written (the length ``Match.fits`` reads)."""
    return _WORD.findall(text)


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
    text = _SPELLING.sub(lambda m: SPELLINGS[m.group(0).lower()], _NOISE.sub(" ", text))
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


def _per_question(questions) -> Counter:
    return Counter(t for q in questions for t in _terms(q))


@lru_cache(maxsize=20_000)
def _terms(question: str) -> frozenset[str]:
    """A question's terms, kept: the index is rebuilt after every insertion, and most questions are old."""
    return frozenset(t for t, _ in analyse(question))


@dataclass
class Doc:
    key: int
    fields: dict[str, Counter]
    length: dict[str, int]
    questions: int = 0  # how many ways to ask it the article has

    def writes(self, term: str) -> bool:
        """``term`` is in the article's title, tags or body."""
        return any(self.fields[f][term] for f in ("title", "tags", "body"))

    def heads(self, term: str) -> bool:
        """``term`` is in the article's title or tags."""
        return bool(self.fields["title"][term] or self.fields["tags"][term])


class _Tally:
    """Evidence as the words of a question are matched one by one."""

    def __init__(self) -> None:
        self.weight, self.terms, self.concepts, self.headed = 0.0, [], 0, False

    def add(self, weight: float, word: str, concept: bool, headed: bool) -> None:
        self.weight += weight
        self.terms.append(word)
        self.concepts += concept
        self.headed = self.headed or headed

    def evidence(self, total: float) -> Evidence:
        return Evidence(round(self.weight / total, 4) if total else 0.0, tuple(self.terms), self.concepts, self.headed)


@dataclass
class Evidence:
    """What of a question an article's words carry."""
    share: float = 0.0  # 0 … 1: of the question's weight (by inverse document frequency)
    terms: tuple[str, ...] = ()  # the customer's words that matched
    concepts: int = 0  # how many of the question's concepts
    headed: bool = False  # a matched word is what the article is about (``Index.is_about``), not a passing mention

    @property
    def enough(self) -> bool:
        """A concept of the question, two of its words, or a good share of its weight on a word the article
        is about — one shared noun ("are your jackets vegan?") or one word the article mentions in passing
        ("is your website down?") is no sign of an answer."""
        if self.concepts:
            return True
        if len(self.terms) >= 2:
            return self.headed or self.share >= PASSING
        return self.headed and self.share >= SURE


@dataclass
class Match:
    key: int
    score: float
    heard: Evidence  # the article's own words, the ways customers ask it included
    written: Evidence  # its title, tags and body alone
    near: float = -1.0  # how alike in meaning the question is to the nearest of the article's questions

    @property
    def confidence(self) -> float:
        return self.heard.share

    @property
    def terms(self) -> tuple[str, ...]:
        return self.heard.terms

    def fits(self, min_confidence: float, words: float) -> bool:
        """Worth showing: the question means what one of the article's questions means; or the article's
        written words are evidence enough; or its questions' words are, and the meaning agrees (customers
        name products in every kind of question: "do you sell bikes?" shares two words with "you sold me
        a bike light that's been recalled", and means something else); or, for a message of ``words``
        words, likeness and evidence together are enough for its length (``LIKELY``). Evidence needs at
        least ``min_confidence`` of the question's weight."""
        if self.near >= NEAR:
            return True
        if self.written.share >= min_confidence and self.written.enough:
            return True
        if self.heard.share >= min_confidence and self.heard.enough and self.near >= AGREE:
            return True
        # its questions' words count where the meaning agrees, or where a long message's meaning is too spread to say
        said = self.heard if self.near >= AGREE or words >= LONG else self.written
        likely = self.near + HEARD_SHARE * said.share + LENGTH * math.log(max(words, 1.0)) + ENOUGH * said.enough
        return said.share >= min_confidence and likely >= LIKELY


@dataclass
class Meanings:
    """Questions as meaning vectors (rows), each with the article it belongs to (its index in ``Index.docs``)."""
    vectors: np.ndarray
    owners: np.ndarray

    @classmethod
    def of(cls, owned: list[tuple[int, str]]) -> Meanings:
        return cls(meaning.vectors([q for _, q in owned], keep=True), np.array([i for i, _ in owned], dtype=np.intp))

    def nearest(self, meant: np.ndarray | None, articles: int) -> np.ndarray:
        """Per article, how alike in meaning ``meant`` is to the nearest of its questions (-1 … 1; -1: none)."""
        near = np.full(articles, -1.0)
        if meant is not None and len(self.owners) and meant.any():
            np.maximum.at(near, self.owners, (self.vectors @ meant).astype(np.float64))  # same types: 8x faster
        return near


@dataclass
class Index:
    docs: list[Doc] = field(default_factory=list)
    df: Counter = field(default_factory=Counter)
    spread: Counter = field(default_factory=Counter)  # in how many articles' questions each term appears
    avg: dict[str, float] = field(default_factory=dict)
    questions: Meanings = field(default_factory=lambda: Meanings.of([]))  # the articles' questions
    asked: Meanings = field(default_factory=lambda: Meanings.of([]))  # the questions they were inserted for

    @classmethod
    def build(cls, articles: list[tuple[int, str, str, list[str], list[str]]],
              asked: dict[int, list[str]] | None = None) -> Index:
        """From (key, title, body, tags, questions) rows, and per key the questions it was inserted for.

        A word counts once per question (in how many of the ways to ask it does it appear)."""
        index = cls()
        asked = asked or {}
        for key, title, body, tags, questions in articles:
            fields = {"title": Counter(t for t, _ in analyse(title, keep_words=True)),
                      "tags": Counter(t for t, _ in analyse(" . ".join(tags), keep_words=True)),
                      "body": Counter(t for t, _ in analyse(body, keep_words=True)),
                      "questions": _per_question(questions),
                      "asked": _per_question(asked.get(key, ()))}
            doc = Doc(key, fields, {f: sum(c.values()) for f, c in fields.items()}, len(questions))
            index.docs.append(doc)
            index.df.update(set().union(*fields.values()))
            index.spread.update(fields["questions"].keys())
        # A field's average length over the articles that have it: questions learned for one article are
        # not measured against 25 articles that have none.
        index.avg = {f: (sum(d.length[f] for d in index.docs) / (sum(1 for d in index.docs if d.length[f]) or 1)) or 1.0
                     for f in FIELD_WEIGHTS}
        index.questions = Meanings.of([(i, q) for i, row in enumerate(articles) for q in row[4]])
        index.asked = Meanings.of([(i, q) for i, row in enumerate(articles) for q in asked.get(row[0], ())])
        return index

    def says(self, doc: Doc, term: str) -> bool:
        """The article's own words carry ``term``: its title, tags or body, or its questions where few other
        articles' questions use it (the product named in a delivery question — "my sleeping bag hasn't come" —
        is not what the article answers: customers name products in questions of every kind)."""
        return doc.writes(term) or (doc.fields["questions"][term] and self.spread[term] <= SPREAD)

    def is_about(self, doc: Doc, term: str) -> bool:
        """``term`` is what the article is about: in its title or tags, or in a good share of its questions."""
        return doc.heads(term) or (self.says(doc, term) and doc.fields["questions"][term] >= QUESTION_SHARE * doc.questions)

    def idf(self, term: str) -> float:
        n, df = len(self.docs), self.df.get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def rank(self, query: list[tuple[str, str, float]], limit: int, meant: np.ndarray | None = None) -> list[Match]:
        """Best articles for weighted query terms (term, customer's word, weight), best first.

        With ``meant`` (the question's meaning, ``console.meaning.vector``) an article also ranks by how alike
        the question is to the nearest of its questions: words score each article against the best one, and
        the likeness adds to that (``MEANING_WEIGHT``)."""
        weights: dict[str, float] = {}
        words: dict[str, str] = {}
        for term, word, w in query:
            if term in _CONCEPTS:
                w *= CONCEPT_WEIGHT
            if w > weights.get(term, 0.0):
                weights[term] = w
            words.setdefault(term, word)
        if not weights or not self.docs:
            return []
        for specific, general in NARROWS.items():
            if CONCEPT + specific in weights:
                for g in general:
                    if CONCEPT + g in weights:
                        weights[CONCEPT + g] *= 0.5
        idf = {t: self.idf(t) for t in weights}
        total = sum(idf[t] * w for t, w in weights.items())
        scored = []
        for doc in self.docs:
            score, heard, written = 0.0, _Tally(), _Tally()
            for term, w in weights.items():
                fw = CONCEPT_FIELD_WEIGHTS if term in _CONCEPTS else FIELD_WEIGHTS
                tf = sum(fw[f] * doc.fields[f][term] /
                         (1 - B + B * doc.length[f] / self.avg[f]) for f in FIELD_WEIGHTS if doc.fields[f][term])
                if tf:
                    score += w * idf[term] * tf * (K1 + 1) / (tf + K1)
                    if self.says(doc, term):  # learning reorders, it never vouches
                        heard.add(w * idf[term], words[term], term in _CONCEPTS, self.is_about(doc, term))
                        if doc.writes(term):
                            written.add(w * idf[term], words[term], term in _CONCEPTS, doc.heads(term))
            scored.append((score, heard, written))
        best = max(score for score, _, _ in scored) or 1.0
        out = []
        n = len(self.docs)
        for doc, (score, heard, written), near, learned in zip(self.docs, scored, self.questions.nearest(meant, n),
                                                               self.asked.nearest(meant, n)):
            score = score / best + MEANING_WEIGHT * max(near, 0.0) + LEARNED_WEIGHT * max(learned, 0.0)
            if score > 0:
                out.append(Match(doc.key, round(score, 4), heard.evidence(total), written.evidence(total),
                                 round(float(near), 4)))
        out.sort(key=lambda m: (-m.score, m.key))
        return out[:limit]
