#!/usr/bin/env bash
# Vendor the LDNOOBW bad-word lists (the list C4 used) from the npm package naughty-words.
# Writes pipeline/resources/ldnoobw/<lang>.txt (one entry a line, UTF-8), LICENSE and PROVENANCE.md.
# Usage: scripts/vendor_ldnoobw.sh   (needs npm and python3; run from anywhere)
set -euo pipefail

PKG="naughty-words"
VERSION="1.2.0"
UPSTREAM="https://github.com/LDNOOBW/List-of-Dirty-Naughty-Obscene-and-Otherwise-Bad-Words"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/pipeline/resources/ldnoobw"
PYTHON="${PYTHON:-python3}"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
npm pack --silent "$PKG@$VERSION" >/dev/null
TARBALL="$PKG-$VERSION.tgz"
tar xzf "$TARBALL"
SHA256="$(sha256sum "$TARBALL" | cut -d' ' -f1)"
SHA1="$(sha1sum "$TARBALL" | cut -d' ' -f1)"

rm -rf "$DEST"
mkdir -p "$DEST"
cp package/LICENSE "$DEST/LICENSE"
# Every <lang>.json at the package root is a JSON array of entries; package.json etc. are not lists.
"$PYTHON" - "$TMP/package" "$DEST" <<'PY'
import json, pathlib, sys
src, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for f in sorted(src.glob("*.json")):
    if f.name in ("package.json", "package-lock.json", "bower.json"):
        continue
    entries = json.loads(f.read_text(encoding="utf-8"))
    assert isinstance(entries, list), f"{f.name}: expected a JSON list"
    (dest / f"{f.stem}.txt").write_text("".join(e + "\n" for e in entries), encoding="utf-8")
    print(f"{f.stem}: {len(entries)} entries")
PY

LANGS="$(cd "$DEST" && ls ./*.txt | sed 's|^\./||; s|\.txt$||' | tr '\n' ' ' | sed 's/ $//')"
cat > "$DEST/PROVENANCE.md" <<MD
# LDNOOBW bad-word lists

"List of Dirty, Naughty, Obscene, and Otherwise Bad Words", the list C4 used for its bad-words filter.
Content is offensive by design; used only to drop pages (pipeline/stages/quality/c4_badwords.py).

- Package: npm \`$PKG@$VERSION\` (fetched with \`npm pack\` by \`scripts/vendor_ldnoobw.sh\`)
- Tarball: \`$TARBALL\`, sha256 \`$SHA256\`, sha1 (npm shasum) \`$SHA1\`
- License: CC-BY-4.0 (see LICENSE, copied from the package)
- Upstream: $UPSTREAM
- Conversion: each \`<lang>.json\` array written as \`<lang>.txt\`, one entry a line, UTF-8, order kept
- Languages: $LANGS
MD
echo "wrote $DEST"
