"""The meaning model behind suggested answers: it ships inside a package (nothing is
downloaded, ever) and puts sentences that say the same thing in other words close together."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from console import meaning


def test_the_model_loads_and_works_with_the_network_refused(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("no network here")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    meaning._model.cache_clear()
    meaning._known.clear()
    try:
        rows = meaning.vectors(["where is my parcel", "the parcel has not arrived"])
    finally:
        meaning._model.cache_clear()
    assert rows.shape == (2, meaning.DIMENSIONS)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-4)


def test_the_same_need_in_other_words_is_nearer_than_another_need():
    charged, twice, hours = meaning.vectors(["the bank took the money two times", "I was charged twice",
                                             "what time does the shop open on sunday"])
    assert charged @ twice > charged @ hours + 0.15


@pytest.mark.parametrize("parts", [[], [("", 1.0)], [("   ", 0.6)]])
def test_no_words_mean_nothing(parts):
    assert not meaning.vector(parts).any()


def test_weighted_parts_lean_towards_the_heavier_one():
    latest, subject = meaning.vectors(["my refund has not arrived", "login problem"])
    both = meaning.vector([("my refund has not arrived", 1.0), ("login problem", 0.4)])
    assert both @ latest > both @ subject
    assert abs(float(np.linalg.norm(both)) - 1.0) < 1e-4
