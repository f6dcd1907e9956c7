// protobufjs (the copy proto-loader itself uses, so both parse the .proto files the same way)
// for encoding messages straight from well-typed plain objects.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// dist/proto/codec.js -> <root>/proto
export const PROTO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'proto');

interface PbType {
  encode(m: unknown): { finish(): Uint8Array };
}
interface PbRoot {
  resolvePath: (origin: string, target: string) => string;
  loadSync(file: string): { lookupType(name: string): PbType };
}

const types = new Map<string, PbType>();

/** `msg` encoded as the message type `name` of the .proto `file` (loaded once). Throws on a value of the wrong type. */
export function encodeMessage(file: string, name: string, msg: unknown): Buffer {
  let type = types.get(name);
  if (!type) {
    const require = createRequire(createRequire(import.meta.url).resolve('@grpc/proto-loader'));
    const protobuf = require('protobufjs') as { Root: new () => PbRoot };
    const root = new protobuf.Root();
    // imports are relative to proto/, as proto-loader's includeDirs says
    root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(PROTO_DIR, target));
    type = root.loadSync(file).lookupType(name);
    types.set(name, type);
  }
  const bytes = type.encode(msg).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
