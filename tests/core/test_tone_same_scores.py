"""The linear-time VADER in console.tone scores every text exactly as stock VADER does."""

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from console import tone

TEXTS = [
    "I am NOT happy, this is never so bad!!! Without doubt the worst service.",
    "It was kind of good but not great, at least not for me.",
    "no good at all", "least bad", "the shit hit the fan", "cut the mustard? yeah right!!",
    "Bad ass product, sort of okay. I don't hate it", "I love it 😀 so much", "😡😡 worst ever",
    "kind", "  spaced  ", "", "but", "Where is my parcel? It has not arrived and nobody answers. " * 40,
    "Danke, sehr gut!", "It isn't the best, it isn't the worst, but it is really not what I ordered :(",
]


def test_scores_are_identical_to_stock_vader_for_negation_idioms_emoji_and_long_mail():
    stock = SentimentIntensityAnalyzer()
    ours = tone._analyser()
    for text in TEXTS:
        assert ours.polarity_scores(text) == stock.polarity_scores(text), text
