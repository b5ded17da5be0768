// Writes `<file>.gz` beside every compressible file of the build, for the root to send to
// browsers that accept gzip; prints the first-load size (JS and CSS that index.html pulls in).
import { readFileSync, readdirSync, statSync, writeFileSync, unlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync, constants } from 'node:zlib';

const dist = process.argv[2] ?? 'dist';
const compressible = /\.(html|js|mjs|css|json|svg|txt|map|webmanifest)$/;

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else yield path;
  }
}

const sizes = new Map();
for (const path of files(dist)) {
  if (path.endsWith('.gz')) {
    unlinkSync(path);
    continue;
  }
  const data = readFileSync(path);
  let size = data.length;
  if (compressible.test(path)) {
    const gz = gzipSync(data, { level: constants.Z_BEST_COMPRESSION });
    if (gz.length < data.length) {
      writeFileSync(`${path}.gz`, gz);
      size = gz.length;
    }
  }
  sizes.set('/' + relative(dist, path).split('\\').join('/'), { raw: data.length, gz: size });
}

const index = readFileSync(join(dist, 'index.html'), 'utf8');
const loaded = [...index.matchAll(/(?:src|href)="([^"]+\.(?:js|css))"/g)].map((m) => m[1]);
let raw = 0;
let gz = 0;
for (const path of loaded) {
  const s = sizes.get(path);
  if (!s) continue;
  raw += s.raw;
  gz += s.gz;
}
console.log(
  `first load: ${loaded.length} files, ${(raw / 1024).toFixed(1)} kB JS+CSS, ` +
    `${(gz / 1024).toFixed(1)} kB gzipped`,
);
