// Video page (/v/<token>/video): the patient's side of the call, with the browser's own WebRTC.
//
// Signaling goes over the visit's socket (/ws/patient/<token>) as {type: "signal", data}:
//   we send {kind: "hello"} when we have no working connection (on arrival; every RETRY_MS
//   once the provider is ready until connected, and while interrupted); the workstation answers
//   with {kind: "offer", sdp, session}; we answer {kind: "answer", sdp, session} once ICE gathering
//   is done (no trickle: the workstation's aiortc takes complete descriptions);
//   {kind: "bye"} ends the call from either side.
// While the visit is open (the provider ended the call to write the notes, or the patient
// left), the page stays on the socket: "Rejoin" brings the camera back and says hello, and the
// provider's "Call again" (a new offer) is answered. Only a visit that is over closes it.
// Chat runs on the "chat" data channel the workstation opens: {id, from, text, at}, shown as
// text, never as HTML. Nothing is recorded: media goes to the <video> elements only.

import { $, iceGathered, parseMessage, setText } from "./common.js";

const RETRY_MS = 2000;
const GATHER_TIMEOUT_MS = 5000;
const MAX_CHAT = 2000;

const match = /^\/v\/([^/]+)\/video\/?$/.exec(location.pathname);
const token = match ? decodeURIComponent(match[1]) : "";

const state = {
  ws: null,
  wsAttempts: 0,
  iceServers: [],
  local: null, // MediaStream from the camera and microphone (may be null: receive only)
  pc: null,
  session: 0,
  channel: null,
  connected: false,
  ended: false, // the visit is over: nothing more happens on this page
  paused: false, // the call ended but the visit is open: a new offer is answered
  // In the room by the patient's choice (arrived, or chose Rejoin), waiting for an offer: an
  // open visit's "documenting" status says only that no call is on yet, and does not pause.
  waiting: true,
  retryTimer: null,
  muted: false,
  cameraOff: false,
};

if (token) $("back_to_visit").href = `/v/${encodeURIComponent(token)}`;

// ---- camera and microphone ----------------------------------------------------------------

async function getMedia() {
  const video = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };
  const attempts = [
    [{ audio: true, video }, null],
    [{ audio: true, video: false }, "No camera could be used: your provider will hear you but not see you."],
    [{ audio: false, video }, "No microphone could be used: your provider will see you but not hear you. Use the messages below."],
  ];
  for (const [constraints, warning] of attempts) {
    try {
      const stream = await navigator.mediaDevices.getUserMedia(constraints);
      if (warning) showDeviceWarning(warning);
      return stream;
    } catch (error) {
      if (error && error.name === "NotAllowedError") {
        showDeviceWarning("Your browser blocked the camera and microphone. Allow them for this site in the browser's settings, then reload this page. You can still see and hear your provider.");
        return null;
      }
    }
  }
  showDeviceWarning("No camera or microphone was found. You can still see and hear your provider, and use the messages below.");
  return null;
}

function showDeviceWarning(message) {
  setText($("device_message"), message);
  $("device_banner").hidden = false;
}

// ---- the visit socket ---------------------------------------------------------------------

function connectSocket() {
  if (state.ended) return;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/ws/patient/${encodeURIComponent(token)}`);
  state.ws = ws;
  ws.addEventListener("open", () => {
    state.wsAttempts = 0;
    if (!state.connected) hello();
  });
  ws.addEventListener("message", (event) => {
    const message = parseMessage(event.data);
    if (!message) return;
    if (message.type === "rtc" && Array.isArray(message.ice_servers)) {
      state.iceServers = message.ice_servers;
    } else if (message.type === "status") {
      onStatus(message);
    } else if (message.type === "signal" && message.data && typeof message.data === "object") {
      onSignal(message.data).catch((error) => console.warn("signal failed", error));
    }
  });
  ws.addEventListener("close", (event) => {
    if (state.ws !== ws) return;
    state.ws = null;
    if (event.code === 4404) {
      endCall("This visit link has expired.", false);
      return;
    }
    if (!state.ended) {
      state.wsAttempts += 1;
      setTimeout(connectSocket, Math.min(5000, 500 * state.wsAttempts));
    }
  });
}

function signal(data) {
  const ws = state.ws;
  if (ws && ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify({ type: "signal", data }));
    return true;
  }
  return false;
}

function hello() {
  if (!state.ended && !state.paused) signal({ kind: "hello" });
}

function onStatus(message) {
  const s = message.state;
  if (s === "waiting") setStatus("You are in line. The video starts when your provider is ready.");
  else if (s === "claimed" && !state.connected) {
    setStatus("Your provider is ready. Connecting the video…");
    if (!state.paused) helloUntilConnected();
  }
  else if (s === "documenting" && state.waiting && !state.paused) {
    setStatus("Waiting for your provider to call you back…");
  } else if (s === "documenting" && !state.paused) {
    pauseCall("The video call has ended.",
      "Your provider is finishing your visit notes. If they call you again, the video comes back "
      + "on this page. Your visit summary will appear on your visit page.", false);
  } else if (["signed", "redirected", "cancelled", "no_show", "expired"].includes(s)) {
    endCall("Your video visit has ended.", false);
  }
}

// ---- the peer connection ------------------------------------------------------------------

async function onSignal(data) {
  if (state.ended) return;
  if (data.kind === "offer" && typeof data.sdp === "string" && Number.isInteger(data.session)) {
    if (state.paused) await resumeRoom(); // the provider calls again
    await answer(data.sdp, data.session);
  } else if (data.kind === "bye") {
    pauseCall("Your provider ended the video call.",
      "Your provider is finishing your visit notes. If they call you again, the video comes back "
      + "on this page. Your visit summary will appear on your visit page.", false);
  }
}

async function answer(sdp, session) {
  closePeer();
  state.session = session;
  state.waiting = false;
  const pc = new RTCPeerConnection({ iceServers: state.iceServers });
  state.pc = pc;
  pc.addEventListener("track", (event) => {
    const remote = $("remote_video");
    if (remote.srcObject !== event.streams[0] && event.streams[0]) {
      remote.srcObject = event.streams[0];
    } else if (!event.streams[0]) {
      const stream = remote.srcObject instanceof MediaStream ? remote.srcObject : new MediaStream();
      stream.addTrack(event.track);
      remote.srcObject = stream;
    }
    $("remote_placeholder").hidden = true;
  });
  pc.addEventListener("datachannel", (event) => useChannel(event.channel));
  pc.addEventListener("connectionstatechange", () => {
    if (pc !== state.pc) return;
    if (pc.connectionState === "connected") {
      state.connected = true;
      clearInterval(state.retryTimer);
      state.retryTimer = null;
      setStatus("Connected to your provider.");
    } else if (["failed", "disconnected"].includes(pc.connectionState)) {
      interrupted();
    }
  });
  await pc.setRemoteDescription({ type: "offer", sdp });
  if (state.local) {
    for (const track of state.local.getTracks()) pc.addTrack(track, state.local);
  }
  await pc.setLocalDescription(await pc.createAnswer());
  await iceGathered(pc, GATHER_TIMEOUT_MS);
  if (pc !== state.pc) return;
  signal({ kind: "answer", sdp: pc.localDescription.sdp, session });
}

function interrupted() {
  if (state.ended) return;
  state.connected = false;
  setStatus("Reconnecting… Your provider can still see your visit. Stay on this page.");
  helloUntilConnected();
}

// Hello now and every RETRY_MS until a connection holds: an offer made before this page was
// listening is lost, and the provider's workstation answers a later hello with a new one.
function helloUntilConnected() {
  if (state.retryTimer) return;
  hello();
  state.retryTimer = setInterval(() => {
    if (state.connected || state.ended) {
      clearInterval(state.retryTimer);
      state.retryTimer = null;
      return;
    }
    hello();
  }, RETRY_MS);
}

function closePeer() {
  if (state.pc) {
    state.pc.close();
    state.pc = null;
  }
  state.channel = null;
  state.connected = false;
  setChatEnabled(false);
}

/** The call is over but the visit is open: camera off, the room hidden, the socket kept. */
function pauseCall(title, text, notify) {
  if (state.ended) return;
  if (notify) signal({ kind: "bye" });
  state.paused = true;
  clearInterval(state.retryTimer);
  state.retryTimer = null;
  closePeer();
  stopLocal();
  $("room").hidden = true;
  for (const id of ["mute_button", "camera_button", "leave_button"]) $(id).disabled = true;
  setText($("ended_title"), title);
  setText($("ended_text"), text);
  $("rejoin_button").hidden = false;
  $("ended_panel").hidden = false;
  $("ended_panel").focus();
  setStatus(title);
}

/** Back in the room after a pause: camera and microphone again, ready for the provider. */
async function resumeRoom() {
  if (!state.paused || state.ended) return;
  state.paused = false;
  $("ended_panel").hidden = true;
  $("room").hidden = false;
  $("leave_button").disabled = false;
  await startLocal();
}

function stopLocal() {
  if (state.local) for (const track of state.local.getTracks()) track.stop();
  state.local = null;
  $("self_video").srcObject = null;
  $("remote_video").srcObject = null;
  $("remote_placeholder").hidden = false;
}

async function startLocal() {
  state.local = await getMedia();
  if (state.local) {
    $("self_video").srcObject = state.local;
    $("camera_button").disabled = !state.local.getVideoTracks().length;
    $("mute_button").disabled = !state.local.getAudioTracks().length;
    for (const track of state.local.getAudioTracks()) track.enabled = !state.muted;
    for (const track of state.local.getVideoTracks()) track.enabled = !state.cameraOff;
  } else {
    $("camera_button").disabled = true;
    $("mute_button").disabled = true;
  }
}

function endCall(message, notify) {
  if (state.ended) return;
  if (notify) signal({ kind: "bye" });
  state.ended = true;
  clearInterval(state.retryTimer);
  closePeer();
  stopLocal();
  if (state.ws) {
    const ws = state.ws;
    state.ws = null;
    ws.close();
  }
  $("room").hidden = true;
  for (const id of ["mute_button", "camera_button", "leave_button"]) $(id).disabled = true;
  setText($("ended_title"), message);
  setText($("ended_text"), "Your visit summary appears on your visit page.");
  $("rejoin_button").hidden = true;
  $("ended_panel").hidden = false;
  $("ended_panel").focus();
  setStatus(message);
}

// ---- chat ---------------------------------------------------------------------------------

function useChannel(channel) {
  state.channel = channel;
  channel.addEventListener("open", () => setChatEnabled(true));
  channel.addEventListener("close", () => setChatEnabled(false));
  channel.addEventListener("message", (event) => {
    const message = parseMessage(event.data);
    if (message && typeof message.text === "string" && message.text.trim()) {
      addChat(message.from === "patient" ? "You" : "Provider", message.text.slice(0, MAX_CHAT));
    }
  });
  if (channel.readyState === "open") setChatEnabled(true);
}

function setChatEnabled(on) {
  $("chat_input").disabled = !on;
  $("chat_send").disabled = !on;
}

function addChat(who, text) {
  const item = document.createElement("li");
  const from = document.createElement("span");
  from.className = "from";
  from.textContent = `${who}:`;
  item.append(from, document.createTextNode(text));
  $("chat_log").append(item);
  item.scrollIntoView({ block: "nearest" });
}

$("chat_form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("chat_input");
  const text = input.value.trim().slice(0, MAX_CHAT);
  const channel = state.channel;
  if (!text || !channel || channel.readyState !== "open") return;
  const id = globalThis.crypto && crypto.randomUUID ? crypto.randomUUID() : String(Date.now());
  channel.send(JSON.stringify({ id, from: "patient", text, at: Date.now() / 1000 }));
  addChat("You", text);
  input.value = "";
  input.focus();
});

// ---- controls -----------------------------------------------------------------------------

$("mute_button").addEventListener("click", () => {
  state.muted = !state.muted;
  if (state.local) for (const track of state.local.getAudioTracks()) track.enabled = !state.muted;
  $("mute_button").setAttribute("aria-pressed", String(state.muted));
  setText($("mute_button"), state.muted ? "Unmute microphone" : "Mute microphone");
});

$("camera_button").addEventListener("click", () => {
  state.cameraOff = !state.cameraOff;
  if (state.local) for (const track of state.local.getVideoTracks()) track.enabled = !state.cameraOff;
  $("camera_button").setAttribute("aria-pressed", String(state.cameraOff));
  setText($("camera_button"), state.cameraOff ? "Turn camera on" : "Turn camera off");
});

$("leave_button").addEventListener("click", () => {
  pauseCall("You left the video call.",
    "Your provider can still call you back while your visit is open: stay on this page, or "
    + "choose Rejoin the video.", true);
});

$("rejoin_button").addEventListener("click", async () => {
  state.waiting = true;
  await resumeRoom();
  setStatus("Waiting for your provider to call you back…");
  hello();
});

window.addEventListener("pagehide", () => {
  if (!state.ended && !state.paused) signal({ kind: "bye" });
});

function setStatus(text) {
  setText($("call_status"), text);
}

// ---- start --------------------------------------------------------------------------------

async function main() {
  if (!token) {
    endCall("This visit link is not valid.", false);
    return;
  }
  await startLocal();
  setStatus("Waiting for your provider to start the video…");
  connectSocket();
}

main();
