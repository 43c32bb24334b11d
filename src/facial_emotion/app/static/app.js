// The page: live webcam over a WebSocket, video upload with progress and results, photo upload. No build, no CDN.
const COLORS = { Angry: "#d62728", Disgust: "#8c564b", Fear: "#9467bd", Happy: "#2ca02c", Sad: "#1f77b4",
  Surprise: "#ff7f0e", Neutral: "#7f7f7f" };
let CLASSES = Object.keys(COLORS);
const $ = (id) => document.getElementById(id);
// Text from outside the page (file names, server messages) goes into the page as text, never as markup.
const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const showError = (element, text) => { element.innerHTML = `<span class="error">${escapeHtml(text)}</span>`; };
// This tab's id: closing the tab deletes its own uploads and results, not those of the visitor's other tabs.
const TAB = crypto.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(36).slice(2)}`;

fetch("/api/info").then((r) => r.json()).then((info) => { CLASSES = info.classes; });

for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => {
    document.querySelectorAll(".tab, .panel").forEach((el) => el.classList.remove("active"));
    document.querySelectorAll(".tab").forEach((el) => el.setAttribute("aria-selected", "false"));
    tab.classList.add("active");
    tab.setAttribute("aria-selected", "true");
    $(tab.dataset.tab).classList.add("active");
  });
}
// This tab's uploads and results are deleted when it is closed (or after 30 idle minutes).
addEventListener("pagehide", () => navigator.sendBeacon(`/api/session/end?tab=${TAB}`));

function probabilityBars(probabilities) {
  return CLASSES.map((name) => {
    const p = probabilities[name] ?? 0;
    return `<div class="bar"><span>${name}</span><span class="fill" style="width:${(p * 160).toFixed(0)}px;` +
      `background:${COLORS[name] ?? "#555"}"></span><span>${(p * 100).toFixed(0)}%</span></div>`;
  }).join("");
}

function drawBoxes(ctx, faces, scale, showId) {
  ctx.lineWidth = 3;
  ctx.font = "16px system-ui";
  for (const face of faces) {
    const [x, y, w, h] = face.box.map((v) => v * scale);
    const color = COLORS[face.label] ?? "#fff";
    ctx.strokeStyle = color;
    ctx.strokeRect(x, y, w, h);
    const text = `${showId ? `#${face.id} ` : ""}${face.label} ${(face.probability * 100).toFixed(0)}%`;
    ctx.fillStyle = color;
    ctx.fillRect(x, y - 22, ctx.measureText(text).width + 10, 22);
    ctx.fillStyle = "#fff";
    ctx.fillText(text, x + 5, y - 6);
  }
}

function drawTimeline(canvas, points, seconds) {
  // points: [{t, probabilities}] ; one line per emotion over the last `seconds` (or the whole span).
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!points.length) return;
  const end = points[points.length - 1].t;
  const start = seconds ? end - seconds : points[0].t;
  const span = Math.max(end - start, 1e-6);
  const x = (t) => 30 + ((t - start) / span) * (canvas.width - 40);
  const y = (p) => canvas.height - 20 - p * (canvas.height - 30);
  ctx.strokeStyle = "#ccd";
  ctx.fillStyle = "#556";
  ctx.font = "11px system-ui";
  for (const p of [0, 0.5, 1]) { ctx.beginPath(); ctx.moveTo(30, y(p)); ctx.lineTo(canvas.width - 10, y(p)); ctx.stroke(); ctx.fillText(`${p * 100}%`, 0, y(p) + 4); }
  ctx.fillText(seconds ? `-${seconds} s` : `${start.toFixed(0)} s`, 30, canvas.height - 4);
  ctx.fillText(seconds ? "now" : `${end.toFixed(0)} s`, canvas.width - 40, canvas.height - 4);
  for (const name of CLASSES) {
    ctx.strokeStyle = COLORS[name] ?? "#555";
    ctx.lineWidth = 2;
    ctx.beginPath();
    points.filter((pt) => pt.t >= start).forEach((pt, i) => {
      const px = x(pt.t), py = y(pt.probabilities[name] ?? 0);
      if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
    });
    ctx.stroke();
  }
}

// ---- Live webcam -------------------------------------------------------------------------------------------------
// follow: the id (as text) of the face the timeline follows, chosen by the user; null follows the first face in view.
const live = { socket: null, stream: null, seq: 0, sent: new Map(), faces: [], history: new Map(), rtts: [], frames: [],
  follow: null };

async function startLive() {
  $("live-start").disabled = true; // a second click while the camera opens would open a second one
  if (!navigator.mediaDevices?.getUserMedia) {
    showError($("live-stats"), "camera unavailable: browsers give pages the camera only over https:// or on localhost");
    $("live-start").disabled = false;
    return;
  }
  try {
    live.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    const video = $("camera");
    video.srcObject = live.stream;
    await video.play();
  } catch (error) {
    stopLive();
    showError($("live-stats"), `camera unavailable: ${error.message}`);
    return;
  }
  const protocol = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${protocol}://${location.host}/ws/live`);
  live.socket = socket;
  socket.binaryType = "arraybuffer";
  socket.onopen = () => sendFrame();
  socket.onmessage = (event) => onLiveAnswer(JSON.parse(event.data));
  socket.onclose = () => {
    if (live.socket !== socket) return; // closed by Stop
    stopLive();
    showError($("live-stats"), "disconnected from the server: Start camera to try again");
  };
  $("live-stop").disabled = false;
  requestAnimationFrame(drawLive);
}

function stopLive() {
  const socket = live.socket;
  live.socket = null;
  socket?.close();
  live.stream?.getTracks().forEach((track) => track.stop());
  live.stream = null;
  live.faces = [];
  live.follow = null;
  live.history.clear();
  live.sent.clear();
  renderLiveFaces();
  const canvas = $("live-canvas");
  canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
  $("live-start").disabled = false;
  $("live-stop").disabled = true;
  $("live-stats").textContent = "stopped";
}

const grab = document.createElement("canvas");
function sendFrame() {
  // One frame in flight: the next is sent when the answer comes, so latency cannot build up.
  const video = $("camera");
  if (!live.socket || live.socket.readyState !== WebSocket.OPEN || !video.videoWidth) {
    if (live.socket) setTimeout(sendFrame, 30);
    return;
  }
  const scale = Math.min(1, 640 / video.videoWidth);
  grab.width = Math.round(video.videoWidth * scale);
  grab.height = Math.round(video.videoHeight * scale);
  grab.getContext("2d").drawImage(video, 0, 0, grab.width, grab.height);
  grab.toBlob(async (blob) => {
    const jpeg = new Uint8Array(await blob.arrayBuffer());
    const message = new Uint8Array(4 + jpeg.length);
    const seq = ++live.seq;
    new DataView(message.buffer).setUint32(0, seq);
    message.set(jpeg, 4);
    live.sent.set(seq, { time: performance.now(), scale });
    live.socket?.send(message);
  }, "image/jpeg", 0.8);
}

function onLiveAnswer(answer) {
  if (!live.socket) return; // stopped meanwhile
  if (answer.error) {
    showError($("live-stats"), answer.error);
  } else {
    const sent = live.sent.get(answer.seq);
    live.sent.delete(answer.seq);
    const now = performance.now();
    if (sent) live.rtts.push(now - sent.time);
    live.frames.push(now);
    live.frames = live.frames.filter((t) => now - t < 2000);
    live.rtts = live.rtts.slice(-30);
    live.faces = answer.faces.map((face) => ({ ...face, scale: sent ? 1 / sent.scale : 1 }));
    const t = now / 1000;
    for (const face of answer.faces) {
      const points = live.history.get(face.id) ?? [];
      points.push({ t, probabilities: face.probabilities });
      live.history.set(face.id, points.filter((pt) => t - pt.t < 30));
    }
    renderLiveFaces();
    const rtt = [...live.rtts].sort((a, b) => a - b)[Math.floor(live.rtts.length / 2)] ?? 0;
    $("live-stats").textContent = `${(live.frames.length / 2).toFixed(1)} fps · round trip ${rtt.toFixed(0)} ms ` +
      `(server ${answer.ms.toFixed(0)} ms) · ${answer.faces.length} face(s)`;
  }
  sendFrame();
}

function renderLiveFaces() {
  const faces = live.faces;
  // The timeline follows the chosen face while it is in view, else the first face (the choice is kept for its return).
  const shown = faces.find((f) => String(f.id) === live.follow) ?? faces[0];
  $("live-faces").innerHTML = faces.length
    ? faces.map((f) => `<div class="face${f === shown ? " followed" : ""}"><span class="face-label">` +
        `Face #${escapeHtml(f.id)}: ${escapeHtml(f.label)}</span> ` +
        `${(f.probability * 100).toFixed(0)}%${probabilityBars(f.probabilities)}</div>`).join("")
    : '<p class="muted">No face in view.</p>';
  const select = $("live-face");
  const ids = faces.map((f) => String(f.id)).sort((a, b) => a - b);
  if (select.dataset.ids !== ids.join()) { // rebuilt only when faces come or go, so an open list stays open
    select.innerHTML = ids.map((id) => `<option value="${escapeHtml(id)}">#${escapeHtml(id)}</option>`).join("");
    select.dataset.ids = ids.join();
  }
  const value = shown ? String(shown.id) : "";
  if (select.value !== value) select.value = value;
  select.disabled = faces.length < 2;
  $("live-timeline-face").textContent = shown ? `#${shown.id}` : "–";
  drawTimeline($("live-timeline"), shown ? live.history.get(shown.id) : [], 30);
}

function drawLive() {
  const video = $("camera"), canvas = $("live-canvas");
  if (!live.stream) return;
  if (video.videoWidth) {
    if (canvas.width !== video.videoWidth) { canvas.width = video.videoWidth; canvas.height = video.videoHeight; }
    const ctx = canvas.getContext("2d");
    ctx.drawImage(video, 0, 0);
    drawBoxes(ctx, live.faces, live.faces[0]?.scale ?? 1, true);
  }
  requestAnimationFrame(drawLive);
}

$("live-start").addEventListener("click", startLive);
$("live-stop").addEventListener("click", stopLive);
$("live-face").addEventListener("change", (e) => { live.follow = e.target.value; renderLiveFaces(); });

// ---- Video file --------------------------------------------------------------------------------------------------
async function errorText(response) {
  try { return (await response.json()).detail; } catch { return `HTTP ${response.status}`; }
}

let videoUpload = 0; // the newest upload: an older one's polling stops, so two never share the status line

function uploadVideo(file) {
  const upload = ++videoUpload;
  const status = $("video-status"), bar = $("video-progress");
  $("video-result").hidden = true;
  $("video-warning").hidden = true;
  delete status.dataset.done; // set again when this upload's result is shown
  bar.hidden = false;
  bar.value = 0;
  status.textContent = `uploading ${file.name} ...`;
  const request = new XMLHttpRequest();
  request.open("POST", `/api/videos?name=${encodeURIComponent(file.name)}&tab=${TAB}`);
  request.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = (0.2 * e.loaded) / e.total; };
  request.onload = () => {
    let answer = {};
    try { answer = JSON.parse(request.responseText || "{}"); } catch { /* not JSON: a proxy's error page */ }
    if (request.status !== 200) { showError(status, answer.detail ?? `HTTP ${request.status}`); bar.hidden = true; return; }
    pollVideo(answer.job_id, upload);
  };
  request.onerror = () => { showError(status, `${file.name}: upload failed (is the server running?)`); bar.hidden = true; };
  request.send(file);
}

async function pollVideo(jobId, upload) {
  if (upload !== videoUpload) return;
  const status = $("video-status"), bar = $("video-progress");
  let response;
  try {
    response = await fetch(`/api/videos/${jobId}`);
  } catch {
    showError(status, "the server does not answer: retrying ...");
    setTimeout(() => pollVideo(jobId, upload), 2000);
    return;
  }
  if (upload !== videoUpload) return;
  if (!response.ok) { showError(status, await errorText(response)); bar.hidden = true; return; }
  const job = await response.json();
  bar.value = 0.2 + 0.8 * job.progress;
  if (job.status === "failed" || job.status === "cancelled") {
    showError(status, job.error ?? `${job.name}: cancelled`);
    bar.hidden = true;
    return;
  }
  if (job.status !== "done") {
    status.textContent = job.status === "queued"
      ? `${job.name}: waiting for another analysis to finish ...`
      : `analysing ${job.name}: ${(job.progress * 100).toFixed(0)}%`;
    setTimeout(() => pollVideo(jobId, upload), 500);
    return;
  }
  const found = job.table.length ? `${job.table.length} rows` : "no face found";
  status.textContent = `${job.name}: ${job.duration.toFixed(1)} s analysed, ${found}` +
    (job.warning ? " (the file ends early: see the warning)" : "");
  // A file cut off part way (its header states more frames than could be read): the results cover the part read.
  $("video-warning").textContent = job.warning ? `Warning: ${job.warning}` : "";
  $("video-warning").hidden = !job.warning;
  status.dataset.done = jobId;
  showVideoResult(job);
}

let videoFaces = new Map(); // the shown result's rows per face id (as text), the face seen longest first

function rowsPerFace(table) {
  const faces = new Map();
  for (const row of table) {
    const id = String(row.face_id);
    if (!faces.has(id)) faces.set(id, []);
    faces.get(id).push(row);
  }
  // The face with the most rows (seen longest) first; a tie keeps the order the faces were first seen in.
  return new Map([...faces].sort((a, b) => b[1].length - a[1].length));
}

function showVideoFace(id) {
  const rows = videoFaces.get(id) ?? [];
  const points = rows.map((row) => ({ t: row.time, probabilities: Object.fromEntries(CLASSES.map((c) => [c, row[c]])) }));
  $("video-timeline-face").textContent = rows.length ? `#${id}` : "–";
  $("video-timeline").setAttribute("aria-label", rows.length
    ? `Each emotion's probability over time for face #${id}` : "No face found");
  drawTimeline($("video-timeline"), points, 0);
}

function showVideoResult(job) {
  $("video-result").hidden = false;
  $("video-csv").href = `/api/videos/${job.job_id}/csv`;
  $("video-download").href = `/api/videos/${job.job_id}/video`;
  $("video-player").src = `/api/videos/${job.job_id}/video`;
  videoFaces = rowsPerFace(job.table);
  const select = $("video-face");
  select.innerHTML = [...videoFaces].map(([id, rows]) => `<option value="${escapeHtml(id)}">#${escapeHtml(id)}: ` +
    `${rows.length} row${rows.length === 1 ? "" : "s"}, ${rows[0].time.toFixed(1)}–${rows.at(-1).time.toFixed(1)} s` +
    "</option>").join("");
  select.disabled = videoFaces.size < 2; // one face: the heading names it, there is nothing to choose
  $("video-face-picker").hidden = !videoFaces.size;
  showVideoFace(select.value);
  const columns = ["time", "face_id", "label", "probability", ...CLASSES];
  $("video-table").innerHTML = `<tr>${columns.map((c) => `<th>${c}</th>`).join("")}</tr>` +
    job.table.map((row) => `<tr>${columns.map((c) => `<td>${typeof row[c] === "number" && c !== "face_id"
      ? (c === "time" ? row[c].toFixed(2) : row[c].toFixed(3)) : escapeHtml(row[c])}</td>`).join("")}</tr>`).join("");
}

$("video-face").addEventListener("change", (e) => showVideoFace(e.target.value));

$("video-input").addEventListener("change", (e) => {
  if (e.target.files[0]) uploadVideo(e.target.files[0]);
  e.target.value = ""; // choosing the same file again is a new upload
});

// ---- Photos ------------------------------------------------------------------------------------------------------
async function uploadPhoto(file) {
  const card = document.createElement("div");
  card.className = "photo-card";
  card.innerHTML = `<p class="muted">${escapeHtml(file.name)} ...</p>`;
  $("photo-results").prepend(card);
  const whole = $("photo-whole").checked ? "&whole_image=true" : "";
  const url = `/api/photos?name=${encodeURIComponent(file.name)}${whole}`;
  let response;
  try {
    response = await fetch(url, { method: "POST", body: file });
  } catch {
    card.innerHTML = `<p class="error">${escapeHtml(file.name)}: the server does not answer</p>`;
    return;
  }
  if (!response.ok) { card.innerHTML = `<p class="error">${escapeHtml(await errorText(response))}</p>`; return; }
  const result = await response.json();
  const faces = result.faces.filter((f) => !f.whole_image);
  const heading = faces.length ? `${faces.length} face(s)` : "no face found";
  card.innerHTML = `<p><strong>${escapeHtml(result.name)}</strong>: ${heading}</p>`;
  let image = null;
  try { image = await createImageBitmap(file); } catch { /* a TIFF, say: read on the server, not drawable here */ }
  if (image) {
    const canvas = document.createElement("canvas");
    const scale = Math.min(1, 420 / image.width);
    canvas.width = image.width * scale;
    canvas.height = image.height * scale;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `${result.name}, ${heading}`);
    const ctx = canvas.getContext("2d");
    ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
    drawBoxes(ctx, faces.map((f, i) => ({ ...f, id: i + 1 })), scale, faces.length > 1);
    card.append(canvas);
  } else {
    card.insertAdjacentHTML("beforeend", '<p class="muted">(this browser cannot show this kind of image)</p>');
  }
  for (const [i, face] of result.faces.entries()) {
    const name = face.whole_image ? "No face found, whole photo" : `Face ${i + 1}`;
    card.insertAdjacentHTML("beforeend", `<div class="face"><span class="face-label">${name}: ${face.label}</span> ` +
      `${(face.probability * 100).toFixed(0)}%${probabilityBars(face.probabilities)}</div>`);
  }
  if (!result.faces.length) card.insertAdjacentHTML("beforeend", '<p class="muted">No face found.</p>');
}

$("photo-input").addEventListener("change", (e) => {
  for (const file of e.target.files) uploadPhoto(file);
  e.target.value = ""; // choosing the same photo again (say, after ticking the box) reads it again
});
