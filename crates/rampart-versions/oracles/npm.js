// Writes npm-random.txt: random loose npm versions compared by node-semver.
// Needs: npm install semver. Usage: node npm.js OUT_DIR
const fs = require('fs');
const path = require('path');
const semver = require('semver');

let seed = 3;
const random = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const pick = (items) => items[Math.floor(random() * items.length)];
const number = () => pick(['0', '1', '2', '10', '01', '00', '9007199254740991', '3']);
const identifier = () => pick(['alpha', 'beta', 'rc', '0', '1', '2', '10', '01', 'a-b', '-', 'x1', 'RC', 'Beta', '1a', '--']);

function version() {
  let text = pick(['', '', 'v', '=', 'v=', '=v', 'vv']) + number() + '.' + number() + '.' + number();
  if (random() < 0.2) text += '.' + number();
  if (random() < 0.5) {
    const count = 1 + Math.floor(random() * 3);
    text += pick(['-', '-', '']) + Array.from({ length: count }, identifier).join(pick(['.', '.', '..']));
  }
  if (random() < 0.3) text += '+' + pick(['build', '1', 'a.b', '01', 'x-y', '']);
  return text;
}

const pool = Array.from({ length: 3000 }, version).filter((v) => semver.valid(v, { loose: true }));
const lines = [];
for (let i = 0; i < 40000; i++) {
  const a = pick(pool);
  const b = pick(pool);
  const order = semver.compare(a, b, true);
  lines.push(`${a} ${order < 0 ? '<' : order === 0 ? '=' : '>'} ${b}`);
}
fs.writeFileSync(path.join(process.argv[2], 'npm-random.txt'), lines.join('\n') + '\n');
