// Bar charts with ECharts (served locally). Any element with class "js-bar-chart" and
// data-source="<id of a json_script tag>" holding {townships: [...], series: [{name, data}]} gets one.
// A static file because the Content Security Policy forbids inline scripts.
document.addEventListener("DOMContentLoaded", () => {
  if (typeof echarts === "undefined") {
    return;
  }
  const colors = ["#0d6efd", "#dc3545", "#198754", "#fd7e14"];
  document.querySelectorAll(".js-bar-chart").forEach((holder) => {
    const source = document.getElementById(holder.dataset.source);
    if (!source) {
      return;
    }
    const data = JSON.parse(source.textContent);
    if (!data.townships.length) {
      holder.classList.add("d-none");
      return;
    }
    const chart = echarts.init(holder);
    chart.setOption({
      animation: false,
      color: colors,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 56, right: 16, bottom: 60, top: 40 },
      xAxis: {
        type: "category",
        data: data.townships,
        axisLabel: { interval: 0, rotate: data.townships.length > 6 ? 30 : 0 },
      },
      yAxis: { type: "value", minInterval: holder.dataset.integer ? 1 : 0 },
      series: data.series.map((s) => ({ name: s.name, type: "bar", data: s.data })),
    });
    holder.dataset.ready = "1";
    window.addEventListener("resize", () => chart.resize());
  });
});
