// Tokenizes files with a TextMate grammar through vscode-textmate and vscode-oniguruma, the
// engine VS Code highlights with. Prints, for each file, its tokens as
// [line, start column, end column, scopes] (0-based, end exclusive), as JSON.
// usage: node tokenize.mjs GRAMMAR.json FILE...
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const oniguruma = require("vscode-oniguruma");
const textmate = require("vscode-textmate");

const [grammarPath, ...files] = process.argv.slice(2);
const wasm = readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm")).buffer;
await oniguruma.loadWASM(wasm);
const registry = new textmate.Registry({
  onigLib: Promise.resolve({
    createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
    createOnigString: (s) => new oniguruma.OnigString(s),
  }),
  loadGrammar: async () => textmate.parseRawGrammar(readFileSync(grammarPath, "utf8"), grammarPath),
});
const grammar = await registry.loadGrammar("source.edge");
if (!grammar) throw new Error(`no grammar in ${grammarPath}`);
const out = {};
for (const file of files) {
  let stack = textmate.INITIAL;
  const tokens = [];
  readFileSync(file, "utf8").split("\n").forEach((text, line) => {
    const result = grammar.tokenizeLine(text, stack);
    for (const t of result.tokens) tokens.push([line, t.startIndex, Math.min(t.endIndex, text.length), t.scopes]);
    stack = result.ruleStack;
  });
  out[file] = tokens;
}
process.stdout.write(JSON.stringify(out));
