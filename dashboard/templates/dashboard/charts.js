/* vandamme's own line charts: SVG, no library. lineChart(svg, labels, series, options)
   draws one polyline per series (dashed when series.dashed) with a y axis from 0 to the
   largest value (its ticks written by options.format, else formatNumber), x labels every few buckets and a legend; it marks the svg
   data-drawn="1" once done, so a test can wait for it. */
"use strict";
const SVG_NS = "http://www.w3.org/2000/svg";
const PALETTE = ["#417690", "#e07b39", "#3a9d5d", "#b94a8f", "#7a6fbe", "#c9a227", "#5b8fd9", "#8c564b"];

function svgElement(name, attributes, text) {
  const element = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

function niceMaximum(value) {
  if (value <= 0) return 1;
  const magnitude = Math.pow(10, Math.floor(Math.log10(value)));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (value <= step * magnitude) return step * magnitude;
  }
  return 10 * magnitude;
}

function formatNumber(value) {
  if (value >= 1e6) return (value / 1e6).toFixed(1).replace(/\.0$/, "") + "M";
  if (value >= 1e3) return (value / 1e3).toFixed(1).replace(/\.0$/, "") + "k";
  return String(Math.round(value * 10) / 10);
}

function lineChart(svg, labels, series, options = {}) {
  svg.replaceChildren();
  const width = svg.clientWidth || 480;
  const height = svg.clientHeight || 220;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const margin = { top: 10, right: 10, bottom: 38, left: 44 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const values = series.flatMap((line) => line.values.filter((v) => v !== null));
  if (values.length === 0 || Math.max(...values) === 0 && !options.showZero) {
    svg.appendChild(svgElement("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "empty" }, "no data in this window"));
    svg.dataset.drawn = "1";
    svg.dataset.series = "0";
    return;
  }
  const top = niceMaximum(Math.max(...values));
  const x = (index) => margin.left + (labels.length > 1 ? (index * plotWidth) / (labels.length - 1) : plotWidth / 2);
  const y = (value) => margin.top + plotHeight - (value / top) * plotHeight;
  for (let tick = 0; tick <= 4; tick++) {
    const value = (top * tick) / 4;
    svg.appendChild(svgElement("line", { x1: margin.left, x2: width - margin.right, y1: y(value), y2: y(value), class: tick ? "grid" : "axis" }));
    svg.appendChild(svgElement("text", { x: margin.left - 4, y: y(value) + 3, "text-anchor": "end" }, (options.format || formatNumber)(value)));
  }
  const every = Math.max(1, Math.ceil(labels.length / 8));
  const last = labels.length - 1;
  labels.forEach((label, index) => {
    // Every few buckets, and the last one unless it would sit on top of its neighbour.
    if (index % every === 0 ? last - index >= every / 2 || index === last : index === last) {
      const anchor = index === last ? "end" : index === 0 ? "start" : "middle";  // keep the ends inside
      svg.appendChild(svgElement("text", { x: x(index), y: height - margin.bottom + 14, "text-anchor": anchor }, label));
    }
  });
  series.forEach((line, number) => {
    const colour = line.colour || PALETTE[number % PALETTE.length];
    const points = line.values.map((value, index) => (value === null ? null : `${x(index)},${y(value)}`)).filter(Boolean);
    const attributes = { points: points.join(" "), fill: "none", stroke: colour, "stroke-width": 1.8, class: "series" };
    if (line.dashed) attributes["stroke-dasharray"] = "5 3";
    svg.appendChild(svgElement("polyline", attributes));
    if (points.length === 1) {
      const [cx, cy] = points[0].split(",");
      svg.appendChild(svgElement("circle", { cx, cy, r: 2.5, fill: colour }));
    }
  });
  const legend = series.filter((line) => !line.hideInLegend);
  legend.forEach((line, number) => {
    const legendX = margin.left + number * 110;
    const colour = line.colour || PALETTE[series.indexOf(line) % PALETTE.length];
    svg.appendChild(svgElement("rect", { x: legendX, y: height - 12, width: 10, height: 10, fill: colour }));
    svg.appendChild(svgElement("text", { x: legendX + 14, y: height - 3 }, line.name));
  });
  svg.dataset.drawn = "1";
  svg.dataset.series = String(series.length);
}
