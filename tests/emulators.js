// Starts the AWS API emulators the end-to-end tests use, on loopback only,
// on ports the OS picks; prints "kinesis <port>" and "dynamodb <port>" once
// listening, and exits when stdin closes (so the emulators never outlive the
// test that started them).
'use strict';
const kinesalite = require('kinesalite');
const dynalite = require('dynalite');

function start(name, server) {
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`${name} ${server.address().port}`));
  });
}

Promise.all([
  start('kinesis', kinesalite({ createStreamMs: 5, deleteStreamMs: 5, updateStreamMs: 5, shardLimit: 1000 })),
  start('dynamodb', dynalite({ createTableMs: 5, deleteTableMs: 5, updateTableMs: 5 })),
]).then((lines) => {
  process.stdout.write(lines.join('\n') + '\n');
}, (err) => {
  process.stderr.write(`emulators: ${err.stack || err}\n`);
  process.exit(1);
});

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
