// fleetopt report: draws every chart on <canvas> from the JSON embedded in the page.
// Each canvas gets data-drawn = number of marks drawn, so a test can see that it drew.
(function () {
  const data = JSON.parse(document.getElementById("fleet-data").textContent);
  const TIER = {1: "#1f77b4", 2: "#ff7f0e", 3: "#d62728"};
  const fmt = (v) => Math.abs(v) >= 1e9 ? (v / 1e9).toFixed(2) + "B" : Math.abs(v) >= 1e6 ? (v / 1e6).toFixed(1) + "M"
    : Math.abs(v) >= 1e3 ? (v / 1e3).toFixed(1) + "k" : v.toFixed(2);

  function setup(id) {
    const c = document.getElementById(id);
    const ctx = c.getContext("2d");
    ctx.font = "11px sans-serif";
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, c.width, c.height);
    return [c, ctx];
  }

  function bars(id, items, opts) {   // items: {label, value, color}; horizontal bars
    const [c, ctx] = setup(id);
    if (!items.length) { ctx.fillStyle = "#555"; ctx.fillText("nothing to show", 10, 20); c.dataset.drawn = "0"; return; }
    const left = 240, right = c.width - 90, top = 10, h = Math.max(8, Math.min(22, (c.height - 40) / items.length));
    const lo = Math.min(0, ...items.map(i => i.value)), hi = Math.max(0, ...items.map(i => i.value), ...(opts.lines || []).map(l => l.value));
    const x = (v) => left + (v - lo) / ((hi - lo) || 1) * (right - left);
    let n = 0;
    items.forEach((it, k) => {
      const y = top + k * h;
      ctx.fillStyle = it.color || "#1f77b4";
      ctx.fillRect(Math.min(x(0), x(it.value)), y + 2, Math.abs(x(it.value) - x(0)), h - 4);
      ctx.fillStyle = "#222"; ctx.textAlign = "right"; ctx.fillText(it.label, left - 6, y + h - 6);
      ctx.textAlign = "left"; ctx.fillText(fmt(it.value), Math.max(x(0), x(it.value)) + 4, y + h - 6);
      if (it.mark !== undefined && it.mark !== null) {   // a per-row limit (a cap)
        ctx.strokeStyle = "#000"; ctx.lineWidth = 2; ctx.beginPath();
        ctx.moveTo(x(it.mark), y); ctx.lineTo(x(it.mark), y + h); ctx.stroke();
      }
      n++;
    });
    (opts.lines || []).forEach((l) => {
      ctx.strokeStyle = l.color || "#d62728"; ctx.setLineDash([5, 4]); ctx.lineWidth = 1.5; ctx.beginPath();
      ctx.moveTo(x(l.value), top); ctx.lineTo(x(l.value), top + h * items.length); ctx.stroke(); ctx.setLineDash([]);
      ctx.fillStyle = l.color || "#d62728"; ctx.fillText(l.label, x(l.value) + 3, top + h * items.length + 14);
    });
    c.dataset.drawn = String(n);
  }

  function map(id, sites) {
    const [c, ctx] = setup(id);
    const W = c.width, H = c.height, px = (lon) => (lon + 180) / 360 * W, py = (lat) => (90 - lat) / 180 * H;
    ctx.strokeStyle = "#e3e3e3";
    for (let lon = -180; lon <= 180; lon += 30) { ctx.beginPath(); ctx.moveTo(px(lon), 0); ctx.lineTo(px(lon), H); ctx.stroke(); }
    for (let lat = -90; lat <= 90; lat += 30) { ctx.beginPath(); ctx.moveTo(0, py(lat)); ctx.lineTo(W, py(lat)); ctx.stroke(); }
    const max = Math.max(1, ...sites.map(s => s.tpp));
    let n = 0;
    sites.forEach((s) => {
      const r = 2 + 14 * Math.sqrt(s.tpp / max);
      ctx.globalAlpha = 0.55; ctx.fillStyle = TIER[s.tier] || "#888";
      ctx.beginPath(); ctx.arc(px(s.lon), py(s.lat), r, 0, 2 * Math.PI); ctx.fill(); n++;
    });
    ctx.globalAlpha = 1;
    c.dataset.drawn = String(n);
  }

  const T = data.total_tpp;
  bars("chart-countries", data.countries.map(k => ({label: k.iso3 + " (Tier " + k.tier + ")", value: k.tpp,
        color: TIER[k.tier], mark: k.cap})),
       {lines: data.max_tier2_share === null ? [] : [{value: data.max_tier2_share * T, label: (100 * data.max_tier2_share).toFixed(0) + " % of the fleet"}]});
  bars("chart-shares", data.shares.map(s => ({label: s.name, value: 100 * s.value, color: s.ok ? "#2ca02c" : "#d62728", mark: 100 * s.bound})), {});
  bars("chart-prices", data.prices.map(p => ({label: p.limit, value: p.value_per_unit, color: p.value_per_unit >= 0 ? "#2ca02c" : "#d62728"})), {});
  bars("chart-unserved", data.unserved.map(u => ({label: u.market_id, value: u.unserved_tpp,
        color: u.reason.startsWith("policy") ? "#9467bd" : u.reason.startsWith("no eligible") ? "#7f7f7f" : "#ff7f0e"})), {});
  map("chart-map", data.sites);
  document.body.dataset.rendered = "true";
})();
