// @grpc/grpc-js (1.14) splits each stream's HTTP/2 data into messages with a StreamDecoder that,
// once a message is complete, still holds views of the chunks it came in (`readCompressFlag`,
// `readPartialMessage`) until the next message starts. On an agent's stream the next message is
// the next report, an interval later: every connected host keeps a whole report's worth of raw
// chunks alive besides the copy the collector decodes (docs/benchmarks.md, "The decoder's last
// chunk"). Between messages the decoder needs neither, so they are dropped when a write ends on a
// message boundary. Checked by test/collector-grpc-decoder.test.ts against the installed grpc-js.
import { createRequire } from 'node:module';

interface DecoderState {
  readState: number;
  readCompressFlag: Buffer;
  readPartialMessage: Buffer[];
  write(data: Buffer): Buffer[];
}

/** grpc-js's ReadState.NO_DATA: between messages. */
const NO_DATA = 0;

const require = createRequire(import.meta.url);

/** Patches the decoder; false when the installed grpc-js does not have the one this was written for. */
function patch(): boolean {
  let proto: DecoderState | undefined;
  try {
    const mod = require('@grpc/grpc-js/build/src/stream-decoder.js') as { StreamDecoder?: { prototype: DecoderState } };
    proto = mod.StreamDecoder?.prototype;
  } catch {
    return false;
  }
  if (!proto || typeof proto.write !== 'function') return false;
  const probe = new (proto.constructor as new (max: number) => DecoderState)(-1);
  if (probe.readState !== NO_DATA || !Buffer.isBuffer(probe.readCompressFlag) || !Array.isArray(probe.readPartialMessage)) return false;
  const write = proto.write;
  const empty = Buffer.alloc(1);
  proto.write = function (this: DecoderState, data: Buffer): Buffer[] {
    const out = write.call(this, data);
    if (this.readState === NO_DATA && out.length > 0) {
      // Both are set afresh when the next message starts; only their views of `data` go.
      this.readCompressFlag = empty;
      this.readPartialMessage = [];
    }
    return out;
  };
  return true;
}

const patched = patch();

/** Whether the installed grpc-js has the decoder this was written for, now patched. */
export function decoderReleasesChunks(): boolean {
  return patched;
}
