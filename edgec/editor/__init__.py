"""Editor support for `edgec lsp`: what is at a position of a file, hover text, where names are
declared and used, completion."""
