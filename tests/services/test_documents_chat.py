"""Documents in a conversation: the real parsers, embedding model and default chat model,
and a real OpenAI-compatible server on loopback for the cloud path."""

from __future__ import annotations

import pytest

from app.core.errors import DocumentRefused, PrivacyBlocked, SensitiveContent
from app.core.events import CancelToken, Failed, Finished
from app.core.messages import GenerationParams
from app.services.chat import OnSensitive
from app.services.documents import DocumentContext, Passage, valid_markers
from app.services.workspace import Workspace
from tests.doc_files import write_pdf, write_scanned_pdf

FILLER = (
    "This chapter describes the general care of the machine, its cleaning and its "
    "storage over the winter months, with nothing specific to report. "
)
PARAMS = GenerationParams(max_tokens=24, context_length=2048, temperature=0.0, seed=1)


@pytest.fixture
def workspace(installed_default, installed_embedder):
    ws = Workspace()
    yield ws
    ws.shutdown()


def _ask(workspace, backend, question, documents, **kwargs):
    chat = workspace.chat_service(backend)
    chat.params = PARAMS
    events = list(chat.send(question, CancelToken(), documents=documents, **kwargs))
    return chat, events


def test_a_short_attachment_goes_in_whole_and_is_the_source(workspace, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("The spare key is under the blue flower pot by the back door.")
    backend = workspace.backend_for(installed_model_id())
    docs = workspace.documents.prepare(
        "Where is the spare key?", attachments=[note], context_tokens=2048, answer_tokens=24
    )
    assert docs.whole
    assert docs.passages[0].text.startswith("The spare key")
    chat, events = _ask(workspace, backend, "Where is the spare key?", docs)
    finished = events[-1]
    assert isinstance(finished, Finished), events[-1]
    # the file reached the model: far more prompt tokens than the question alone
    assert finished.stats.prompt_tokens > 40
    assert finished.stats.privacy == "on this device"
    reply = chat.conversation.messages[-1]
    assert [s["file"] for s in reply.sources] == [str(note)]
    assert chat.conversation.messages[-2].content == "Where is the spare key?"


def test_a_long_pdf_is_retrieved_and_cited_on_its_page(workspace, tmp_path):
    pages = [FILLER * 6 for _ in range(30)]
    pages[16] = (
        "Filter replacement. Replace the water filter every six months; the part "
        "number of the filter is WF-2291. " + FILLER * 3
    )
    manual = write_pdf(tmp_path / "manual.pdf", pages)
    question = "How often should the water filter be replaced?"
    docs = workspace.documents.prepare(
        question, attachments=[manual], context_tokens=2048, answer_tokens=24
    )
    assert not docs.whole
    assert docs.mode == "hybrid"
    assert docs.passages[0].page == 17
    assert "six months" in docs.passages[0].text
    chat, events = _ask(workspace, workspace.backend_for(installed_model_id()), question, docs)
    assert isinstance(events[-1], Finished), events[-1]
    sources = chat.conversation.messages[-1].sources
    assert sources[0]["page"] == 17
    assert "six months" in sources[0]["excerpt"]


def test_the_ledger_names_the_passages_a_cloud_answer_sent(workspace, tmp_path, llama_server):
    pages = [FILLER * 6 for _ in range(12)]
    pages[5] = "Opening hours: the museum opens at nine and closes at five. " + FILLER
    report = write_pdf(tmp_path / "report.pdf", pages)
    workspace.add_provider("lan", "custom", llama_server, "smollm2")
    backend = workspace.backend_for("lan:smollm2")
    question = "When does the museum open?"
    docs = workspace.documents.prepare(
        question, attachments=[report], context_tokens=2048, answer_tokens=24, backend=backend
    )
    assert not docs.whole
    _, events = _ask(workspace, backend, question, docs)
    assert isinstance(events[-1], Finished), events[-1]
    record = workspace.ledger.records()[-1]
    assert record.host == "127.0.0.1"
    assert record.passages == docs.sent()
    assert {p.file for p in record.passages} == {"report.pdf"}
    assert 6 in {p.page for p in record.passages}
    assert sum(p.bytes for p in record.passages) == sum(p.size_bytes for p in docs.passages)
    # loopback is this device: the fact says so, and nothing else
    assert events[-1].stats.privacy == "on this device"


def test_private_mode_refuses_a_cloud_answer_over_documents(workspace, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("Quarterly figures: revenue rose by four percent.")
    workspace.add_provider("remote", "openai", None, "gpt-4o-mini", key="sk-test-" + "x" * 24)
    backend = workspace.backend_for("remote:gpt-4o-mini")
    workspace.set_private_mode(True)
    with pytest.raises(PrivacyBlocked):
        workspace.documents.prepare("Revenue?", attachments=[note], backend=backend)
    # and the answer itself is refused as any other cloud answer
    docs = workspace.documents.prepare("Revenue?", attachments=[note])
    _, events = _ask(workspace, backend, "Revenue?", docs)
    assert isinstance(events[-1], Failed)
    assert isinstance(events[-1].error, PrivacyBlocked)
    assert workspace.ledger.records() == []


def test_the_sensitive_text_check_reads_the_passages_too(workspace, tmp_path):
    leaked = tmp_path / "config-notes.md"
    leaked.write_text("# Deploy\n\nUse the key sk-proj-" + "A1b2C3d4" * 4 + " for the API.\n")
    workspace.add_provider("remote", "openai", None, "gpt-4o-mini", key="sk-test-" + "x" * 24)
    workspace.set_private_mode(False)  # the check runs before anything is sent
    backend = workspace.backend_for("remote:gpt-4o-mini")
    docs = workspace.documents.prepare("How do I deploy?", attachments=[leaked], backend=backend)
    chat = workspace.chat_service(backend)
    with pytest.raises(SensitiveContent, match="API key"):
        list(chat.send("How do I deploy?", CancelToken(), OnSensitive.REFUSE, documents=docs))
    assert chat.conversation.messages == []
    assert workspace.ledger.records() == []


def test_refused_attachments_are_named_and_the_others_go(workspace, tmp_path):
    scan = write_scanned_pdf(tmp_path / "scan.pdf")
    note = tmp_path / "ok.txt"
    note.write_text("The meeting is on Friday.")
    docs = workspace.documents.prepare("When?", attachments=[scan, note])
    assert [p.file_name for p in docs.passages] == ["ok.txt"]
    assert [r.file for r in docs.refused] == ["scan.pdf"]
    with pytest.raises(DocumentRefused, match=r"scan\.pdf: .*text layer"):
        workspace.documents.prepare("When?", attachments=[scan])


def test_the_privacy_fact_names_what_left():
    passages = tuple(
        Passage("/home/me/report.pdf", page, 0, 10, "", "x" * 1300, 0.5) for page in (2, 3, 7)
    )
    docs = DocumentContext(passages, whole=False)
    fact = docs.privacy_fact("sent to api.openai.com", "What was the revenue?")
    assert fact == "sent to api.openai.com: your message + 3 passages from report.pdf (3.9 kB)"
    assert docs.privacy_fact("on this device", "q") == "on this device"


def test_only_real_sources_count_as_citations():
    assert valid_markers("As [2] says, and [1], not [9] or [0]; again [2].", 3) == [2, 1]


def installed_model_id():
    from app.library.catalog import load_catalog

    return load_catalog().default.id


def test_a_very_long_attachment_is_searched_by_keywords_and_says_so(workspace, tmp_path):
    book = tmp_path / "book.txt"
    paragraphs = [f"Chapter {n}. " + FILLER * 3 for n in range(1000)]
    paragraphs[721] = "The lighthouse keeper's name was Abernathy Quill. " + FILLER
    book.write_text("\n\n".join(paragraphs))
    docs = workspace.documents.prepare(
        "What was the lighthouse keeper called?", attachments=[book], context_tokens=2048
    )
    assert docs.mode == "keywords"
    assert "keywords alone" in docs.note
    assert "Abernathy Quill" in docs.passages[0].text
