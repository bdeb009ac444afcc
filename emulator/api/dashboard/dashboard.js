// elbv2-emulator dashboard: polls the snapshot once a second and redraws each section that changed.
// Plain DOM, no libraries; every value goes in as text (request paths and header values come from clients).
"use strict";

const SNAPSHOT_URL = "/_emulator/ui/api/snapshot";
const POLL_MS = 1000;
const SPARK_POINTS = 60; // one per poll: the last minute of each listener's rate

const rateHistory = new Map(); // listener ARN -> recent per-second rates
const drawn = new Map(); // section id -> the JSON it was last drawn from
let seenRequests = null; // keys of the request rows already shown (null: first draw, nothing is "new")

function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") element.className = value;
    else element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function pill(text, tone) {
  return h("span", { class: "pill " + (tone || "") }, text);
}

const STATE_TONES = {
  active: "ok", healthy: "ok", listening: "ok", remapped: "warn", pending: "info",
  provisioning: "info", initial: "info", "active_impaired": "warn", draining: "warn",
  unhealthy: "bad", failed: "bad", unavailable: "", unused: "",
};

function clock(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const moment = new Date(seconds * 1000);
  return moment.toLocaleTimeString([], { hour12: false }) + "." + String(moment.getMilliseconds()).padStart(3, "0");
}

function redraw(id, data, render) {
  const json = JSON.stringify(data);
  if (drawn.get(id) === json) return;
  drawn.set(id, json);
  document.getElementById(id).replaceChildren(...render(data));
}

// -- load balancers ------------------------------------------------------------------------------------

function sparkline(values) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("viewBox", "0 0 90 22");
  svg.setAttribute("preserveAspectRatio", "none");
  const top = Math.max(1, ...values);
  const step = 90 / (SPARK_POINTS - 1);
  const offset = (SPARK_POINTS - values.length) * step;
  const points = values.map((value, i) => `${(offset + i * step).toFixed(1)},${(21 - (value / top) * 19).toFixed(1)}`);
  if (points.length > 1) {
    const area = document.createElementNS(ns, "polygon");
    area.setAttribute("points", `${offset.toFixed(1)},22 ${points.join(" ")} 90,22`);
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points.join(" "));
    svg.append(area, line);
  }
  return svg;
}

function boundText(bound) {
  if (bound.state === "failed") return "not bound: " + (bound.reason || "unknown reason");
  if (bound.state === "not served") return "the emulator carries no traffic for this protocol";
  if (!bound.address) return "binding…";
  const moved = bound.state === "remapped" ? ` (asked for ${bound.requested}: ${bound.reason || "unavailable"})` : "";
  return "on " + bound.address + moved;
}

function renderListener(listener) {
  const rules = listener.rules.map((rule) =>
    h("tr", { "data-priority": rule.priority },
      h("td", {}, rule.priority),
      h("td", {},
        rule.conditions.map((text) => h("span", { class: "cond" }, text)),
        rule.transforms.map((text) => h("span", { class: "transform" }, text)),
        rule.actions.map((text) => h("span", { class: "act" }, text)))));
  return h("div", { class: "listener", "data-listener": listener.arn },
    h("div", { class: "listener-head" },
      h("span", { class: "proto" }, `${listener.protocol} :${listener.port}`),
      pill(listener.bound.state, STATE_TONES[listener.bound.state]),
      h("span", { class: "bound mono" }, boundText(listener.bound)),
      h("span", { class: "rate" })),  // filled in by paintRates, every poll
    rules.length ? h("table", { class: "rules" }, h("tbody", {}, rules)) : null);
}

// The rates change at every poll: they are repainted in place, so the cards (and any text selected in
// them, a DNS name being copied) stay as they are.
function paintRates(loadBalancers) {
  const byArn = new Map(loadBalancers.flatMap((lb) => lb.listeners).map((listener) => [listener.arn, listener]));
  for (const element of document.querySelectorAll("[data-listener]")) {
    const listener = byArn.get(element.dataset.listener);
    if (!listener) continue;
    const rate = element.querySelector(".rate");
    const unit = listener.protocol === "HTTP" || listener.protocol === "HTTPS" ? "req" : "flows";
    rate.title = `over the last 5 seconds; ${listener.total} since the emulator started`;
    rate.replaceChildren(sparkline(rateHistory.get(listener.arn) || []),
      h("b", {}, listener.perSecond.toFixed(listener.perSecond < 10 ? 1 : 0)), `${unit}/s`,
      h("span", { class: "total" }, `· ${listener.total} total`));
  }
}

function renderLoadBalancers(loadBalancers) {
  if (!loadBalancers.length) {
    return [h("div", { class: "empty" }, "No load balancers yet. Create one with boto3, the AWS CLI or Terraform.")];
  }
  return loadBalancers.map((lb) =>
    h("article", { class: "card", "data-lb": lb.name },
      h("div", { class: "card-head" },
        h("div", { class: "card-title" },
          h("h3", {}, lb.name),
          pill(lb.type, "type"),
          h("span", { "data-lb-state": lb.name }, pill(lb.state, STATE_TONES[lb.state]))),
        h("div", { class: "card-meta" },
          h("span", { class: "mono", title: "DNS name" }, lb.dnsName),
          h("span", {}, lb.scheme),
          h("span", {}, `${lb.account} · ${lb.region}`))),
      h("div", { class: "card-body" },
        lb.listeners.length ? lb.listeners.map(renderListener)
          : h("p", { class: "hint" }, "No listeners: it carries no traffic yet."))));
}

// -- target groups -------------------------------------------------------------------------------------

function renderTargetGroups(groups) {
  if (!groups.length) return [h("div", { class: "empty" }, "No target groups yet.")];
  return groups.map((group) => {
    const counts = {};
    for (const target of group.targets) counts[target.state] = (counts[target.state] || 0) + 1;
    const rows = group.targets.map((target) =>
      h("tr", { "data-target": `${target.id}:${target.port ?? ""}`, "data-state": target.state },
        h("td", { class: "mono" }, target.port === null ? target.id : `${target.id}:${target.port}`),
        h("td", {}, pill(target.state, STATE_TONES[target.state])),
        h("td", { class: "reason" }, target.reason ? `${target.reason}: ${target.description}` : "")));
    return h("article", { class: "card", "data-tg": group.name },
      h("div", { class: "card-head" },
        h("div", { class: "card-title" },
          h("h3", {}, group.name),
          pill(`${group.protocol || group.targetType} ${group.port ?? ""}`.trim(), "type"),
          Object.entries(counts).map(([state, n]) => pill(`${n} ${state}`, STATE_TONES[state]))),
        h("div", { class: "card-meta" },
          h("span", {}, `${group.targetType} targets`),
          h("span", {}, `health check: ${group.healthCheck}`),
          h("span", {}, group.loadBalancers.length ? "used by " + group.loadBalancers.join(", ") : "not used by a load balancer"))),
      h("div", { class: "card-body" },
        rows.length
          ? h("table", { class: "targets" },
              h("thead", {}, h("tr", {}, h("th", {}, "Target"), h("th", {}, "Health"), h("th", {}, "Reason"))),
              h("tbody", {}, rows))
          : h("p", { class: "hint" }, "No registered targets.")));
  });
}

// -- traffic -------------------------------------------------------------------------------------------

function statusCell(code) {
  if (code === null || code === undefined) return h("td", { class: "status none" }, "–");
  return h("td", { class: `status s${String(code)[0]}` }, code);
}

function latency(ms) {
  if (ms === null || ms === undefined) return "–";
  return ms < 10 ? `${ms.toFixed(2)} ms` : `${Math.round(ms)} ms`;
}

function renderRequests(data) {
  if (!data.recording) return [h("div", { class: "empty" }, "Traffic is not recorded (--observability off).")];
  if (!data.requests.length) return [h("div", { class: "empty" }, "No requests yet: send some to a listener.")];
  const keyOf = (row) => `${row.time}|${row.client}|${row.request}`;
  const seen = seenRequests;
  seenRequests = new Set(data.requests.map(keyOf));
  const wanted = data.filter.trim().toLowerCase();
  const shownRows = wanted
    ? data.requests.filter((row) => Object.values(row).some((value) => String(value).toLowerCase().includes(wanted)))
    : data.requests;
  if (!shownRows.length) return [h("div", { class: "empty" }, `None of the last ${data.requests.length} requests contains “${data.filter}”.`)];
  const rows = shownRows.map((row) => {
    const fresh = seen !== null && !seen.has(keyOf(row));
    return h("tr", { class: fresh ? "fresh" : "", "data-request": row.request },
      h("td", { class: "mono" }, clock(row.time)),
      h("td", {}, row.listener),
      h("td", { class: "mono" }, row.client),
      h("td", { class: "request" }, row.request, row.error ? h("div", { class: "error" }, row.error) : null),
      h("td", {}, row.rule),
      h("td", {}, row.actions),
      h("td", { class: "mono" }, row.target, h("div", { class: "hint" }, row.targetGroup === "–" ? "" : row.targetGroup)),
      statusCell(row.status),
      h("td", { class: "num" }, latency(row.latencyMs)));
  });
  return [h("table", { class: "traffic", id: "requests-table" },
    h("thead", {}, h("tr", {}, ["Time", "Listener", "Client", "Request", "Rule", "Actions", "Target", "Status", "Latency"]
      .map((title) => h("th", {}, title)))),
    h("tbody", {}, rows))];
}

function renderFlows(data) {
  if (!data.recording) return [h("div", { class: "empty" }, "Traffic is not recorded (--observability off).")];
  if (!data.flows.length) return [h("div", { class: "empty" }, "No flows yet: connect to an NLB listener.")];
  return [h("table", { class: "traffic", id: "flows-table" },
    h("thead", {}, h("tr", {}, ["Ended", "Listener", "Client", "Protocol", "Target", "Duration", "Bytes in", "Bytes out", "How"]
      .map((title) => h("th", {}, title)))),
    h("tbody", {}, data.flows.map((row) =>
      h("tr", {},
        h("td", { class: "mono" }, clock(row.time)),
        h("td", {}, row.listener),
        h("td", { class: "mono" }, row.client),
        h("td", {}, row.protocol),
        h("td", { class: "mono" }, row.target, h("div", { class: "hint" }, row.targetGroup === "–" ? "" : row.targetGroup)),
        h("td", { class: "num" }, latency(row.durationMs)),
        h("td", { class: "num" }, row.receivedBytes),
        h("td", { class: "num" }, row.sentBytes),
        h("td", {}, row.ended)))))];
}

// -- the loop ------------------------------------------------------------------------------------------

function renderSummary(data) {
  const targets = data.targetGroups.flatMap((group) => group.targets);
  const healthy = targets.filter((target) => target.state === "healthy").length;
  const listeners = data.loadBalancers.flatMap((lb) => lb.listeners);
  const rate = listeners.reduce((sum, listener) => sum + listener.perSecond, 0);
  const item = (value, label) => h("span", {}, h("b", {}, value), label);
  return [
    item(data.loadBalancers.length, "load balancers"),
    item(listeners.length, "listeners"),
    item(`${healthy}/${targets.length}`, "targets healthy"),
    item(rate.toFixed(1), "requests and flows/s"),
  ];
}

function remember(loadBalancers) {
  const live = new Set();
  for (const listener of loadBalancers.flatMap((lb) => lb.listeners)) {
    live.add(listener.arn);
    const history = rateHistory.get(listener.arn) || [];
    history.push(listener.perSecond);
    if (history.length > SPARK_POINTS) history.shift();
    rateHistory.set(listener.arn, history);
  }
  for (const arn of [...rateHistory.keys()]) if (!live.has(arn)) rateHistory.delete(arn);
}

function setLive(state, text) {
  document.getElementById("live").dataset.state = state;
  document.getElementById("live-text").textContent = text;
}

let latest = null; // the last snapshot, so that typing in the filter redraws at once

function drawRequests() {
  if (latest === null) return;
  const filter = document.getElementById("request-filter").value;
  redraw("requests", { recording: latest.recording, requests: latest.requests, filter }, renderRequests);
}

document.getElementById("request-filter").addEventListener("input", drawRequests);

async function poll() {
  try {
    const response = await fetch(SNAPSHOT_URL, { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const data = await response.json();
    remember(data.loadBalancers);
    redraw("summary", data, renderSummary);
    const withoutRates = data.loadBalancers.map((lb) => ({
      ...lb, listeners: lb.listeners.map(({ perSecond, total, ...listener }) => listener),
    }));
    redraw("load-balancers", withoutRates, renderLoadBalancers);
    paintRates(data.loadBalancers);
    redraw("target-groups", data.targetGroups, renderTargetGroups);
    latest = data;
    drawRequests();
    redraw("flows", { recording: data.recording, flows: data.flows }, renderFlows);
    setLive("live", "live · " + clock(data.time).slice(0, 8));
  } catch (error) {
    setLive("down", "emulator unreachable");
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

poll();
