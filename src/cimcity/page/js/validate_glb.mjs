import fs from 'fs';
import { createRequire } from 'module';
const require = createRequire(process.cwd() + '/');
const validator = require('gltf-validator');
const data = new Uint8Array(fs.readFileSync(process.argv[2]));
const r = await validator.validateBytes(data);
console.log(JSON.stringify({errors: r.issues.numErrors, warnings: r.issues.numWarnings, infos: r.issues.numInfos, messages: r.issues.messages.slice(0, 15)}, null, 1));
