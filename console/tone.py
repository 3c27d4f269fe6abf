"""Tone and message kind of a customer's message.

``classify(text)`` combines VADER (a lexicon analyser built for short social
text) with heuristics VADER cannot see: shouting in capitals, "!!!", "third
time", and the words people use when they want their money back or to leave.

Tones: angry, negative, neutral, positive. Kinds: refund, cancel, complaint,
question, praise, other — plus auto_reply and bounce, which come from the
message's meta (the adapter knows them from headers) and pass straight through.
When several kinds fit, the first in that order wins: a refund request phrased
as a question is a refund.

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

_REFUND = re.compile(
    r"\b(refunds?|refunded|refunding|money back|reimburse\w*|charge ?back|return (?:it|this|them|the)\b|"
    r"rückerstattung|geld zurück|remboursement|reembolso|rimborso)", re.I)
_CANCEL = re.compile(
    r"\b(cancel\w*|unsubscribe\w*|terminate (?:my|the)|close my account|delete my account|stop (?:my|the) "
    r"subscription|end my (?:subscription|contract)|kündig\w*|stornier\w*|annuler|résilier|cancelar)", re.I)
_COMPLAINT = re.compile(
    r"\b(broken|damaged|defective|faulty|not working|doesn'?t work|does not work|stopped working|never arrived|"
    r"hasn'?t arrived|has not arrived|didn'?t arrive|did not arrive|not arrived|still (?:not|no|waiting|nothing)|"
    r"wrong (?:item|size|colou?r|order|address)|missing|late|delayed|overcharged|charged twice|double charged|"
    r"complain\w*|disappoint\w*|unacceptable|terrible|awful|horrible|worst|useless|scam|rip[- ]?off|ridiculous|"
    r"poor service|bad service|no one (?:answers|replied|responds)|nobody (?:answers|replied|responds)|"
    r"kaputt|beschädigt|défectueux|cassé)", re.I)
# Signals of anger beyond plain negativity.
_ANGER = re.compile(
    r"\b(unacceptable|ridiculous|outrageous|furious|disgusting|disgraceful|pathetic|scam|fraud|rip[- ]?off|"
    r"lawyer|legal action|sue you|never again|fed up|sick of|sick and tired|wtf|joke|"
    r"(?:second|third|fourth|fifth|2nd|3rd|4th|5th|\d+th) time|again and again|how many times|"
    r"still (?:not|no|nothing|waiting))", re.I)
_PRAISE = re.compile(
    r"\b(thanks?|thank you|thx|love|loved|great|awesome|amazing|excellent|fantastic|wonderful|brilliant|perfect|"
    r"appreciate\w*|helpful|kudos|well done|superb|danke|merci|gracias|grazie)\b", re.I)
_QUESTION_START = re.compile(
    r"^\s*(?:hi|hello|hey|dear [^,\n]*)?[,!\s]*(what|how|when|where|why|which|who|can|could|would|will|do|does|did|"
    r"is|are|was|should|may|wie|wann|wo|warum|kann|können|quand|comment|où|pourquoi|cuándo|cómo|dónde)\b",
    re.I | re.M)


@dataclass(frozen=True)
class Tone:
    tone: str  # angry | negative | neutral | positive
    kind: str  # question | complaint | praise | refund | cancel | other | auto_reply | bounce
    score: float  # VADER compound after the heuristics, -1 … 1


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


def classify(text: str, meta: dict[str, Any] | None = None) -> Tone:
    """Tone and kind of one message (``meta`` may flag auto_reply / bounce)."""
    body = strip_quoted(text or "")[:4000]
    compound = _analyser().polarity_scores(body)["compound"] if body.strip() else 0.0
    anger = len(_ANGER.findall(body))
    if "!!" in body:
        anger += 1
    if _shouting(body):
        anger += 1
    complaint = bool(_COMPLAINT.search(body))
    score = compound
    if complaint:
        score -= 0.3
    score -= 0.2 * anger
    score = max(-1.0, min(1.0, score))

    if (anger >= 1 and score <= -0.3) or anger >= 2:
        tone = "angry"
    elif score <= -0.05:
        tone = "negative"
    elif score >= 0.3 and not complaint and (score >= 0.6 or _PRAISE.search(body)):
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
    elif complaint or tone == "angry":
        kind = "complaint"
    elif "?" in body or _QUESTION_START.search(body):
        kind = "question"
    elif tone == "positive" and _PRAISE.search(body):
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


_strip_quoted = strip_quoted  # old name
