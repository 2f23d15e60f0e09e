from __future__ import annotations

from PySide6.QtCore import QUrl
from PySide6.QtGui import QGuiApplication

from app.ui.chat.markdown import render_markdown
from app.ui.chat.message_widget import MessageText

SAMPLE = """# Title

- one
- two

| a | b |
|---|---|
| 1 | 2 |

```python
print("hi <there>")
```

<script>alert(1)</script> ![logo](https://example.com/logo.png)
"""


def test_markdown_renders_structure_and_escapes_raw_html():
    rendered = render_markdown(SAMPLE)
    assert "<h1>Title</h1>" in rendered.html
    assert "<li>one</li>" in rendered.html
    assert "<table border" in rendered.html
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert "<img" not in rendered.html
    assert rendered.code_blocks == ('print("hi <there>")\n',)


def test_copy_button_puts_the_code_on_the_clipboard(qtbot):
    view = MessageText()
    qtbot.addWidget(view)
    view.set_markdown(SAMPLE)
    assert "Copy" in view.toPlainText()
    view.anchorClicked.emit(QUrl(_copy_links(view)[0]))
    assert QGuiApplication.clipboard().text() == 'print("hi <there>")\n'


def _copy_links(view):
    """The targets of the Copy links the renderer put in `view`."""
    links = []
    block = view.document().begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fmt = it.fragment().charFormat()
            if fmt.isAnchor() and it.fragment().text() == "Copy":
                links.append(fmt.anchorHref())
            it += 1
        block = block.next()
    return links


def test_copy_links_written_by_the_model_copy_nothing(qtbot):
    view = MessageText()
    qtbot.addWidget(view)
    view.set_markdown(
        '```\nsecret\n```\n\n[x](tandem-copy:999) [y](tandem-copy:0) <a href="tandem-copy:0">z</a>'
    )
    QGuiApplication.clipboard().setText("before")
    ours = _copy_links(view)
    forged = [
        link for link in _anchors(view) if link.startswith("tandem-copy:") and link not in ours
    ]
    assert "tandem-copy:999" in forged
    assert "tandem-copy:0" in forged
    assert len(_copy_links(view)) == 1
    for link in (*forged, "tandem-copy:", "tandem-copy:x.1", "tandem-copy:abc.-1"):
        view.anchorClicked.emit(QUrl(link))  # nothing raises, nothing is copied
    token_of_ours = _copy_links(view)[0].split(":")[1].split(".")[0]
    view.anchorClicked.emit(QUrl(f"tandem-copy:{token_of_ours}.999"))  # ours, no such block
    assert QGuiApplication.clipboard().text() == "before"
    assert '<a href="tandem-copy:0">z</a>' in view.toPlainText()  # text, not a link
    old = _copy_links(view)[0]
    view.set_markdown("```\nnew\n```")
    view.anchorClicked.emit(QUrl(old))  # a link from an earlier render
    assert QGuiApplication.clipboard().text() == "before"
    view.anchorClicked.emit(QUrl(_copy_links(view)[0]))
    assert QGuiApplication.clipboard().text() == "new\n"


def _anchors(view):
    links = []
    block = view.document().begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fmt = it.fragment().charFormat()
            if fmt.isAnchor():
                links.append(fmt.anchorHref())
            it += 1
        block = block.next()
    return links


def test_the_view_never_loads_a_resource(qtbot):
    view = MessageText()
    qtbot.addWidget(view)
    assert view.loadResource(2, QUrl("https://example.com/logo.png")) is None
    assert view.loadResource(2, QUrl("file:///etc/passwd")) is None
