"""unmask.text: word spans over the original text, hashed TF-IDF, the logistic solver (with ENDEF's offset),
claim context, entities and topic domains."""

from __future__ import annotations

import numpy as np
import pytest

from unmask.text import context, domains, entities, hashing, linear
from unmask.text.spans import language, readable, visible, words


def test_visible_keeps_offsets_and_words_point_at_the_original() -> None:
    text = "<p>Breaking:&nbsp;the <b>mayor</b> said\x00 it</p> see https://t.co/x @bob 今天"
    assert len(visible(text)) == len(text)
    ws = words(text)
    forms = [w.form for w in ws]
    assert forms == ["breaking", "the", "mayor", "said", "it", "see", "_url_", "_user_", "今", "天"]
    for w in ws:
        if not w.form.startswith("_"):
            assert text[w.start:w.end].lower() == w.form
    assert "<" not in readable(text) and "nbsp" not in readable(text)


@pytest.mark.parametrize(("text", "lang"), [("The senator lied.", "latin"), ("今天下午约14点，宁波", "zh"),
                                            ("Привет мир, как дела", "other"), ("", "latin"), ("🙂🙂", "latin")])
def test_language_picks_the_script(text: str, lang: str) -> None:
    assert language(text) == lang


def test_words_of_symbols_and_emoji_are_none() -> None:
    assert words("🙂 🔥 !!! ...") == []


def test_tfidf_vector_is_unit_length_and_stable() -> None:
    ws = words("the cat sat on the mat")
    idf = np.ones(hashing.TEXT_DIM, np.float32)
    idx, val = hashing.vector(ws, idf)
    assert np.isclose(np.linalg.norm(val), 1.0)
    assert len(idx) == 5 + 5  # five distinct unigrams, five bigrams
    assert hashing.bucket("u:cat") == 72413  # CRC-32 based: the same on every machine (a golden value)
    assert hashing.vector([], idf)[0].size == 0


def test_logistic_fit_recovers_weights_and_the_offset_takes_over_a_feature() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 3))
    y = (rng.random(4000) < 1 / (1 + np.exp(-(2 * x[:, 0] + x[:, 1])))).astype(int)
    model = linear.fit(x, y, l2=1e-5)
    assert np.allclose(model.weight[:, 0], [2, 1, 0], atol=0.2)
    # ENDEF: with the first feature's effect given as a fixed offset, the main model no longer leans on it
    debiased = linear.fit(x, y, l2=1e-5, offset=model.weight[0, 0] * x[:, 0])
    assert abs(debiased.weight[0, 0]) < 0.2 and abs(debiased.weight[1, 0] - 1) < 0.2


def test_softmax_fit_for_more_classes() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 300)
    x = np.eye(3)[y] + rng.normal(scale=0.3, size=(300, 3))
    model = linear.fit(x, y)
    assert model.weight.shape == (3, 3)
    assert (model.proba(x).argmax(1) == y).mean() > 0.9


def test_context_record_parsing_and_features() -> None:
    assert context.record_of("['0', '1', '0', '0', '0']") == [0, 1, 0, 0, 0]
    assert context.record_of({"false": 3, "pants_fire": 1}) == [0, 3, 0, 0, 1]
    for bad in ("[1, 2]", "not a list", [1, -2, 0, 0, 0], [float("nan")] * 5, None):
        assert context.record_of(bad) is None
    assert not context.features({}).any()
    x = context.features({"speaker": "Jane", "credit_history": [1, 1, 0, 0, 2]})
    assert x[:5].sum() == pytest.approx(1.0) and x[6] == 1.0
    said = context.describe({"speaker": "jane", "party": "green", "credit_history": [1, 1, 0, 0, 2]})
    assert said == "speaker jane (green), 4 earlier rated claims, 75% false or pants-fire"


def test_the_posting_account_is_context_too() -> None:
    weibo = {"user": {"verified": False, "followers": 66, "friends": 82, "messages": 76, "description": True,
                      "time": 1_318_493_987}, "time": 1_363_146_924}
    assert context.author(weibo) == pytest.approx({"followers": 66, "friends": 82, "posts": 76, "verified": 0,
                                                   "description": 1, "age_years": 1.4149662})
    twitter = {"user": {"verified": True, "followers_count": 1200, "statuses_count": "x"}}
    assert context.author(twitter) == {"followers": 1200, "verified": 1.0}
    assert context.present(weibo) == ["user"] and context.features(weibo)[7] == 1.0
    assert context.describe(weibo) == "posted by an unverified account (66 followers, 1.4 years old at the time)"
    assert context.author({"user": "bob"}) == {} and not context.features({"user": {"followers": -3}})[7:14].any()


def test_entities_by_form_and_swaps() -> None:
    text = "Says the Annies List backs it. Barack Obama said 45 percent of Texas voters agree. NASA too."
    found = [text[s:e] for s, e, _ in entities.entities(text)]
    assert found == ["Annies List", "Barack Obama", "45 percent", "Texas", "NASA"]
    swapped, n = entities.swap(text, {"name": ["Ohio"], "number": ["12"]}, np.random.default_rng(0))
    assert n == 5 and "Obama" not in swapped and swapped.count("Ohio") == 4
    assert entities.masked(text).split()[:2] == ["Annies", "List"]


def test_domains_recover_clusters_and_gate_the_experts() -> None:
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:3]
    x = np.concatenate([c + rng.normal(scale=0.05, size=(50, 8)) for c in centres])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    found = domains.fit_centres(x, 3)
    assert sorted(np.argmax(found @ centres.T, axis=1).tolist()) == [0, 1, 2]
    g = domains.gate(x, found)
    assert np.allclose(g.sum(1), 1.0) and (g.max(1) > 0.9).all()
    assert domains.expand(x, g).shape == (150, 8 * 4 + 3)
