// Draws the dashboard's charts from the JSON the page embeds (the same numbers are in
// the tables next to them), and again whenever HTMX swaps in new filters' results.
(function () {
  "use strict";
  const charts = [];
  const palette = { promoters: "#198754", passives: "#adb5bd", detractors: "#dc3545", nps: "#0d6efd" };
  const placeColour = { fix_first: "#dc3545", keep_up: "#198754", surplus: "#6c757d", secondary: "#adb5bd" };

  function draw() {
    charts.splice(0).forEach((chart) => chart.destroy());
    const source = document.getElementById("dashboard-data");
    if (!source || typeof Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    const ru = document.documentElement.lang === "ru";
    const label = (ruText, enText) => (ru ? ruText : enText);
    const npsCanvas = document.getElementById("nps-chart");
    if (npsCanvas) {
      const share = (key) => data.series.map((row) => row[key]);
      charts.push(new Chart(npsCanvas, {
        data: {
          labels: data.series.map((row) => row.start),
          datasets: [
            { type: "line", label: "NPS", data: share("nps"), borderColor: palette.nps, backgroundColor: palette.nps, yAxisID: "nps", tension: 0.2, pointRadius: 2 },
            { type: "bar", label: label("Промоутеры, %", "Promoters, %"), data: share("promoters"), backgroundColor: palette.promoters, stack: "s", yAxisID: "share" },
            { type: "bar", label: label("Нейтралы, %", "Passives, %"), data: share("passives"), backgroundColor: palette.passives, stack: "s", yAxisID: "share" },
            { type: "bar", label: label("Критики, %", "Detractors, %"), data: share("detractors"), backgroundColor: palette.detractors, stack: "s", yAxisID: "share" },
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
          plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        },
      }));
    }
    const csiCanvas = document.getElementById("csi-chart");
    if (csiCanvas && data.aspects.length) {
      charts.push(new Chart(csiCanvas, {
        type: "scatter",
        data: {
          datasets: data.aspects.map((aspect) => ({
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
            x: { title: { display: true, text: label("Важность", "Importance") }, min: 0 },
            y: { title: { display: true, text: label("Удовлетворённость, %", "Satisfaction, %") }, min: 0, max: 100 },
          },
          plugins: { legend: { position: "bottom", labels: { boxWidth: 10 } } },
        },
      }));
    }
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
