// The console's one HTML page. Static: every value is filled in by console.js with text nodes
// (never innerHTML), so nothing from the API is ever parsed as HTML.
export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>redis-fleet console</title>
<link rel="stylesheet" href="console/uplot.css">
<link rel="stylesheet" href="console/console.css">
<script defer src="console/console.js"></script>
<script defer src="console/uplot.js"></script>
<script defer src="console/charts.js"></script>
</head>
<body>
<header>
  <h1>redis-fleet</h1>
  <div id="summary" data-testid="summary"></div>
  <div class="meta"><span id="sink"></span> · <span id="updated" data-testid="updated">loading…</span> · <span id="who" data-testid="who"></span> <button type="button" id="signout" class="link">sign out</button></div>
</header>
<div id="banner" class="banner" role="alert" data-testid="banner" hidden></div>
<main>
  <section id="alerts-section"><h2>Active alerts</h2><div id="alerts" data-testid="alerts"></div></section>
  <section id="charts-section" class="charts-section"><h2>Charts</h2>
    <div class="chart-controls">
      <select id="chart-kind" aria-label="chart of"><option value="instance">instance</option><option value="cluster">cluster</option><option value="host">host</option></select>
      <select id="chart-target" aria-label="which" data-testid="chart-target"></select>
      <span id="chart-ranges" class="ranges" role="group" aria-label="time range"><button type="button" value="1h">1h</button><button type="button" value="6h">6h</button><button type="button" value="24h">24h</button><button type="button" value="7d">7d</button></span>
    </div>
    <p id="chart-note" class="muted" data-testid="chart-note"></p>
    <div id="charts" class="charts" data-testid="charts"></div>
  </section>
  <section id="hosts-section"><h2>Hosts</h2><div id="hosts" data-testid="hosts"></div></section>
  <section id="instances-section"><h2>Instances</h2><div id="instances" data-testid="instances"></div></section>
  <section id="guard-section"><h2>Fenced instances</h2><div id="guard" data-testid="guard"></div></section>
  <section id="persistence-section"><h2>Persistence queue</h2><div id="persistence" data-testid="persistence"></div></section>
  <section id="capacity-section"><h2>Capacity</h2><div id="capacity" data-testid="capacity"></div></section>
  <section id="silences-section"><h2>Silences</h2><div id="silences" data-testid="silences"></div></section>
</main>
<dialog id="ack-dialog" data-testid="ack-dialog">
  <form id="ack-form">
    <h3>Acknowledge <span id="ack-name"></span></h3>
    <p id="ack-target" class="muted"></p>
    <label>Your name <input name="by" required maxlength="512" autocomplete="username"></label>
    <label>Comment <input name="comment" maxlength="2000"></label>
    <p class="form-error" id="ack-error" hidden></p>
    <div class="buttons"><button type="submit" data-testid="ack-submit">Acknowledge</button> <button type="button" class="cancel">Cancel</button></div>
  </form>
</dialog>
<dialog id="silence-dialog" data-testid="silence-dialog">
  <form id="silence-form">
    <h3>Silence alerts matching</h3>
    <div id="silence-matchers"></div>
    <label>For <select name="duration">
      <option value="1800000">30 minutes</option><option value="3600000">1 hour</option><option value="7200000" selected>2 hours</option>
      <option value="14400000">4 hours</option><option value="28800000">8 hours</option><option value="86400000">1 day</option>
    </select></label>
    <label>Your name <input name="createdBy" required maxlength="512" autocomplete="username"></label>
    <label>Comment <input name="comment" required maxlength="2000"></label>
    <p class="form-error" id="silence-error" hidden></p>
    <div class="buttons"><button type="submit" data-testid="silence-submit">Create silence</button> <button type="button" class="cancel">Cancel</button></div>
  </form>
</dialog>
<dialog id="token-dialog" data-testid="token-dialog">
  <form id="token-form">
    <h3>Sign in</h3>
    <p class="muted">The collector's API needs a token (<code>redis-fleet token create NAME ROLE</code>; <code>npm start</code> prints a link that signs in). It is kept for this browser tab only.</p>
    <label>API token <input name="token" type="password" autocomplete="off" spellcheck="false" maxlength="512"></label>
    <p class="form-error" id="token-error" hidden></p>
    <div class="buttons"><button type="submit" data-testid="token-submit">Sign in</button></div>
  </form>
</dialog>
</body>
</html>
`;
