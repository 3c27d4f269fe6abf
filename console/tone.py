"""Tone and message kind of a customer's message.

``classify(text)`` reads a message the way a support lead would: VADER (a lexicon
analyser built for short social text) gives the base polarity, read with the
courtesy words taken out ("please", "thanks", "kind regards" make no complaint
positive); on top of it come the signals VADER cannot see:

- *a problem*: something broken, missing, late, wrong, charged twice, refused…
  A message with a problem is never positive;
- *strong anger*: threats to leave or escalate (chargeback, lawyer, one-star
  review, "never again"), repeated contact ("third email", "yet again"), insults
  ("useless", "a joke"), sarcasm (praise standing beside a problem: "lovely, lost
  again");
- *weak anger*: shouting in capitals, "?!", "??", "!!", impatience ("anyone there").

Angry: a strong signal, a weak one beside a problem, or two weak ones without
praise. Negative: a problem, or clearly negative wording. Positive: praise or
thanks with no problem, not a mere sign-off under a question. Else neutral.

Kinds: refund, cancel, complaint, question, praise, other — plus auto_reply and
bounce, which come from the message's meta (the adapter knows them from headers)
and pass straight through. When several kinds fit, the first in that order wins:
a refund request phrased as a question is a refund.

``language(text)`` is a light stop-word heuristic (en, de, fr, es, it, nl, pt);
it returns "" when unsure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from console.quotes import strip_quoted

TONES = ("angry", "negative", "neutral", "positive")
KINDS = ("question", "complaint", "praise", "refund", "cancel", "other", "auto_reply", "bounce")

_WORD = re.compile(r"[A-Za-zÀ-ÿ']+")


def _words(*alternatives: str) -> re.Pattern:
    """One case-insensitive pattern matching any of these phrases as whole words (apostrophes optional)."""
    body = "|".join(a.replace("'", "'?") for a in alternatives)
    return re.compile(rf"(?<![\w'])(?:{body})(?![\w'])", re.I)


_REFUND = _words(
    r"refunds?", "refunded", "refunding", "refund me", "money back", r"reimburse\w*", "charge ?back",
    r"return (?:it|this|them|the)", "rückerstattung", "geld zurück", "remboursement", "reembolso", "rimborso")
_CANCEL = _words(
    r"cancel\w*", r"unsubscribe\w*", "terminate (?:my|the)", "close my account", "delete my account",
    "stop (?:my|the) (?:subscription|membership)", "end my (?:subscription|contract|membership)", r"kündig\w*",
    r"stornier\w*", "annuler", "résilier", "cancelar")
# Something is wrong: broken, missing, late, refused, charged wrongly, nobody answered.
_PROBLEM = _words(
    r"brok\w*", "breaks", r"crack\w*", "crushed", "smashed", "dented", "bent", r"snap\w*", "tear", "torn", r"rip\w*",
    r"leak\w*", r"soak\w*", "hole", "holes", "loose", "stuck", "jammed", "frozen", "peeling", "faded", "shrunk",
    "expired", "returned to sender", r"stopped \w+ing", "(?:delivered|marked) (?:as delivered|to (?:a|the|my) "
    "(?:neighbour|neighbor|wrong))", r"(?:got|received|sent|delivered|arrived)\b[^.!?]{0,40}instead of", r"different \w+ (?:than|from|to) (?:the one|what)",
    r"only (?:\d+|one|two|half)(?: of them| items?)? (?:was|were|arrived|came)",
    r"ordered (?:a |an |the )?[\w -]{1,30}?,? (?:but )?(?:got|received|they sent)",
    r"(?:nobody|no one) [\w ]{0,30}(?:can|could|will|would|is able to) (?:answer|help|tell|reply|explain)",
    "didn't go through", "did not go through", "won't let me", "doesn't let me", "still haven't had",
    "dent", "dents", "sorry to say", "i'm sorry but", "disappeared", "vanished", "in circles", "every time i",
    r"keeps? \w+ing", "someone else'?s", r"(?:smaller|bigger|larger|shorter|longer) than",
    r"(?:nobody|no one) (?:came|turned up|showed up|called back|got back|picked up)",
    r"(?:hasn't|has not|haven't|have not|wasn't|was not|weren't|were not) (?:been |yet )?\w+(?:ed|en)",
    r"(?:sent|got|received|gave) (?:me )?(?:a |the )?(?:used|wrong|broken|damaged)",
    "damaged", "defective", "faulty", "scratched", "stained", "dirty", "marks on", "came off", "fell apart",
    r"(?:not|isn't|isnt|aren't|stopped|doesn't|does not|don't|won't) (?:work|working|fit|fits|scan|load|open)",
    "doesn't work", "never (?:arrived|arrives|came|comes|got|received|showed up)",
    r"(?:hasn't|has not|haven't|have not|didn't|did not|wasn't|was not|not) (?:arrived|received|get|got|"
    r"come|shown up|moved|updated|applied|delivered|heard)",
    r"still (?:no|not|nothing|haven't|hasn't|waiting)", "no sign", "no reply", "no response", "no answer",
    "(?:nobody|no one|noone) (?:has )?(?:answers|answered|replies|replied|responds|responded|called|cares|answering)",
    "lost", "missing", "wrong", "incorrect", "invalid", "rejected", "declined", "refused", "error", "errors",
    "crash", "crashes", "crashing", "keeps? (?:crashing|failing|freezing)", "fails?", "failed", "failing",
    "locked", "can't (?:log|sign|get|access|find|pay|open)", "cannot (?:log|sign|get|access|find|pay|open)",
    "unable to", "too (?:small|big|large|tight|short|long|loose|narrow)", "way too", "nothing like",
    "late", "delay", "delays", "delayed", "overdue", "overcharged", "charged (?:twice|me twice|double)",
    "double charged", "charged (?:for|me for) (?:express|something)", "paid full price", r"disappoint\w*",
    "annoyed", "annoying", r"frustrat\w*", "upset", "unhappy", "not happy", "sadly", "unfortunately",
    "regrettably", "i'm afraid", "promised", r"complain\w*", "problem with", "issue with", "not (?:waterproof|as)",
    "(?:is|was|looks|arrived|came) (?:used|second-?hand|worn)", r"ignor\w+", "went to the wrong", "left in the rain", "poor", "bad", "terrible", "awful", "horrible")
# The problem is over ("my lost parcel turned up"): with thanks or praise the message is positive.
_RESOLVED = _words("turned up", "showed up", "finally arrived", r"arrived (?:today|safely|this morning|in the end)",
                   "sorted", "fixed", "solved", "resolved", "works now", "working now", "all good",
                   "(?<!n.t )(?<!not )(?:received|got) (?:my|the) (?:refund|replacement|money)")
_STRONG_ANGER = _words(
    # threats to leave or escalate
    "charge ?back", r"disput\w+", "lawyer", "solicitor", "legal action", "sue", "court", r"report (?:you|this|it)",
    "consumer protection", "trading standards", "ombudsman", "one star", "1 star", "1-star", "one-star",
    "(?:take|taking) my (?:business|money) elsewhere", "shop elsewhere", "never again",
    "never (?:order|ordering|buy|buying|shop|shopping)", "last time i (?:order|buy|shop)", "won't be (?:back|ordering)",
    "(?:speak|talk) to (?:a|your) (?:manager|supervisor)", r"escalat\w+", r"avoid (?:this|them|at all)",
    "i'm done", "i am done", "i give up", "had enough", "fed up", "sick (?:of|and tired)",
    # repeated contact
    r"(?:second|third|fourth|fifth|sixth|\d+(?:st|nd|rd|th)) (?:time|email|message|mail|request|call|attempt)",
    r"(?:two|three|four|five|several|multiple|\d+) (?:emails|messages|calls|chats|agents)",
    r"(?:messaged|emailed|written|wrote|called|contacted|asked) (?:you |to you )?(?:\w+ )?(?:times|\d+ times)",
    "yet again", "once again", "again and again", "in a row", "passed around", "same (?:bot )?answer",
    "same thing", "how many times", "chasing you",
    # insults and disbelief
    "not asking again", r"(?:asked|told|explained) (?:you |this )?(?:already|before|twice|\w+ times)",
    r"(?:told|asked|said|explained|written|wrote|emailed|messaged|called|chased)\b[^.!?]{0,30}?\b(?:\w+ times|twice)",
    "how many more times", "last straw", "demand", "waste of (?:my )?(?:time|money)", "appalling", "shocking",
    "dreadful", "atrocious", "abysmal", "don't care", "do not care", r"fob\w* (?:me )?off", "excuses",
    "give me my money back", "credit card company", "reverse the charge", "(?:going|go) to my bank",
    "every one of my", "loyal customers?",
    "don't buy", "do not buy", "stay away", "money well spent", "how is (?:it|this) (?:possible|acceptable)",
    "(?:are|do) you (?:actually|even|really) (?:read|reading|listen|listening|care|caring)", "beyond a joke",
    "final warning", "small claims", r"lied\b", "lying", "shambles", "cowboys", "a disgrace",
    "useless", "(?:a|is a|what a) joke", "clowns?", "idiots?", "incompetent", "pathetic", r"disgrace\w*",
    "disgusting", "ridiculous", "unacceptable", "outrageous", "scam", "fraud", "rip[- ]?off", "worst",
    "unbelievable", "wtf", "are you (?:kidding|serious|joking)", "you people", "how hard can it be",
    "(?:do|are) you (?:people )?even", "thanks for nothing", r"ruin\w*", "straight answer", "furious", "livid",
    "fuming", "extremely (?:unhappy|disappointed|annoyed|frustrated)", "stop sending", "just wow")
_WEAK_ANGER = _words(
    "anyone there", "anybody there", "is anyone", r"hello\?+", "forever", "omg", "seriously", "honestly",
    r"(?:still )?waiting (?:for|since) (?:ages|weeks|days|\d+)", "right now", "immediately", "asap",
    "incredible", "ugh", r"again\?")
_SARCASM = re.compile(
    r"(?:^|[.!?…]\s*)(?:oh\s+|wow\s+)?(?:great|lovely|fantastic|brilliant|wonderful|perfect|awesome|amazing|super|"
    r"nice|cheers|thanks)\s*[.,!…]|"
    r"\b(?:well done|brilliant work|great (?:job|work)|nice one|good job|thanks a lot|thanks for (?:ruining|that)|"
    r"really appreciate it|what a surprise|how lovely|what an? (?:great|fantastic|lovely|wonderful|brilliant) way|"
    r"classy|money well spent)\b", re.I | re.M)
_PRAISE = _words(
    "great", "awesome", "amazing", "excellent", "fantastic", "wonderful", "brilliant", "perfect", "superb",
    "lov(?:e|ed|es|ing)", "lovely", "extra mile", "like a glove", "impressed", "helpful", "kudos", "well done", "props", "shout-?out", "star",
    "above and beyond", "saved", "made my day", "best", "happy", "pleased", "delighted", "cool", "sorted",
    "solved", "fixed", "worked", "works now", "all good", "glad", r"appreciat\w*", "brilliant")
_THANKS = _words("thanks?", "thank you", "thx", "ty", "cheers", "many thanks", "ta", "danke", "merci", "gracias",
                 "grazie")
# Courtesy that says nothing about the tone: taken out before VADER reads the text.
_COURTESY = _words("please", "pls", "thanks?", "thank you", "many thanks", "kind(?:est)? regards", "best regards",
                   "warm regards", "regards", "best wishes", "best", "cheers", "kindly", "dear", "hope you're well")
_QUESTION_START = re.compile(
    r"^\s*(?:hi|hello|hey|dear [^,\n]*|good (?:morning|afternoon|evening))?[,!\s]*(what|what's|how|when|where|why|"
    r"which|who|can|could|do|does|did|is|are|any|wie|wann|wo|warum|kann|können|quand|"
    r"comment|où|pourquoi|cuándo|cómo|dónde)\b",
    re.I | re.M)
_REQUEST = _words("please", "thanks in advance", "thank you in advance", "could you", "can you", "would you", "i'd like", "i would like", "i want to",
                  "let me know", "i need")
# Ordinary words written in capitals for emphasis (acronyms such as VAT or DHL are not shouting).
_EMPHASIS = frozenset("""now again not never nothing twice third still why where what stop asap nobody anyone
ever always every all any help urgent today immediately refund money paid wrong your you yet still worst""".split())


@dataclass(frozen=True)
class Tone:
    tone: str  # angry | negative | neutral | positive
    kind: str  # question | complaint | praise | refund | cancel | other | auto_reply | bounce
    score: float  # VADER compound (courtesy removed) after the heuristics, -1 … 1


@dataclass(frozen=True)
class Signals:
    """What the tone was read from: shown by ``switchboard explain``."""

    problem: tuple[str, ...]
    strong_anger: tuple[str, ...]
    weak_anger: tuple[str, ...]
    praise: bool
    polarity: float  # VADER compound of the text without courtesy words


@lru_cache(maxsize=1)
def _analyser():
    from vaderSentiment.vaderSentiment import BOOSTER_DICT, SentimentIntensityAnalyzer, SentiText  # lazy: a lexicon

    class Analyser(SentimentIntensityAnalyzer):
        """VADER with the same scores in linear time. Its negation and idiom checks lower-case
        the whole message for every word they look at, though they read at most three words
        either side: they are handed just that window. Its emoji pass rebuilds the text one
        character at a time: text without emoji skips it."""

        def __init__(self) -> None:
            super().__init__()
            self._emoji_chars = frozenset(e for e in self.emojis if len(e) == 1)  # the pass matches single characters

        def polarity_scores(self, text):
            if not self._emoji_chars.isdisjoint(text):
                return super().polarity_scores(text)
            text = text.strip()
            sentitext = SentiText(text)
            words = sentitext.words_and_emoticons
            sentiments: list = []
            for i, item in enumerate(words):
                lower = item.lower()
                if lower in BOOSTER_DICT or (lower == "kind" and i < len(words) - 1 and words[i + 1].lower() == "of"):
                    sentiments.append(0)
                    continue
                sentiments = self.sentiment_valence(0, sentitext, item, i, sentiments)
            return self.score_valence(self._but_check(words, sentiments), text)

        @staticmethod
        def _negation_check(valence, words_and_emoticons, start_i, i):
            lo = max(0, i - 3)
            return SentimentIntensityAnalyzer._negation_check(valence, words_and_emoticons[lo:i + 3], start_i, i - lo)

        @staticmethod
        def _special_idioms_check(valence, words_and_emoticons, i):
            lo = max(0, i - 3)
            return SentimentIntensityAnalyzer._special_idioms_check(valence, words_and_emoticons[lo:i + 3], i - lo)

    return Analyser()


def _shouting(text: str) -> bool:
    """Several words of three or more letters written in capitals, making up a good share of the text."""
    words = [w for w in _WORD.findall(text) if len(w) >= 3]
    caps = [w for w in words if w.isupper()]
    return len(caps) >= 2 and len(caps) >= 0.3 * len(words)


def _emphasis(text: str) -> bool:
    """An ordinary word written in capitals ("charged twice AGAIN", "refund NOW")."""
    return any(w.isupper() and len(w) >= 3 and w.lower() in _EMPHASIS for w in _WORD.findall(text))


def _found(pattern: re.Pattern, text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m.group(0).lower() for m in pattern.finditer(text)))


def signals(body: str) -> Signals:
    problem = _found(_PROBLEM, body)
    strong = list(_found(_STRONG_ANGER, body))
    weak = list(_found(_WEAK_ANGER, body))
    if problem and _SARCASM.search(body):
        strong.append("sarcasm")
    if problem and re.search(r"\b(?:cancel\w*|clos\w+|delet\w+) (?:my account|everything)", body, re.I):
        strong.append("leaving")
    for mark in ("?!", "!?", "??", "!!"):
        if mark in body:
            weak.append(mark)
            break
    if _shouting(body):
        weak.append("capitals")
    elif _emphasis(body):
        weak.append("emphasis in capitals")
    courteous = _COURTESY.sub(" ", body)
    polarity = _analyser().polarity_scores(courteous)["compound"] if courteous.strip() else 0.0
    praise = bool(_PRAISE.search(body))
    return Signals(problem=problem, strong_anger=tuple(strong), weak_anger=tuple(weak), praise=praise,
                   polarity=polarity)


def _asks(body: str) -> bool:
    return "?" in body or bool(_QUESTION_START.search(body)) or bool(_REQUEST.search(body))


def classify(text: str, meta: dict[str, Any] | None = None) -> Tone:
    """Tone and kind of one message (``meta`` may flag auto_reply / bounce)."""
    body = strip_quoted(text or "")[:4000]
    s = signals(body)
    thanks = bool(_THANKS.search(body))
    positive_words = s.praise or (thanks and not _asks(body))
    resolved = bool(s.problem) and positive_words and not s.strong_anger and bool(_RESOLVED.search(body))
    problem = bool(s.problem) and not resolved
    score = s.polarity - 0.35 * problem - 0.25 * len(s.strong_anger) - 0.1 * len(s.weak_anger)
    if positive_words and not problem:
        score = max(score, 0.3)
    score = max(-1.0, min(1.0, score))

    if s.strong_anger or (s.weak_anger and problem) or (len(s.weak_anger) >= 2 and not positive_words):
        tone = "angry"
    elif problem or s.polarity <= -0.4:
        tone = "negative"
    elif positive_words and (s.polarity > -0.2 or resolved):
        tone = "positive"
    else:
        tone = "neutral"

    meta = meta or {}
    if meta.get("bounce"):
        kind = "bounce"
    elif meta.get("auto_reply"):
        kind = "auto_reply"
    elif _REFUND.search(body):
        kind = "refund"
    elif _CANCEL.search(body):
        kind = "cancel"
    elif problem or tone == "angry":
        kind = "complaint"
    elif _asks(body):
        kind = "question"
    elif tone == "positive":
        kind = "praise"
    else:
        kind = "other"
    return Tone(tone=tone, kind=kind, score=round(score, 4))


_LANG_WORDS = {
    "en": "the and you your is are was have has not with this that for my our please thanks can what when where",
    "de": "der die das und ist nicht ich sie mit ein eine mein meine bitte danke wann wo warum noch auf für",
    "fr": "le la les et est pas je vous avec une mon ma mes merci pour que qui quand où pourquoi bonjour",
    "es": "el la los las y es no yo usted con una mi mis gracias para que cuando donde por qué hola",
    "it": "il lo la gli le e è non io lei con una mio mia grazie per che quando dove perché ciao",
    "nl": "de het een en is niet ik u jij met mijn bedankt voor wanneer waar waarom nog geen",
    "pt": "o a os as e é não eu você com uma meu minha obrigado obrigada para que quando onde",
}
_LANG_SETS = {lang: set(words.split()) for lang, words in _LANG_WORDS.items()}


def language(text: str) -> str:
    """A two-letter language code guessed from common words, or "" when fewer than two hits or a tie."""
    words = [w.lower() for w in _WORD.findall(text or "")][:400]
    if not words:
        return ""
    scores = {lang: sum(1 for w in words if w in vocab) for lang, vocab in _LANG_SETS.items()}
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    best, hits = ranked[0]
    if hits < 2 or hits == ranked[1][1]:
        return ""
    return best


