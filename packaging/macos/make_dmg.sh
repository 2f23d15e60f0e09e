#!/bin/sh
# Build Tandem.app and a .dmg to drag it into Applications. On macOS 12+, from the
# repository root, with Python 3.11+ and the Xcode command line tools:
#
#   sh packaging/macos/make_dmg.sh
#
# llama.cpp is built with Metal (the default on macOS; CMAKE_ARGS overrides it). Same spec
# and version source as Linux: packaging/tandem.spec and pyproject.toml. To sign and
# notarize, set SIGN_IDENTITY ("Developer ID Application: ...") and NOTARY_PROFILE (a
# `xcrun notarytool store-credentials` profile).
set -eu
VERSION=$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
MODEL=$(python3 -c 'import tomllib; c = tomllib.load(open("models/catalog.toml", "rb")); print(next(m["file"] for m in c["model"] if m["id"] == c["default"]["id"]))')
ARCH=$(uname -m)
DMG="dist/Tandem-$VERSION-macos-$ARCH.dmg"

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --upgrade pip
CMAKE_ARGS="${CMAKE_ARGS:--DGGML_METAL=on}" .venv/bin/python -m pip install -e '.[package]'
TANDEM_HOME="$PWD/.test-home" .venv/bin/tandem-cli models fetch-default
TANDEM_BUNDLE_MODEL="$PWD/.test-home/data/models/$MODEL" \
    .venv/bin/pyinstaller --noconfirm --distpath dist --workpath build/pyinstaller packaging/tandem.spec
dist/Tandem.app/Contents/MacOS/tandem --self-test

if [ -n "${SIGN_IDENTITY:-}" ]; then
    codesign --force --deep --options runtime --timestamp --sign "$SIGN_IDENTITY" dist/Tandem.app
fi
STAGE=build/dmg
rm -rf "$STAGE" && mkdir -p "$STAGE"
cp -R dist/Tandem.app "$STAGE/"
ln -s /Applications "$STAGE/Applications"
hdiutil create -volname "Tandem $VERSION" -srcfolder "$STAGE" -ov -format UDZO "$DMG"
if [ -n "${SIGN_IDENTITY:-}" ] && [ -n "${NOTARY_PROFILE:-}" ]; then
    xcrun notarytool submit "$DMG" --keychain-profile "$NOTARY_PROFILE" --wait
    xcrun stapler staple "$DMG"
fi
du -h "$DMG"
