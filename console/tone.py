"""Tone and message kind of a customer's message.

``classify(text)`` reads a message the way a support lead would: VADER (a lexicon
analyser built for short social text) gives the base polarity, read with the
courtesy words taken out ("please", "thanks", "kind regards" make no complaint
positive); on top of it come the signals VADER cannot see:

- *a problem*: something broken, missing, late, wrong, charged twice, refused…; a
  promise not kept ("I was told 5 days"), what was expected against what came ("it
  was navy but this is black"), time gone by, something done without asking; and a
  statement that asks, thanks and praises nothing and only informs of nothing —
  customers rarely write to support to say all is well. Hypotheticals ("what if it
  is lost?"), "no problems" and the customer's own slip ("I ordered the wrong size
  by mistake") name none. A message with a problem is never positive;
- *strong anger*: threats to leave or escalate (chargeback, lawyer, one-star
  review, "never again", "someone senior"), warnings to others ("avoid"), repeated
  contact ("third email", "yet again", "three times already"), insults ("useless",
  "a joke", "are you a bot"), sarcasm (praise beside a problem: "lovely, lost
  again"; praise with an eye-roll), and — beside a problem — disbelief ("unreal");
- *weak anger*: shouting in capitals, "?!", "??", "!!", impatience ("anyone there"),
  angry emoji, and — beside a problem — demands ("just refund me", "I expect…").

Angry: a strong signal, a weak one beside a problem, or two weak ones without
praise. Negative: a problem, or clearly negative wording in a message that does not
ask (a question is neutral whatever VADER makes of "PO box"). Positive: praise or
thanks with no open problem — not a sign-off ("Cheers, Dan") or a pleasantry ("have
a lovely day"). Else neutral. @handles are taken out first: they name no one's tone.

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

from console.phrases import Caseless, whole_words
from console.quotes import strip_quoted

TONES = ("angry", "negative", "neutral", "positive")
KINDS = ("question", "complaint", "praise", "refund", "cancel", "other", "auto_reply", "bounce")

_WORD = re.compile(r"[A-Za-zÀ-ÿ']+")


_REFUND = whole_words(
    r"refunds?", "refunded", "refunding", "refund me", "money back", r"reimburse\w*", "charge ?back",
    r"return (?:it|this|them|the)", "rückerstattung", "geld zurück", "remboursement", "reembolso", "rimborso")
_CANCEL = whole_words(
    r"cancel\w*", r"unsubscribe\w*", "terminate (?:my|the)", "close my account", "delete my account",
    "stop (?:my|the) (?:subscription|membership)", "end my (?:subscription|contract|membership)", r"kündig\w*",
    r"stornier\w*", "annuler", "résilier", "cancelar")
# Something is wrong: broken, missing, late, refused, charged wrongly, nobody answered.
_PROBLEM = whole_words(
    # broken, damaged, spoilt
    r"brok\w*", "breaks", r"crack\w*", "crushed", "smashed", r"dent(?:s|ed)?", "bent", r"snap\w*", "tear", "torn",
    r"rip(?:s|ped|ping)?", r"leak\w*", r"soak\w*", "hole", "holes", "loose", "stuck", "jammed", "frozen", "peeling",
    r"fad(?:ed|ing)", "shrunk", "shrank", "expired", r"ruin(?:s|ed)?", r"scuff\w*", r"mou?ld(?:y|ed)?", "smells?",
    r"split (?:at|along|open|down|in)", r"(?:seams?|soles?|stitching) (?:has |have )?split", r"unravel\w*", "fell (?:off|apart|out)", "falling (?:off|apart)", r"came (?:apart|off|undone|loose)",
    r"(?:colou?r|dye|ink) (?:has |have )?(?:run|bled)", "thrown", "chucked", "dumped", "stolen",
    r"wiped|erased|(?:deleted|removed|cleared|reset) (?:all )?(?:my|our)", "worn (?:through|out)",
    "damaged", "defective", "faulty", "scratched", "stained", "dirty", "marks on", "dead on arrival", "doa",
    # does not work
    r"(?:not|isn't|isnt|aren't|stopped|doesn't|does not|don't|won't|can't|cannot|wouldn't) (?:be )?(?:work|working|fit|fits|"
    r"scan|load|loading|open|opening|charge|charging|turn on|switch on|connect|accept|apply|go through|let me)",
    r"(?:doesn't|does not|don't|won't|isn't|aren't|not|can't|cannot) \w+(?: \w+)? (?:any ?more|properly|at all)",
    r"no longer (?:\w+s|\w+ing|works?|fits?)", r"(?:can't|cannot|can not|couldn't|unable to) (?!wait|thank|recommend|believe|fault|"
    r"complain|say|tell you|stop)\w+", r"(?:says|shows|said|saying|showing) [\"“']?(?:not found|error|"
    r"unavailable|invalid|expired|failed)", r"(?:isn't|is not|aren't|not) (?:mine|ours|my \w+)",
    r"stopped \w+ing", "didn't go through", "did not go through", "doesn't let me", r"keeps? \w+ing",
    "crash", "crashes", "crashing", "fails?", "failed", "failing", "error", "errors", r"glitch\w*", r"bug(?:s|gy)?",
    r"disconnect\w*", "cut (?:me )?off", "hung up", "locked", "in circles", "every (?:single )?time i",
    "can't (?:log|sign|get|access|find|pay|open|see|use|track|reach)",
    "cannot (?:log|sign|get|access|find|pay|open|see|use|track|reach)", "unable to",
    # lost, late, never came
    r"(?:been|waiting|stuck|pending|processing|sat|sitting) (?:\w+ )?since", r"another (?:email|excuse|delay|week|day|month|parcel|"
    r"reply|message|wait)", r"(?:keep|kept|keeping|took|taken|stole|stolen|holding|held) (?:onto )?(?:my|our) (?:money|cash|deposit|"
    r"refund|£\d+|\$\d+|€\d+)",
    r"nothing (?:has |have )?(?:came|come|arrived|turned up|happened|showed up|changed)", "no explanation",
    "returned to sender", "lost", "missing", "disappeared", "vanished", "no sign", "late", "delay", "delays",
    "delayed", "overdue", "still haven't had", "still (?:no|not|nothing|haven't|hasn't|waiting|stuck|says|shows|showing)",
    "never (?:arrived|arrives|came|comes|got|received|showed up|turned up|heard)",
    r"(?:hasn't|has not|haven't|have not|didn't|did not|wasn't|was not|weren't|were not|not) (?:been |yet |even )?"
    r"(?:arrived|received|get|got|come|shown up|turned up|moved|updated|applied|delivered|heard|processed|"
    r"refunded|credited|sent|dispatched|shipped|collected|fixed|answered|returned|\w+ed)",
    "(?:delivered|marked) (?:as delivered|to (?:a|the|my) (?:neighbour|neighbor|wrong))", "went to the wrong",
    r"left (?:it |them |the \w+ )?(?:outside|in the rain|on the (?:doorstep|step|street|porch)|in a bush|by the bins)",
    r"(?:on hold|waiting|waited|queued?) (?:for )?(?:over |nearly |almost )?(?:an? |\d+ |one |two |three |four |five |"
    r"several |many )?(?:hour|hours|days|weeks|minutes|mins|ages|forever)",
    r"(?:\d+|two|three|four|five|six|seven|eight|nine|ten|several) (?:days|weeks|hours|months) (?:on|at|in|stuck|later|"
    r"now|and (?:still|nothing|no))", r"it'?s been (?:\d+|two|three|four|five|six|seven|ten|over|more than|nearly|a)",
    r"(?:and|but) (?:now )?it'?s (?:now )?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|\w+ days later)",
    r"(?:shows?|showing|has|says|lists?) (?:my|the) (?:old|previous|former) (?:address|card|name|email|number)",
    # wrong, not what was ordered, not as promised
    "wrong", "incorrect", "invalid", "rejected", "declined", "refused", r"mix(?:ed)?[- ]up",
    r"(?:got|received|sent|delivered|arrived)\b[^.!?]{0,40}instead of", r"different \w+ (?:than|from|to) (?:the one|what)",
    r"(?:isn't|is not|wasn't|was not|not) what i (?:ordered|asked|paid|wanted|expected)",
    r"only (?:\d+|one|two|half|part)(?: of them| of it| items?)? (?:was|were|arrived|came)",
    r"not (?:the one|what) i (?:chose|ordered|picked|selected|asked for|wanted|paid for|bought)",
    r"charged (?:me )?(?:\w+ times|twice|double|again)", r"(?:took|taken|take) (?:my|the|our) money", r"refus\w+",
    r"blocked (?:me|my)", "banned", r"(?:same|identical) (?:\w+[- ])?(?:fault|problem|issue|defect)",
    r"only (?:took|gave|refunded|credited|sent|paid|took off|knocked off)", r"half (?:of )?what", "short by", "nothing like",
    r"ordered (?:a |an |the )?[\w -]{1,30}?,? (?:but )?(?:got|received|they sent)",
    r"(?:sent|got|received|gave) (?:me )?(?:a |the )?(?:used|wrong|broken|damaged)", "someone else'?s",
    r"(?:smaller|bigger|larger|shorter|longer|darker|lighter|thinner|cheaper) than", "too (?:small|big|large|tight|short|"
    "long|loose|narrow)", "way too", "not (?:waterproof|as (?:described|advertised|pictured|shown))",
    "(?:is|was|looks|arrived|came) (?:used|second-?hand|worn|opened)",
    # a promise not kept, something done without asking
    r"(?:i was|we were|you|your \w+) (?:told|said|promised|assured)", "promised", "supposed to", r"meant to (?:be|arrive|have)",
    r"should (?:have|'ve) (?:been|arrived|come|had)", r"i never (?:ordered|asked|cancelled|canceled|agreed|signed|authori[sz]ed|"
    r"wanted|requested|received|got)", r"without (?:my (?:permission|consent|agreement)|asking|telling|warning|notice)",
    "even though", "despite", "although i", r"charged (?:me )?(?:for|the|a|an|again|after)", "charged (?:twice|me twice|double)",
    "double charged", "overcharged", r"(?:extra|hidden|surprise) (?:fee|charge|cost)s?", "paid full price",
    r"still (?:being )?(?:charged|billed|taking)",
    # nobody answers
    r"(?:nobody|no one|noone) (?:ever |even |actually )?(?:answer|reply|respond|help|call|pick up|gets back)s?\b",
    r"(?:nobody|no one|noone) (?:has )?(?:answers|answered|replies|replied|responds|responded|called|cares|answering|"
    r"came|turned up|showed up|called back|got back|picked up|helped|bothered)",
    r"(?:nobody|no one) [\w ]{0,30}(?:can|could|will|would|is able to) (?:answer|help|tell|reply|explain)",
    "no reply", "no response", "no answer", "no word", "no update", "heard nothing", "no one got back",
    r"ghost\w*", "left on read", r"(?:not|isn't|aren't|you're not|you are not|never) (?:answering|replying|responding|listening|reading|helping)",
    r"keep (?:my|your|our) (?:money|stuff|things|items|deposit)", r"closed my (?:ticket|case|complaint)",
    # unhappy, said calmly
    r"disappoint\w*", "gutted", "gutting", "bummed", "sad", "a (?:real )?(?:shame|pity)", "shame (?:that|about)", "annoyed", "annoying", r"frustrat\w*", "upset", "unhappy", "not happy", "not impressed",
    "not (?:great|good|ideal|ok|okay|right|acceptable|pleased|satisfied)", "sadly", "unfortunately", "regrettably",
    "i'm afraid", "sorry to say", "i'm sorry but", "hmm+", "doesn't (?:look|seem) right", r"seems? (?:wrong|off|broken)",
    "not sure (?:this|that|it) is right", "is that normal", r"complain\w*", "problem with", "issue with", "problems",
    "issues", "a problem", "an issue", r"ignor\w+", "poor", "bad", "terrible", "awful", "horrible", "rubbish")
# What was expected against what happened, in a statement ("it was navy but this is black", "I cancelled but was
# charged"): the turn is the problem. Not when a question or request follows ("I know it's late but can I…").
_CONTRAST = Caseless(r"\b(?:but|yet|even though|although|despite|anyway)\b(?!\s+(?:i(?:'m| am| was)? (?:wondering|"
                       r"would|'d|just)|could|can|would|please|just|if|do|is|are|otherwise|also|other than|thanks|"
                       r"thank you|still love|i love|i still|love))")
# Hypotheticals ("what if it's lost?", "if it doesn't fit can I…") name no problem that happened.
_HYPOTHETICAL = Caseless(
    r"\b(?:what happens|what if|what do i do|in case|if|should|whether|suppose|in the event)\b[^.?!,;]*")
# Problems said not to be there ("no problems", "nothing wrong with it").
_NO_PROBLEM = whole_words(r"no (?:problems?|issues?|complaints?|rush|worries|errors?)", "not a problem", "nothing wrong",
                     r"without (?:any )?(?:problems?|issues?|fuss|hassle)", "no damage", "not damaged", "not broken",
                     r"(?<!still )(?:hasn't|has not|hasnt|haven't|have not) (?:been )?(?:shipped|dispatched|sent|gone out|left)(?: yet)?",
                     r"i was \w+ing (?:in |at |on )?(?:the )?wrong", "not late", "never had (?:a|any) (?:problem|issue)s?", "no longer (?:needed|required)",
                     r"never (?:disappoint\w*|fails?|lets? (?:me|us) down)", "can't fault", "could(?:n't| not) fault",
                     r"(?:i|we) (?:ordered|chose|picked|selected|bought|typed|entered|put|gave|got) (?:in )?(?:the |a |an )?wrong",
                     r"by (?:mistake|accident)", "my (?:mistake|fault|bad|error)",
                     r"can'?t (?:see|find) (?:the |an |any )?(?:option|button|link|setting|page|menu|where|how)",
                     r"(?:have|get|be) (?:it |them |the \w+ |my \w+ )?delivered", "not a single (?:problem|issue|complaint)")
# Courtesy that says nothing about the message: taken out before praise is looked for.
_PLEASANTRIES = whole_words("have a (?:nice|good|great|lovely|wonderful) (?:day|weekend|evening|one|week)",
                       "hope (?:you're|you are|all is|this finds you) (?:well|good)", r"sorry to (?:bother|trouble) you",
                       "no rush", "no worries", "(?:kind|best|warm)(?:est)? regards", "best wishes", "many thanks in advance",
                       "thanks in advance", "thank you in advance", "much appreciated in advance", "all the best")
# The problem is over ("my lost parcel turned up"): with thanks or praise the message is positive.
_RESOLVED = whole_words("turned up", "showed up", "finally arrived", r"arrived (?:today|safely|this morning|in the end)",
                   "sorted", "fixed", "solved", "resolved", "works now",
                   r"(?:handled|sorted|fixed|resolved|dealt with|solved) (?:out )?(?:my |the |our |this )?(?:complaint|problem|issue|query|return|refund)", "working now", "all good", "all working",
                   "(?<!n.t )(?<!not )(?:received|got) (?:my|the) (?:refund|replacement|money)")
_STRONG_ANGER = whole_words(
    # threats to leave, escalate or warn others off
    "charge ?back", r"disput\w+", "lawyer", "solicitor", "legal action", "sue", "court", r"report (?:you|this|it|the)",
    "consumer protection", "trading standards", "ombudsman", "watchdog", "small claims", "formal complaint",
    "one star", "1 star", "1-star", "one-star", r"(?:bad|terrible|honest|negative) reviews?", "trustpilot",
    "(?:take|taking) my (?:business|money|custom) elsewhere", "(?:shop|go|going) elsewhere", "never again",
    "lost a customer", "last (?:order|time i (?:order|buy|shop))",
    "never (?:order|ordering|buy|buying|shop|shopping|use|using|recommend)", "won't be (?:back|ordering|using)",
    r"(?:speak|talk) to (?:a |your |the )?(?:manager|supervisor|someone (?:senior|in charge|higher)|somebody (?:senior|in charge))",
    r"escalat\w+", r"(?<!to )(?<!how do i )(?<!how can i )avoid(?! (?:customs|fees|paying|being|the fee|a fee|charges))",
    "be warned", "buyer beware", "stay away", "don't (?:buy|order|shop|trust)", "do not (?:buy|order|shop|trust)",
    "i'm done", "i am done", "i give up", "had enough", "enough is enough", "fed up", "sick (?:of|and tired)",
    "credit card company", r"reverse the (?:charge|payment|transaction)", "(?:going|go) to my bank",
    r"(?:contact|contacting|call|calling|ring|ringing|speak to|speaking to|talk to|tell|telling) my (?:bank|card (?:company|provider|issuer))",
    r"(?:want|need|demand|get) (?:a|your|the) (?:manager|supervisor)", "manager to call",
    r"(?:leave|leaving|write|writing|post|posting) (?:a |an )?(?:\w+ )?reviews? (?:on every|everywhere|all over|about)",
    r"(?:tell|telling|warn|warning) (?:everyone|everybody|all my friends|people|others)", "or i(?:'ll| will)",
    r"(?:if|unless) (?:i|you|someone|somebody|nobody|no one)\b[^.!?]{0,60}\bi(?:'ll| will|'m going| am going)",
    # repeated contact
    r"(?:second|third|fourth|fifth|sixth|\d+(?:st|nd|rd|th)) (?:time|email|message|mail|request|call|attempt|chat)",
    r"(?:two|three|four|five|several|multiple|\d+) (?:emails|messages|calls|chats|agents)",
    r"(?:messaged|emailed|written|wrote|called|contacted|asked|chased|phoned|rang|rung|chatted) (?:you |to you )?(?:\w+ )?(?:times|\d+ times)",
    r"(?:explained|told|said|repeated) (?:this |it |that |myself )?to (?:\w+ )?(?:different )?(?:people|agents|staff|advisors|members)",
    r"(?:two|three|four|five|several|multiple|\d+) (?:different )?(?:people|agents|advisors|departments)",
    r"(?:read|check|look at) (?:the|my) (?:previous|last|earlier|other) (?:chats?|emails?|messages?|replies)",
    r"same (?:\w+[- ]){0,2}(?:reply|response|answer|message|email|excuse)s?", r"copy[- ]?past\w*", r"canned (?:reply|response)",
    "(?:are|do|did) you (?:actually|even|ever)",
    "yet again", "once again", "again and again", "in a row", "passed around", "same (?:bot )?answer",
    "same thing", "how many times", "chasing you", "(?:different|conflicting) answers", "not asking again",
    r"(?:asked|told|explained) (?:you |this )?(?:already|before|twice|\w+ times)",
    r"(?:told|asked|said|explained|written|wrote|emailed|messaged|called|chased)\b[^.!?]{0,30}?\b(?:\w+ times|twice)",
    "how many more times", "why do you keep", "you keep",
    # insults, disbelief, exasperation
    "last straw", "demand", "waste of (?:my )?(?:time|money)", "appalling", "shocking", "shameful", r"shame on",
    "dreadful", "atrocious", "abysmal", "don't care", "do not care", r"fob\w* (?:me )?off", "excuses",
    "give me my money back", "every one of my", "loyal customers?", "money well spent",
    "how is (?:it|this|that) (?:possible|acceptable|ok|okay)",
    "(?:are|do) you (?:actually|even|really) (?:read|reading|listen|listening|care|caring)", "beyond a joke",
    "final warning", "appalled", r"someone (?:who|that) (?:actually |really )?knows what", "someone competent",
    r"(?:is|was|are|all) (?:a )?lies?\b", r"are you (?:a bot|a robot|human|even human|real|a real person)", r"don'?t bother with",
    r"for (?:the love of )?(?:god|christ|heaven|pete)(?:'?s sake)?\b", r"(?:i'm|i am) not waiting", "and counting", r"(?:zero|0|no) stars?", r"customer (?:for|of) (?:\d+|two|three|five|ten|many|over|\w+ \w+) years",
    r"never (?:been )?treated", r"treated (?:this|so|very) badly", r"driving me (?:mad|crazy|insane|nuts|up the wall|round the bend)",
    r"beyond (?:\w+ing|a joke|belief)", r"how (?:difficult|hard) (?:can|could|is) it", "can't make this up", "couldn't make it up",
    r"this is (?:theft|robbery|criminal|a scam|daylight robbery)", "theft",
    r"(?:\w+ times|twice) (?:already|now|over)", r"(?:sent|provided|given|uploaded|attached|sent you) (?:\w+ ){0,3}(?:twice|\w+ times)",
    r"(?:third|fourth|fifth|sixth|\d+(?:rd|th)) (?:replacement|parcel|one|item|order|attempt|delivery|refund request)", "stole", r"steal\w*", r"lied\b", "lying", "liars?", "shambles", "cowboys", "a disgrace",
    "useless", "hopeless", "(?:a|is a|what a|absolute) joke", "clowns?", "idiots?", "incompetent", "pathetic",
    r"disgrace\w*", "disgusting", "ridiculous", "unacceptable", "outrageous", "scam", "scammers?", "fraud", "thieves",
    "daylight robbery", "rip[- ]?off", "worst", "wtf", "ffs", "for (?:god's|fuck's|heaven's|pete's) sake",
    "bloody", "damn", "hell", "crap", "shit", r"fuck\w*", "garbage", "trash", "joke of a", "are you (?:kidding|serious|joking|having a laugh)",
    "having a laugh", "taking the (?:piss|mick)", "you people", "how hard can it be", "(?:do|are) you (?:people )?even",
    "thanks for nothing", r"thanks for (?:ruining|wasting)", r"ruined my (?:day|holiday|trip|birthday|weekend|christmas)",
    "straight answer", "furious", "livid", "fuming", "seething", "raging", "disgusted", "outraged",
    "extremely (?:unhappy|disappointed|annoyed|frustrated)", "beyond (?:frustrated|annoyed|disappointed)",
    "stop sending", "just wow", "(?<!thanks )(?<!thank you )(?<!thx )so much for", "zero (?:help|answers|response|communication)", "nobody has helped",
    "treated like", "no respect", "not good enough")
# Disbelief that praise uses too ("unreal service"): anger only beside a problem.
_DISBELIEF = whole_words("unreal", "insane", "unbelievable", "incredible", "can't believe", "cannot believe", "speechless")
# Demands: with a problem they make it angry.
_DEMAND = whole_words(r"i (?:want|need|expect|demand) (?:my money|a (?:full )?refund|an apology|compensation|answers|a manager|"
                 r"someone|this (?:sorted|fixed|resolved))", "i expect", r"just (?:refund|send|fix|cancel|give|tell|sort)",
                 r"let me (?:talk|speak) to", r"(?:i )?don'?t want (?:to|a|another|your)\b",
                 r"(?:refund|cancel|fix|send|sort|answer|call) (?:me|it|this|that)(?: out)? (?:now|today|immediately)", r"(?:fix|sort) (?:it|this)(?: out)?(?: now)?[.!]*$", "do it now", "sort it out",
                 r"(?:i )?don'?t want (?:a|another|your) (?:voucher|discount|code|replacement|apology|credit|gift card)",
                 r"not interested in (?:a|another|your) (?:voucher|discount|code|replacement|credit|gift card)")
_WEAK_ANGER = whole_words(
    "anyone there", "anybody there", "is anyone", r"hello\?+", "forever", "omg", "seriously", "literally",
    r"(?:still )?waiting (?:for|since) (?:ages|weeks|days|\d+)", "right now", "immediately", "asap", "urgently",
    "ugh", "argh", r"again\?", "again!", r"seriously[.?!]")
_SARCASM = Caseless(
    r"(?:^|[.!?…]\s*)(?:oh\s+|wow\s+|just\s+)?(?:great|lovely|fantastic|brilliant|wonderful|perfect|awesome|amazing|super|"
    r"nice|superb|marvellous|fab)\s*[.,!…]|"
    r"\b(?:well done|brilliant work|great (?:job|work|service)|nice one|good job|thanks a lot|thanks for (?:ruining|that)|"
    r"really appreciate it|what a surprise|surprise surprise|how lovely|what an? (?:great|fantastic|lovely|wonderful|brilliant) way|"
    r"(?:cracking|great|brilliant|fantastic|top|stellar|amazing|excellent|good|nice|superb|fine|smashing) "
    r"(?:job|work|service|effort|stuff)|classy|money well spent|love that for me|10/10|real(?:ly)? helpful|so helpful|"
    r"cheers for that)\b|"
    r"👏|🙄", re.M)
_PRAISE = whole_words(
    "great", "awesome", "amazing", "excellent", "fantastic", "wonderful", "brilliant", "perfect", r"perfectly",
    "superb", "lov(?:e|ed|es|ing)", "lovely", "extra mile", "like a glove", r"impress(?:ed|ive)", "helpful",
    "kudos", "well done", "props", "shout-?out", "star", "stars", "above and beyond", r"saved (?:me|my|the)",
    "made my day", r"(?:the|you're the|you are the) best(?! (?:way|time|option|place|size|choice|one|thing|\w+ for|to|for)\b)", r"best (?:\w+ ){0,2}(?:ever|i've|i have|around|in town|anywhere)", "happy", "friendly", "so kind", "knowledgeable",
    "patient", "polite", "pleased", "delighted", "thrilled", "chuffed", "stoked", "over the moon",
    "buzzing", "grateful", "cool", "sorted", "solved", "fixed", "worked", "works now", "all good", "glad",
    r"appreciat\w*", "comfy", "comfortable", "cosy", "cozy", "top (?:kit|notch|service|marks|quality|stuff)",
    "spot on", "fab", "fabulous", "cracking", "smashing", "gem", "legend", "legends", "hero", "lifesaver",
    "life saver", r"(?:i|we|i'd|i'll|would|definitely|highly|can) recommend\w*", "thanks for the recommendation", "quick(?:ly)? sorted", "speedy", "super quick", "so quick", "nailed it", "10/10",
    "(?:five|5) stars?", "bone dry", "exactly what i (?:needed|wanted)", "works a treat",
    "(?:fits?|works?) (?:perfectly|great|brilliantly)", "good as new", "nice work", "good work", "great work", r"(?:so |much |so much )(?:easier|better|nicer|quicker)",
    r"worth (?:every penny|the money)", "value for money", r"looks? (?:brand )?new", r"commend\w*", r"went out of (?:his|her|their|your) way",
    "nothing beats", "can't beat", r"can'?t recommend (?:\w+ ){0,4}enough", "not a single (?:problem|issue|complaint)",
    "☕", "☀️", "⭐", "🌟", "💛", "🧡", "💜", "🥳", "😁", "😀", "😃", "🤩", r"still (?:dry|warm|going|perfect|like new|in one piece)", "proper kit", "no complaints",
    "can't fault", "couldn't be happier", "never disappoints", "held up", "like a dream", r"(?:brilliant|beautiful|wonderful|superb|"
    r"flawless|fantastic|great)ly", "toasty", "snug", "safe and sound", r"kept me (?:dry|warm|toasty|cosy|cozy|comfortable|comfy|safe)", "👌", "💯", "👍", "❤️?", "😍", "🥰", "😊", "🙌", "🎉", "💚",
    "💙", "🙏", "nice one", "good job", "great job", "ace", "champion")
_THANKS = whole_words("thanks?", "thank you", "thx", "ty", "cheers", "many thanks", "ta", "danke", "merci", "gracias",
                 "grazie")
# A thanks that only closes a message ("Cheers, Dan"; "Thanks, Anna") says nothing about its tone.
_SIGN_OFF = re.compile(r"(?:^|[.!?\n])\s*(?:many )?(?:thanks|thank you|cheers|ta|thx)[,!.]?\s*(?:[A-Z][\w.-]*\s*)?\Z")
# Courtesy that says nothing about the tone: taken out before VADER reads the text.
_COURTESY = whole_words("please", "pls", "thanks?", "thank you", "many thanks", "kind(?:est)? regards", "best regards",
                   "warm regards", "regards", "best wishes", "best", "cheers", "kindly", "dear", "hope you're well")
_QUESTION_START = Caseless(
    r"^\s*(?:hi|hello|hey|dear [^,\n]*|good (?:morning|afternoon|evening))?[,!\s]*(what|what's|how|when|where|why|"
    r"which|who|can|could|do|does|did|is|are|any|wie|wann|wo|warum|kann|können|quand|"
    r"comment|où|pourquoi|cuándo|cómo|dónde)\b", re.M)
# A statement that asks nothing and praises nothing reports a problem: customers rarely write to support to say
# that all is as it should be — unless they say they are only letting us know, or give a detail asked for.
_INFORMING = whole_words("just letting you know", "just to let you know", "letting you know", "fyi", "for your information",
                    "heads up", "for your records", r"my (?:order|account|reference|ticket|customer) (?:number|no|ref)\w*",
                    "here is", "here's", "attached", "please find", r"(?:i|i've|i have) (?:just )?(?:moved|changed|updated)",
                    "i'm moving", "i am moving", r"(?:my|the) (?:new )?(?:address|email|e-mail|phone|number|name|postcode|zip)(?: code)? is",
                    r"(?:i'm|i am) (?:away|out|on holiday|travelling)", "works best",
                    "i'll be", "i will be", "never mind", "nevermind", "ignore my", "no longer need")
_REQUEST = whole_words("please", "thanks in advance", "thank you in advance", "could you", "can you", "would you",
                  "i'd like", "i would like", "i want to", "let me know", "i need", "just checking", "checking whether",
                  "checking if", "wondering", "whether", "is it possible", "do you know", "any chance",
                  "i'm looking for", "i am looking for", "i'm after", "looking to", "need to", "want to", "how do i",
                  "how can i", "how to")
# What follows a "turned up" that is no happy ending ("turned up a day late", "arrived today damaged").
_STILL_WRONG = Caseless(r"\s+(?:a |an )?(?:(?!my |the |our |your )\w+ )?(?:late|damaged|broken|empty|open|wet|torn|wrong|"
                        r"missing|faulty|dented|crushed|soaked)\b")
_LEAVING = Caseless(r"\b(?:cancel\w*|clos\w+|delet\w+) (?:my account|everything)")
_SPACES = re.compile(r"[ \t]{2,}")
_HANDLE = re.compile(r"(?<![\w.])@[\w.-]+")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_ANGRY_EMOJI = re.compile("[😡🤬😤😠🖕🙄]")
# Ordinary words written in capitals for emphasis (acronyms such as VAT or DHL are not shouting).
_EMPHASIS = frozenset("""now again not never nothing twice third still why where what stop asap nobody anyone
ever always every all any help urgent today immediately refund money paid wrong your you yet still worst two
three four five six ten times""".split())


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
    from vaderSentiment.vaderSentiment import (  # lazy: a lexicon
        BOOSTER_DICT,
        N_SCALAR,
        NEGATE,
        SentimentIntensityAnalyzer,
        SentiText,
    )

    negate = frozenset(NEGATE)

    def _negated(word: str) -> bool:  # stock ``negated([word])``: the word lower-cased is a negation or has "n't"
        word = word.lower()
        return word in negate or "n't" in word

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
            """Stock VADER's check, reading only the (at most three) words before ``i`` it looks at, and its
            ``negated`` of one word as a set lookup (stock scans its whole word list for each)."""
            def low(back: int) -> str:
                return str(words_and_emoticons[i - back]).lower()

            if start_i == 0:
                if _negated(low(1)):
                    valence = valence * N_SCALAR
            elif start_i == 1:
                two, one = low(2), low(1)
                if two == "never" and (one == "so" or one == "this"):
                    valence = valence * 1.25
                elif two == "without" and one == "doubt":
                    pass
                elif _negated(two):
                    valence = valence * N_SCALAR
            elif start_i == 2:
                three, two, one = low(3), low(2), low(1)
                if three == "never" and (two == "so" or two == "this") or (one == "so" or one == "this"):
                    valence = valence * 1.25
                elif three == "without" and (two == "doubt" or one == "doubt"):
                    pass
                elif _negated(three):
                    valence = valence * N_SCALAR
            return valence

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
    told = _NO_PROBLEM.sub(" ", _HYPOTHETICAL.sub(" ", body))  # what happened, not what might or did not
    problem = _found(_PROBLEM, told)
    if not problem:
        problem = tuple(f"{m.group(0).lower()} …" for sentence in _SENTENCE.findall(told)
                        if not sentence.rstrip().endswith("?") and not _REQUEST.search(sentence)
                        for m in [_CONTRAST.search(sentence)] if m and not _PRAISE.search(sentence[m.end():]))[:1]
    courteous = _COURTESY.sub(" ", _without_pleasantries(body))
    polarity = _analyser().polarity_scores(courteous)["compound"] if courteous.strip() else 0.0
    if not problem and _reports(body, polarity):
        problem = ("a report that asks nothing",)
    strong = list(_found(_STRONG_ANGER, body))
    weak = list(_found(_WEAK_ANGER, body))
    if (problem and _SARCASM.search(body)) or ("🙄" in body and _PRAISE.search(body)):  # praise with an eye-roll
        strong.append("sarcasm")
    if problem and _LEAVING.search(body):
        strong.append("leaving")
    for mark in ("?!", "!?", "??", "!!"):
        if mark in body:
            weak.append(mark)
            break
    if _shouting(body):
        weak.append("capitals")
    elif _emphasis(body):
        weak.append("emphasis in capitals")
    if problem:
        weak += _found(_DEMAND, body)
        strong += _found(_DISBELIEF, body)
    if _ANGRY_EMOJI.search(body):
        weak.append("angry emoji")
    praise = bool(_PRAISE.search(_without_pleasantries(body)))
    return Signals(problem=problem, strong_anger=tuple(strong), weak_anger=tuple(weak), praise=praise,
                   polarity=polarity)


def _reports(body: str, polarity: float) -> bool:
    """A statement of five words or more that asks nothing, thanks and praises nothing (nor reads clearly positive
    to VADER) and only informs of nothing."""
    return (len(_WORD.findall(body)) >= 5 and polarity < 0.5 and not _asks(body) and not _PRAISE.search(body)
            and not _thanks(body) and not _INFORMING.search(body))


# One message's body is read by several tests that share these steps: each is worked out once per body
# (a few recent bodies are kept; the results are those of the plain calls).
@lru_cache(maxsize=8)
def _without_pleasantries(body: str) -> str:
    return _PLEASANTRIES.sub(" ", body)


@lru_cache(maxsize=8)
def _asks(body: str) -> bool:
    return "?" in body or bool(_QUESTION_START.search(body)) or bool(_REQUEST.search(body))


@lru_cache(maxsize=8)
def _thanks(body: str) -> bool:
    """Thanks for something, not a sign-off under the message ("Cheers, Dan")."""
    return bool(_THANKS.search(_SIGN_OFF.sub(" ", _without_pleasantries(body))))


def classify(text: str, meta: dict[str, Any] | None = None) -> Tone:
    """Tone and kind of one message (``meta`` may flag auto_reply / bounce)."""
    body = _SPACES.sub(" ", _HANDLE.sub("", strip_quoted(text or "")[:4000]))  # "@shop" names no one's tone
    s = signals(body)
    asks = _asks(body)
    positive_words = s.praise or (_thanks(body) and not asks)
    resolved = bool(s.problem) and positive_words and not s.strong_anger and any(
        not _STILL_WRONG.match(body, m.end()) for m in _RESOLVED.finditer(body))
    problem = bool(s.problem) and not resolved
    score = s.polarity - 0.35 * problem - 0.25 * len(s.strong_anger) - 0.1 * len(s.weak_anger)
    if positive_words and not problem:
        score = max(score, 0.3)
    score = max(-1.0, min(1.0, score))

    if s.strong_anger or (s.weak_anger and problem) or (len(s.weak_anger) >= 2 and not positive_words):
        tone = "angry"
    elif problem or (s.polarity <= -0.4 and not asks and not positive_words):  # a question is neutral whatever its words
        tone = "negative"
    elif positive_words:
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


