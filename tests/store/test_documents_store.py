"""The documents database: keyword queries that cannot break FTS5, and rank fusion."""

from __future__ import annotations

import numpy as np
import pytest

from app.library.documents.fusion import reciprocal_rank_fusion
from app.store.documents import DocumentStore, StoredChunk, fts_query


@pytest.fixture
def store(tmp_path):
    db = DocumentStore(tmp_path / "documents.sqlite3")
    cid = db.ensure_collection("c", [str(tmp_path)])
    db.add_files(cid, ["/x/a.txt", "/x/b.txt"])
    texts = {
        "/x/a.txt": "The boiler pressure is 1.5 bar.",
        "/x/b.txt": "Bake bread at 220 degrees.",
    }
    for row in db.files(cid):
        vector = np.zeros(4, np.float32)
        vector[0 if row.path.endswith("a.txt") else 1] = 1.0
        text = texts[row.path]
        chunk = StoredChunk(0, None, 0, len(text), "", text, text, vector.tobytes())
        db.store_file(
            row.id, size=1, mtime_ns=1, sha256="h", kind="text", pages=None,
            embedding_model="m", chunks=[chunk],
        )  # fmt: skip
    yield db, cid
    db.close()


@pytest.mark.parametrize(
    "query",
    ['"unbalanced', "NEAR(boiler", "boiler*", "-pressure", "AND OR NOT", "a:b", "^x", "()", "\x00"],
)
def test_any_text_is_a_valid_keyword_query(store, query):
    db, cid = store
    db.keyword_search(cid, query, 5)  # raises sqlite3.OperationalError on bad syntax


def test_question_words_are_left_out_but_a_query_of_only_them_still_runs():
    assert fts_query("What is the boiler pressure?") == '"boiler" OR "pressure"'
    assert fts_query("what is it") == '"what" OR "is" OR "it"'
    assert fts_query("  ?! ") is None


def test_keyword_and_vector_search_find_their_passage(store):
    db, cid = store
    assert db.keyword_search(cid, "boiler pressure", 5)[0].path == "/x/a.txt"
    query = np.array([0, 1, 0, 0], np.float32)
    hits = db.vector_search(cid, "m", query, 5)
    assert [h.path for h in hits] == ["/x/b.txt", "/x/a.txt"]
    assert hits[0].score == pytest.approx(1.0)
    assert db.vector_search(cid, "other-model", query, 5) == []


def test_fusion_prefers_what_both_rankings_place_high():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "c", "d"]])
    assert [item for item, _ in fused] == ["b", "c", "a", "d"]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)
