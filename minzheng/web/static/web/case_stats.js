// Time-limit statistics: a bar chart per township with ECharts (served locally), reading its data
// from the json_script tag. (Static file: the Content Security Policy forbids inline scripts.)
document.addEventListener("DOMContentLoaded", () => {
  const holder = document.getElementById("time-limit-chart");
  const source = document.getElementById("time-limit-data");
  if (!holder || !source || typeof echarts === "undefined") {
    return;
  }
  const data = JSON.parse(source.textContent);
  if (!data.townships.length) {
    holder.classList.add("d-none");
    return;
  }
  const colors = ["#0d6efd", "#dc3545", "#198754", "#fd7e14"];
  const chart = echarts.init(holder);
  chart.setOption({
    animation: false,
    color: colors,
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 40, right: 16, bottom: 60, top: 40 },
    xAxis: { type: "category", data: data.townships, axisLabel: { interval: 0, rotate: data.townships.length > 6 ? 30 : 0 } },
    yAxis: { type: "value", minInterval: 1 },
    series: data.series.map((s) => ({ name: s.name, type: "bar", data: s.data })),
  });
  holder.dataset.ready = "1";
  window.addEventListener("resize", () => chart.resize());
});
