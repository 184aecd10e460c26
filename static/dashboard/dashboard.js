// Hybrid CRM dashboard: reads /api/v1/reports/* with an API key (kept in this tab's
// sessionStorage) and draws them with the vendored Chart.js. No inline script or style: the page
// runs under a strict Content-Security-Policy.
'use strict';

(() => {
  const KEY_STORAGE = 'hcrm.dashboard.key';
  const DAY_MS = 86400000;
  const palette = ['#3559e0', '#12a594', '#f59e0b', '#e5484d', '#8e4ec6', '#0091ff', '#30a46c', '#d6409f', '#978365', '#5b5bd6'];
  const charts = {};
  const $ = (id) => document.getElementById(id);
  const state = { rendered: new Set(), loads: 0, errors: [] };
  // For the browser check and for whoever opens the console.
  window.hcrmDashboard = state;

  const isoDay = (date) => date.toISOString().slice(0, 10);
  const addDays = (day, n) => isoDay(new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS));
  const daysBetween = (from, to) => Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS) + 1;
  const money = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const count = new Intl.NumberFormat();
  const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

  function key() { return sessionStorage.getItem(KEY_STORAGE); }

  function askForKey(message) {
    const dialog = $('key-dialog');
    const error = $('key-error');
    error.hidden = !message;
    error.textContent = message || '';
    $('key').value = '';
    if (!dialog.open) dialog.showModal();
  }

  class Unauthorized extends Error {}

  async function api(path) {
    const response = await fetch(path, { headers: { Authorization: `Bearer ${key()}`, Accept: 'application/json' } });
    if (response.status === 401 || response.status === 403) {
      const problem = await response.json().catch(() => ({}));
      throw new Unauthorized(problem.detail || problem.title || `HTTP ${response.status}`);
    }
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      throw new Error(`${path}: ${problem.detail || problem.title || `HTTP ${response.status}`}`);
    }
    return response.json();
  }

  function setStatus(text, isError = false) {
    const status = $('status');
    status.textContent = text;
    status.classList.toggle('error', isError);
  }

  // A tile: value, and the change against the previous period with an arrow.
  function tile(id, value, current, previous, { higherIsBetter = true, suffix = '' } = {}) {
    const element = $(id);
    element.querySelector('.value').textContent = value;
    const delta = element.querySelector('.delta');
    delta.classList.remove('up', 'down');
    if (previous === null || previous === undefined || current === null || current === undefined) {
      delta.textContent = suffix;
      return;
    }
    if (previous === 0) {
      delta.textContent = current === 0 ? `– no change${suffix}` : `▲ new${suffix}`;
      if (current > 0) delta.classList.add(higherIsBetter ? 'up' : 'down');
      return;
    }
    const change = ((current - previous) / Math.abs(previous)) * 100;
    const arrow = change > 0.005 ? '▲' : change < -0.005 ? '▼' : '–';
    // Past +1,000 % a factor reads better (a period against one with hardly any sales).
    const amount = change >= 1000 ? `${(current / previous).toFixed(0)}×` : `${Math.abs(change).toFixed(1)} %`;
    delta.textContent = `${arrow} ${amount} vs previous period${suffix}`;
    if (arrow !== '–') delta.classList.add((change > 0) === higherIsBetter ? 'up' : 'down');
  }

  function draw(name, config) {
    if (charts[name]) charts[name].destroy();
    const canvas = document.querySelector(`canvas[data-chart="${name}"]`);
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
    config.options.plugins = Object.assign({ legend: { display: false } }, config.options.plugins || {});
    charts[name] = new window.Chart(canvas, config);
    canvas.dataset.rendered = 'true';
    state.rendered.add(name);
  }

  function granularityFor(days) {
    if (days <= 62) return 'day';
    if (days <= 200) return 'week';
    return 'month';
  }

  function label(item, granularity) {
    if (granularity === 'month') return item.start.slice(0, 7);
    return item.start.slice(5);
  }

  async function load(from, to) {
    state.loads += 1;
    setStatus(`Loading ${from} … ${to}`);
    const days = daysBetween(from, to);
    const previousTo = addDays(from, -1);
    const previousFrom = addDays(from, -days);
    const granularity = granularityFor(days);
    const period = `from=${from}&to=${to}`;
    const [kpis, previous, sales, products, workshops] = await Promise.all([
      api(`/api/v1/reports/kpis?${period}`),
      api(`/api/v1/reports/kpis?from=${previousFrom}&to=${previousTo}`),
      api(`/api/v1/reports/sales?${period}&granularity=${granularity}`),
      api(`/api/v1/reports/products?${period}&limit=8`),
      api(`/api/v1/reports/workshops?${period}&limit=10`),
    ]);
    const n = (text) => Number.parseFloat(text);

    tile('tile-revenue', money.format(n(kpis.revenue)), n(kpis.revenue), n(previous.revenue));
    tile('tile-orders', count.format(kpis.orders), kpis.orders, previous.orders);
    tile('tile-aov', money.format(n(kpis.aov)), n(kpis.aov), n(previous.aov));
    tile('tile-new-clients', count.format(kpis.new_clients), kpis.new_clients, previous.new_clients);
    tile('tile-active-clients', count.format(kpis.active_clients), kpis.active_clients, previous.active_clients);
    const repeat = kpis.repeat_purchase_rate_percent;
    tile('tile-repeat', repeat === null ? '—' : `${repeat.toFixed(1)} %`, repeat, previous.repeat_purchase_rate_percent);
    tile('tile-clv', money.format(n(kpis.clv)), n(kpis.clv), n(previous.clv));
    tile('tile-owed', money.format(n(kpis.debtors.amount_owed)), null, null, {
      suffix: `${count.format(kpis.debtors.clients)} clients, ${count.format(kpis.debtors.enrollments)} enrollments`,
    });

    $('revenue-cut').textContent = `by ${granularity}`;
    draw('revenue', {
      type: 'line',
      data: {
        labels: sales.items.map((item) => label(item, granularity)),
        datasets: [{
          label: 'Revenue',
          data: sales.items.map((item) => n(item.revenue)),
          borderColor: palette[0],
          backgroundColor: 'rgba(53, 89, 224, 0.12)',
          fill: true,
          tension: 0.25,
          pointRadius: sales.items.length > 60 ? 0 : 2,
        }, {
          label: 'Orders',
          data: sales.items.map((item) => item.orders),
          borderColor: palette[2],
          borderDash: [4, 4],
          pointRadius: 0,
          yAxisID: 'orders',
        }],
      },
      options: {
        interaction: { mode: 'index', intersect: false },
        plugins: { legend: { display: true, position: 'bottom' } },
        scales: {
          y: { beginAtZero: true, ticks: { callback: (v) => compact.format(v) } },
          orders: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false } },
        },
      },
    });

    const categories = products.categories_by_revenue;
    draw('categories', {
      type: 'bar',
      data: {
        labels: categories.map((c) => c.name || 'No category'),
        datasets: [{ label: 'Revenue', data: categories.map((c) => n(c.revenue)), backgroundColor: palette }],
      },
      options: { indexAxis: 'y', scales: { x: { beginAtZero: true, ticks: { callback: (v) => compact.format(v) } } } },
    });

    const stock = kpis.stock_status;
    draw('stock', {
      type: 'doughnut',
      data: {
        labels: ['Critical', 'Low', 'Optimal'],
        datasets: [{ data: [stock.critical, stock.low, stock.optimal], backgroundColor: ['#e5484d', '#f59e0b', '#30a46c'] }],
      },
      options: { plugins: { legend: { display: true, position: 'right' } } },
    });

    const held = workshops.by_category.filter((c) => c.capacity > 0);
    draw('occupancy', {
      type: 'bar',
      data: {
        labels: held.map((c) => c.category),
        datasets: [{
          label: 'Occupancy %',
          data: held.map((c) => c.occupancy_percent),
          backgroundColor: held.map((_, i) => palette[(i + 1) % palette.length]),
        }],
      },
      options: { scales: { y: { beginAtZero: true, max: 100, ticks: { callback: (v) => `${v} %` } } } },
    });

    draw('workshop-income', {
      type: 'bar',
      data: {
        labels: workshops.items.map((item) => label(item, workshops.granularity)),
        datasets: [{ label: 'Income', data: workshops.items.map((item) => n(item.income)), backgroundColor: palette[1] }],
      },
      options: { scales: { y: { beginAtZero: true, ticks: { callback: (v) => compact.format(v) } } } },
    });

    const body = $('debtors');
    body.replaceChildren();
    for (const debtor of workshops.debtors) {
      const row = body.insertRow();
      // A key without clients:read gets no names (`withheld`): the client's id stands in.
      row.insertCell().textContent = debtor.name ?? debtor.client_id;
      row.insertCell().textContent = debtor.email ?? '—';
      const enrollments = row.insertCell();
      enrollments.textContent = count.format(debtor.enrollments);
      enrollments.className = 'num';
      const owed = row.insertCell();
      owed.textContent = money.format(n(debtor.owed));
      owed.className = 'num';
    }
    if (workshops.debtors.length === 0) {
      body.insertRow().insertCell().textContent = 'Nobody owes anything.';
    }
    $('debtors-summary').textContent =
      `— ${count.format(kpis.debtors.clients)} clients owe ${money.format(n(kpis.debtors.amount_owed))} in all`;

    setStatus(`${from} … ${to} (${days} days, UTC). Updated ${new Date().toLocaleTimeString()}.`);
  }

  async function show() {
    const from = $('from').value;
    const to = $('to').value;
    if (!from || !to) return;
    if (from > to) {
      setStatus('"From" is after "To".', true);
      return;
    }
    if (!key()) {
      askForKey();
      return;
    }
    try {
      await load(from, to);
    } catch (error) {
      if (error instanceof Unauthorized) {
        sessionStorage.removeItem(KEY_STORAGE);
        askForKey(`The key was refused: ${error.message}`);
      } else {
        state.errors.push(String(error));
        setStatus(String(error.message || error), true);
      }
    }
  }

  function preset(days) {
    const to = isoDay(new Date());
    $('to').value = to;
    $('from').value = addDays(to, -(days - 1));
    document.querySelectorAll('.presets button').forEach((b) => b.classList.toggle('active', Number(b.dataset.days) === days));
  }

  document.addEventListener('DOMContentLoaded', () => {
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.color = '#667085';
    preset(30);
    document.querySelectorAll('.presets button').forEach((button) => {
      button.addEventListener('click', () => { preset(Number(button.dataset.days)); show(); });
    });
    $('period').addEventListener('submit', (event) => {
      event.preventDefault();
      document.querySelectorAll('.presets button').forEach((b) => b.classList.remove('active'));
      show();
    });
    $('change-key').addEventListener('click', () => askForKey());
    $('key-form').addEventListener('submit', () => {
      const value = $('key').value.trim();
      if (value) sessionStorage.setItem(KEY_STORAGE, value);
      show();
    });
    show();
  });
})();
