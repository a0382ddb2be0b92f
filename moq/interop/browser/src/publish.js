// Browser broadcaster for Tributary's player tests.
//
// Runs @moq/publish (the publisher of the @moq/* packages, which nobody at
// Tributary wrote) in headless Chromium: Chromium's fake camera and
// microphone (--use-fake-device-for-media-stream) are encoded with WebCodecs
// and published as a hang broadcast over WebTransport. Reports to the Go test
// with JSON POSTs to /result. Parameters come from the query string:
//
//   url      WebTransport URL of the relay (https://127.0.0.1:PORT/)
//   hash     hex SHA-256 of the relay's self-signed certificate
//   name     broadcast path, e.g. alice/live
//   video    0 to publish no video (default 1)
//   audio    0 to publish no audio (default 1)
//   width, height, fps   camera constraints (default 640x480 at 30)
//
// Phases posted: "publishing" once the broadcast is set up (with the
// negotiated version), "tick" every second with the encoders' state, and
// "done" with ok=false if anything fails.

import * as Publish from "@moq/publish";
import { captureConsole, fmt } from "./console.js";

const Net = Publish.Net;
const params = new URLSearchParams(location.search);
const logs = captureConsole();

async function post(phase, fields) {
	const body = JSON.stringify({ phase, logs: logs.splice(0), ...fields });
	try {
		await fetch("/result", { method: "POST", body });
	} catch (e) {
		console.error("post failed", e);
	}
}

async function run() {
	const url = new URL(params.get("url"));
	const hash = params.get("hash");
	const connection = await Net.Connection.connect(url, {
		webtransport: hash ? { serverCertificateHashes: [{ algorithm: "sha-256", value: hash }] } : undefined,
		websocket: { enabled: false },
	});
	const wantVideo = params.get("video") !== "0";
	const wantAudio = params.get("audio") !== "0";
	const media = await navigator.mediaDevices.getUserMedia({
		video: wantVideo
			? {
					width: Number(params.get("width") ?? 640),
					height: Number(params.get("height") ?? 480),
					frameRate: Number(params.get("fps") ?? 30),
				}
			: false,
		audio: wantAudio,
	});
	const broadcast = new Publish.Broadcast({
		connection,
		enabled: true,
		name: Net.Path.from(params.get("name") ?? "browser/live"),
		video: { hd: { enabled: wantVideo } },
		audio: { enabled: wantAudio },
	});
	if (wantVideo) broadcast.video.source.set(media.getVideoTracks()[0]);
	if (wantAudio) broadcast.audio.source.set(media.getAudioTracks()[0]);
	await post("publishing", { ok: true, version: String(connection.version ?? "") });
	for (;;) {
		await new Promise((resolve) => setTimeout(resolve, 1000));
		await post("tick", { ok: true });
	}
}

run().catch((e) => post("done", { ok: false, error: fmt(e) + (e?.stack ? `\n${e.stack}` : "") }));
