"""tests/conftest.py's helpers: a missing test dependency skips locally and fails in CI."""

from __future__ import annotations

import pytest
from conftest import (
    polish_test_sentences,
    pytest_collection_modifyitems,
    require,
    require_module,
)

from speechlab.samples import POLISH_SENTENCES


@pytest.mark.parametrize("ci", ["", "false"])
def test_a_missing_dependency_skips_outside_ci(monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    require(True, "present")  # nothing happens
    with pytest.raises(pytest.skip.Exception, match="no such thing"):
        require(False, "no such thing")


@pytest.mark.parametrize("ci", ["true", "1", "TRUE"])
def test_a_missing_dependency_fails_in_ci(monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match=r"no such thing.*CI=true"):
        require(False, "no such thing")
    with pytest.raises(pytest.fail.Exception, match="speechlab_no_such_module"):
        require_module("speechlab_no_such_module")
    assert require_module("json").dumps([1]) == "[1]"


def test_the_independent_polish_sentences_are_not_the_tuning_ones():
    sentences = polish_test_sentences()
    assert len(sentences) == 20 and len(set(sentences)) == 20
    assert set("ąćęłńóśźż") <= set("".join(sentences[:10]).lower())
    assert not set(sentences) & set(POLISH_SENTENCES)
    with open("speechlab/data/pl_ood_sentences.txt", encoding="utf-8") as ood:
        assert not set(sentences) & {line.strip() for line in ood}


def test_tests_that_reach_the_real_store_are_marked_realweights():
    """The collection hook marks them, so `-m "not realweights"` never assembles a model."""

    class Item:
        def __init__(self, fixturenames: list[str], marked: bool = False):
            self.fixturenames = fixturenames
            self.markers = ["realweights"] if marked else []

        def get_closest_marker(self, name: str):
            return name if name in self.markers else None

        def add_marker(self, mark):
            self.markers.append(mark.name)

    store, torch_model, plain, marked = (
        Item(["tmp_path", "real_store_home"]),
        Item(["real_torch_kokoro"]),
        Item(["tmp_path", "tiny_ctc_dir"]),
        Item(["real_store"], marked=True),
    )
    pytest_collection_modifyitems(None, [store, torch_model, plain, marked])
    assert store.markers == torch_model.markers == ["realweights"]
    assert plain.markers == [] and marked.markers == ["realweights"]  # not marked twice
