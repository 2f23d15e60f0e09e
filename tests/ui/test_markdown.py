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
    view.anchorClicked.emit(QUrl("tandem-copy:0"))
    assert QGuiApplication.clipboard().text() == 'print("hi <there>")\n'


def test_the_view_never_loads_a_resource(qtbot):
    view = MessageText()
    qtbot.addWidget(view)
    assert view.loadResource(2, QUrl("https://example.com/logo.png")) is None
    assert view.loadResource(2, QUrl("file:///etc/passwd")) is None
