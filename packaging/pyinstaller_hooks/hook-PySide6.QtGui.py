# Replaces PyInstaller's own hook for PySide6.QtGui: the same collection, minus the Qt
# plugins Tandem never uses. Cutting them here, before PyInstaller follows their library
# dependencies, also keeps out what only they need (GTK, CUPS, Kerberos, PDF, QML...).
#
# Kept: platforms xcb, wayland (with its shells, decorations and client graphics), offscreen
# (for --self-test), windows, cocoa; input methods (compose, ibus) for typing any language;
# platform themes (native dialogs; GTK is loaded only where the system has it); image
# formats gif, ico, jpeg, svg and the SVG icon engine; the GLX/EGL glue for xcb.
import re

from PyInstaller.utils.hooks.qt import add_qt6_dependencies

hiddenimports, binaries, datas = add_qt6_dependencies(__file__)

_DROP = re.compile(
    r"plugins[/\\]("
    r"platforms[/\\]\w*(eglfs|linuxfb|minimal|minimalegl|vnc|vkkhrdisplay)\w*\.|"
    r"egldeviceintegrations|generic|wayland-graphics-integration-server|"
    r"platforminputcontexts[/\\]\w*virtualkeyboard|"
    r"imageformats[/\\]\w*(pdf|tiff|webp|wbmp|tga|icns)\w*\.)"
)
binaries = [(src, dest) for src, dest in binaries if not _DROP.search(src)]
