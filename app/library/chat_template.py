"""A first look at a GGUF's chat template, without running it.

Templates come from strangers' files. The engine renders them in Jinja's immutable
sandbox, which blocks any reach into Python internals; this check reads the template's
syntax tree (nothing is executed) so the model manager can warn before the model is used.
"""

from __future__ import annotations

from dataclasses import dataclass

# Names that only matter to a template trying to climb out of its sandbox.
_ESCAPE_NAMES = frozenset(
    {"mro", "subclasses", "globals", "builtins", "getattr", "popen", "subprocess",
     "func_globals", "gi_frame", "gi_code", "f_back", "f_globals", "co_code"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class TemplateReport:
    compiles: bool
    concerns: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.compiles and not self.concerns

    def summary(self) -> str:
        if not self.compiles:
            return "the chat template does not compile; chats fall back to ChatML"
        if self.concerns:
            return (
                "the chat template tries to reach Python internals ("
                + ", ".join(self.concerns)
                + "); Tandem's sandbox blocks that, so chatting with this model will fail"
            )
        return "the chat template looks ordinary"


def check_chat_template(template: str) -> TemplateReport:
    """Parse `template` and list attribute or name accesses no chat template needs."""
    from jinja2 import nodes
    from jinja2.exceptions import TemplateSyntaxError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment()
    try:
        tree = env.parse(template)
    except TemplateSyntaxError:
        return TemplateReport(False, ())
    concerns: list[str] = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name, nodes.Const)):
        if isinstance(node, nodes.Const):  # e.g. attr('__globals__')
            text = node.value if isinstance(node.value, str) else ""
            name = text if len(text) > 4 and text[:2] == text[-2:] == "__" else ""
        elif isinstance(node, nodes.Getattr):
            name = node.attr
        elif isinstance(node, nodes.Getitem):
            arg = node.arg
            name = arg.value if isinstance(arg, nodes.Const) and isinstance(arg.value, str) else ""
        elif isinstance(node, nodes.Name):  # a plain variable: only a dunder is suspect
            name = node.name if node.name.startswith("__") else ""
        else:
            continue
        bare = name.strip("_").lower()
        dunder = name and ((name.startswith("_") and name != "_") or bare in _ESCAPE_NAMES)
        if dunder and name not in concerns:
            concerns.append(name)
    return TemplateReport(True, tuple(concerns))
