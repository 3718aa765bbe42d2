// Injected by `workstation bench` into the patient's video page and the provider test page
// (Playwright init script; window.__benchConfig = {width, height, fps} is set before it).
//
// - The camera becomes a canvas drawing the workstation's test pattern layout: a row of 40
//   blocks (16 px at the sent width) at y 16..32 carrying the wall clock in ms (mod 2**32)
//   and an 8-bit check, as workstation/devices/synthetic.py draws it. The microphone stays
//   Chromium's fake one.
// - Every remote frame presented in #remote_video is read back (requestVideoFrameCallback,
//   canvas readback) and its age on the shared clock at its expected display time recorded:
//   glass-to-glass latency.
// - A click on #start_button marks the start; the first remote frame presented, the end.
(() => {
  const cfg = Object.assign({ width: 1280, height: 720, fps: 30 }, window.__benchConfig || {});
  const BLOCK = 16;
  const DATA_BITS = 32;
  const CHECK_BITS = 8;
  const TWO32 = 4294967296;
  const MAX_AGE_MS = 10000;
  const bench = {
    cfg, clickedAt: null, firstFrameAt: null, ages: [], readAfterShownMs: [], unreadable: 0,
    presented: 0,
    sizes: {}, pcs: [], since: performance.now(),
  };
  window.__bench = bench;

  const check = (v) => ((((v >>> 24) & 255) + ((v >>> 16) & 255) + ((v >>> 8) & 255) + (v & 255)) % 256) ^ 0xa5;

  // ---- the peer connections, for their statistics ----
  const RealPC = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends RealPC {
    constructor(...args) { super(...args); bench.pcs.push(this); }
  };

  // ---- the synthetic camera ----
  function testPattern() {
    const canvas = document.createElement("canvas");
    canvas.width = cfg.width;
    canvas.height = cfg.height;
    const ctx = canvas.getContext("2d");
    const ramp = ctx.createLinearGradient(0, 0, cfg.width, 0);
    ramp.addColorStop(0, "rgb(40,40,40)");
    ramp.addColorStop(1, "rgb(200,200,200)");
    const stream = canvas.captureStream(0);
    const track = stream.getVideoTracks()[0];
    const draw = () => {
      const stamp = Date.now() % TWO32;
      ctx.fillStyle = ramp;
      ctx.fillRect(0, 0, cfg.width, cfg.height);
      ctx.fillStyle = "rgb(120,150,200)";
      ctx.fillRect(0, 4 * BLOCK, cfg.width / 2, cfg.height / 2 - 4 * BLOCK);
      ctx.fillStyle = "#fff";
      ctx.fillRect(Math.floor(((stamp % 2000) / 2000) * (cfg.width - 40)), 4 * BLOCK, 40, cfg.height);
      const c = check(stamp);
      for (let i = 0; i < DATA_BITS + CHECK_BITS; i += 1) {
        const bit = i < DATA_BITS ? (stamp >>> (DATA_BITS - 1 - i)) & 1 : (c >>> (CHECK_BITS - 1 - (i - DATA_BITS))) & 1;
        ctx.fillStyle = bit ? "#fff" : "#000";
        ctx.fillRect(i * BLOCK, BLOCK, BLOCK, BLOCK);
      }
      track.requestFrame();
    };
    draw();
    setInterval(draw, 1000 / cfg.fps);
    return track;
  }

  const devices = navigator.mediaDevices;
  const realGetUserMedia = devices.getUserMedia.bind(devices);
  devices.getUserMedia = async (constraints) => {
    const out = new MediaStream();
    if (constraints && constraints.audio) {
      (await realGetUserMedia({ audio: true })).getAudioTracks().forEach((t) => out.addTrack(t));
    }
    if (constraints && constraints.video) out.addTrack(testPattern());
    return out;
  };

  // ---- reading the remote picture ----
  function readCode(video, reader) {
    const w = video.videoWidth;
    const h = video.videoHeight;
    if (!w || !h) return null;
    const scale = w / cfg.width;
    const block = BLOCK * scale;
    const rows = Math.ceil(2 * block);
    if (reader.canvas.width !== w || reader.canvas.height !== rows) {
      reader.canvas.width = w;
      reader.canvas.height = rows;
    }
    reader.ctx.drawImage(video, 0, 0, w, rows, 0, 0, w, rows);
    const data = reader.ctx.getImageData(0, 0, w, rows).data;
    const y0 = Math.floor(block * 1.25);
    const y1 = Math.max(Math.floor(block * 1.75), y0 + 1);
    let value = 0;
    let got = 0;
    for (let i = 0; i < DATA_BITS + CHECK_BITS; i += 1) {
      const x0 = Math.floor((i + 0.25) * block);
      const x1 = Math.max(Math.floor((i + 0.75) * block), x0 + 1);
      let sum = 0;
      let n = 0;
      for (let y = y0; y < y1; y += 1) {
        for (let x = x0; x < x1; x += 1) { sum += data[(y * w + x) * 4 + 1]; n += 1; }
      }
      const bit = sum / n > 128 ? 1 : 0;
      if (i < DATA_BITS) value = value * 2 + bit; else got = got * 2 + bit;
    }
    return check(value) === got ? value : null;
  }

  function watch(video) {
    const reader = { canvas: document.createElement("canvas") };
    reader.ctx = reader.canvas.getContext("2d", { willReadFrequently: true });
    const onFrame = (_now, metadata) => {
      const now = performance.now();
      if (bench.firstFrameAt === null && bench.clickedAt !== null) bench.firstFrameAt = now;
      bench.presented += 1;
      const key = `${video.videoWidth}x${video.videoHeight}`;
      bench.sizes[key] = (bench.sizes[key] || 0) + 1;
      const code = readCode(video, reader);
      if (code === null) bench.unreadable += 1;
      else {
        // The frame's age when it reaches the glass (the compositor's expected display time),
        // not when this callback, run after presentation, has read it: its age now on the
        // wall clock the code carries, less the time since display on the page's own clock
        // (timeOrigin + performance.now() may stray from Date.now() by milliseconds).
        const wall = Date.now();
        const sinceShown = performance.now() - metadata.expectedDisplayTime;
        const age = ((wall % TWO32) - code + TWO32) % TWO32 - sinceShown;
        if (age < 0 || age > MAX_AGE_MS) bench.unreadable += 1;  // a code misread: no age
        else {
          bench.ages.push(Math.round(age));
          bench.readAfterShownMs.push(sinceShown);
        }
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const remote = document.getElementById("remote_video");
    if (remote) watch(remote);
    const start = document.getElementById("start_button");
    if (start) start.addEventListener("click", () => { bench.clickedAt = performance.now(); }, true);
  });

  bench.reset = () => {
    bench.ages = [];
    bench.readAfterShownMs = [];
    bench.unreadable = 0;
    bench.presented = 0;
    bench.sizes = {};
    bench.since = performance.now();
  };

  bench.collect = async () => {
    const pc = bench.pcs[bench.pcs.length - 1];
    const stats = { inbound: null, outbound: null, audio: null };
    const ms = (total, count) => (count ? (1000 * total) / count : null);
    if (pc) {
      (await pc.getStats()).forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "audio") {
          stats.audio = { jitterBufferMs: ms(s.jitterBufferDelay, s.jitterBufferEmittedCount),
            targetDelayMs: ms(s.jitterBufferTargetDelay, s.jitterBufferEmittedCount),
            jitterMs: 1000 * (s.jitter || 0) };
        }
        if (s.kind !== "video") return;
        if (s.type === "inbound-rtp") {
          stats.inbound = { framesDecoded: s.framesDecoded, framesDropped: s.framesDropped,
            framesReceived: s.framesReceived, width: s.frameWidth, height: s.frameHeight,
            jitterBufferMs: ms(s.jitterBufferDelay, s.jitterBufferEmittedCount),
            decodeMs: ms(s.totalDecodeTime, s.framesDecoded), jitterMs: 1000 * (s.jitter || 0),
            targetDelayMs: ms(s.jitterBufferTargetDelay, s.jitterBufferEmittedCount) };
        } else if (s.type === "outbound-rtp") {
          stats.outbound = { framesSent: s.framesSent, width: s.frameWidth, height: s.frameHeight,
            limitation: s.qualityLimitationReason, encodeMs: ms(s.totalEncodeTime, s.framesEncoded) };
        }
      });
    }
    return {
      seconds: (performance.now() - bench.since) / 1000,
      firstFrameMs: bench.firstFrameAt !== null && bench.clickedAt !== null
        ? bench.firstFrameAt - bench.clickedAt : null,
      ages: bench.ages, unreadable: bench.unreadable, presented: bench.presented,
      readAfterShownMs: bench.readAfterShownMs,
      sizes: bench.sizes, stats,
    };
  };
})();
