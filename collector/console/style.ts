// The console's stylesheet (served as /console/console.css).
export const CONSOLE_CSS = `
:root { --bg: #f6f7f9; --fg: #1d232b; --muted: #66707c; --line: #d9dde3; --ok: #1f7a3d; --warn: #a86400; --bad: #b3261e; --card: #fff; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; align-items: baseline; gap: 24px; padding: 10px 16px; background: #1d232b; color: #fff; flex-wrap: wrap; }
header h1 { font-size: 16px; margin: 0; }
header .meta { margin-left: auto; color: #c8ced6; }
#summary span { margin-right: 16px; }
body.stale main { opacity: 0.55; }
.banner { margin: 8px 16px; padding: 8px 12px; border-radius: 4px; background: #fde8e6; border: 1px solid var(--bad); color: var(--bad); font-weight: 600; }
main { padding: 0 16px 24px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 6px; margin-top: 12px; padding: 8px 12px; overflow-x: auto; }
h2 { font-size: 14px; margin: 4px 0 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 8px 3px 0; border-bottom: 1px solid var(--line); vertical-align: top; white-space: nowrap; }
th { color: var(--muted); font-weight: 600; }
td.wrap { white-space: normal; }
td.num, th.num { text-align: right; }
tr.total td { font-weight: 600; border-top: 2px solid var(--line); }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 12px; font-weight: 600; background: #e8eaee; }
.badge.up, .badge.active-ok, .badge.serving, .badge.master { background: #e1f3e6; color: var(--ok); }
.badge.down, .badge.host_down, .badge.firing, .badge.critical, .badge.fenced { background: #fde8e6; color: var(--bad); }
.badge.pending, .badge.warning, .badge.suppressed, .badge.slave { background: #fff1dc; color: var(--warn); }
meter { width: 80px; vertical-align: middle; }
button { font: inherit; padding: 1px 8px; cursor: pointer; }
dialog { border: 1px solid var(--line); border-radius: 6px; min-width: 360px; }
dialog label { display: block; margin: 6px 0; }
dialog input, dialog select { display: block; width: 100%; font: inherit; padding: 3px; }
dialog .matcher { display: flex; gap: 6px; align-items: center; margin: 2px 0; }
dialog .matcher input { display: inline; width: auto; }
.form-error { color: var(--bad); }
.buttons { margin-top: 10px; }
button.link { background: none; border: none; color: inherit; text-decoration: underline; padding: 0; }
.charts-section { overflow-x: hidden; }
.chart-controls { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
.chart-controls select { font: inherit; max-width: 100%; min-width: 0; }
#chart-target { flex: 1 1 200px; }
.ranges button[aria-pressed=true] { background: #1d232b; color: #fff; border-color: #1d232b; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 440px), 1fr)); gap: 12px; }
.chart { margin: 0; min-width: 0; }
.chart figcaption { font-weight: 600; margin-bottom: 2px; }
.chart .plot { min-height: 60px; overflow: hidden; }
.chart .uplot { font-family: inherit; }
.chart .u-legend { font-size: 12px; text-align: left; }
@media (max-width: 600px) {
  header { gap: 8px 16px; padding: 8px 10px; }
  main { padding: 0 8px 16px; }
  section { padding: 6px 8px; }
  dialog { min-width: 0; width: calc(100vw - 24px); }
}
`;
