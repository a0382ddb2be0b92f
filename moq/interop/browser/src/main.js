// Browser MoQ peer for Tributary's interop tests.
//
// Runs in headless Chromium, speaks MoQ through @moq/net (a stack nobody at
// Tributary wrote) over WebTransport, and reports what it did to the Go test
// with a JSON POST. Every parameter comes from the page's query string:
//
//   lib      "0.2" for @moq/net 0.2.8 (what @moq/watch 0.4 uses); default 0.3.4
//   url      WebTransport URL of the server (https://127.0.0.1:PORT/path)
//   hash     hex SHA-256 of the server's self-signed certificate (optional)
//   alpn     comma-separated WebTransport protocols to offer, e.g. moqt-18
//            (optional: @moq/net's own list when absent)
//   mode     "publish", "subscribe" or "announced"
//   ns       broadcast path; "/" separates namespace fields
//   track    track name
//   groups   number of groups
//   objects  objects per group
//   sizes    comma-separated object sizes, used in turn (publish)
//   seed     payload seed (publish)
//   prefix   broadcast path prefix (announced)
//   count    events to wait for (announced)
//   gate     1: after the subscription, POST phase "subscribed" and wait for
//            GET /gate to answer before writing (publish)
//   early    1: the track holds its first group before any subscription (publish)
//   report   path or URL the result JSON is POSTed to (default /result)
//   timeout  milliseconds the whole scenario may take (default 15000)
//
// Payload bytes of object o of group g (publish mode) are payload(seed, g, o, size);
// moq/interop/browser_test.go computes the same function.

import * as MoqNet03 from "@moq/net";
import * as MoqNet02 from "moq-net-02";
import { captureConsole, fmt } from "./console.js";

const params = new URLSearchParams(location.search);
// lib=0.2 runs @moq/net 0.2.8, the version @moq/watch 0.4 depends on.
const Moq = params.get("lib") === "0.2" ? MoqNet02 : MoqNet03;
// @moq/net has no public signal for SUBSCRIBE_OK; its debug line is one.
let subscribeOk;
const subscribedOk = new Promise((resolve) => {
	subscribeOk = resolve;
});

// Keep a copy of every console line (ours and @moq/net's) for the report.
const logs = captureConsole((args) => {
	if (typeof args[0] === "string" && args[0].startsWith("subscribe ok:")) subscribeOk();
});

function int(name, def) {
	const v = params.get(name);
	if (v === null || v === "") return def;
	const n = Number.parseInt(v, 10);
	if (!Number.isFinite(n) || n < 0) throw new Error(`bad ${name}: ${v}`);
	return n;
}

/** payload returns the deterministic bytes of object o in group g. */
export function payload(seed, g, o, size) {
	const out = new Uint8Array(size);
	// xorshift32 seeded from (seed, g, o); never zero.
	let x = (seed ^ Math.imul(g + 1, 0x9e3779b1) ^ Math.imul(o + 1, 0x85ebca6b)) >>> 0 || 1;
	for (let i = 0; i < size; i++) {
		x ^= x << 13;
		x >>>= 0;
		x ^= x >>> 17;
		x ^= x << 5;
		x >>>= 0;
		out[i] = x & 0xff;
	}
	return out;
}

function b64(bytes) {
	let s = "";
	for (let i = 0; i < bytes.length; i += 0x8000) {
		s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
	}
	return btoa(s);
}

async function connect() {
	const url = new URL(params.get("url"));
	const webtransport = {};
	const hash = params.get("hash");
	if (hash) webtransport.serverCertificateHashes = [{ algorithm: "sha-256", value: hash }];
	const alpn = params.get("alpn");
	if (alpn) webtransport.protocols = alpn.split(",");
	return await Moq.Connection.connect(url, {
		webtransport,
		websocket: { enabled: false },
		signal: AbortSignal.timeout(int("timeout", 15000)),
	});
}

// publish announces the broadcast, waits for the peer to subscribe to the
// track, then writes the groups and closes the track. With early=1 the track
// exists and holds its first group before anyone subscribes, so the
// SUBSCRIBE_OK carries a Largest Object.
async function publish(conn, result) {
	const path = Moq.Path.from(params.get("ns"));
	const trackName = params.get("track");
	const groups = int("groups", 1);
	const objects = int("objects", 1);
	const sizes = (params.get("sizes") || "16").split(",").map((s) => Number.parseInt(s, 10));
	const seed = int("seed", 1);
	const early = params.get("early") === "1";

	const sent = [];
	let n = 0;
	const writeGroup = (track) => {
		const group = track.appendGroup();
		for (let o = 0; o < objects; o++) {
			const size = sizes[n++ % sizes.length];
			group.writeFrame({ payload: payload(seed, group.sequence, o, size), timestamp: Moq.Time.Timestamp.now() });
			sent.push({ group: group.sequence, object: o, size });
		}
		group.close();
	};

	const broadcast = new Moq.Broadcast.Producer();
	let track;
	if (early) {
		track = broadcast.createTrack(trackName, { ordered: true });
		writeGroup(track);
	}
	conn.publish(path, broadcast);
	console.log(`published broadcast ${path}; waiting for a subscription to ${trackName}`);
	if (early) {
		while (!track.used.peek()) await track.used.changed();
	} else {
		for (;;) {
			const req = await broadcast.requested();
			if (!req) throw new Error("broadcast closed before any subscription");
			if (req.name !== trackName) {
				console.warn(`rejecting request for unknown track ${req.name}`);
				req.reject(new Error("not found"));
				continue;
			}
			track = req.accept({ ordered: true });
			break;
		}
		await track.info();
	}
	// @moq/net serves a SUBSCRIBE from the latest group it holds (drafts before
	// 20 carry no start it honours), and it takes that snapshot in the
	// microtasks that follow the subscription. Writing after a macrotask turn
	// keeps every later group inside the subscription.
	await sleep(0);
	if (params.get("gate") === "1") {
		// The test says when to write (e.g. once a subscriber downstream of a
		// relay has its SUBSCRIBE_OK).
		await post({ mode: "publish", phase: "subscribed", ok: true });
		const r = await fetch("/gate");
		if (!r.ok) throw new Error(`gate: ${r.status} ${await r.text()}`);
	}
	console.log(`subscribed: writing ${groups - sent.length / objects} more groups of ${objects} objects`);
	while (sent.length < groups * objects) writeGroup(track);
	result.sent = sent;
	// Tell the test the bytes are written, then hold the session open until the
	// test says it is done (it closes the server session) or time runs out.
	await post({ ...result, ok: true, phase: "written" });
	await Promise.race([conn.closed, sleep(int("linger", 10000))]);
	track.close();
}

// subscribe consumes the track and reports every object it receives, until
// groups*objects objects have arrived.
async function subscribe(conn, result) {
	const path = Moq.Path.from(params.get("ns"));
	const trackName = params.get("track");
	const want = int("groups", 1) * int("objects", 1);
	const broadcast = conn.consume(path);
	const sub = broadcast.subscribe(trackName, { ordered: true });
	// Tell the test once SUBSCRIBE_OK is in, so it can publish what must
	// arrive after the subscription started.
	void subscribedOk.then(() => post({ mode: "subscribe", phase: "subscribed", ok: true }));
	const received = [];
	// Reported even when the scenario times out, so a short count shows.
	result.received = received;
	await new Promise((resolve, reject) => {
		let pending = 0;
		let ended = false;
		const check = () => {
			if (received.length >= want || (ended && pending === 0)) resolve();
		};
		(async () => {
			for (;;) {
				const group = await sub.recvGroup();
				if (!group) break;
				pending++;
				(async () => {
					for (;;) {
						const f = await group.readFrameSequence();
						if (!f) break;
						received.push({
							group: group.sequence,
							object: f.sequence,
							data: b64(f.payload),
							ts: f.timestamp?.value,
							scale: f.timestamp?.scale,
						});
						check();
					}
				})()
					.catch((e) => console.warn(`group ${group.sequence}: ${fmt(e)}`))
					.finally(() => {
						pending--;
						check();
					});
			}
			ended = true;
			check();
		})().catch(reject);
	});
	received.sort((a, b) => a.group - b.group || a.object - b.object);
	// How the track ended, if it did: null for a clean end, the error otherwise.
	const closed = sub.closed.peek();
	if (closed !== undefined) result.trackClosed = closed === null ? "clean" : fmt(closed);
	sub.close();
}

// announced asks for the broadcasts under a prefix (SUBSCRIBE_NAMESPACE on
// drafts 18+) and reports the first `count` events.
async function announced(conn, result) {
	const prefix = Moq.Path.from(params.get("prefix") || "");
	const want = int("count", 1);
	const consumer = conn.announced(prefix);
	const events = [];
	while (events.length < want) {
		const ev = await consumer.next();
		if (!ev) break;
		events.push({ path: ev.path, active: ev.active });
	}
	result.announced = events;
	consumer.close();
}

function sleep(ms) {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

async function post(body) {
	const target = params.get("report") || "/result";
	body.logs = logs.slice();
	await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

async function main() {
	const mode = params.get("mode");
	const result = { mode, ok: false };
	const deadline = sleep(int("timeout", 15000)).then(() => {
		throw new Error(`scenario timed out after ${int("timeout", 15000)} ms`);
	});
	let conn;
	try {
		await Promise.race([
			(async () => {
				conn = await connect();
				result.version = conn.version;
				console.log(`connected: ${conn.version}`);
				if (mode === "publish") await publish(conn, result);
				else if (mode === "subscribe") await subscribe(conn, result);
				else if (mode === "announced") await announced(conn, result);
				else throw new Error(`unknown mode ${mode}`);
			})(),
			deadline,
		]);
		result.ok = true;
	} catch (e) {
		result.error = fmt(e);
		console.error("scenario failed", e);
	} finally {
		try {
			conn?.close();
		} catch {
			// ignore
		}
	}
	result.phase = "done";
	await post(result);
}

void main();
