"""`tandem-cli docs …` and `chat --attach`: real processes, real files, the real models."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.doc_files import write_encrypted_pdf, write_pdf

FILLER = "General remarks on the care of the garden through the seasons of the year. " * 8


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True, text=True, timeout=300, env={**os.environ}, check=False,
    )  # fmt: skip


def test_docs_add_search_list_and_remove(installed_embedder, tmp_path):
    folder = tmp_path / "garden"
    folder.mkdir()
    pages = [FILLER for _ in range(6)]
    pages[4] = "Compost. Turn the compost heap every three weeks to keep it aerated. " + FILLER
    write_pdf(folder / "handbook.pdf", pages)
    (folder / "todo.md").write_text("# To do\n\nBuy seeds for the tomatoes.\n")
    locked = write_encrypted_pdf(tmp_path / "locked.pdf", "Private notes.")

    added = cli("docs", "add", str(folder), str(locked), "--collection", "garden", "--json")
    assert added.returncode == 11, added.stderr  # one refused; the others are in
    assert "refused locked.pdf: is an encrypted PDF" in added.stderr
    report = json.loads(added.stdout)
    assert report["indexed"] == 2
    assert report["refused"] == [
        {"file": "locked.pdf", "reason": "is an encrypted PDF (it needs a password)"}
    ]

    found = cli("docs", "search", "how often to turn the compost", "--collection", "garden",
                "--json")  # fmt: skip
    assert found.returncode == 0, found.stderr
    result = json.loads(found.stdout)
    assert result["mode"] == "hybrid"
    top = result["passages"][0]
    assert top["file"].endswith("handbook.pdf")
    assert top["page"] == 5
    assert "three weeks" in top["excerpt"]
    scores = [p["score"] for p in result["passages"]]
    assert scores == sorted(scores, reverse=True)

    listed = json.loads(cli("docs", "list", "--json").stdout)
    assert [(c["name"], c["indexed"], c["refused"]) for c in listed] == [("garden", 2, 1)]
    again = cli("docs", "reindex", "garden")  # nothing changed: nothing to do or refuse
    assert again.returncode == 0, again.stderr
    assert "0 indexed, 3 unchanged" in again.stdout
    assert cli("docs", "remove", "garden").returncode == 0
    assert json.loads(cli("docs", "list", "--json").stdout) == []
    missing = cli("docs", "search", "x", "--collection", "garden")
    assert missing.returncode == 2
    assert "no collection named 'garden'" in missing.stderr


def test_chat_attach_json_adds_the_sources(installed_default, installed_embedder, tmp_path):
    note = tmp_path / "recipe.txt"
    note.write_text("Pancakes: 200 g flour, 3 eggs, 300 ml milk. Rest the batter an hour.")
    result = cli("chat", "--json", "--attach", str(note), "--max-tokens", "16",
                 "--temperature", "0", "How much flour?")  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["privacy"] == "on this device"
    assert data["prompt_tokens"] > 30  # the file went with the question
    (source,) = data["sources"]
    assert source["file"] == str(note)
    assert source["page"] is None
    assert source["excerpt"].startswith("Pancakes: 200 g flour")
    assert set(source) >= {"file", "page", "excerpt", "score"}


def test_chat_attach_of_an_unreadable_file_exits_11(installed_default, tmp_path):
    bad = tmp_path / "photo.heic"
    bad.write_bytes(b"\x00\x00binary")
    result = cli("chat", "--attach", str(bad), "What is in it?")
    assert result.returncode == 11
    assert "photo.heic: is of a type Tandem does not read (.heic)" in result.stderr
