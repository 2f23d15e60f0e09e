"""The curated catalog: enough models, complete entries, honest hashes."""

from __future__ import annotations

import re

from app.library.catalog import load_catalog


def test_the_catalog_holds_a_dozen_models_across_families_and_sizes():
    catalog = load_catalog()
    assert len(catalog.models) >= 12
    assert len({m.id for m in catalog.models}) == len(catalog.models)
    assert len(catalog.families) >= 7
    sizes = sorted(m.size_bytes for m in catalog.models)
    assert sizes[0] < 200_000_000
    assert sizes[-1] > 4_000_000_000


def test_every_entry_says_where_it_comes_from_and_what_it_is():
    for m in load_catalog().models:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", m.repo or ""), m.id
        assert m.file.endswith(".gguf"), m.id
        assert all((m.quantization, m.license, m.good_for)), m.id
        assert "\n" not in m.good_for, m.id
        assert len(m.good_for) < 110, m.id
        assert (m.parameters or 0) > 100_000_000, m.id
        assert m.context_length >= 2048, m.id
        assert all((m.layers, m.kv_heads, m.head_dim)), m.id


def test_only_the_default_records_a_sha256_and_it_keeps_it():
    catalog = load_catalog()
    default = catalog.default
    assert default.sha256 == "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    assert not default.size_approximate
    others = [m for m in catalog.models if m.id != default.id]
    assert all(m.sha256 is None for m in others)
    assert all(m.size_approximate for m in others)


def test_search_and_filters():
    catalog = load_catalog()
    qwen = catalog.search("qwen")
    assert {m.family for m in qwen} == {"Qwen2.5", "DeepSeek-R1 distill"}
    assert [m.id for m in catalog.search("smollm2 q4_1")] == ["smollm2-135m-instruct-q4_1"]
    llama = catalog.search(family="llama 3.2")
    assert len(llama) == 2
    small = catalog.search(max_size_bytes=600_000_000)
    assert small
    assert all(m.size_bytes <= 600_000_000 for m in small)
    assert catalog.search("no such model") == []
