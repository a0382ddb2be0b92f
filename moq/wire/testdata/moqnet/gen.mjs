// Records byte vectors encoded by @moq/net (a MoQ stack nobody here wrote) for
// moq/wire's interop test (TestMoqNetVectors). Run from the repository root
// after `npm ci` in moq/interop/browser:
//   node moq/wire/testdata/moqnet/gen.mjs > moq/wire/testdata/moqnet/vectors.txt
// Each line: <name> <draft> <kind> <hex>; kind is "msg" (type + length + body) or "stream".
import * as Ietf from "../../../interop/browser/node_modules/@moq/net/ietf/index.js";
import { Writer } from "../../../interop/browser/node_modules/@moq/net/stream.js";

async function bytes(version, f) {
  const chunks = [];
  const w = new Writer(new WritableStream({ write(c) { chunks.push(new Uint8Array(c)); } }), version);
  await f(w);
  w.close();
  await w.closed;
  return Buffer.concat(chunks).toString("hex");
}

async function msg(version, m) {
  return bytes(version, async (w) => {
    await w.u53(m.constructor.id);
    await m.encode(w, version);
  });
}

const enc = new TextEncoder();
for (const [draft, version] of [[18, Ietf.Version.DRAFT_18], [19, Ietf.Version.DRAFT_19]]) {
  const out = (name, kind, hex) => console.log(`${name} ${draft} ${kind} ${hex}`);
  const opts = new Ietf.SetupOptions();
  opts.setBytes(Ietf.SetupOption.Path, enc.encode("/moq"));
  opts.setBytes(Ietf.SetupOption.Implementation, enc.encode("moq-lite-js"));
  opts.setVarint(Ietf.SetupOption.MaxAuthTokenCacheSize, 0n);
  out("setup", "msg", await msg(version, new Ietf.Setup({ parameters: opts })));
  out("subscribe", "msg", await msg(version, new Ietf.Subscribe({
    requestId: 2n, trackNamespace: "live/room", trackName: "video", subscriberPriority: 7,
    filter: Ietf.joinFilter(version),
  })));
  out("subscribe-absolute", "msg", await msg(version, new Ietf.Subscribe({
    requestId: 4n, trackNamespace: "live", trackName: "catalog.json", subscriberPriority: 0,
    filter: { kind: "absolute", startGroup: 300n, startObject: 2n, endGroup: 310n },
  })));
  out("subscribe-ok", "msg", await msg(version, new Ietf.SubscribeOk({ trackAlias: 9n, properties: { groupOrder: 2 } })));
  out("publish-namespace", "msg", await msg(version, new Ietf.PublishNamespace({ requestId: 6n, trackNamespace: "live/room" })));
  out("request-ok", "msg", await msg(version, new Ietf.RequestOk({})));
  out("request-error", "msg", await msg(version, new Ietf.RequestError({ errorCode: 0x10, reasonPhrase: "not found", retryInterval: 0n })));
  out("subscribe-namespace", "msg", await msg(version, new Ietf.SubscribeNamespace({ namespace: "live", requestId: 8n })));
  out("namespace", "msg", await msg(version, new Ietf.SubscribeNamespaceEntry({ suffix: "room" })));
  out("namespace-done", "msg", await msg(version, new Ietf.SubscribeNamespaceEntryDone({ suffix: "room" })));
  out("publish-blocked", "msg", await msg(version, new Ietf.PublishBlocked({ suffix: "room", trackName: "audio" })));
  out("publish-done", "msg", await msg(version, new Ietf.PublishDone({ requestId: 2n, statusCode: 2, reasonPhrase: "ended" })));
  out("publish", "msg", await msg(version, new Ietf.Publish({
    requestId: 3n, trackNamespace: "live/room", trackName: "video", trackAlias: 11n, groupOrder: 2,
    contentExists: false, forward: true,
  })));
  // @moq/net writes LARGEST_OBJECT with a length prefix (moq-dev/moq#3558): kind "quirk-msg".
  console.log(`publish-largest ${draft} quirk-msg ${await msg(version, new Ietf.Publish({
    requestId: 5n, trackNamespace: "live", trackName: "audio", trackAlias: 12n, groupOrder: 2,
    contentExists: true, largest: { groupId: 300n, objectId: 7n }, forward: true,
  }))}`);
  out("goaway", "msg", await msg(version, new Ietf.GoAway({ newSessionUri: "", timeout: 1500n })));
  out("subgroup", "stream", await bytes(version, async (w) => {
    const g = new Ietf.Group({ trackAlias: 9n, groupId: 300, subGroupId: 0, publisherPriority: 5,
      flags: { hasExtensions: false, hasSubgroupObject: false, hasSubgroup: false, hasEnd: true, hasPriority: true, firstObject: true } });
    await g.encode(w, version);
    for (const p of ["frame-0", "frame-1", "frame-2"]) {
      await new Ietf.Frame({ payload: enc.encode(p) }).encode(w, version, g.flags);
    }
  }));
}
