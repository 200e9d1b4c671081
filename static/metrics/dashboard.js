// Draws the dashboard's charts from the JSON the page embeds (the same numbers are in
// the tables next to them), and again whenever HTMX swaps in new filters' results.
// A block whose filters leave no data has no canvas: the page says so instead.
(function () {
  "use strict";
  const charts = [];
  const palette = {
    // The shares pale behind the score and its band, which are what the chart is about.
    promoters: "rgba(25, 135, 84, 0.35)",
    passives: "rgba(173, 181, 189, 0.35)",
    detractors: "rgba(220, 53, 69, 0.35)",
    nps: "#0d6efd",
    band: "rgba(13, 110, 253, 0.2)",
    tooFew: "#6c757d",
  };
  const placeColour = { fix_first: "#dc3545", keep_up: "#198754", surplus: "#6c757d", secondary: "#adb5bd" };
  const round = (value) => (value === null ? "—" : Math.round(value));

  // The NPS of each week or month with enough answers as a line over its 95 % interval
  // (a band), the answers' shares as bars; a bucket with too few answers is a gap in
  // both, marked on the axis, its tooltip saying how many answers it had.
  function npsChart(canvas, trend, labels) {
    const points = trend.points;
    const column = (key) => points.map((row) => row[key]);
    return new Chart(canvas, {
      data: {
        labels: column("label"),
        datasets: [
          { type: "line", label: labels.nps, data: column("value"), borderColor: palette.nps, backgroundColor: palette.nps, yAxisID: "nps", tension: 0.2, pointRadius: 3, spanGaps: false, order: 0 },
          { type: "line", label: "low", data: column("low"), yAxisID: "nps", borderWidth: 0, pointRadius: 0, pointHitRadius: 0, fill: false, spanGaps: false, order: 1 },
          { type: "line", label: labels.band, data: column("high"), yAxisID: "nps", borderWidth: 0, pointRadius: 0, pointHitRadius: 0, backgroundColor: palette.band, fill: "-1", spanGaps: false, order: 1 },
          { type: "line", label: labels.too_few, data: points.map((row) => (row.n > 0 && !row.shown ? -100 : null)), yAxisID: "nps", showLine: false, pointStyle: "crossRot", pointRadius: 6, borderColor: palette.tooFew, backgroundColor: palette.tooFew, clip: false, order: 0 },
          { type: "bar", label: labels.promoters, data: column("promoters"), backgroundColor: palette.promoters, stack: "s", yAxisID: "share", order: 2 },
          { type: "bar", label: labels.passives, data: column("passives"), backgroundColor: palette.passives, stack: "s", yAxisID: "share", order: 2 },
          { type: "bar", label: labels.detractors, data: column("detractors"), backgroundColor: palette.detractors, stack: "s", yAxisID: "share", order: 2 },
        ],
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          share: { stacked: true, min: 0, max: 100, position: "left" },
          nps: { min: -100, max: 100, position: "right", grid: { drawOnChartArea: false } },
          x: { stacked: true, ticks: { maxTicksLimit: 12 } },
        },
        plugins: {
          legend: {
            position: "bottom",
            labels: { boxWidth: 12, filter: (item) => item.datasetIndex !== 1 },
          },
          tooltip: {
            filter: (item) => item.datasetIndex !== 1 && item.raw !== null,
            callbacks: {
              title: (items) => (items.length ? points[items[0].dataIndex].range : ""),
              label: (item) => {
                const row = points[item.dataIndex];
                if (item.datasetIndex === 0) return `NPS ${round(row.value)} (n = ${row.n})`;
                if (item.datasetIndex === 2) return `${labels.band}: ${round(row.low)}…${round(row.high)}`;
                if (item.datasetIndex === 3) return row.note;
                return `${item.dataset.label}: ${round(item.raw)}`;
              },
            },
          },
        },
      },
    });
  }

  function aspectsChart(canvas, aspects, labels) {
    return new Chart(canvas, {
      type: "scatter",
      data: {
        datasets: aspects.map((aspect) => ({
          label: aspect.name,
          data: [{ x: aspect.importance, y: aspect.satisfaction }],
          backgroundColor: placeColour[aspect.place] || "#0d6efd",
          pointRadius: 7,
        })),
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        scales: {
          x: { title: { display: true, text: labels.importance }, min: 0 },
          y: { title: { display: true, text: labels.satisfaction }, min: 0, max: 100 },
        },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 10 } } },
      },
    });
  }

  function draw() {
    charts.splice(0).forEach((chart) => chart.destroy());
    const source = document.getElementById("dashboard-data");
    if (!source || typeof Chart === "undefined") return;
    const data = JSON.parse(source.dataset.charts);
    const npsCanvas = document.getElementById("nps-chart");
    if (npsCanvas && data.trend.points.length) charts.push(npsChart(npsCanvas, data.trend, data.labels));
    const csiCanvas = document.getElementById("csi-chart");
    if (csiCanvas && data.aspects.length) charts.push(aspectsChart(csiCanvas, data.aspects, data.labels));
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
