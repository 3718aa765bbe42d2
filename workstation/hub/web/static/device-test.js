// Device test (/device-test): camera preview, microphone level, device choice, test chime.
//
// Ids: #start_test #stop_test #camera_preview #camera_select #camera_status #mic_select
//      #mic_meter #mic_level_value #mic_level_label #mic_heard #play_sound
//      #device_status (live) #device_error #device_error_message
// Tracks are stopped when the test is stopped and when the page is left.

import { $, el, setText, playChime, getAudioContext } from "./common.js";

const state = {
  stream: null,
  meterContext: null,
  rafId: 0,
  lastText: 0,
  heard: false,
  starting: false,
};

function supported() {
  return Boolean(window.isSecureContext && navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

function showError(title, message) {
  setText($("device_error_title"), title);
  setText($("device_error_message"), message);
  $("device_error").hidden = false;
}

function clearError() {
  $("device_error").hidden = true;
}

function describe(err, what) {
  const name = err && err.name;
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
    return ["Permission was not given",
      `Your browser is not allowed to use the ${what}. To allow it, open the site settings ` +
      "(the camera or lock icon next to the address), choose Allow for the camera and microphone, " +
      "then press “Start the test” again."];
  }
  if (name === "NotFoundError" || name === "DevicesNotFoundError") {
    return [`No ${what} found`,
      `We could not find a ${what} on this device. Connect one, or use a phone or computer that has one.`];
  }
  if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") {
    return [`The ${what} could not start`,
      `The ${what} may be in use by another app (for example another video call). Close that app, then try again.`];
  }
  if (name === "OverconstrainedError") {
    return [`That ${what} is not available`, `Choose another ${what} from the list.`];
  }
  return ["We could not start the test", `Something went wrong with the ${what}: ${err && err.message ? err.message : "unknown error"}.`];
}

function constraint(selectId) {
  const id = $(selectId).value;
  return id ? { deviceId: { exact: id } } : true;
}

/** Ask for camera and microphone; if one is missing, still use the other. */
async function acquire() {
  const media = navigator.mediaDevices;
  try {
    return { stream: await media.getUserMedia({ video: constraint("camera_select"), audio: constraint("mic_select") }), problems: [] };
  } catch (err) {
    if (err.name === "NotAllowedError" || err.name === "SecurityError") throw Object.assign(err, { what: "camera and microphone" });
    // Try each alone to say which one is the problem.
    const problems = [];
    const tracks = [];
    for (const [kind, what, select] of [["video", "camera", "camera_select"], ["audio", "microphone", "mic_select"]]) {
      try {
        const one = await media.getUserMedia({ [kind]: constraint(select) });
        tracks.push(...one.getTracks());
      } catch (inner) {
        problems.push(describe(inner, what));
      }
    }
    if (!tracks.length) {
      throw Object.assign(err, { what: "camera and microphone", problems });
    }
    return { stream: new MediaStream(tracks), problems };
  }
}

async function start() {
  if (state.starting) return;
  clearError();
  if (!supported()) {
    showError("This browser cannot test devices here",
      "Camera and microphone need a secure (https) page and a current browser such as Chrome, Edge, Firefox or Safari.");
    return;
  }
  state.starting = true;
  $("start_test").disabled = true;
  setText($("device_status"), "Starting your camera and microphone…");
  stopTracks();
  let result;
  try {
    result = await acquire();
  } catch (err) {
    state.starting = false;
    $("start_test").disabled = false;
    setText($("device_status"), "");
    if (err.problems && err.problems.length) {
      showError(err.problems.map((p) => p[0]).join(". "), err.problems.map((p) => p[1]).join(" "));
    } else {
      const [title, message] = describe(err, err.what || "camera and microphone");
      showError(title, message);
    }
    $("device_error").focus();
    return;
  }
  state.starting = false;
  state.stream = result.stream;
  const video = result.stream.getVideoTracks()[0];
  const audio = result.stream.getAudioTracks()[0];
  if (video) {
    $("camera_preview").srcObject = new MediaStream([video]);
    $("camera_preview").play().catch(() => {});
    setText($("camera_status"), `Camera on: ${video.label || "camera"}. You should see yourself above.`);
    video.addEventListener("ended", () => setText($("camera_status"), "The camera stopped (was it unplugged?). Press “Start the test” again."));
  } else {
    setText($("camera_status"), "No camera is working.");
  }
  if (audio) {
    startMeter(audio);
    audio.addEventListener("ended", () => setText($("mic_level_label"), "microphone stopped"));
  } else {
    setText($("mic_level_label"), "no microphone");
  }
  if (result.problems.length) {
    showError(result.problems.map((p) => p[0]).join(". "), result.problems.map((p) => p[1]).join(" "));
  }
  await refreshDevices();
  $("start_test").hidden = true;
  $("start_test").disabled = false;
  $("stop_test").hidden = false;
  setText($("device_status"), video && audio
    ? "The test is running. Check the picture and speak to see the level move."
    : "The test is running with only part of your devices.");
}

function startMeter(track) {
  const Ctor = window.AudioContext || window.webkitAudioContext;
  if (!Ctor) {
    setText($("mic_level_label"), "level not available in this browser");
    return;
  }
  const ctx = new Ctor();
  state.meterContext = ctx;
  ctx.resume().catch(() => {});
  const source = ctx.createMediaStreamSource(new MediaStream([track]));
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  source.connect(analyser); // not to the speakers: no echo
  const samples = new Float32Array(analyser.fftSize);
  state.heard = false;
  setText($("mic_heard"), "");
  const tick = (now) => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const x of samples) sum += x * x;
    const rms = Math.sqrt(sum / samples.length);
    const db = rms > 0 ? 20 * Math.log10(rms) : -100;
    const level = Math.max(0, Math.min(100, Math.round(((db + 60) / 60) * 100)));
    $("mic_meter").value = level;
    if (now - state.lastText > 250) {
      state.lastText = now;
      setText($("mic_level_value"), String(level));
      setText($("mic_level_label"), level < 5 ? "no sound" : level < 25 ? "quiet" : level < 85 ? "good" : "loud");
      $("mic_meter").textContent = `${level} of 100`;
    }
    if (!state.heard && level >= 15) {
      state.heard = true;
      setText($("mic_heard"), "We can hear your microphone.");
    }
    state.rafId = requestAnimationFrame(tick);
  };
  state.rafId = requestAnimationFrame(tick);
}

async function refreshDevices() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
  const devices = await navigator.mediaDevices.enumerateDevices();
  const current = {
    videoinput: state.stream && state.stream.getVideoTracks()[0],
    audioinput: state.stream && state.stream.getAudioTracks()[0],
  };
  for (const [kind, selectId, noun] of [["videoinput", "camera_select", "Camera"], ["audioinput", "mic_select", "Microphone"]]) {
    const select = $(selectId);
    const list = devices.filter((d) => d.kind === kind && d.deviceId);
    const track = current[kind];
    const activeId = track && track.getSettings ? track.getSettings().deviceId : "";
    select.replaceChildren();
    if (!list.length) {
      select.append(el("option", { value: "" }, `No ${noun.toLowerCase()} found`));
      select.disabled = true;
      continue;
    }
    list.forEach((d, i) => {
      const option = el("option", { value: d.deviceId }, d.label || `${noun} ${i + 1}`);
      if (d.deviceId === activeId) option.selected = true;
      select.append(option);
    });
    select.disabled = false;
  }
}

function stopTracks() {
  cancelAnimationFrame(state.rafId);
  state.rafId = 0;
  if (state.stream) {
    for (const track of state.stream.getTracks()) track.stop();
    state.stream = null;
  }
  if (state.meterContext) {
    state.meterContext.close().catch(() => {});
    state.meterContext = null;
  }
  $("camera_preview").srcObject = null;
  $("mic_meter").value = 0;
}

function stop() {
  stopTracks();
  $("stop_test").hidden = true;
  $("start_test").hidden = false;
  setText($("camera_status"), "The camera is off.");
  setText($("mic_level_value"), "0");
  setText($("mic_level_label"), "microphone off");
  setText($("mic_heard"), "");
  setText($("device_status"), "The test is stopped. Your camera and microphone are off.");
}

async function switchDevice() {
  if (!state.stream) return;
  await start();
}

$("start_test").addEventListener("click", start);
$("stop_test").addEventListener("click", () => {
  stop();
  $("start_test").focus();
});
$("camera_select").addEventListener("change", switchDevice);
$("mic_select").addEventListener("change", switchDevice);
$("play_sound").addEventListener("click", () => {
  const ctx = getAudioContext();
  if (!ctx) {
    setText($("device_status"), "This browser cannot play the test sound.");
    return;
  }
  playChime();
});
if (navigator.mediaDevices && "ondevicechange" in navigator.mediaDevices) {
  navigator.mediaDevices.addEventListener("devicechange", () => {
    if (state.stream) refreshDevices().catch(() => {});
  });
}
// Leaving the page: the camera light must go off.
window.addEventListener("pagehide", stopTracks);
// Back from the back/forward cache: the tracks were stopped, so show the test as stopped.
window.addEventListener("pageshow", (event) => {
  if (event.persisted && !$("stop_test").hidden) stop();
});
window.addEventListener("beforeunload", stopTracks);

if (!supported()) {
  showError("This browser cannot test devices here",
    "Camera and microphone need a secure (https) page and a current browser such as Chrome, Edge, Firefox or Safari.");
  $("start_test").disabled = true;
}
