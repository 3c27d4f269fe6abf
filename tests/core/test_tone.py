"""Tone and message kind on sentences a support team sees every day."""

from __future__ import annotations

import pytest

from console.tone import classify, language


@pytest.mark.parametrize("text", [
    "This is the THIRD time I am writing. Where is my package?!!!",
    "This is unacceptable. Worst service ever.",
    "YOUR APP IS BROKEN AND NOBODY CARES!!!",
    "I am sick and tired of waiting, this is a joke. I want to talk to a lawyer.",
])
def test_angry(text):
    assert classify(text).tone == "angry"


@pytest.mark.parametrize("text", [
    "My package arrived damaged.",
    "Where is my order? I have been waiting for two weeks and nobody replies. Disappointed.",
    "The parcel is late.",
])
def test_negative(text):
    assert classify(text).tone == "negative"


@pytest.mark.parametrize("text", [
    "When will my order arrive?",
    "Hi, I changed my address.",
    "Please send me the invoice for order 1234.",
])
def test_neutral(text):
    assert classify(text).tone == "neutral"


@pytest.mark.parametrize("text", [
    "Thanks so much, you are great!",
    "I love the new app, the redesign is fantastic.",
])
def test_positive(text):
    assert classify(text).tone == "positive"


@pytest.mark.parametrize("text,kind", [
    ("When will my order arrive?", "question"),
    ("How do I change the email address on my account", "question"),
    ("My package arrived damaged.", "complaint"),
    ("The blender stopped working after two days, really disappointed", "complaint"),
    ("Thanks so much, you are great!", "praise"),
    ("I want a refund for order 1234.", "refund"),
    ("Can I get my money back?", "refund"),
    ("Please cancel my subscription.", "cancel"),
    ("How do I close my account?", "cancel"),
    ("Ok, see you tomorrow.", "other"),
])
def test_kind(text, kind):
    assert classify(text).kind == kind


def test_refund_wins_over_complaint_and_question():
    # An angry refund request is a refund: that is where it must be routed.
    t = classify("This is the third time!!! The kettle is broken. Can I have a refund?")
    assert (t.tone, t.kind) == ("angry", "refund")


def test_auto_reply_and_bounce_pass_through_from_meta():
    assert classify("I am out of the office until Monday.", {"auto_reply": True}).kind == "auto_reply"
    assert classify("Delivery failed permanently", {"bounce": True}).kind == "bounce"


def test_quoted_history_does_not_colour_the_tone():
    text = "Thanks, that fixed it!\n\nOn Mon, 2 Nov 2026 Support wrote:\n> This is unacceptable!!! Worst ever"
    assert classify(text).tone == "positive"


def test_score_range_and_empty_text():
    assert -1 <= classify("TERRIBLE!!! WORST!!! SCAM!!!").score <= 1
    assert classify("").tone == "neutral"


def test_language_guess():
    assert language("Hallo, ich habe meine Bestellung noch nicht bekommen. Wann kommt sie?") == "de"
    assert language("Where is my order? I have not received it and the tracking is not updating") == "en"
    assert language("Bonjour, je n'ai pas reçu ma commande, merci pour votre aide") == "fr"
    assert language("ok") == ""
