// Starts the AWS API emulators the end-to-end tests use, on loopback only,
// on ports the OS picks; prints "kinesis <port>" once listening and exits when
// stdin closes (so the emulators never outlive the test that started them).
'use strict';
const kinesalite = require('kinesalite');

const server = kinesalite({
  createStreamMs: 5,
  deleteStreamMs: 5,
  updateStreamMs: 5,
  shardLimit: 1000,
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`kinesis ${server.address().port}\n`);
});
server.on('error', (err) => {
  process.stderr.write(`kinesalite: ${err.stack || err}\n`);
  process.exit(1);
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
