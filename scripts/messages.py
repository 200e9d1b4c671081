"""Brings both catalogues up to date with the code (a developer's tool, not run by CI).

    .venv/bin/python scripts/messages.py               # update, list what lacks Russian
    .venv/bin/python scripts/messages.py ru.json       # ... and fill Russian from a table

English is the source language, so its entries are the msgid itself. Russian entries come
from a JSON object {msgid: msgstr} (for plural entries: {msgid: [one, few, many]}); the
script then lists any msgid still without a Russian translation and exits 1 if there are.
The test suite (tests/test_i18n.py) checks that both catalogues stay complete.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin" / "python"
LOCALE = ROOT / "locale"

# An entry starts after a blank line, with its comments, then msgctxt (pgettext) or msgid.
ENTRY = re.compile(r"\n\n(?=(?:#[^\n]*\n)*(?:msgctxt|msgid) )")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _unquote_lines(lines: list[str]) -> str:
    out = "".join(json.loads(line) for line in lines)
    return out


def _field(block: str, name: str) -> str | None:
    match = re.search(rf"^{name} (\"[^\n]*\")\n((?:\"[^\n]*\"\n?)*)", block + "\n", re.M)
    if not match:
        return None
    lines = [match.group(1)] + [line for line in match.group(2).splitlines() if line]
    return _unquote_lines(lines)


def _head(block: str, msgstr: str) -> str:
    """The entry without its translation, its fuzzy flag and its previous msgid."""
    head = block.split("\n" + msgstr, 1)[0]
    head = "\n".join(line for line in head.split("\n") if not line.startswith("#, fuzzy"))
    return re.sub(r"^#\| .*\n?", "", head, flags=re.M)


def makemessages() -> None:
    for language in ("ru", "en"):
        subprocess.run(
            [
                str(PY),
                "manage.py",
                "makemessages",
                "-l",
                language,
                "--no-location",
                "--no-obsolete",
                "--ignore=.venv/*",
                "--ignore=node_modules/*",
                "--ignore=tests/*",
                "--ignore=bench/*",
                "--ignore=var/*",
            ],
            cwd=ROOT,
            check=True,
        )


def fill(language: str, table: dict) -> list[str]:
    """Fills empty (and fuzzy) entries; returns the msgids still untranslated."""
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    text = po.read_text()
    blocks = ENTRY.split(text)
    missing = []
    out = [blocks[0]]
    for block in blocks[1:]:
        msgid = _field(block, "msgid")
        plural = _field(block, "msgid_plural")
        fuzzy = "#, fuzzy" in block
        if plural is None:
            msgstr = _field(block, "msgstr")
            if msgstr and not fuzzy:
                out.append(block)
                continue
            value = msgid if language == "en" else table.get(msgid)
            if value is None:
                missing.append(msgid)
                out.append(block)
                continue
            out.append(f"{_head(block, 'msgstr ')}\nmsgstr {_quote(value)}")
            continue
        forms = [_field(block, f"msgstr\\[{i}\\]") for i in range(3)]
        if all(f for f in forms if f is not None) and not fuzzy:
            out.append(block)
            continue
        count = len([f for f in forms if f is not None])
        if language == "en":
            values = [msgid, plural][:count]
        else:
            values = table.get(msgid)
        if not values:
            missing.append(msgid)
            out.append(block)
            continue
        head = _head(block, "msgstr[0] ")
        lines = [f"msgstr[{i}] {_quote(v)}" for i, v in enumerate(values)]
        out.append(head + "\n" + "\n".join(lines))
    po.write_text("\n\n".join(out).rstrip("\n") + "\n")
    return missing


def main() -> int:
    table = json.loads(Path(sys.argv[1]).read_text()) if len(sys.argv) > 1 else {}
    makemessages()
    fill("en", {})
    missing = fill("ru", table)
    subprocess.run(
        [str(PY), "manage.py", "compilemessages", "--ignore=.venv/*", "--ignore=node_modules/*"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    for msgid in missing:
        print(json.dumps(msgid, ensure_ascii=False))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
