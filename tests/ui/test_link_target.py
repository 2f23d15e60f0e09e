"""Where a link really goes: each trick that makes a shown address lie, and what the
confirmation says about it (the rule without Qt, then through the window)."""

from __future__ import annotations

import pytest

from app.ui.link_target import confirmation, link_target, visible


def _host_line(question: str) -> str:
    lines = question.splitlines()
    return lines[lines.index("This link goes to:") + 2].strip()


def test_a_user_name_before_the_at_sign_is_not_the_host():
    target = link_target("https://bank.com@evil.example/login")
    assert target.host == "evil.example"
    assert _host_line(confirmation(target)) == "evil.example"
    assert any("user name" in w and "bank.com" in w for w in target.warnings)


@pytest.mark.parametrize(
    "url",
    [
        "https://bank.com:secret@evil.example/",
        "https://bank.com%40x@evil.example/",
        "https://evil.example\\@bank.com",  # a browser reads the backslash as a slash
        "HTTPS://EVIL.EXAMPLE/",
        "https://evil%2Eexample/",
        " \t\nhttps://evil.exa\tmple/",
        "https:evil.example/",
        "https:///evil.example/",
    ],
)
def test_the_host_is_the_one_a_browser_reaches(url):
    assert link_target(url).host == "evil.example"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://example.com/\u202egpj.exe", "[U+202E]"),  # right-to-left override
        ("https://example.com/\u2066x\u2069", "[U+2066]"),  # isolates
        ("https://example.com/a\u200bb", "[U+200B]"),  # zero-width space
        ("https://example.com/a\u2060b\ufeff", "[U+2060]"),  # word joiner, BOM
        ("https://example.com/a\u00adb", "[U+00AD]"),  # soft hyphen
        ("https://example.com/a\u3164b", "[U+3164]"),  # a filler that prints as nothing
    ],
)
def test_hidden_and_bidirectional_characters_are_made_visible(url, code):
    target = link_target(url)
    assert code in target.address
    assert target.host == "example.com"
    assert any("hidden characters" in w for w in target.warnings)
    assert code in confirmation(target)


def test_invisible_characters_in_the_host_are_shown_and_dropped_as_a_browser_does():
    target = link_target("https://ex\u200bam\u00adple.com/")
    assert target.host == "example.com"
    assert any("[U+200B]" in w for w in target.warnings)


def test_a_host_turned_around_by_a_bidi_control_is_not_opened():
    target = link_target("https://moc.knab\u202e.evil.example/")
    assert not target.openable
    assert "[U+202E]" in target.shown_host


@pytest.mark.parametrize("url", ["https://\u0430pple.com/", "https://xn--pple-43d.com/"])
def test_a_look_alike_host_shows_its_xn_form_and_its_letters(url):
    target = link_target(url)  # the first letter is a Cyrillic a
    assert target.host == "xn--pple-43d.com"
    line = _host_line(confirmation(target))
    assert line.startswith("xn--pple-43d.com")
    assert "\u0430pple.com" in line
    assert any("can look like others" in w for w in target.warnings)


@pytest.mark.parametrize("url", ["https://2130706433/", "https://0x7f.1/", "https://0177.0.0.1/"])
def test_a_number_written_another_way_is_shown_as_the_address_it_is(url):
    assert link_target(url).host == "127.0.0.1"


def test_an_ordinary_link_has_no_warnings_and_the_address_apart():
    target = link_target("https://example.org/real/path?q=1")
    assert target.warnings == ()
    question = confirmation(target)
    assert _host_line(question) == "example.org"
    assert "Full address:\nhttps://example.org/real/path?q=1" in question


def test_mail_names_the_mailbox_it_goes_to():
    target = link_target("mailto:boss@xn--pple-43d.com?subject=hi")
    assert target.openable
    assert "boss@xn--pple-43d.com" in confirmation(target)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "file:///etc/passwd", "https://", ""])
def test_other_schemes_and_empty_hosts_are_not_opened(url):
    assert not link_target(url).openable


def test_visible_leaves_ordinary_text_alone():
    assert visible("Grüße, 東京 x") == "Grüße, 東京 x"


# ----- through the window: a model's answer holds the link, the person clicks it


@pytest.mark.parametrize(
    ("markdown", "host"),
    [
        ("[bank](https://bank.com@evil.example/)", "evil.example"),
        ("[apple](https://\u0430pple.com/)", "xn--pple-43d.com"),
        ("[docs](https://example.com/\u202egpj.exe)", "example.com"),
        # The renderer encodes the host as it is, hidden character and all: a different
        # name, which the question shows with the character made visible.
        ("<https://ex\u200bample.com/x>", "xn--example-1z6c.com (written ex[U+200B]ample.com)"),
    ],
)
def test_the_window_asks_with_the_real_host(qtbot, dialogs, markdown, host):
    from PySide6.QtCore import QUrl

    from app.ui.chat.message_widget import MessageWidget
    from app.ui.window.dialog_opener import DialogOpener

    reply = MessageWidget("assistant", "model")
    qtbot.addWidget(reply)
    reply.set_text(f"See {markdown} now")
    block = reply.body.document().firstBlock()
    hrefs = []
    it = block.begin()
    while not it.atEnd():
        fmt = it.fragment().charFormat()
        if fmt.isAnchor():
            hrefs.append(fmt.anchorHref())
        it += 1
    assert hrefs

    from app.core.messages import GenerationParams
    from app.services.workspace import Workspace

    workspace = Workspace()
    opener = DialogOpener(workspace, GenerationParams, reply)
    opener.open_link(QUrl(hrefs[0]))
    _title, question = dialogs["shown"][-1]
    assert _host_line(question).startswith(host)
    assert dialogs["opened"]
    assert link_target(dialogs["opened"][-1]).host == host.split(" ")[0]
    workspace.shutdown()


def test_the_status_bar_shows_a_hovered_address_with_its_hidden_characters(qtbot):
    from app.ui.window.status_bar import StatusBar

    bar = StatusBar(lambda: None)
    qtbot.addWidget(bar)
    bar.show_link("https://example.com/\u202egpj.exe")
    assert bar.currentMessage() == "https://example.com/[U+202E]gpj.exe"
    bar.stop()
