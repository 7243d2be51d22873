"""The editor files under editors/: the TextMate grammar is the one edgec.editor.textmate makes
from the language's grammar (a keyword added to grammar/edge.lark needs it regenerated), and
the VS Code folder points at files that exist. tests/editors runs the grammar in VS Code's engine."""
from __future__ import annotations

import json

from edgec.editor.textmate import grammar

from ..conftest import ROOT

VSCODE = ROOT / "editors" / "vscode"


def test_the_textmate_grammar_is_made_from_the_language_grammar():
    committed = json.loads((VSCODE / "syntaxes" / "edge.tmLanguage.json").read_text())
    assert committed == grammar(), \
        "regenerate it: python -m edgec.editor.textmate > editors/vscode/syntaxes/edge.tmLanguage.json"


def test_the_vscode_folder_declares_the_language_and_its_grammar():
    manifest = json.loads((VSCODE / "package.json").read_text())
    (language,) = manifest["contributes"]["languages"]
    (tm,) = manifest["contributes"]["grammars"]
    assert language["extensions"] == [".edge"] and tm["language"] == language["id"] == "edge"
    assert tm["scopeName"] == grammar()["scopeName"]
    assert (VSCODE / tm["path"]).is_file() and (VSCODE / language["configuration"]).is_file()
    assert json.loads((VSCODE / language["configuration"]).read_text())["comments"]["lineComment"] == "#"
