// Provider test call (/provider-test#visit=<id>&token=<session token>): the offerer's side of
// a visit's call in the browser, with the same signaling as the workstation (see rtc/call.py):
// a complete offer {kind: "offer", sdp, session} once ICE gathering is done, the patient's
// {kind: "answer", sdp, session}, a new offer when the patient says {kind: "hello"} with no
// working connection, {kind: "bye"} to hang up. The hub serves this page only when started
// for benchmarks; it is the browser-to-browser baseline of `workstation bench`.

import { $, iceGathered, parseMessage, setText } from "./common.js";

const GATHER_TIMEOUT_MS = 5000;
const ATTEMPT_MS = 4000;

const params = new URLSearchParams(location.hash.slice(1));
const visitId = params.get("visit") || "";
const token = params.get("token") || "";
history.replaceState(null, "", location.pathname); // the session token leaves the address bar

const state = { ws: null, local: null, pc: null, session: 0, offeredAt: 0, started: false,
  connected: false, ended: false };

function setStatus(text) {
  setText($("call_status"), text);
}

function signal(data) {
  const ws = state.ws;
  if (ws && ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify({ type: "signal", visit_id: visitId, data }));
  }
}

async function offer() {
  if (state.ended) return;
  if (state.pc) state.pc.close();
  state.session += 1;
  const session = state.session;
  const pc = new RTCPeerConnection({ iceServers: [] });
  state.pc = pc;
  state.connected = false;
  pc.addEventListener("track", (event) => {
    const remote = $("remote_video");
    const stream = event.streams[0] || new MediaStream([event.track]);
    if (remote.srcObject !== stream) remote.srcObject = stream;
  });
  pc.addEventListener("connectionstatechange", () => {
    if (pc !== state.pc) return;
    if (pc.connectionState === "connected") {
      state.connected = true;
      setStatus("In the video visit.");
    } else if (["failed", "disconnected"].includes(pc.connectionState)) {
      state.connected = false;
      setStatus("Reconnecting…");
      offer().catch((error) => console.warn("offer failed", error));
    }
  });
  if (state.local) {
    for (const track of state.local.getTracks()) pc.addTrack(track, state.local);
  }
  for (const kind of ["audio", "video"]) {
    if (!state.local || !state.local.getTracks().some((t) => t.kind === kind)) {
      pc.addTransceiver(kind, { direction: "recvonly" });
    }
  }
  pc.createDataChannel("chat");
  await pc.setLocalDescription(await pc.createOffer());
  await iceGathered(pc, GATHER_TIMEOUT_MS);
  if (pc !== state.pc) return;
  signal({ kind: "offer", sdp: pc.localDescription.sdp, session });
  state.offeredAt = performance.now();
}

async function onSignal(data) {
  if (state.ended || !state.started) return;
  if (data.kind === "answer" && data.session === state.session && typeof data.sdp === "string") {
    await state.pc.setRemoteDescription({ type: "answer", sdp: data.sdp });
  } else if (data.kind === "hello") {
    const young = performance.now() - state.offeredAt < ATTEMPT_MS;
    if (!state.connected && !(state.pc && young)) await offer();
  } else if (data.kind === "bye") {
    if (state.pc) state.pc.close();
    state.pc = null;
    state.connected = false;
    setStatus("The patient left. They can come back to the video page.");
  }
}

function connectSocket() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/ws/provider`,
    ["workstation", `workstation.bearer.${token}`]);
  state.ws = ws;
  ws.addEventListener("open", () => {
    $("start_button").disabled = state.started;
    setStatus("Signed in. Start the visit when the patient is on the video page.");
  });
  ws.addEventListener("message", (event) => {
    const message = parseMessage(event.data);
    if (message && message.type === "signal" && message.visit_id === visitId
        && message.data && typeof message.data === "object") {
      onSignal(message.data).catch((error) => console.warn("signal failed", error));
    }
  });
  ws.addEventListener("close", (event) => {
    $("start_button").disabled = true;
    setStatus(event.code === 4401 ? "Not signed in: the session token was refused."
      : "The connection to the hub closed.");
  });
}

$("start_button").addEventListener("click", () => {
  state.started = true;
  $("start_button").disabled = true;
  $("end_button").disabled = false;
  setStatus("Connecting…");
  offer().catch((error) => setStatus(`The call could not start: ${error}`));
});

$("end_button").addEventListener("click", () => {
  signal({ kind: "bye" });
  state.ended = true;
  if (state.pc) state.pc.close();
  state.pc = null;
  $("end_button").disabled = true;
  setStatus("The visit ended.");
});

async function main() {
  if (!visitId || !token) {
    setStatus("Open this page with #visit=VISIT_ID&token=SESSION_TOKEN.");
    return;
  }
  const video = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };
  try {
    state.local = await navigator.mediaDevices.getUserMedia({ audio: true, video });
    $("self_video").srcObject = state.local;
  } catch (error) {
    setStatus(`No camera or microphone: ${error}`);
  }
  connectSocket();
}

main();
