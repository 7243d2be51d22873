"""The documentation, installed with the package: `edgec lsp` shows what a statement does
from language.md (edgec.editor.langref), the text the reader of docs/ sees."""
