// Re-read RDF documents with independent parsers and write each as N-Quads.
// Usage: node parse.mjs JOBS.json
//   JOBS.json: [[FORMAT, INPUT, OUTPUT], ...] where FORMAT is
//     turtle | ntriples | nquads | trig   (N3.js)
//     jsonld-1.0 | jsonld-1.1            (jsonld.js in that processing mode, no remote contexts)
// Each OUTPUT gets the N-Quads, or OUTPUT + ".error" gets the parser's message when the
// document is rejected. Exit status 0 when every job ran (accepted or not), 2 on bad usage.
import { readFileSync, writeFileSync } from 'node:fs';
import N3 from 'n3';
import jsonld from 'jsonld';

const n3Formats = { turtle: 'Turtle', ntriples: 'N-Triples', nquads: 'N-Quads', trig: 'TriG' };
const documentLoader = (url) => { throw new Error(`no remote documents (asked for ${url})`); };

async function parse(format, text) {
  if (format in n3Formats) {
    const quads = new N3.Parser({ format: n3Formats[format] }).parse(text);
    return new N3.Writer({ format: 'N-Quads' }).quadsToString(quads);
  }
  if (format === 'jsonld-1.0' || format === 'jsonld-1.1') {
    const processingMode = format === 'jsonld-1.0' ? 'json-ld-1.0' : 'json-ld-1.1';
    return jsonld.toRDF(JSON.parse(text), { format: 'application/n-quads', processingMode, documentLoader, safe: true });
  }
  throw new Error(`unknown format ${format}`);
}

const [jobsFile] = process.argv.slice(2);
if (!jobsFile) {
  process.stderr.write('usage: node parse.mjs JOBS.json\n');
  process.exit(2);
}
for (const [format, input, output] of JSON.parse(readFileSync(jobsFile, 'utf-8'))) {
  try {
    writeFileSync(output, await parse(format, readFileSync(input, 'utf-8')));
  } catch (err) {
    writeFileSync(`${output}.error`, `${err.name}: ${err.message}\n${JSON.stringify(err.details || {}).slice(0, 500)}\n`);
  }
}
