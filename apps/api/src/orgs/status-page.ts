const escape = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The public provisioning page: a progress bar and ETA that follow the public event stream,
 * with no framework and no third-party script. `nonce` ties the inline script to the CSP.
 */
export function statusPage(slug: string, nonce: string): string {
  const safeSlug = escape(slug);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${safeSlug} · provisioning</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2330; }
  main { max-width: 36rem; margin: 12vh auto; padding: 2rem; background: #fff; border-radius: 12px;
         box-shadow: 0 1px 3px rgba(0,0,0,.08); }
  h1 { font-size: 1.25rem; margin: 0 0 1rem; }
  .bar { height: 12px; background: #e6e9ef; border-radius: 6px; overflow: hidden; }
  .fill { height: 100%; width: 0; background: #3a66f5; transition: width .4s ease; }
  .fill.failed { background: #d64545; }
  .meta { display: flex; justify-content: space-between; margin: .5rem 0 1.25rem; color: #5b6477; }
  ol { padding-left: 1.25rem; margin: 0; }
  li { color: #8a93a6; } li.done { color: #1d2330; } li.running { color: #3a66f5; font-weight: 600; }
  li.failed { color: #d64545; }
</style>
</head>
<body>
<main>
  <h1 id="title">Setting up <strong>${safeSlug}</strong></h1>
  <div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0" id="bar">
    <div class="fill" id="fill"></div>
  </div>
  <div class="meta"><span id="percent">0%</span><span id="eta">Estimating…</span></div>
  <ol id="steps"></ol>
</main>
<script nonce="${nonce}">
  const bar = document.getElementById('bar');
  const fill = document.getElementById('fill');
  const percent = document.getElementById('percent');
  const eta = document.getElementById('eta');
  const steps = document.getElementById('steps');
  const source = new EventSource(location.pathname.replace(/\\/?$/, '/events'));
  source.addEventListener('progress', (event) => {
    const view = JSON.parse(event.data);
    fill.style.width = view.percent + '%';
    bar.setAttribute('aria-valuenow', String(view.percent));
    percent.textContent = view.percent + '%';
    fill.classList.toggle('failed', view.status === 'failed');
    eta.textContent = view.status === 'succeeded' ? 'Ready'
      : view.status === 'failed' ? 'Failed'
      : view.etaSeconds === null ? 'Estimating…'
      : 'About ' + Math.ceil(view.etaSeconds) + ' s left';
    steps.replaceChildren(...view.steps.map((step) => {
      const item = document.createElement('li');
      item.className = step.state;
      item.textContent = step.name.replace(/-/g, ' ');
      return item;
    }));
    if (view.status === 'succeeded') document.getElementById('title').textContent = view.org.slug + ' is ready';
    if (view.status === 'succeeded' || view.status === 'failed') source.close();
  });
</script>
</body>
</html>
`;
}
