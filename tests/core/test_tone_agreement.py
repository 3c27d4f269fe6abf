"""Tone against what a person says: hand-labelled customer messages across channels.

``data/tone_tuning.tsv`` (616 messages, written in seven batches; each later batch was first
measured as held out, then used to tune) is the set the analyser was tuned on: it must stay
at the targets (>= 85% exact, >= 90% on "needs care" = angry or negative vs not).
``data/tone_heldout.tsv`` (200 messages: the eighth batch, written after the last tuning pass,
and the ninth, written after the eighth was read with the analyser unchanged) was labelled by
hand and committed before the analyser read it, and never used to tune: its figure is how the
analyser does on text it has not seen — 87.0% exact / 94.0% split on the eighth batch, 91.0% /
94.0% on the ninth, 89.0% / 94.0% on both, when first read. It is held to the same targets.
Earlier batches, each read once before it was tuned on (exact/split): 73.7/82.5, 78.4/84.1,
68.0/80.0, 83.0/90.0.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from console.tone import classify

DATA = Path(__file__).parent / "data"
CARE = ("angry", "negative")


def labelled(name: str) -> list[tuple[str, str, str]]:
    rows = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            channel, tone, text = line.split("\t")
            rows.append((channel, tone, text.replace("\\n", "\n")))
    return rows


def agreement(rows) -> tuple[float, float, list[str]]:
    exact = care = 0
    wrong = []
    for channel, label, text in rows:
        got = classify(text).tone
        exact += got == label
        care += (got in CARE) == (label in CARE)
        if got != label:
            wrong.append(f"  {channel:6} said {got:8} person {label:8} {text[:70]!r}")
    return exact / len(rows), care / len(rows), wrong


@pytest.mark.parametrize("name,min_exact,min_care", [
    ("tone_tuning.tsv", 0.85, 0.90),
    ("tone_heldout.tsv", 0.85, 0.90),  # measured 89.0% / 94.0% when first read
])
def test_tone_agrees_with_a_person(name, min_exact, min_care, capsys):
    rows = labelled(name)
    exact, care, wrong = agreement(rows)
    with capsys.disabled():
        print(f"\ntone {name}: {len(rows)} messages, exact {exact:.1%}, needs-care split {care:.1%}")
    assert exact >= min_exact and care >= min_care, "\n".join(wrong)


def test_the_sets_cover_every_tone_and_channel():
    rows = labelled("tone_tuning.tsv")
    assert len(rows) >= 150 and len(labelled("tone_heldout.tsv")) >= 80
    assert {r[1] for r in rows} == {"angry", "negative", "neutral", "positive"}
    assert {r[0] for r in rows} == {"email", "chat", "social"}


@pytest.mark.parametrize("text,tone", [
    ("I cancelled on the same day but was charged $177 anyway. Please refund it. Thanks", "negative"),
    ("lovely, lost again. well done", "angry"),
    ("Fourth email about this. If nobody answers I'm disputing the charge.", "angry"),
    ("WHERE IS MY PARCEL", "neutral"),  # capitals alone, no problem named: not enough
    ("where is my parcel?! it's late", "angry"),
    ("Do you ship to Norway?", "neutral"),
    ("Thanks, that fixed it!", "positive"),
    ("Could you check the status of my order please? Thanks, Anna", "neutral"),
])
def test_the_rules_a_person_expects(text, tone):
    assert classify(text).tone == tone


@pytest.mark.parametrize("text,tone", [
    # a promise not kept, or what was expected against what came, is a problem said calmly
    ("I was told it would ship on Monday and it's now Thursday.", "negative"),
    ("The listing said merino but the label says acrylic.", "negative"),
    # a statement that asks nothing and praises nothing reports a problem
    ("The left boot is half a centimetre shorter than the right one.", "negative"),
    # ... unless it only informs
    ("Just letting you know I've moved to 3 Elm Road.", "neutral"),
    # hypotheticals and a question VADER dislikes stay neutral; a sign-off thanks makes nothing positive
    ("What happens if the courier loses my parcel?", "neutral"),
    ("Do you deliver to PO boxes?", "neutral"),
    ("Just checking whether you open on Easter Monday. Cheers, Tom", "neutral"),
    # demands, disbelief and an eye-roll beside a problem or praise make it angry
    ("The strap broke again. Just refund me.", "angry"),
    ("Great service as always 🙄", "angry"),
    ("@shop are you a bot? nobody is answering my question", "angry"),
    # praise VADER knows, or a happy ending, is positive
    ("The parcel turned up after all, thank you for chasing it!", "positive"),
    ("Nothing beats your winter socks, never disappoints", "positive"),
])
def test_rules_that_generalise(text, tone):
    assert classify(text).tone == tone
