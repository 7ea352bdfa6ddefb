/* The dashboard's behaviour: window and grouping toggles redraw the charts from the
   usage aggregates in #usage-data; the spend chart draws #spend-data (per day, per team);
   a WebSocket brings the live streams every second. */
"use strict";
(function () {
  const usage = JSON.parse(document.getElementById("usage-data").textContent);
  const spend = JSON.parse(document.getElementById("spend-data").textContent);
  const state = { window: "hour", grouping: "provider" };

  function formatDollars(value) {
    // Axis ticks: cents and below need their digits (formatNumber keeps one decimal).
    return "$" + (value > 0 && value < 1 ? String(Number(value.toPrecision(2))) : formatNumber(value));
  }

  function seriesOf(groups, field, extra = {}) {
    return Object.entries(groups).map(([name, points]) => ({ name, values: points.map((p) => p[field]), ...extra }));
  }

  function draw() {
    const data = usage[state.window];
    const groups = data[state.grouping].series;
    const labels = data.labels;
    const errorRates = Object.entries(groups).map(([name, points]) => ({
      name,
      values: points.map((p) => (p.requests ? (100 * p.errors) / p.requests : null)),
    }));
    const tokens = Object.entries(groups).map(([name, points]) => ({ name, values: points.map((p) => p.tokens) }));
    const latency = [];
    Object.entries(groups).forEach(([name, points], index) => {
      const colour = PALETTE[index % PALETTE.length];
      latency.push({ name, colour, values: points.map((p) => p.p50_ms) });
      latency.push({ name: name + " p95", colour, dashed: true, hideInLegend: true, values: points.map((p) => p.p95_ms) });
    });
    lineChart(document.getElementById("chart-requests"), labels, seriesOf(groups, "requests"));
    lineChart(document.getElementById("chart-errors"), labels, errorRates, { showZero: true });
    lineChart(document.getElementById("chart-latency"), labels, latency);
    lineChart(document.getElementById("chart-tokens"), labels, tokens);
    const spendSeries = Object.entries(spend.series).map(([name, values]) => ({ name, values }));
    lineChart(document.getElementById("chart-spend"), spend.labels, spendSeries, { format: formatDollars });
    const bucketName = data.bucket_seconds === 60 ? "minute" : "hour";
    document.querySelectorAll(".bucket-name").forEach((element) => (element.textContent = bucketName));
    document.querySelectorAll("table.totals").forEach((table) => {
      table.classList.toggle("shown", table.dataset.window === state.window && table.dataset.grouping === state.grouping);
    });
  }

  document.querySelectorAll(".controls button").forEach((button) => {
    button.addEventListener("click", () => {
      const key = button.dataset.window ? "window" : "grouping";
      state[key] = button.dataset[key];
      document.querySelectorAll(`.controls button[data-${key}]`).forEach((other) => other.classList.toggle("active", other === button));
      draw();
    });
  });
  window.addEventListener("resize", draw);
  draw();

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined || text === "" ? "–" : String(text);
    return td;
  }

  function showStreams(message) {
    document.getElementById("live-total").textContent = String(message.total);
    const body = document.querySelector("#live-streams tbody");
    body.replaceChildren(
      ...message.streams.map((stream) => {
        const row = document.createElement("tr");
        row.append(cell(stream.request_id), cell(stream.provider), cell(stream.model), cell(stream.team), cell(stream.running_s), cell(stream.ttft_ms));
        return row;
      })
    );
    document.getElementById("live-status").textContent = "live, updated " + new Date().toLocaleTimeString();
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}${STREAMS_SOCKET_PATH}`);
    socket.addEventListener("message", (event) => showStreams(JSON.parse(event.data)));
    socket.addEventListener("close", () => {
      document.getElementById("live-status").textContent = "disconnected; retrying…";
      setTimeout(connect, 3000);
    });
  }
  connect();
})();
