// The stockpipe dashboard page: loads the state once, then applies pushed events (SSE).
"use strict";

const LC = window.LightweightCharts;
const UP = "#16a34a", DOWN = "#dc2626";
const state = { charts: {}, alerts: [], alertKeys: new Set(), fast: 5, slow: 20, loaded: false };
window.dashboard = state; // the browser tests read the charts' own data through this

const $ = (id) => document.getElementById(id);
const fmt = (v, digits = 2) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));

async function getJSON(url) {
  const response = await fetch(url);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function setStatus(ok, message) {
  const el = $("status");
  el.dataset.ok = String(ok);
  el.textContent = message;
}

function newChart(el) {
  return LC.createChart(el, {
    autoSize: true,
    layout: { background: { color: "#ffffff" }, textColor: "#374151" },
    grid: { vertLines: { color: "#f3f4f6" }, horzLines: { color: "#f3f4f6" } },
    timeScale: { timeVisible: true, secondsVisible: false },
  });
}

function card(symbol) {
  const el = document.createElement("article");
  el.className = "card";
  el.dataset.symbol = symbol;
  el.innerHTML = `<header><h3>${symbol}</h3><span class="quote" data-role="quote">–</span></header>
    <div class="chart" data-role="chart"></div>
    <div class="values" data-role="values"></div>`;
  $("symbols").appendChild(el);
  const chart = newChart(el.querySelector("[data-role=chart]"));
  const candles = chart.addSeries(LC.CandlestickSeries, {
    upColor: UP, downColor: DOWN, borderVisible: false, wickUpColor: UP, wickDownColor: DOWN,
  });
  const line = (color, title) => chart.addSeries(LC.LineSeries, {
    color, lineWidth: 2, title, priceLineVisible: false, lastValueVisible: false,
  });
  const entry = {
    el, chart, candles,
    fast: line("#2563eb", `SMA ${state.fast}`),
    slow: line("#f59e0b", `SMA ${state.slow}`),
    markers: LC.createSeriesMarkers(candles, []),
  };
  state.charts[symbol] = entry;
  const option = document.createElement("option");
  option.value = symbol;
  $("symbol-list").appendChild(option);
  return entry;
}

function showQuote(symbol, quote) {
  if (!quote) return;
  const el = state.charts[symbol].el.querySelector("[data-role=quote]");
  el.textContent = fmt(quote.price);
  el.dataset.eventTimeMs = quote.event_time_ms;
}

function setSeries(series) {
  const c = state.charts[series.symbol];
  c.candles.setData(series.bars);
  c.fast.setData(series.sma_fast);
  c.slow.setData(series.sma_slow);
  showQuote(series.symbol, series.quote);
}

function updateSeries(series) {
  const c = state.charts[series.symbol];
  const last = c.candles.data().at(-1);
  if (last && series.bars.length && series.bars[0].time < last.time) {
    // an older bar changed (late tick): reload this symbol instead of patching
    getJSON(`/api/bars/${series.symbol}`).then(setSeries, (e) => setStatus(false, e.message));
    return;
  }
  series.bars.forEach((b) => c.candles.update(b));
  series.sma_fast.forEach((p) => c.fast.update(p));
  series.sma_slow.forEach((p) => c.slow.update(p));
  showQuote(series.symbol, series.quote);
}

const VALUE_LABELS = [
  ["sma_fast", "SMA fast"], ["sma_slow", "SMA slow"], ["ema_12", "EMA 12"], ["ema_26", "EMA 26"],
  ["rsi_14", "RSI 14"], ["vwap", "VWAP"], ["bb_upper", "BB up"], ["bb_lower", "BB low"],
];

function showIndicators(symbol, values) {
  const el = state.charts[symbol].el.querySelector("[data-role=values]");
  el.innerHTML = VALUE_LABELS.map(
    ([key, label]) => `<div><span>${label}</span> <b data-key="${key}">${fmt(values && values[key])}</b></div>`
  ).join("");
}

function alertKey(a) { return `${a.symbol}|${a.signal}|${a.bar_start_ms}`; }

function refreshMarkers(symbol) {
  const c = state.charts[symbol];
  if (!c) return;
  const markers = state.alerts
    .map((e) => e.alert)
    .filter((a) => a.symbol === symbol)
    .sort((a, b) => a.bar_start_ms - b.bar_start_ms)
    .map((a) => ({
      time: Math.floor(a.bar_start_ms / 1000),
      position: a.signal === "BUY" ? "belowBar" : "aboveBar",
      shape: a.signal === "BUY" ? "arrowUp" : "arrowDown",
      color: a.signal === "BUY" ? UP : DOWN,
      text: a.signal,
    }));
  c.markers.setMarkers(markers);
}

function alertItem(entry) {
  const a = entry.alert, v = a.indicators || {};
  const li = document.createElement("li");
  li.dataset.key = alertKey(a);
  li.dataset.shownMs = String(Date.now());
  li.innerHTML = `<span class="${a.signal}">${a.signal}</span> <b>${a.symbol}</b> @ ${fmt(a.price)}
    <br>${a.rule} · bar ${a.bar_time.replace("+00:00", "Z")}
    <br>SMA ${fmt(v.sma_fast)}/${fmt(v.sma_slow)} · EMA ${fmt(v.ema_12)}/${fmt(v.ema_26)}
    · RSI ${fmt(v.rsi_14, 1)} · VWAP ${fmt(v.vwap)}`;
  return li;
}

function addAlert(entry, { newest }) {
  const key = alertKey(entry.alert);
  if (state.alertKeys.has(key)) return;
  state.alertKeys.add(key);
  if (newest) {
    state.alerts.unshift(entry);
    $("alerts").prepend(alertItem(entry));
  } else {
    state.alerts.push(entry);
    $("alerts").append(alertItem(entry));
  }
  refreshMarkers(entry.alert.symbol);
}

function showHealth(h) {
  if (h.ticks_per_s === undefined) return;
  $("h-ticks-per-s").textContent = fmt(h.ticks_per_s, 1);
  $("h-ticks-loaded").textContent = h.ticks_loaded;
  $("h-lag").textContent = `${fmt(h.lag_ms_p50, 0)} / ${fmt(h.lag_ms_p95, 0)} ms`;
  $("h-alerts").textContent = `${h.alerts} (${h.alerts_per_min}/min)`;
  $("h-dead-letters").textContent = h.dead_letters;
  $("h-dead-day").textContent = h.dead_letters_day;
  $("h-dead-reasons").innerHTML = h.dead_letter_reasons
    .map((d) => `<li><b>${d.rule}</b>: ${escapeHtml(d.reason)}</li>`).join("");
  $("h-shards").querySelector("tbody").innerHTML = h.shards
    .map((s) => `<tr><td>${s.shard_id}</td><td>…${(s.checkpoint || "none").slice(-10)}</td><td>${fmt(s.unchanged_s, 0)} s</td></tr>`)
    .join("");
}

function escapeHtml(text) {
  const div = document.createElement("div");
  div.textContent = text;
  return div.innerHTML;
}

function apply(event) {
  switch (event.type) {
    case "bars": return updateSeries(event);
    case "alert": return addAlert(event, { newest: true });
    case "indicators": return showIndicators(event.symbol, event.values);
    case "health": return showHealth(event);
    case "status": return setStatus(event.ok, event.ok ? "live" : event.message);
  }
}

async function loadAll() {
  const [alerts, health] = await Promise.all([getJSON("/api/alerts"), getJSON("/api/health")]);
  await Promise.all(Object.keys(state.charts).map(async (symbol) => {
    const [series, values] = await Promise.all([
      getJSON(`/api/bars/${symbol}`), getJSON(`/api/indicators/${symbol}`),
    ]);
    setSeries(series);
    showIndicators(symbol, values.values);
  }));
  alerts.alerts.forEach((entry) => addAlert(entry, { newest: false }));
  showHealth(health);
  setStatus(health.status.ok, health.status.ok ? "live" : health.status.message);
}

function connect() {
  let pending = [];
  const events = new EventSource("/api/events");
  events.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (pending) pending.push(event); else apply(event);
  };
  events.onerror = () => setStatus(false, "connection to the dashboard server lost; retrying");
  events.onopen = async () => {
    pending = pending || [];
    try {
      await loadAll();
    } catch (e) {
      setStatus(false, e.message);
    }
    const queued = pending;
    pending = null;
    queued.forEach(apply);
    state.loaded = true;
  };
}

async function showHistory(submit) {
  submit.preventDefault();
  const symbol = $("history-symbol").value.trim();
  const day = $("history-date").value;
  $("history-message").textContent = "querying…";
  try {
    const body = await getJSON(`/api/history/${encodeURIComponent(symbol)}?date=${day}`);
    $("history-message").textContent = "";
    const o = body.ohlc;
    $("history-ohlc").textContent =
      `${body.symbol} ${body.day}: open ${fmt(o.open)} high ${fmt(o.high)} low ${fmt(o.low)} close ${fmt(o.close)} volume ${o.volume}`;
    if (!state.history) {
      const chart = newChart($("history-chart"));
      state.history = chart.addSeries(LC.CandlestickSeries, { upColor: UP, downColor: DOWN, borderVisible: false });
    }
    state.history.setData(body.bars);
  } catch (e) {
    $("history-message").textContent = e.message;
    $("history-ohlc").textContent = "";
  }
}

async function main() {
  try {
    const info = await getJSON("/api/symbols");
    state.fast = info.fast;
    state.slow = info.slow;
    info.symbols.forEach(card);
    $("history-symbol").value = info.symbols[0] || "";
  } catch (e) {
    setStatus(false, e.message);
  }
  $("history-date").value = new Date().toISOString().slice(0, 10);
  $("history-form").addEventListener("submit", showHistory);
  connect();
}

main();
