// The pool's dashboard: reads the pool's API with the token a person signs in
// with (kept for this tab only), every two seconds. Everything it shows is
// text set through textContent, never parsed as HTML; it fetches nothing
// from anywhere but the pool (its Content-Security-Policy says so too).
"use strict";

const POLL_MS = 2000;
const $ = (id) => document.getElementById(id);
const state = {
  token: sessionStorage.getItem("spare-token"),
  timer: null,
  job: null,           // the job whose page is shown
  eventsAfter: 0,      // its events shown so far
  events: [],
  previewStep: null,   // the checkpoint its picture shows
  firstSeen: {},       // job -> {time, step} when this page first saw it, for ETAs
};

// ---- talking to the pool ----

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path) {
  // Spare-Dashboard: a follower replica answers with its leader's reply (a
  // 307 to another origin is not one this page may follow).
  const reply = await fetch(path, { headers: { Authorization: "Bearer " + state.token,
                                               "Spare-Dashboard": "1" },
                                    cache: "no-store" });
  if (reply.status === 401) {
    signOut("The pool refused this token.");
    throw new ApiError(401, "signed out");
  }
  if (!reply.ok) {
    let message = reply.statusText;
    try { message = (await reply.json()).error || message; } catch (ignored) { /* not JSON */ }
    throw new ApiError(reply.status, message);
  }
  return reply;
}

const getJson = async (path) => (await api(path)).json();

// ---- small helpers ----

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function stateCell(word) { return cell(word, "state state-" + word); }

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; ++i; }
  return (i ? n.toFixed(1) : n) + " " + units[i];
}

function duration(seconds) {
  seconds = Math.max(0, Math.round(seconds));
  if (seconds < 60) return seconds + " s";
  if (seconds < 3600) return Math.floor(seconds / 60) + " min " + (seconds % 60) + " s";
  return Math.floor(seconds / 3600) + " h " + Math.floor(seconds % 3600 / 60) + " min";
}

function clock(time) { return new Date(time * 1000).toLocaleTimeString(); }

function replaceRows(tbody, rows) { tbody.replaceChildren(...rows); }

function eta(job, now) {
  if (job.state !== "running" || job.steps <= 0) return "";
  const first = state.firstSeen[job.job];
  if (!first) { state.firstSeen[job.job] = { time: now, step: job.step }; return ""; }
  const rate = (job.step - first.step) / (now - first.time);
  return rate > 0 ? duration((job.steps - job.step) / rate) : "";
}

// ---- the pool at a glance ----

async function showOverview() {
  const pool = await getJson("/api/v1/dashboard");
  $("who").textContent = pool.token + " (" + pool.role + ")";
  const count = (list, word) => list.filter((x) => x.state === word).length;
  const some = (n, one, many) => n + " " + (n === 1 ? one : many);
  const lent = pool.volunteers.filter((v) => v.state === "live")
      .reduce((sum, v) => sum + v.lends.cpus, 0);
  $("glance").textContent =
      some(count(pool.volunteers, "live"), "volunteer", "volunteers") + " live (" +
      some(lent, "CPU", "CPUs") + "), " + count(pool.volunteers, "lost") + " lost; " +
      some(count(pool.jobs, "running"), "job", "jobs") + " running, " +
      count(pool.jobs, "queued") + " queued, " + count(pool.jobs, "done") + " done.";
  replaceRows($("volunteers").tBodies[0], pool.volunteers.map((v) => {
    const tr = document.createElement("tr");
    tr.dataset.volunteer = v.id;
    tr.append(cell(v.name || "volunteer " + v.id), stateCell(v.state),
              cell(v.lends.cpus + " CPUs, " + v.lends.gpus + " GPUs, " + bytes(v.lends.memory)),
              cell(v.group === null ? "" : String(v.group)));
    const job = document.createElement("td");
    if (typeof v.job === "number") {
      const link = document.createElement("a");
      link.href = "#/job/" + v.job;
      link.textContent = "job " + v.job;
      job.append(link);
    }
    tr.append(job, cell(duration(v.silent_seconds) + " ago"));
    return tr;
  }));
  replaceRows($("jobs").tBodies[0], pool.jobs.map((j) => {
    const tr = document.createElement("tr");
    tr.dataset.job = j.job;
    const id = document.createElement("td");
    const link = document.createElement("a");
    link.href = "#/job/" + j.job;
    link.textContent = String(j.job);
    id.append(link);
    const bar = document.createElement("progress");
    bar.max = Math.max(1, j.steps);
    bar.value = j.step;
    const progress = document.createElement("td");
    progress.append(bar);
    const step = cell(j.step + " / " + j.steps, "number step");
    tr.append(id, cell(j.name), stateCell(j.state), progress, step, cell(eta(j, pool.now)),
              cell(String(j.restarts), "number"), cell(j.volunteers.join(", ")));
    return tr;
  }));
}

// ---- a job's page ----

function drawChart(canvas, job, progress, events, now) {
  const g = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, left = 60, right = 16, top = 12, bottom = 36;
  g.clearRect(0, 0, W, H);
  g.fillStyle = "#ffffff";
  g.fillRect(0, 0, W, H);
  const t0 = progress.submitted;
  const tEnd = Math.max(now, t0 + 1);
  // The step axis ends a quarter above the furthest step seen (a long job's
  // start is not a flat line), at most at the job's last step.
  const furthest = Math.max(job.step, ...progress.samples.map(([, s]) => s));
  const steps = Math.max(1, Math.min(job.steps, Math.ceil(furthest * 1.25)));
  const x = (t) => left + (t - t0) / (tEnd - t0) * (W - left - right);
  const y = (s) => H - bottom - s / steps * (H - top - bottom);
  // Axes, with the step and the minutes since it was submitted.
  g.strokeStyle = "#8a93a6";
  g.fillStyle = "#5a6375";
  g.font = "11px sans-serif";
  g.beginPath();
  g.moveTo(left, top);
  g.lineTo(left, H - bottom);
  g.lineTo(W - right, H - bottom);
  g.stroke();
  for (let i = 0; i <= 4; ++i) {
    const s = Math.round(steps * i / 4);
    g.fillText(String(s), 4, y(s) + 4);
    const t = t0 + (tEnd - t0) * i / 4;
    g.fillText(duration(t - t0), x(t) - 12, H - bottom + 16);
  }
  g.fillText("wall time since submitted", W / 2 - 60, H - 6);
  // Marks: checkpoints held (green), restarts (red), groups formed (grey).
  const colours = { stored: "#17803d", restart: "#c0262d", group: "#8a93a6" };
  for (const e of events) {
    const colour = colours[e.kind];
    if (!colour || e.time < t0) continue;
    g.strokeStyle = colour;
    g.setLineDash(e.kind === "group" ? [3, 3] : []);
    g.beginPath();
    g.moveTo(x(e.time), top);
    g.lineTo(x(e.time), H - bottom);
    g.stroke();
  }
  g.setLineDash([]);
  // The step: the samples the pool kept, and where the job is now.
  const points = progress.samples.slice();
  if (job.state === "running" || points.length) points.push([now, job.step]);
  g.strokeStyle = "#1d5fd0";
  g.lineWidth = 2;
  g.beginPath();
  points.forEach(([t, s], i) => (i ? g.lineTo(x(t), y(s)) : g.moveTo(x(t), y(s))));
  g.stroke();
  g.lineWidth = 1;
  canvas.dataset.points = String(points.length);
}

async function showPreview(job) {
  if (job.checkpoint === null || job.checkpoint === state.previewStep) return;
  try {
    const reply = await api("/api/v1/jobs/" + job.job + "/preview.png");
    const url = URL.createObjectURL(await reply.blob());
    const img = $("preview");
    const old = img.src;
    img.src = url;
    if (old.startsWith("blob:")) URL.revokeObjectURL(old);
    state.previewStep = job.checkpoint;
    img.dataset.step = String(job.checkpoint);
    $("preview-caption").textContent = "The newest checkpoint held by the pool: step " +
        job.checkpoint + " (its main 2-D field, scaled from its lowest value to its highest).";
  } catch (e) {
    if (e.status === 404) $("preview-caption").textContent = e.message;
    else throw e;
  }
}

function showShards(places) {
  replaceRows($("shards").tBodies[0], places.checkpoints.slice().reverse().map((c) => {
    const tr = document.createElement("tr");
    const on = Object.entries(c.volunteers).map(([name, files]) => name + " (" + files.length + ")");
    tr.append(cell(String(c.step), "number"), cell(String(c.shards.length), "number"),
              cell(c.pool.length + " of " + c.shards.length +
                   (c.replicas.length ? ", whole on " + c.replicas.length + " replicas" : "")),
              cell(on.join(", ")));
    return tr;
  }));
}

function showEvents(newEvents) {
  const tbody = $("events").tBodies[0];
  for (const e of newEvents) {
    const tr = document.createElement("tr");
    tr.dataset.kind = e.kind;
    tr.append(cell(clock(e.time)), cell(e.kind), cell(e.text));
    tbody.prepend(tr);  // newest first
    state.eventsAfter = Math.max(state.eventsAfter, e.id);
    state.events.push(e);
  }
}

async function showJob(id) {
  if (state.job !== id) {
    state.job = id;
    state.eventsAfter = 0;
    state.events = [];
    state.previewStep = null;
    $("events").tBodies[0].replaceChildren();
    $("shards").tBodies[0].replaceChildren();
    $("preview").removeAttribute("src");
    $("preview-caption").textContent = "No checkpoint in the pool yet.";
  }
  let job;
  try {
    job = await getJson("/api/v1/jobs/" + id);
  } catch (e) {
    if (e.status !== 404) throw e;
    $("job-title").textContent = "Job " + id;
    $("job-summary").textContent = "";
    $("job-error").textContent = e.message;
    return;
  }
  $("job-error").textContent = "";
  $("job-title").textContent = "Job " + job.job + ": " + job.name + " (" + job.kernel + ")";
  $("job-summary").textContent = job.state + ", step " + job.step + " of " + job.steps +
      ", " + job.restarts + (job.restarts === 1 ? " restart" : " restarts") + ", on " + (job.volunteers.join(", ") || "no volunteer now") +
      (job.message ? ". " + job.message : "");
  const [progress, log, places] = await Promise.all([
    getJson("/api/v1/jobs/" + id + "/progress"),
    getJson("/api/v1/jobs/" + id + "/log?after=" + state.eventsAfter),
    getJson("/api/v1/jobs/" + id + "/shards"),
  ]);
  showEvents(log.events);
  showShards(places);
  drawChart($("chart"), job, progress, state.events, Date.now() / 1000);
  await showPreview(job);
}

// ---- pages, signing in and out ----

function show(section) {
  for (const name of ["sign-in", "overview", "job"]) $(name).hidden = name !== section;
  $("sign-out").hidden = section === "sign-in";
}

async function refresh() {
  clearTimeout(state.timer);
  if (!state.token) { show("sign-in"); return; }
  const route = location.hash.match(/^#\/job\/(\d+)$/);
  try {
    if (route) {
      show("job");
      await showJob(Number(route[1]));
    } else {
      show("overview");
      await showOverview();
    }
    $("updated").textContent = "Updated " + new Date().toLocaleTimeString() +
        "; every " + POLL_MS / 1000 + " s.";
  } catch (e) {
    if (e.status === 401) return;
    $("updated").textContent = "Could not reach the pool: " + e.message + "; trying again.";
  }
  state.timer = setTimeout(refresh, POLL_MS);
}

function signOut(why) {
  state.token = null;
  sessionStorage.removeItem("spare-token");
  $("who").textContent = "";
  $("sign-in-error").textContent = why || "";
  clearTimeout(state.timer);
  show("sign-in");
}

$("sign-in-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.token = $("token").value.trim();
  sessionStorage.setItem("spare-token", state.token);
  $("token").value = "";
  $("sign-in-error").textContent = "";
  refresh();
});
$("sign-out").addEventListener("click", () => signOut(""));
window.addEventListener("hashchange", refresh);
refresh();
