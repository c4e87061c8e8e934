// fleetopt report: draws the bar charts on <canvas> from the JSON embedded in the page, counts the
// marks of the (server-drawn) SVG map, and makes the headroom table sortable.
// Each chart gets data-drawn = number of marks drawn, so a test can see that it drew, and each
// canvas data-clipped = number of texts that do not fit inside it (a test wants 0).
// Labels are measured before drawing: the label column and the value column are as wide as
// their widest text, so nothing is clipped at either edge.
(function () {
  const data = JSON.parse(document.getElementById("fleet-data").textContent);
  const TIER = {1: "#1f77b4", 2: "#ff7f0e", 3: "#d62728"};
  const fmt = (v) => {
    const a = Math.abs(v);
    return a >= 1e12 ? (v / 1e12).toFixed(2) + "T" : a >= 1e9 ? (v / 1e9).toFixed(2) + "B"
      : a >= 1e6 ? (v / 1e6).toFixed(1) + "M" : a >= 1e3 ? (v / 1e3).toFixed(1) + "k" : v.toFixed(2);
  };
  const pct = (v) => v.toFixed(2) + " %";

  // Draw text and count it in data-clipped when any part of it falls outside the canvas.
  function text(c, ctx, s, x, y, align) {
    ctx.textAlign = align;
    ctx.fillText(s, x, y);
    const w = ctx.measureText(s).width, x0 = align === "right" ? x - w : x;
    if (x0 < 0 || x0 + w > c.width || y - 10 < 0 || y + 3 > c.height)
      c.dataset.clipped = String(Number(c.dataset.clipped || 0) + 1);
  }

  const BARS_MIN = 300;   // the least room left for the bars themselves (px)
  const textsOf = (items) => items.map(it => it.text !== undefined ? it.text : fmt(it.value));

  // The canvas, white, widened where its longest label and value text leave the bars less than
  // BARS_MIN pixels (the page scrolls sideways rather than clip a label).
  function setup(id, groups) {
    const c = document.getElementById(id);
    if (!c) return [null, null];
    let ctx = c.getContext("2d");
    ctx.font = "12px sans-serif";
    const width = (g) => {
      const label = Math.max(0, ...g.map(it => ctx.measureText(it.label).width));
      const text = Math.max(0, ...textsOf(g).map(s => ctx.measureText(s).width));
      return 24 + label + (1 + (Math.min(0, ...g.map(i => i.value)) < 0)) * (10 + text) + BARS_MIN;
    };
    const need = Math.ceil(Math.max(0, ...groups.map(width)));
    if (need > c.width) { c.width = need; ctx = c.getContext("2d"); ctx.font = "12px sans-serif"; }
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, c.width, c.height);
    c.dataset.clipped = "0";
    return [c, ctx];
  }

  // One panel of horizontal bars from y0: items {label, value, color, mark, text}; returns
  // [marks drawn, height used]. The axis spans 0, every value and every mark.
  function panel(c, ctx, y0, items, title) {
    const top = y0 + (title ? 24 : 8), h = 22;
    if (title) { ctx.fillStyle = "#222"; ctx.font = "bold 12px sans-serif";
      text(c, ctx, title, 8, y0 + 16, "left"); ctx.font = "12px sans-serif"; }
    const texts = textsOf(items);
    const left = 14 + Math.max(...items.map(it => ctx.measureText(it.label).width));
    const tail = 10 + Math.max(...texts.map(t => ctx.measureText(t).width));
    const lo = Math.min(0, ...items.map(i => i.value), ...items.map(i => i.mark ?? 0));
    const hi = Math.max(0, ...items.map(i => i.value), ...items.map(i => i.mark ?? 0));
    const right = c.width - tail, x = (v) => left + (v - lo) / ((hi - lo) || 1) * (right - left - (lo < 0 ? tail : 0))
      + (lo < 0 ? tail : 0);
    let n = 0;
    items.forEach((it, k) => {
      const y = top + k * h, x0 = x(0), x1 = x(it.value);
      if (it.parts) {   // a stacked bar: [value, colour] segments from 0
        let v0 = 0;
        it.parts.forEach(([v, col]) => { ctx.fillStyle = col; ctx.fillRect(x(v0), y + 3, x(v0 + v) - x(v0), h - 6); v0 += v; });
      } else {
        ctx.fillStyle = it.color || "#1f77b4";
        ctx.fillRect(Math.min(x0, x1), y + 3, Math.max(Math.abs(x1 - x0), it.value ? 1 : 0), h - 6);
      }
      ctx.fillStyle = "#222"; text(c, ctx, it.label, left - 8, y + h - 7, "right");
      if (it.value < 0) text(c, ctx, texts[k], x1 - 4, y + h - 7, "right");
      else text(c, ctx, texts[k], Math.max(x0, x1, it.mark != null ? x(it.mark) : 0) + 5, y + h - 7, "left");
      if (it.mark != null) {
        ctx.strokeStyle = "#000"; ctx.lineWidth = 2; ctx.beginPath();
        ctx.moveTo(x(it.mark), y); ctx.lineTo(x(it.mark), y + h); ctx.stroke();
      }
      n++;
    });
    ctx.strokeStyle = "#bbb"; ctx.lineWidth = 1; ctx.beginPath();
    ctx.moveTo(x(0), top); ctx.lineTo(x(0), top + h * items.length); ctx.stroke();
    return [n, top - y0 + h * items.length + 10];
  }

  function bars(id, items) {
    const [c, ctx] = setup(id, [items]);
    if (!c) return;
    if (!items.length) { ctx.fillStyle = "#555"; text(c, ctx, "nothing to show", 10, 20, "left"); c.dataset.drawn = "0"; return; }
    c.dataset.drawn = String(panel(c, ctx, 0, items, null)[0]);
  }

  function panels(id, groups) {   // groups: {title, items}; one axis per group
    const [c, ctx] = setup(id, groups.map(g => g.items));
    if (!c) return;
    if (!groups.length) { ctx.fillStyle = "#555"; text(c, ctx, "no shadow prices recorded", 10, 20, "left"); c.dataset.drawn = "0"; return; }
    let y = 0, n = 0;
    groups.forEach(g => { const [m, used] = panel(c, ctx, y, g.items, g.title); n += m; y += used; });
    c.dataset.drawn = String(n);
  }

  const tierBar = (k) => ({label: k.iso3 + " " + k.name + " (Tier " + k.tier + ")", value: k.tpp, color: TIER[k.tier]});
  bars("chart-tier1", data.tier1.map(tierBar));
  bars("chart-tier2", data.tier2.map(k => ({label: k.iso3 + " " + k.name, value: k.tpp, color: TIER[2], mark: k.limit,
    text: fmt(k.tpp) + (k.limit == null ? "" : " of " + fmt(k.limit) + " (" + k.limit_name + ")")})));
  bars("chart-shares", data.shares.map(s => ({label: s.name + " " + s.sense + " " + pct(100 * s.bound), value: 100 * s.value,
    color: s.ok ? "#2ca02c" : "#d62728", mark: 100 * s.bound, text: pct(100 * s.value)})));
  panels("chart-prices", data.prices.map(p => ({title: data.economics.value_unit + " " + p.unit, items: p.rows.map(r => ({label: r.limit,
    value: r.value_per_unit, color: r.value_per_unit >= 0 ? "#2ca02c" : "#d62728"}))})));
  bars("chart-unserved", data.unserved.map(u => ({label: u.market_id, value: u.unserved_tpp,
    text: fmt(u.unserved_tpp) + " of " + fmt(u.demand_tpp),
    color: u.reason.startsWith("policy") ? "#9467bd" : u.reason.startsWith("no eligible") ? "#7f7f7f"
      : u.reason.startsWith("capacity") ? "#ff7f0e" : "#c7c7c7"})));
  if (data.baseline && data.baseline.countries)
    bars("chart-baseline", data.baseline.countries.map(k => ({label: k.iso3, value: k.change_tpp,
      text: (k.change_tpp > 0 ? "+" : "") + fmt(k.change_tpp), color: k.change_tpp >= 0 ? "#2ca02c" : "#d62728"})));
  if (data.soft && data.soft.violations)
    bars("chart-soft", data.soft.violations.map(v => ({label: v.limit, value: v.violation_tpp, color: "#d62728",
      text: fmt(v.violation_tpp) + " TPP, penalty " + fmt(v.cost)})));

  if (data.periods) {   // a multi-period plan: one row per period
    const P = data.periods, green = (ok) => ok ? "#2ca02c" : "#d62728";
    bars("chart-periods-compute", P.map(r => ({label: r.period, value: r.tiers[0] + r.tiers[1] + r.tiers[2],
      parts: r.tiers.map((v, k) => [v, TIER[k + 1]]),
      text: fmt(r.tiers[0] + r.tiers[1] + r.tiers[2]) + " (Tier 1 " + fmt(r.tiers[0]) + ", Tier 2 " + fmt(r.tiers[1])
        + (r.tiers[2] > 0 ? ", Tier 3 " + fmt(r.tiers[2]) : "") + ")"})));
    bars("chart-periods-served", P.map(r => ({label: r.period, value: r.served_pct, color: "#1f77b4",
      text: pct(r.served_pct) + " (" + fmt(r.served_tpp) + " of " + fmt(r.demand_tpp) + ")"})));
    const share = (key, bound) => P.map(r => ({label: r.period, value: 100 * r[key], mark: r[bound] == null ? null : 100 * r[bound],
      color: green(r[bound] == null || r[key] >= r[bound] - 1e-9), text: pct(100 * r[key])}));
    panels("chart-periods-shares", [{title: "home share, % of the fleet", items: share("home", "home_bound")},
                                    {title: "Tier-1 share, % of the fleet", items: share("tier1", "tier1_bound")}]);
    panels("chart-periods-cost", [{title: "capex of the units added (USD)", items: P.map(r => ({label: r.period, value: r.capex_usd}))},
                                  {title: "energy over the period (USD)", items: P.map(r => ({label: r.period, value: r.energy_usd}))}]);
  }

  const map = document.getElementById("chart-map");
  if (map) map.dataset.drawn = String(map.querySelectorAll("circle.site").length);

  // Sortable table: click a header to sort by it; again to reverse.
  document.querySelectorAll("table.sortable th").forEach((th, col) => {
    th.addEventListener("click", () => {
      const body = th.closest("table").tBodies[0], rows = Array.from(body.rows), numeric = th.dataset.kind === "n";
      const key = (r) => { const td = r.cells[col]; return numeric ? parseFloat(td.dataset.v ?? td.textContent.replace(/,/g, "")) : td.textContent; };
      const dir = th.dataset.dir === "asc" ? -1 : 1;
      th.dataset.dir = dir === 1 ? "asc" : "desc";
      rows.sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * dir).forEach(r => body.appendChild(r));
    });
  });
  document.body.dataset.rendered = "true";
})();
