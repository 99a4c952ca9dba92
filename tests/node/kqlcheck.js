#!/usr/bin/env node
// Analyse many KQL queries with Microsoft's Kusto.Language (the Bridge.NET build published as
// @kusto/language-service-next) against declared table schemas, loading the library once.
//
// stdin:  {"database": "Name", "tables": {"Table": {"Column": "kusto type", ...}, ...},
//          "queries": ["query text", ...]}
// stdout: {"results": [{"diagnostics": [{"severity", "code", "category", "start", "length",
//          "message"}, ...], "resultType": "..."}, ...]}   (one entry per query, same order)
//
// Exit code 0 when the analysis ran (whatever the diagnostics), 2 when the input or the library
// could not be loaded, so a caller never mistakes a broken set-up for "no diagnostics".
'use strict';

function loadKusto() {
  require('@kusto/language-service-next/bridge.min.js');
  require('@kusto/language-service-next/Kusto.Language.Bridge.min.js');
  return globalThis.Kusto.Language;
}

function readStdin() {
  return require('fs').readFileSync(0, 'utf8');
}

function buildGlobals(K, spec) {
  const tables = Object.entries(spec.tables || {}).map(([name, columns]) => {
    const cols = Object.entries(columns)
      .map(([col, type]) => `['${col.replace(/'/g, "\\'")}']:${type}`)
      .join(', ');
    return K.Symbols.TableSymbol.From(`(${cols})`).WithName(name);
  });
  const db = new K.Symbols.DatabaseSymbol.ctor(spec.database || 'eqlc', tables);
  return K.GlobalState.Default.WithDatabase(db);
}

function analyse(K, globals, query) {
  const code = K.KustoCode.ParseAndAnalyze(query, globals);
  const diags = code.GetDiagnostics();
  const out = [];
  for (let i = 0; i < diags.Count; i++) {
    const d = diags.getItem(i);
    out.push({
      severity: String(d.Severity), code: String(d.Code), category: String(d.Category),
      start: d.Start, length: d.Length, message: String(d.Message),
    });
  }
  const rt = code.ResultType;
  return { diagnostics: out, resultType: rt && rt.Display ? String(rt.Display) : null };
}

// `--serve`: one JSON request per stdin line, one JSON answer per stdout line, the library loaded
// once for the whole test process (the Python side keeps this process open: loading the library is
// ~1 s, and the suite checks queries in dozens of tests). Schemas are built once per distinct set.
function serve() {
  let K;
  try {
    K = loadKusto();
  } catch (err) {
    process.stderr.write(`kqlcheck: cannot load @kusto/language-service-next (run: npm ci --prefix tests/node): ${err.message}\n`);
    process.exit(2);
  }
  const cache = new Map();
  const rl = require('readline').createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => {
    if (!line.trim()) return;
    let answer;
    try {
      const spec = JSON.parse(line);
      const key = JSON.stringify([spec.database || 'eqlc', spec.tables || {}]);
      let globals = cache.get(key);
      if (globals === undefined) {
        globals = buildGlobals(K, spec);
        cache.set(key, globals);
      }
      answer = { results: (spec.queries || []).map((q) => analyse(K, globals, q)) };
    } catch (err) {
      answer = { error: String(err && err.message ? err.message : err) };
    }
    process.stdout.write(JSON.stringify(answer) + '\n');
  });
}

function main() {
  if (process.argv.includes('--serve')) {
    serve();
    return;
  }
  let spec;
  let K;
  try {
    spec = JSON.parse(readStdin());
  } catch (err) {
    process.stderr.write(`kqlcheck: cannot read the JSON request on stdin: ${err.message}\n`);
    process.exit(2);
  }
  try {
    K = loadKusto();
  } catch (err) {
    process.stderr.write(`kqlcheck: cannot load @kusto/language-service-next (run: npm ci --prefix tests/node): ${err.message}\n`);
    process.exit(2);
  }
  const globals = buildGlobals(K, spec);
  const results = (spec.queries || []).map((q) => analyse(K, globals, q));
  process.stdout.write(JSON.stringify({ results }) + '\n');
}

main();
